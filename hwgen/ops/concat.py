"""Channel concatenation: the join of a Fire module's two expand branches."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Op, known_shape, reads_onnx, require


@reads_onnx("Concat")
@dataclass
class Concat(Op):
    kind = "concat"
    input_rank = 3

    @classmethod
    def from_onnx(cls, node) -> "Concat":
        supported = "Concat on the channel axis (axis=1) of NCHW tensors"
        consts = [name for i, name in enumerate(node.inputs) if node.constant(i) is not None]
        require(not consts, node, f"constant input {consts[0]!r}" if consts else "",
                f"{supported} of layer outputs")
        shapes = [known_shape(node, i) for i in range(len(node.inputs))]
        rank = len(shapes[0])
        axis = node.attr("axis", 1)
        require(rank == 4 and axis in (1, -3), node, f"axis={axis} on rank-{rank} inputs",
                supported)
        require(len({s[2:] for s in shapes}) == 1 and len({len(s) for s in shapes}) == 1, node,
                f"inputs {' and '.join(str(list(s)) for s in shapes)} differ in height or width",
                f"{supported} of equal height and width")
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
