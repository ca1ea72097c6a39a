"""Correct variant: prints while working and returns extra keys in its output dict."""
import numpy as np


def relu_forward(input):
    print('relu forward', input['data'].shape)
    output = dict(input)
    output['data'] = np.maximum(input['data'], 0)
    output['type'] = 'RELU'
    output['mask'] = input['data'] > 0
    return output


def relu_backward(output, input, layer):
    print('relu backward, layer', layer.get('type'))
    return output['diff'] * (input['data'] > 0)
