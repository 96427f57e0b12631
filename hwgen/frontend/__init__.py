"""Front end: any supported SqueezeNet ONNX export -> normalised hwgen IR."""
from __future__ import annotations

from pathlib import Path

import onnx

from ..ir import Graph, Preprocess
from ..passes import run_flow
from .onnx_loader import BUILTIN_MODELS, normalise_onnx, read_model, to_ir

#: preprocessing by model origin: Caffe2 exports take BGR minus the Caffe mean, unscaled; torch
#: exports take RGB / 255 then the ImageNet mean and std (expressed here on the 0..255 scale)
DEFAULT_PREPROCESS = {
    "caffe2": Preprocess("BGR", (104.0, 117.0, 123.0), (1.0, 1.0, 1.0)),
    "torch": Preprocess("RGB", (0.485 * 255, 0.456 * 255, 0.406 * 255),
                        (0.229 * 255, 0.224 * 255, 0.225 * 255)),
}


def model_name(source) -> str:
    if isinstance(source, onnx.ModelProto):
        return source.graph.name or "model"
    return Path(str(source)).stem if str(source) not in BUILTIN_MODELS else str(source)


def load(source: str | Path | onnx.ModelProto, dump=None) -> Graph:
    """Read, normalise and convert a model; ``dump(step, graph)`` sees the IR after each pass."""
    name = model_name(source)
    model = normalise_onnx(read_model(source), where=str(source) if not isinstance(
        source, onnx.ModelProto) else name)
    graph = run_flow(to_ir(model, name), dump=dump)
    graph.preprocess = DEFAULT_PREPROCESS[graph.origin]
    return graph


__all__ = ["load", "BUILTIN_MODELS", "DEFAULT_PREPROCESS"]
