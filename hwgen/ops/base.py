"""The Op base class and the registry that maps ONNX op types to hwgen ops.

One op, one file: each subclass knows how to read itself from ONNX, infer its output shape, compute
its float and bit-exact fixed-point reference, and count its work. Nothing else in hwgen switches on
op names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar, Sequence

import numpy as np

from ..errors import HwgenError

if TYPE_CHECKING:  # pragma: no cover
    from ..fixed import FixedType
    from ..frontend.onnx_context import OnnxNode

Shape = tuple[int, ...]

#: ONNX op type -> Op subclass able to read it
ONNX_OPS: dict[str, type["Op"]] = {}


def reads_onnx(*op_types: str):
    """Class decorator: register an Op subclass as the reader of these ONNX op types."""

    def register(cls: type["Op"]) -> type["Op"]:
        for t in op_types:
            ONNX_OPS[t] = cls
        return cls

    return register


@dataclass
class Op:
    kind: ClassVar[str] = "op"
    #: an op that only reshapes or forwards data; normalisation passes remove it
    passthrough: ClassVar[bool] = False
    #: the rank of every data input (batch excluded) the op computes on: 3 for C x H x W; None: any
    input_rank: ClassVar[int | None] = None

    @classmethod
    def from_onnx(cls, node: "OnnxNode") -> "Op":
        return cls()

    def output_shape(self, in_shapes: Sequence[Shape]) -> Shape:
        return tuple(in_shapes[0])

    def run_float(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        return xs[0]

    def exact(self, xs: Sequence[np.ndarray], in_fmts: Sequence["FixedType"]) -> tuple[np.ndarray, int]:
        """The output before its final cast, exactly: (raw integers, their fraction bits)."""
        raise NotImplementedError(f"{self.kind} has no fixed-point reference")

    def run_fixed(self, xs: Sequence[np.ndarray], in_fmts: Sequence["FixedType"],
                  out_fmt: "FixedType") -> np.ndarray:
        """Raw integers of the output, bit-exact with the HLS kernel: the exact value, cast."""
        return out_fmt.cast(*self.exact(xs, in_fmts))

    def macs(self, in_shapes: Sequence[Shape], out_shape: Shape) -> int:
        return 0

    def n_params(self) -> int:
        return 0

    def describe(self) -> str:
        """Short attribute summary for reports."""
        return ""

    # ---- quantisation --------------------------------------------------------------------------
    def output_follows_input(self) -> bool:
        """True when the output format must equal the input format (pooling, reshapes)."""
        return True

    def output_nonnegative(self, inputs_nonnegative: Callable[[], bool]) -> bool:
        """Whether no output value can be negative (an unsigned format then holds it), given
        ``inputs_nonnegative()``: whether no input value can be (asked only when it matters)."""
        return inputs_nonnegative()


def require(cond: bool, node: "OnnxNode", what: str, supported: str) -> None:
    """Fail with one line naming the node, its op, what is wrong and what is supported."""
    if not cond:
        raise HwgenError(f"node {node.name!r} ({node.op_type}): {what}; supported: {supported}")


def pair(values: Sequence[int] | None, name: str, node: "OnnxNode | None" = None,
         minimum: int | None = None) -> tuple[int, int]:
    """Two integers from a 2-D attribute (kernel_shape, strides), each at least ``minimum``."""
    where = f"node {node.name!r} ({node.op_type}): " if node is not None else ""
    if values is None:
        raise HwgenError(f"{where}{name} is missing; supported: a 2-D {name}")
    v = tuple(int(x) for x in values)
    if len(v) != 2:
        raise HwgenError(f"{where}{name} {list(v)} is not 2-D; supported: a 2-D {name}")
    if minimum is not None and min(v) < minimum:
        raise HwgenError(f"{where}{name} {list(v)}; supported: values >= {minimum}")
    return v  # type: ignore[return-value]


def pads4(node: "OnnxNode", supported: str) -> tuple[int, int, int, int]:
    """ONNX ``pads`` [top, left, bottom, right] of a 2-D op, each >= 0 (absent: no padding)."""
    p = node.attr("pads")
    if p is None or node.attr("auto_pad", "NOTSET") == "VALID":
        return (0, 0, 0, 0)
    p = tuple(int(x) for x in p)
    require(len(p) == 4 and min(p) >= 0, node, f"pads {list(p)}",
            f"{supported}, with 4 non-negative pads")
    return p  # type: ignore[return-value]


def known_shape(node: "OnnxNode", i: int = 0) -> tuple:
    """The inferred shape of input ``i`` (batch included), every dimension known."""
    shape = node.input_shape(i)
    require(shape is not None and None not in shape, node,
            f"input {i} has an unknown shape {list(shape) if shape is not None else ''}".rstrip(),
            "inputs whose shape ONNX shape inference determines")
    return tuple(shape)
