"""The course's original initialisation (historical starter code): plain numpy."""
import numpy as np


def init_convnet(layers):
    params = []
    h, w, c = layers[0]['height'], layers[0]['width'], layers[0]['channel']
    for i in range(1, len(layers)):
        layer = layers[i]
        if layer['type'] == 'CONV':
            scale = np.sqrt(3. / (h * w * c))
            params.append({'w': 2 * scale * np.random.rand(layer['k'] * layer['k'] * c, layer['num']) - scale,
                           'b': np.zeros((1, layer['num']))})
            h = (h + 2 * layer['pad'] - layer['k']) // layer['stride'] + 1
            w = (w + 2 * layer['pad'] - layer['k']) // layer['stride'] + 1
            c = layer['num']
        elif layer['type'] == 'POOLING':
            params.append({'w': np.array([]), 'b': np.array([])})
            h = (h + 2 * layer['pad'] - layer['k']) // layer['stride'] + 1
            w = (w + 2 * layer['pad'] - layer['k']) // layer['stride'] + 1
        elif layer['type'] == 'IP':
            scale = np.sqrt(3. / (h * w * c))
            params.append({'w': 2 * scale * np.random.rand(h * w * c, layer['num']) - scale,
                           'b': np.zeros((1, layer['num']))})
            h, w, c = layer['num'], 1, 1
        elif layer['type'] == 'RELU':
            params.append({'w': np.array([]), 'b': np.array([])})
        elif layer['type'] == 'LOSS':
            scale = np.sqrt(3. / (h * w * c))
            params.append({'w': 2 * scale * np.random.rand(h * w * c, layer['num'] - 1) - scale,
                           'b': np.zeros(layer['num'] - 1)})
    return params
