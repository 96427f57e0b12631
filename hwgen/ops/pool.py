"""Max pooling (ceil mode included) and global average pooling."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..fixed import FixedType
from .base import Op, known_shape, pads4, pair, reads_onnx, require


def pooled_size(n: int, k: int, s: int, pad_begin: int, pad_end: int, ceil: bool) -> int:
    """Output length of a pooling window, following ONNX/PyTorch: with ceil mode, a last window
    that would start entirely in the end padding is dropped."""
    span = n + pad_begin + pad_end - k
    out = (math.ceil(span / s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + pad_begin:
        out -= 1
    return out


@reads_onnx("MaxPool")
@dataclass
class MaxPool(Op):
    kind = "maxpool"
    input_rank = 3
    kernel: int = 2
    stride: int = 2
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    ceil_mode: bool = False

    @classmethod
    def from_onnx(cls, node) -> "MaxPool":
        supported = "2-D MaxPool with square kernel and stride, no dilation, one output"
        kh, kw = pair(node.attr("kernel_shape"), "kernel_shape", node, minimum=1)
        require(kh == kw, node, f"kernel {kh}x{kw}", supported)
        sh, sw = pair(node.attr("strides", [1, 1]), "strides", node, minimum=1)
        require(sh == sw, node, f"strides {sh}x{sw}", supported)
        require(all(d == 1 for d in node.attr("dilations", [1, 1])), node, "dilations", supported)
        require(node.attr("auto_pad", "NOTSET") in ("NOTSET", "VALID"), node, "auto_pad", supported)
        require(len([o for o in node.outputs if o]) == 1, node, "Indices output", supported)
        p = pads4(node, supported)
        require(max(p) < kh, node, f"pads {list(p)} with kernel {kh}x{kw}",
                "each pad smaller than the kernel")
        shape = known_shape(node, 0)
        require(len(shape) == 4, node, f"rank-{len(shape)} input", supported)
        require(kh <= shape[2] + p[0] + p[2] and kw <= shape[3] + p[1] + p[3], node,
                f"kernel {kh}x{kw} larger than the padded input {shape[2] + p[0] + p[2]}x"
                f"{shape[3] + p[1] + p[3]}", "a kernel no larger than the padded input")
        return cls(kernel=kh, stride=sh, pad=p, ceil_mode=bool(node.attr("ceil_mode", 0)))

    def output_shape(self, in_shapes):
        c, h, w = in_shapes[0]
        t, l, b, r = self.pad
        return (c, pooled_size(h, self.kernel, self.stride, t, b, self.ceil_mode),
                pooled_size(w, self.kernel, self.stride, l, r, self.ceil_mode))

    def describe(self) -> str:
        return f"{self.kernel}x{self.kernel}/{self.stride}" + (" ceil" if self.ceil_mode else "")

    def _pool(self, x: np.ndarray, fill) -> np.ndarray:
        c, ho, wo = self.output_shape([x.shape])
        t, l, _, _ = self.pad
        k, s = self.kernel, self.stride
        # pad enough at the end for every window; padding never wins a max
        need_h, need_w = (ho - 1) * s + k, (wo - 1) * s + k
        xp = np.full((c, max(need_h, x.shape[1] + t), max(need_w, x.shape[2] + l)), fill, x.dtype)
        xp[:, t:t + x.shape[1], l:l + x.shape[2]] = x
        out = None
        for dy in range(k):  # k*k vectorised maxima beat a max over a strided window view
            for dx in range(k):
                v = xp[:, dy:dy + (ho - 1) * s + 1:s, dx:dx + (wo - 1) * s + 1:s]
                out = v.copy() if out is None else np.maximum(out, v, out=out)
        return out

    def run_float(self, xs):
        return self._pool(xs[0], -np.inf)

    def exact(self, xs, in_fmts):
        return self._pool(xs[0], np.iinfo(np.int64).min), in_fmts[0].frac


#: width of the reciprocal constant 1/(H*W) used by global average pooling
RECIP_BITS = 16


@reads_onnx("GlobalAveragePool", "AveragePool", "ReduceMean")
@dataclass
class GlobalAvgPool(Op):
    """Mean over H x W: an exact sum, times a RECIP_BITS-bit reciprocal constant, cast to the output.

    The output is a (C,) vector. An AveragePool whose window covers the whole input, and a
    ReduceMean over H and W (torch.export's adaptive average pool), are the same op.
    """

    kind = "global_avgpool"
    input_rank = 3
    window: tuple[int, int] | None = None  # the kernel of an AveragePool, checked against the input

    @classmethod
    def from_onnx(cls, node) -> "GlobalAvgPool":
        if node.op_type == "GlobalAveragePool":
            return cls()
        if node.op_type == "ReduceMean":
            axes = node.attr("axes")
            if axes is None and len(node.inputs) > 1 and node.inputs[1]:
                axes = node.constant(1)
                require(axes is not None, node, "axes are not constant",
                        "ReduceMean over constant axes")
            rank = len(known_shape(node, 0))
            axes = sorted(int(a) % rank for a in (axes if axes is not None else range(rank))
                          ) if rank else []
            require(rank == 4 and axes == [2, 3], node, f"axes {axes} of a rank-{rank} input",
                    "ReduceMean over the spatial axes (2, 3) of an NCHW tensor")
            return cls()
        supported = "AveragePool only when its window covers the whole input (global average)"
        shape = known_shape(node, 0)
        k = tuple(node.attr("kernel_shape") or ())
        require(len(shape) == 4 and k == tuple(shape[2:]), node,
                f"kernel_shape {list(k)} on input {list(shape)}", supported)
        require(not any(node.attr("pads", [0, 0, 0, 0])), node, "padding", supported)
        return cls(window=k)  # type: ignore[arg-type]

    def output_shape(self, in_shapes):
        return (in_shapes[0][0],)

    def describe(self) -> str:
        return "global average"

    def output_follows_input(self) -> bool:
        return False

    def run_float(self, xs):
        return xs[0].mean(axis=(1, 2))

    @staticmethod
    def reciprocal(n: int) -> tuple[int, int]:
        """(raw, frac) of the unsigned RECIP_BITS-bit constant nearest to 1/n."""
        frac = RECIP_BITS - 1 + (n - 1).bit_length()  # 1/n's leading one lands on the top bit
        return int(round(2 ** frac / n)), frac

    def sum_format(self, in_fmt: FixedType, n: int) -> FixedType:
        """Accumulator that holds the sum of n inputs exactly."""
        grow = math.ceil(math.log2(n)) if n > 1 else 0
        return FixedType(in_fmt.width + grow, in_fmt.integer + grow, in_fmt.signed)

    def exact(self, xs, in_fmts):
        x = xs[0]
        r, rfrac = self.reciprocal(x.shape[1] * x.shape[2])
        return x.sum(axis=(1, 2), dtype=np.int64) * r, in_fmts[0].frac + rfrac
