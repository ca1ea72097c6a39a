"""Correct variant: works on copies, in place on the copy only."""
import copy


def relu_forward(input):
    output = copy.deepcopy(input)
    x = output['data']
    x[x < 0] = 0          # in place, but on our own copy
    return output


def relu_backward(output, input, layer):
    dx = output['diff'].copy()
    dx[input['data'] <= 0] = 0
    return dx
