"""Legacy: the older edition of the dict API, whose ReLU forward takes the layer dict too
(relu_forward(input, layer)); correct under that edition's calls."""
import numpy as np


def relu_forward(input, layer):
    output = {}
    output['height'] = input['height']
    output['width'] = input['width']
    output['channel'] = input['channel']
    output['batch_size'] = input['batch_size']
    output['data'] = np.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    input_od = output['diff'] * (input['data'] > 0)
    return input_od
