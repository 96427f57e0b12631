"""Small ops: ReLU, pass-through (Dropout, Identity), Flatten/Reshape to a vector, BatchNormalization
(folded into its Conv by a pass) and Softmax (host side by default)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Op, known_shape, reads_onnx, require


@reads_onnx("Relu")
@dataclass
class Relu(Op):
    kind = "relu"

    def run_float(self, xs):
        return np.maximum(xs[0], 0)

    def exact(self, xs, in_fmts):
        return np.maximum(xs[0], 0), in_fmts[0].frac


@reads_onnx("Dropout", "Identity")
@dataclass
class Passthrough(Op):
    """Inference-time no-ops; removed by normalisation."""

    kind = "passthrough"
    passthrough = True

    def exact(self, xs, in_fmts):
        return xs[0], in_fmts[0].frac


@reads_onnx("Flatten", "Reshape", "Squeeze")
@dataclass
class Flatten(Op):
    """A reshape that only drops 1-sized spatial dims: (C,1,1) -> (C,). Anything else is refused."""

    kind = "flatten"
    passthrough = True

    @classmethod
    def from_onnx(cls, node) -> "Flatten":
        ins, outs = node.input_shape(0), node.output_shape(0)
        require(ins is not None and outs is not None and len(ins) >= 2
                and all(d == 1 for d in ins[2:]) and int(np.prod(outs)) == ins[1] == outs[-1],
                node, f"reshape {ins} -> {outs}", "flattening an N x C x 1 x 1 tensor to N x C")
        return cls()

    def output_shape(self, in_shapes):
        return (int(np.prod(in_shapes[0])),)

    def run_float(self, xs):
        return xs[0].reshape(-1)

    def exact(self, xs, in_fmts):
        return xs[0].reshape(-1), in_fmts[0].frac


@reads_onnx("BatchNormalization")
@dataclass
class BatchNorm(Op):
    """Inference batch normalisation; the fold_batchnorm pass merges it into the preceding Conv."""

    kind = "batchnorm"
    input_rank = 3
    scale: np.ndarray = None  # per channel: y = x * scale + shift
    shift: np.ndarray = None

    @classmethod
    def from_onnx(cls, node) -> "BatchNorm":
        supported = "inference BatchNormalization with constant scale, bias, mean and variance"
        vals = [node.constant(i) for i in range(1, 5)]
        require(all(v is not None for v in vals), node, "non-constant parameters", supported)
        require(not node.attr("training_mode", 0), node, "training_mode=1", supported)
        shape = known_shape(node, 0)
        channels = shape[1] if len(shape) >= 2 else None
        for what, v in zip(("scale", "bias", "mean", "variance"), vals):
            require(v.shape == (channels,), node,
                    f"{what} shape {list(v.shape)} on input {list(shape)}",
                    "one value per channel")
        gamma, beta, mean, var = (v.astype(np.float64) for v in vals)
        eps = float(node.attr("epsilon", 1e-5))
        require(np.isfinite(eps) and eps >= 0, node, f"epsilon={eps:g}", "a finite epsilon >= 0")
        bad = np.flatnonzero(~(var + eps > 0))
        if bad.size:
            require(False, node, f"variance + epsilon is {var[bad[0]] + eps:g} at channel "
                    f"{bad[0]} ({bad.size} channel(s) <= 0)", "variance + epsilon > 0")
        scale = gamma / np.sqrt(var + eps)
        return cls(scale=scale, shift=beta - mean * scale)

    def run_float(self, xs):
        return (xs[0] * self.scale[:, None, None] + self.shift[:, None, None]).astype(np.float32)


@reads_onnx("Softmax")
@dataclass
class Softmax(Op):
    """Softmax over the classes; by default computed on the host from the accelerator's logits."""

    kind = "softmax"
    on_host: bool = True

    @classmethod
    def from_onnx(cls, node) -> "Softmax":
        shape = known_shape(node, 0)
        axis = node.attr("axis", 1 if node.opset < 13 else -1)
        channel_axes = {1, 1 - len(shape)} | ({len(shape) - 1, -1} if len(shape) == 2 else set())
        require(axis in channel_axes or all(d == 1 for d in shape[2:]), node, f"axis={axis}",
                "Softmax over the class (channel) axis")
        return cls()

    def output_shape(self, in_shapes):
        return (int(np.prod(in_shapes[0])),)

    def run_float(self, xs):
        return softmax(xs[0].reshape(-1))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    e = np.exp(z - z.max())
    return e / e.sum()
