from layers.fc_layer import FCLayer
from layers.relu_layer import ReLULayer
from layers.conv_layer import ConvLayer
from layers.pooling_layer import MaxPoolingLayer
from layers.reshape_layer import ReshapeLayer
from layers.dropout_layer import DropoutLayer
