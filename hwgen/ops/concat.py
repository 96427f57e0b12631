"""Channel concatenation: the join of a Fire module's two expand branches."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Op, reads_onnx, require


@reads_onnx("Concat")
@dataclass
class Concat(Op):
    kind = "concat"

    @classmethod
    def from_onnx(cls, node) -> "Concat":
        rank = len(node.input_shape(0))
        axis = node.attr("axis", 1)
        require(rank == 4 and axis in (1, -3), node, f"axis={axis} on rank-{rank} inputs",
                "Concat on the channel axis (axis=1) of NCHW tensors")
        return cls()

    def output_shape(self, in_shapes):
        c = sum(s[0] for s in in_shapes)
        rest = {tuple(s[1:]) for s in in_shapes}
        assert len(rest) == 1, f"concat inputs differ in spatial size: {in_shapes}"
        return (c, *rest.pop())

    def run_float(self, xs):
        return np.concatenate(xs, axis=0)

    def exact(self, xs, in_fmts):
        # both inputs carry the output's format by construction (see quantize)
        assert len({f.frac for f in in_fmts}) == 1, in_fmts
        return np.concatenate(xs, axis=0), in_fmts[0].frac
