"""hwgen: SqueezeNet ONNX graphs to fixed-point Vitis HLS dataflow accelerators, proven bit-exact
by simulation. See hwgen.api for the Python API."""
from .api import image_inputs, load_model, quantize_model
from .errors import HwgenError
from .fixed import FixedType
from .golden import GoldenModel, run_float
from .images import load_rgb, network_input, preprocess

__version__ = "0.1.0"
__all__ = ["load_model", "quantize_model", "image_inputs", "HwgenError", "FixedType",
           "GoldenModel", "run_float", "load_rgb", "network_input", "preprocess", "__version__"]
