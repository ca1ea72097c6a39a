"""Correct variant: max pool backward gives a tied window's gradient to its last maximum (any one is accepted)."""


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    win = x[n, c, i * s:i * s + ph, j * s:j * s + pw].ravel()
                    last = len(win) - 1 - np.argmax(win[::-1])
                    a, b = divmod(last, pw)
                    dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dx
