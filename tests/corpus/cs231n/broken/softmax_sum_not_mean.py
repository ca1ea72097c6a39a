"""Mistake: softmax_loss sums over the batch where the contract asks the mean (loss and dx N times too large)."""


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    N = x.shape[0]
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y])
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx
