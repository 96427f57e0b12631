"""2-D convolution (any square kernel, stride, zero padding), with bias and an optional fused ReLU."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..fixed import FixedType
from .base import Op, Shape, known_shape, pads4, pair, reads_onnx, require


@reads_onnx("Conv")
@dataclass
class Conv(Op):
    kind = "conv"
    input_rank = 3
    weight: np.ndarray = None  # (Cout, Cin, K, K) float32
    bias: np.ndarray = None  # (Cout,) float32
    stride: int = 1
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    relu: bool = False
    # fixed-point formats, set by quantisation
    bias_correction: np.ndarray | None = None  # subtracted from the bias in fixed point only
    weight_fmt: FixedType | None = None
    # per-channel weight formats (weight_granularity: channel): output channel c's weights, bias
    # and accumulator have weight_shift[c] more fraction bits than weight_fmt, bias_fmt and
    # accum_fmt give; the raw integers and their sums are the same as with one format, only the
    # requantising shift differs per channel (None: every channel 0)
    weight_shift: np.ndarray | None = None
    weight_rounded: np.ndarray | None = None  # raw weights chosen on calibration data, else nearest
    bias_fmt: FixedType | None = None
    accum_fmt: FixedType | None = None

    @classmethod
    def from_onnx(cls, node) -> "Conv":
        supported = "2-D Conv with group=1, dilations=1, square kernel and stride, constant weights"
        w = node.constant(1)
        require(w is not None, node, "weights are not constant", supported)
        require(w.ndim == 4, node, f"weight rank {w.ndim}", supported)
        require(node.attr("group", 1) == 1, node, f"group={node.attr('group')}", supported)
        dil = node.attr("dilations", [1, 1])
        require(all(d == 1 for d in dil), node, f"dilations={list(dil)}", supported)
        kh, kw = w.shape[2:]
        require(kh == kw, node, f"kernel {kh}x{kw}", supported)
        ks = node.attr("kernel_shape")
        require(ks is None or list(ks) == [kh, kw], node,
                f"kernel_shape {list(ks or [])} but weight shape {list(w.shape)}", supported)
        sh, sw = pair(node.attr("strides", [1, 1]), "strides", node, minimum=1)
        require(sh == sw, node, f"strides {sh}x{sw}", supported)
        auto_pad = node.attr("auto_pad", "NOTSET")
        require(auto_pad in ("NOTSET", "VALID"), node, f"auto_pad={auto_pad}", supported)
        pads = pads4(node, supported)
        shape = known_shape(node, 0)
        require(len(shape) == 4 and shape[1] == w.shape[1], node,
                f"weight shape {list(w.shape)} on input {list(shape)}",
                "weights with as many input channels as the input")
        t, l, bottom, r = pads
        require(kh <= shape[2] + t + bottom and kw <= shape[3] + l + r, node,
                f"kernel {kh}x{kw} larger than the padded input {shape[2] + t + bottom}x"
                f"{shape[3] + l + r}", "a kernel no larger than the padded input")
        b = node.constant(2) if len(node.inputs) > 2 and node.inputs[2] else None
        if len(node.inputs) > 2 and node.inputs[2]:
            require(b is not None, node, "bias is not constant", supported)
            require(b.shape == (w.shape[0],), node,
                    f"bias shape {list(b.shape)} for {w.shape[0]} output channels",
                    "one bias per output channel")
        bias = np.zeros(w.shape[0], np.float32) if b is None else b.astype(np.float32)
        return cls(weight=w.astype(np.float32), bias=bias, stride=sh, pad=pads)

    @property
    def kernel(self) -> int:
        return self.weight.shape[2]

    @property
    def in_channels(self) -> int:
        return self.weight.shape[1]

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0]

    def output_shape(self, in_shapes: Sequence[Shape]) -> Shape:
        _, h, w = in_shapes[0]
        t, l, b, r = self.pad
        k, s = self.kernel, self.stride
        return (self.out_channels, (h + t + b - k) // s + 1, (w + l + r - k) // s + 1)

    def describe(self) -> str:
        d = f"{self.kernel}x{self.kernel}/{self.stride}"
        if any(self.pad):
            d += f" pad {self.pad[0]}" if len(set(self.pad)) == 1 else f" pad {list(self.pad)}"
        return d + (" +relu" if self.relu else "")

    def macs(self, in_shapes, out_shape) -> int:
        return int(np.prod(out_shape)) * self.in_channels * self.kernel ** 2

    def n_params(self) -> int:
        return self.weight.size + self.bias.size

    def output_follows_input(self) -> bool:
        return False

    def output_nonnegative(self, inputs_nonnegative) -> bool:
        return self.relu  # weights of either sign: only the ReLU bounds the output

    # ---- references ----------------------------------------------------------------------------
    def _columns(self, x: np.ndarray, fill=0) -> tuple[np.ndarray, int, int]:
        """im2col: (Cin*K*K, Ho*Wo) view of the zero-padded input."""
        if self.kernel == 1 and self.stride == 1 and not any(self.pad):
            return x.reshape(x.shape[0], -1), x.shape[1], x.shape[2]
        t, l, b, r = self.pad
        x = np.pad(x, ((0, 0), (t, b), (l, r)), constant_values=fill)
        k, s = self.kernel, self.stride
        win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
        c, ho, wo = win.shape[:3]
        cols = win.transpose(0, 3, 4, 1, 2).reshape(c * k * k, ho * wo)
        return cols, ho, wo

    def run_float(self, xs):
        y = self.pre_activation_float(xs[0])
        return np.maximum(y, 0) if self.relu else y

    def pre_activation_float(self, x: np.ndarray) -> np.ndarray:
        return self.linear_float(x, self.weight) + self.bias[:, None, None]

    def linear_float(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The convolution of x with the given weights, without bias or ReLU."""
        cols, ho, wo = self._columns(x.astype(np.float32))
        return (weight.reshape(self.out_channels, -1).astype(np.float32) @ cols).reshape(
            self.out_channels, ho, wo)

    @property
    def fixed_bias(self) -> np.ndarray:
        """The bias the hardware adds: the float bias less any calibrated correction."""
        if self.bias_correction is None:
            return self.bias
        return (self.bias.astype(np.float64) - self.bias_correction).astype(np.float32)

    # ---- per-channel formats ----------------------------------------------------------------
    @property
    def channel_shift(self) -> np.ndarray:
        """Extra fraction bits of each output channel's weights, bias and accumulator (int64)."""
        if self.weight_shift is None:
            return np.zeros(self.out_channels, np.int64)
        return np.asarray(self.weight_shift, np.int64)

    @property
    def max_shift(self) -> int:
        """The largest per-channel shift (0 for one format per tensor)."""
        return int(self.channel_shift.max(initial=0))

    def _per_channel(self, x: np.ndarray) -> np.ndarray:
        """x (Cout, ...) scaled by 2**shift per channel: exact, so quantising it with a tensor
        format quantises each channel with its own."""
        s = self.channel_shift.reshape((-1,) + (1,) * (np.ndim(x) - 1))
        return np.ldexp(np.asarray(x, np.float64), s)

    def nearest_weights(self) -> np.ndarray:
        """Raw weights, each rounded to the nearest value of its channel's format."""
        return self.weight_fmt.quantize(self._per_channel(self.weight))

    def weight_values(self) -> np.ndarray:
        """The quantised weights as real numbers (float64)."""
        s = self.channel_shift.reshape(-1, 1, 1, 1)
        return np.ldexp(self.weight_raw().astype(np.float64), -(self.weight_fmt.frac + s))

    def bias_raw(self) -> np.ndarray:
        """Raw biases, each at its channel's bias format."""
        return self.bias_fmt.quantize(self._per_channel(self.fixed_bias))

    def weight_raw(self) -> np.ndarray:
        """Quantised weights: those chosen by rounding optimisation, else each weight rounded to
        the nearest grid value (cached per format: the golden model reuses them for every image)."""
        if self.weight_rounded is not None:
            return self.weight_rounded
        key = (self.weight_fmt, None if self.weight_shift is None else self.channel_shift.tobytes())
        cached = getattr(self, "_weight_raw", None)
        if cached is None or cached[0] != key:
            cached = (key, self.nearest_weights())
            self._weight_raw = cached
        return cached[1]

    def bias_raw_in_accum(self) -> np.ndarray:
        """Bias raw integers aligned to the accumulator's fraction (an exact left shift: a
        channel's bias and accumulator carry the same per-channel shift)."""
        key = (self.bias_fmt, self.accum_fmt, None if self.bias_correction is None
               else self.bias_correction.tobytes(),
               None if self.weight_shift is None else self.channel_shift.tobytes())
        cached = getattr(self, "_bias_raw", None)
        if cached is None or cached[0] != key:
            shift = self.accum_fmt.frac - self.bias_fmt.frac
            assert shift >= 0, "bias format must not be finer than the accumulator"
            cached = (key, self.bias_raw() << shift)
            self._bias_raw = cached
        return cached[1]

    def accum_can_overflow(self, in_fmt: FixedType) -> bool:
        """Whether some input could overflow the accumulator (never with hwgen's own sizing)."""
        worst = self._weight_abs_sum() * max(-in_fmt.min_raw, in_fmt.max_raw) + float(
            np.abs(self.bias_raw_in_accum()).max(initial=0))
        return worst > self.accum_fmt.max_raw or -worst < self.accum_fmt.min_raw

    def _weight_abs_sum(self) -> float:
        """Largest sum of |weight| over one output channel (bounds every partial sum)."""
        return float(np.abs(self.weight_raw()).reshape(self.out_channels, -1).sum(axis=1).max(
            initial=0))

    def accumulate(self, x_raw: np.ndarray) -> np.ndarray:
        """Exact integer sums of weight x input products plus bias, at the accumulator fraction.

        Every partial sum is an integer; while their bound stays below 2**24 (2**53) a float32
        (float64) GEMM computes them exactly, and far faster than an int64 one.
        """
        w = self.weight_raw().reshape(self.out_channels, -1)
        bound = self._weight_abs_sum() * max(-float(x_raw.min(initial=0)),
                                             float(x_raw.max(initial=0)), 1.0)
        dtype = np.float32 if bound < 2.0 ** 24 else np.float64 if bound < 2.0 ** 53 else None
        if dtype is None:  # pragma: no cover - only for very wide user formats
            cols, ho, wo = self._columns(x_raw)
            acc = w @ cols
        else:
            cols, ho, wo = self._columns(x_raw.astype(dtype))
            acc = (w.astype(dtype) @ cols).astype(np.int64)
        acc = acc + self.bias_raw_in_accum()[:, None]
        return acc.reshape(self.out_channels, ho, wo)

    def exact(self, xs, in_fmts):
        assert self.accum_fmt.frac == in_fmts[0].frac + self.weight_fmt.frac
        acc = self.accumulate(xs[0])
        if self.accum_can_overflow(in_fmts[0]):  # a user-narrowed accumulator wraps or saturates
            acc = self.accum_fmt.cast(acc, self.accum_fmt.frac)
        if self.relu:
            acc = np.maximum(acc, 0)
        top = self.max_shift
        if top == 0:
            return acc, self.accum_fmt.frac
        # channel c is at accum frac + shift[c]: align every channel on the finest, exactly
        return acc << (top - self.channel_shift)[:, None, None], self.accum_fmt.frac + top
