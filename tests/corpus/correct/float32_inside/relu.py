"""Correct variant: computes in float32, returns float64."""
import numpy as np


def relu_forward(input):
    out = dict(height=input['height'], width=input['width'], channel=input['channel'],
               batch_size=input['batch_size'])
    out['data'] = np.maximum(input['data'].astype(np.float32), 0).astype(np.float64)
    return out


def relu_backward(output, input, layer):
    x = input['data'].astype(np.float32)
    return (output['diff'].astype(np.float32) * (x > 0)).astype(np.float64)
