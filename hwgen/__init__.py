"""hwgen: SqueezeNet ONNX graphs to fixed-point Vitis HLS dataflow accelerators, proven bit-exact
by simulation. See hwgen.api for the Python API."""
__version__ = "0.1.0"

from .api import generate_project, image_inputs, load_model, quantize_model  # noqa: E402
from .errors import HwgenError  # noqa: E402
from .fixed import FixedType  # noqa: E402
from .golden import GoldenModel, run_float  # noqa: E402
from .hls.csim import run_csim  # noqa: E402
from .images import load_rgb, network_input, preprocess  # noqa: E402

__all__ = ["load_model", "quantize_model", "image_inputs", "generate_project", "run_csim",
           "HwgenError", "FixedType", "GoldenModel", "run_float", "load_rgb", "network_input",
           "preprocess", "__version__"]
