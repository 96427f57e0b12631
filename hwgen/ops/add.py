"""Element-wise sum of two feature maps: the bypass of a SqueezeNet Fire module (its input, or a
1x1 convolution of it, added to its output)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixed import FixedType
from .base import Op, known_shape, reads_onnx, require


@reads_onnx("Add", "Sum")
@dataclass
class Add(Op):
    kind = "add"
    input_rank = 3
    relu: bool = False  # a ReLU on the sum, merged in by attach_relu

    @classmethod
    def from_onnx(cls, node) -> "Add":
        supported = f"{node.op_type} of two layer outputs of one N x C x H x W shape"
        consts = [name for i, name in enumerate(node.inputs) if node.constant(i) is not None]
        require(not consts, node, f"constant input {consts[0]!r}" if consts else "", supported)
        require(len(node.inputs) == 2, node, f"{len(node.inputs)} inputs", supported)
        a, b = known_shape(node, 0), known_shape(node, 1)
        require(len(a) == 4 and a == b, node,
                f"inputs {list(a)} and {list(b)}" + (" (broadcasting)" if a != b else ""),
                supported)
        return cls()

    def output_shape(self, in_shapes):
        assert in_shapes[0] == in_shapes[1], f"add inputs differ: {in_shapes}"
        return tuple(in_shapes[0])

    def run_float(self, xs):
        y = xs[0] + xs[1]
        return np.maximum(y, 0) if self.relu else y

    def exact(self, xs, in_fmts):
        # each operand shifted left onto the finer of the two fractions: exact, no rounding
        frac = max(f.frac for f in in_fmts)
        y = sum(np.asarray(x, dtype=np.int64) << (frac - f.frac) for x, f in zip(xs, in_fmts))
        return (np.maximum(y, 0) if self.relu else y), frac

    @staticmethod
    def sum_format(a: FixedType, b: FixedType) -> FixedType:
        """The exact sum of a value of ``a`` and one of ``b``: the finer fraction, and the bits
        for every sum of two raw values."""
        frac = max(a.frac, b.frac)
        lo = (a.min_raw << (frac - a.frac)) + (b.min_raw << (frac - b.frac))
        hi = (a.max_raw << (frac - a.frac)) + (b.max_raw << (frac - b.frac))
        signed = lo < 0
        width = max(hi.bit_length() + signed, (-lo - 1).bit_length() + 1 if signed else 0, 1)
        return FixedType(width, width - frac, signed)

    def describe(self) -> str:
        return "+ relu" if self.relu else ""

    def output_follows_input(self) -> bool:
        return False  # the sum has its own calibrated format

    def output_nonnegative(self, inputs_nonnegative) -> bool:
        return self.relu or inputs_nonnegative()
