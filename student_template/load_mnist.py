"""Load MNIST in the assignment's layout (provided).

Looks for the course's ``mnist_all.mat`` first, then for the IDX files shipped with the
grader (``harness/data/mnist``). Self-contained on purpose: students run this folder
without the grader installed.
"""
import gzip
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH = [os.path.join(HERE, '..', 'images'), os.path.join(HERE, '..', 'data'),
          os.path.join(HERE, '..', 'harness', 'data', 'mnist'), HERE]


def _find(name):
    for folder in [os.environ.get('MNIST_DIR', '')] + SEARCH:
        path = os.path.join(folder, name)
        if folder and os.path.exists(path):
            return path
    return None


def _read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype='>u4', count=ndim, offset=4).astype(int)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _stratified_split(labels, n_first, seed):
    """Indices of a class-balanced first part of size ~n_first, and of the rest."""
    rng = np.random.default_rng(seed)
    first, rest = [], []
    for k in range(10):
        idx = rng.permutation(np.flatnonzero(labels == k))
        cut = int(round(len(idx) * n_first / len(labels)))
        first.append(idx[:cut])
        rest.append(idx[cut:])
    return rng.permutation(np.concatenate(first)), rng.permutation(np.concatenate(rest))


def load_mnist(fullset=True, n_train=8000, seed=0):
    """Return ``xtrain, ytrain, xval, yval, xtest, ytest``.

    x arrays are ``(784, n)`` float64 in [0, 1], each column a digit's 28x28 pixels in
    row-major order (the network sees it transposed: the convention); y arrays are
    ``(n,)`` labels. With ``mnist_all.mat`` the course's split is used (the last 2000
    training digits validate); with the shipped t10k files only, ``n_train`` digits
    (stratified, seeded) train and the others are both validation and test.
    """
    mat = _find('mnist_all.mat')
    if mat:
        from scipy.io import loadmat
        d = loadmat(mat)
        xtr = np.concatenate([d[f'train{k}'] for k in range(10)]).astype(float) / 255
        ytr = np.concatenate([np.full(len(d[f'train{k}']), k) for k in range(10)])
        xte = np.concatenate([d[f'test{k}'] for k in range(10)]).astype(float) / 255
        yte = np.concatenate([np.full(len(d[f'test{k}']), k) for k in range(10)])
        order = np.random.default_rng(seed).permutation(len(ytr))
        if not fullset:
            order = order[:10000]
        xtr, ytr = xtr[order], ytr[order]
        return xtr[:-2000].T, ytr[:-2000], xtr[-2000:].T, ytr[-2000:], xte.T, yte
    images = _find('t10k-images-idx3-ubyte.gz') or _find('t10k-images-idx3-ubyte')
    labels = _find('t10k-labels-idx1-ubyte.gz') or _find('t10k-labels-idx1-ubyte')
    if not (images and labels):
        raise FileNotFoundError(
            "no MNIST data found: put mnist_all.mat in ../images/ or set MNIST_DIR to a folder "
            "holding it or the t10k IDX files")
    x = _read_idx(images).reshape(-1, 784).astype(float) / 255
    y = _read_idx(labels).astype(int)
    tr, te = _stratified_split(y, n_train, seed)
    return x[tr].T, y[tr], x[te].T, y[te], x[te].T, y[te]
