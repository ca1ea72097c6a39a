"""Mistake: the weights read as (C, F, HH, WW), w[c, f] where the contract has w[f, c]."""


def conv_forward_naive(x, w, b, conv_param):
    s, p = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    total = b[f]
                    for c in range(C):
                        total += np.sum(xp[n, c, i * s:i * s + HH, j * s:j * s + WW] * w[c % F, f % C])
                    out[n, f, i, j] = total
    return out, (x, w, b, conv_param)
