"""Correct variant: copies everything it is given and caches copies; softmax shifts a copy in place."""


def relu_forward(x):
    x = x.copy()
    out = x.copy()
    out[out < 0] = 0
    return out, x


def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx


def softmax_loss(x, y):
    x = x.copy()
    x -= np.max(x, axis=1, keepdims=True)
    N = x.shape[0]
    log_probs = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def affine_backward(dout, cache):
    x, w, b = (a.copy() for a in cache)
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db
