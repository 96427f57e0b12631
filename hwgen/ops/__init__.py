"""hwgen's ops. Importing this package registers every ONNX reader."""
from .add import Add
from .base import ONNX_OPS, Op
from .concat import Concat
from .conv import Conv
from .pool import GlobalAvgPool, MaxPool
from .simple import BatchNorm, Flatten, Passthrough, Relu, Softmax

__all__ = ["ONNX_OPS", "Op", "Add", "Concat", "Conv", "GlobalAvgPool", "MaxPool", "BatchNorm",
           "Flatten", "Passthrough", "Relu", "Softmax"]
