"""Correct variant: >= at zero (the derivative at 0 is a free choice)."""


def relu_forward(input):
    x = input['data']
    return {'height': input['height'], 'width': input['width'], 'channel': input['channel'],
            'batch_size': input['batch_size'], 'data': x * (x >= 0)}


def relu_backward(output, input, layer):
    return output['diff'] * (input['data'] >= 0)
