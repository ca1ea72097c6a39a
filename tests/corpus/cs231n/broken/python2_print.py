"""Mistake: written for Python 2 (a print statement): the file does not compile under Python 3."""


def relu_forward(x):
    print "relu", x.shape
    return np.maximum(x, 0), x
