"""Mistake: dw and db assigned (=) in a loop over images instead of accumulated: only the last image counts."""


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s, p = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    Ho, Wo = dout.shape[2], dout.shape[3]
    for n in range(N):
        dw = np.zeros_like(w)
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
                dw += dout[n, :, i, j][:, None, None, None] * patch[None]
                dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += np.tensordot(dout[n, :, i, j], w, axes=([0], [0]))
        db = dout[n].sum(axis=(1, 2))
    return dxp[:, :, p:p + H, p:p + W], dw, db
