"""Parameter initialisation (provided)."""
import numpy as np

from utils import output_size


def init_convnet(layers, seed=None, xp=np):
    """Uniform weights in +-sqrt(3 / fan_in), fan_in = h*w*c of the layer's input; zero biases.

    Returns one dict per layer after DATA; layers without parameters get empty arrays.
    """
    rng = np.random.default_rng(seed)
    h, w, c = layers[0]['height'], layers[0]['width'], layers[0]['channel']
    params = []
    for layer in layers[1:]:
        kind = layer['type']
        scale = np.sqrt(3 / (h * w * c))
        if kind == 'CONV':
            shape_w, shape_b = (layer['k'] ** 2 * c, layer['num']), (1, layer['num'])
            h = output_size(h, layer['k'], layer['stride'], layer['pad'])
            w = output_size(w, layer['k'], layer['stride'], layer['pad'])
            c = layer['num']
        elif kind == 'POOLING':
            shape_w = shape_b = None
            h = output_size(h, layer['k'], layer['stride'], layer['pad'])
            w = output_size(w, layer['k'], layer['stride'], layer['pad'])
        elif kind == 'IP':
            shape_w, shape_b = (h * w * c, layer['num']), (1, layer['num'])
            h, w, c = layer['num'], 1, 1
        elif kind == 'LOSS':
            shape_w, shape_b = (layer['num'] - 1, h * w * c), (layer['num'] - 1, 1)
        else:  # RELU
            shape_w = shape_b = None
        if shape_w is None:
            params.append({'w': xp.zeros((0,)), 'b': xp.zeros((0,))})
        else:
            params.append({'w': xp.asarray(rng.uniform(-scale, scale, shape_w)),
                           'b': xp.zeros(shape_b)})
    return params
