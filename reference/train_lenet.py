"""Train LeNet on MNIST with SGD, momentum and the 'inv' learning-rate policy (provided).

Run from inside this folder: ``python train_lenet.py [--iters N] [--batch B] [--seed S]``.
"""
import argparse
import time

import numpy as np

from conv_net import conv_net
from init_convnet import init_convnet
from load_mnist import load_mnist
from test_network import evaluate
from utils import get_lenet, get_lr, sgd_momentum

# The historical hyper-parameters (assignment contract, section 5).
MU, EPSILON, W_LR, B_LR = 0.9, 0.01, 1, 2
GAMMA, POWER, WEIGHT_DECAY = 1e-4, 0.75, 5e-4


def train(xtrain, ytrain, iters=500, batch_size=64, seed=0, xval=None, yval=None,
          log_every=100, xp=np, log=print):
    """Train and return the parameters; prints loss, accuracy and speed every ``log_every``."""
    layers = get_lenet(batch_size)
    params = init_convnet(layers, seed=seed, xp=xp)
    winc = [{'w': xp.zeros_like(p['w']), 'b': xp.zeros_like(p['b'])} for p in params]
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(len(ytrain)), 0
    xtrain, ytrain = xp.asarray(xtrain), xp.asarray(ytrain)
    start = time.perf_counter()
    for it in range(iters):
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(ytrain)), 0
        idx = xp.asarray(order[pos:pos + batch_size])
        pos += batch_size
        cp, grads = conv_net(params, layers, xtrain[:, idx], ytrain[idx][None, :].astype(float))
        lr = get_lr(it, EPSILON, GAMMA, POWER)
        params, winc = sgd_momentum(W_LR * lr, B_LR * lr, MU, WEIGHT_DECAY, params, winc, grads)
        if log and ((it + 1) % log_every == 0 or it + 1 == iters):
            rate = (it + 1) / (time.perf_counter() - start)
            line = (f"iter {it + 1:5d}/{iters}  loss {cp['cost']:.4f}  batch acc {cp['percent']:.3f}"
                    f"  {rate:.1f} it/s  eta {(iters - it - 1) / rate:.0f} s")
            if xval is not None:
                line += f"  val acc {evaluate(params, layers, xval, yval):.4f}"
            log(line)
    return params, layers


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--iters', type=int, default=500)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--log-every', type=int, default=100)
    args = parser.parse_args()
    xtrain, ytrain, xval, yval, xtest, ytest = load_mnist(fullset=True, seed=args.seed)
    print(f"training on {len(ytrain)} digits, testing on {len(ytest)}")
    start = time.perf_counter()
    params, layers = train(xtrain, ytrain, args.iters, args.batch, args.seed, log_every=args.log_every)
    took = time.perf_counter() - start
    acc = evaluate(params, layers, xtest, ytest)
    print(f"test accuracy {acc:.4f} after {args.iters} iterations of batch {args.batch} "
          f"({took:.1f} s, {took / args.iters * 1000:.1f} ms per iteration)")


if __name__ == '__main__':
    main()
