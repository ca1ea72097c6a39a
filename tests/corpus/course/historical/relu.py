"""A historical-edition submission: the student's ReLU."""
import numpy as np


def relu_forward(input):
    output = {'height': input['height'], 'width': input['width'], 'channel': input['channel'],
              'batch_size': input['batch_size']}
    output['data'] = np.maximum(input['data'], 0)
    return output


def relu_backward(output, input, layer):
    return output['diff'] * (input['data'] > 0)
