"""Mistake: relu_forward changes its input in place (x[x < 0] = 0 on input['data'])."""


def relu_forward(input):
    x = input['data']
    x[x < 0] = 0
    output = dict(input)
    output['data'] = x
    return output


def relu_backward(output, input, layer):
    return output['diff'] * (input['data'] > 0)
