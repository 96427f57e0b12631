"""The Python side of the kernel library in ``hls_templates/hwgen/*.h``.

For an IR node of a quantised graph and its folding, ``kernel_call`` returns a ``KernelCall``: the
C++ config struct (hls4ml-style traits: typedefs and constants only, all logic is in the headers),
the C++ call, the weight/bias arrays in the kernel's memory layout (raw integers) and an estimate
of the cycles per frame. Kernels that have no IR node of their own (duplicate, regroup, the AXI
adapters) have their own constructors. ``fire_fifo_depths`` sizes the streams of a Fire module so
that its dataflow cannot deadlock, and ``legal_folding`` lists the parallelism a node allows.

Stream convention (types.h): a (C, H, W) tensor travels as pixels in raster order, each pixel as
C/N words ``hwgen::Pack<T, N>`` of N consecutive channels.
"""
from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..ir import Fire, Graph, Node
from ..ops import Concat, Conv, GlobalAvgPool, MaxPool
from ..ops.base import Op
from ..ops.pool import RECIP_BITS
from ..pynq_driver import pack_stream, to_stream, unpack_output
from . import cost
from .cost import Resources
from .ddr import DdrWeights, beats_per_word

#: pipeline depth estimates (cycles) added to a kernel's iteration count
MVAU_DEPTH = 10
WINDOW_DEPTH = 4
SIMPLE_DEPTH = 3
#: cycles from a burst request on an AXI4 master port to its first beat (Zynq HP port and DDR)
DDR_BURST_LATENCY = 64
#: beats per burst of a weight port: Zynq-7000 HP ports are AXI3 (at most 16 beats); the top's
#: m_axi pragma sets max_read_burst_length to this on Zynq-7000 (UG1399 m_axi options)
DDR_MAX_BURST = 16
#: read requests a weight port keeps in flight (the top's num_read_outstanding)
DDR_OUTSTANDING = 4
#: depth given to every stream that needs no more (Vitis' default)
DEFAULT_FIFO_DEPTH = 2
#: window words the matrix-vector unit may be ahead of its output (internal FIFO + pipeline)
_WINDOW_SLACK = 2 + MVAU_DEPTH

_CPP_KEYWORDS = set("""
    alignas alignof and asm auto bool break case catch char class const constexpr continue
    default delete do double else enum explicit export extern false float for friend goto if
    inline int long mutable namespace new noexcept not nullptr operator or private protected
    public register return short signed sizeof static struct switch template this throw true try
    typedef typename union unsigned using virtual void volatile while xor""".split())


def cpp_ident(name: str) -> str:
    """A C++ identifier for a layer name: "fire2/expand3x3" -> "fire2_expand3x3"."""
    ident = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", name)).strip("_") or "layer"
    if ident[0].isdigit():
        ident = "l" + ident
    if ident in _CPP_KEYWORDS or keyword.iskeyword(ident):
        ident += "_"
    return ident


def raw_ctype(fmt: FixedType) -> str:
    """C++ type holding the raw integers of ``fmt`` (types.h: ap_int under synthesis, a native
    integer in fast C simulation)."""
    return f"hwgen::{'int_t' if fmt.signed else 'uint_t'}<{fmt.width}>"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def axi_bits(fmt: FixedType, lanes: int) -> int:
    """Width of the AXI4-Stream word that carries one stream word: lanes * W rounded up to bytes."""
    return -(-lanes * fmt.width // 8) * 8


#: TDATA widths the HLS top gives its AXI4-Streams: what an AXI DMA channel takes over its 64-bit
#: memory-mapped side (PG021: the stream may not be wider than the memory map, and Vivado's DMA
#: takes 8..1024-bit powers of two), so the block design needs no width converter
DMA_BEAT_BITS = (8, 16, 32, 64)


def dma_beat_bits(fmt: FixedType, lanes: int) -> int:
    """TDATA width of a DMA-facing stream: the narrowest DMA width that holds a whole stream word,
    else 64 (the word then takes several beats, see axis_beats)."""
    need = lanes * fmt.width
    return next((b for b in DMA_BEAT_BITS if b >= need), DMA_BEAT_BITS[-1])


def axis_beats(fmt: FixedType, lanes: int, beat_bits: int) -> int:
    """AXI4-Stream beats per stream word of ``lanes`` values."""
    return -(-lanes * fmt.width // beat_bits)


# ---- data classes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Folding:
    """Parallelism of one kernel.

    conv: ``pe`` output channels (= lanes of the output stream) and ``simd`` input channels per
    cycle; ``in_lanes`` is the lane count of the input stream (default ``simd``).
    maxpool, global average pool, concat: ``lanes`` of the input and output streams, given as
    ``in_lanes`` or, failing that, ``pe``.
    """

    pe: int = 1
    simd: int = 1
    in_lanes: int | None = None
    out_lanes: int | None = None
    #: conv only: weights in DDR, streamed through an AXI4 master port (conv2d_ddr.h)
    ddr: bool = False
    #: conv only: multipliers in LUTs instead of DSP48s
    mul_fabric: bool = False
    #: conv only, weights on chip: "bram", "lutram" or None (cost.memory's choice)
    storage: str | None = None

    @property
    def lanes(self) -> int:
        return self.in_lanes or self.pe


class KernelArray(NamedTuple):
    """A constant array the generator writes to a header: name, C++ type of one lane (the raw
    integer type of the format, ``raw_ctype``), the flat raw integers in the kernel's layout
    (int64) and how many of them make one ROM word.

    With ``lanes`` >= 1 the array is a ROM of ``values.size / lanes`` words, each ONE scalar
    ``ap_uint<lanes * W>`` (written ``hwgen::rom_word<N>``, types.h; W = the lane width; conv2d.h, "Weight layout"): lane l at bits
    [l*W, l*W + W) as its raw two's-complement pattern, one word per (neuron fold, synapse fold)
    step, read through a word counter. A scalar wide word is one memory word by construction (no
    AGGREGATE, unlike an array of structs). Each word is initialised from a hex string,
    ``hwgen::rom_word<N>("0x...", 16)`` (for synthesis ``ap_uint<N>("0x...", 16)``), as FINN's data packing writes its weight ROMs
    (finn.util.data_packing.numpy_to_hls_code: the innermost dimension packed into one
    zero-padded "0x" hex string per element). With ``lanes`` == 0: a plain array of ``ctype``."""

    name: str
    ctype: str
    values: np.ndarray
    lanes: int = 0  # 0: a plain array of ctype

    @property
    def bits(self) -> int:
        """Width W of one lane (from ``ctype``, ``hwgen::int_t<W>`` / ``hwgen::uint_t<W>``)."""
        m = re.fullmatch(r"hwgen::u?int_t<(\d+)>", self.ctype)
        if not m:
            raise HwgenError(f"{self.name}: no lane width in {self.ctype!r}")
        return int(m.group(1))

    @property
    def word_bits(self) -> int:
        return self.lanes * self.bits

    @property
    def word_type(self) -> str:
        """``hwgen::rom_word<N>``: ap_uint<N> for synthesis, a constant-initialised stand-in in
        C simulation (types.h)."""
        return f"hwgen::rom_word<{self.word_bits}>" if self.lanes else self.ctype

    @property
    def words(self) -> int:
        return self.values.size // max(self.lanes, 1)

    def packed_words(self) -> list[int]:
        """The ROM words as non-negative integers: lane l of word i (value i*lanes + l) at bits
        [l*W, l*W + W), as its W-bit two's-complement pattern."""
        w, n = self.bits, self.lanes
        v = np.asarray(self.values, dtype=np.int64).reshape(self.words, n)
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if self.ctype.startswith("hwgen::int") \
            else (0, (1 << w) - 1)
        if v.size and (v.min() < lo or v.max() > hi):
            raise HwgenError(f"{self.name}: a value does not fit {self.ctype}")
        mask = (1 << w) - 1
        return [sum((int(x) & mask) << (l * w) for l, x in enumerate(row)) for row in v.tolist()]

    def definition(self, qualifier: str = "static const") -> str:
        if not self.lanes:
            body = ",".join(str(int(v)) for v in self.values)
            return f"{qualifier} {self.word_type} {self.name}[{self.words}] = {{{body}}};\n"
        t, digits = self.word_type, -(-self.word_bits // 4)
        body = ",\n".join(f'{t}("0x{v:0{digits}x}", 16)' for v in self.packed_words())
        return f"{qualifier} {t} {self.name}[{self.words}] = {{\n{body}}};\n"


@dataclass
class KernelCall:
    """Everything a dataflow generator needs to instantiate one kernel."""

    name: str  # C++ identifier of the layer
    kernel: str  # C++ function template, e.g. "hwgen::conv2d"
    config_name: str  # the config struct's name
    config: str  # the config struct (C++ text)
    in_streams: list[str]  # C++ element type of each input stream, in call order
    out_streams: list[str]  # C++ element type of each output stream, in call order
    arrays: list[KernelArray] = field(default_factory=list)
    cycles: int = 0  # estimated cycles per frame
    #: array pragmas for the caller: none -- each kernel declares the pragmas of the arrays it owns
    #: (weights, biases, buffers) itself, the top only wires streams
    pragmas: list[str] = field(default_factory=list)
    ddr: DdrWeights | None = None  # weights in DDR (hwgen.hls.ddr)
    resources: Resources = field(default_factory=Resources)  # estimate (cost.py)
    weights: str = ""  # where its weights live: "bram", "lutram", "ddr" ("" when it has none)
    #: share of its frame cycles from its first input to its first output (latency estimate)
    fill: float = 0.0
    #: each array the kernel owns -> the storage the estimator chose ("bram", "lutram",
    #: "registers"), which the kernel binds (its config's *_STORAGE constants)
    storage: dict[str, str] = field(default_factory=dict)

    @property
    def in_lanes(self) -> list[int]:
        """Lanes of each input stream (0 for an AXI4-Stream)."""
        return [_lanes_of(t) for t in self.in_streams]

    @property
    def out_lanes(self) -> list[int]:
        """Lanes of each output stream (0 for an AXI4-Stream)."""
        return [_lanes_of(t) for t in self.out_streams]

    def call(self, inputs: Sequence[str], outputs: Sequence[str],
             arrays: Sequence[str] | None = None, ddr_port: str | None = None) -> str:
        """The C++ statement, given stream variable names (and array names, default the
        ``arrays`` names; for a kernel with weights in DDR, the pointer it reads them from)."""
        if len(inputs) != len(self.in_streams) or len(outputs) != len(self.out_streams):
            raise HwgenError(f"{self.kernel} {self.name}: takes {len(self.in_streams)} input and "
                             f"{len(self.out_streams)} output stream(s)")
        names = list(arrays) if arrays is not None else [a.name for a in self.arrays]
        if len(names) != len(self.arrays):
            raise HwgenError(f"{self.kernel} {self.name}: takes {len(self.arrays)} array(s)")
        if (self.ddr is not None) != (ddr_port is not None):
            raise HwgenError(f"{self.kernel} {self.name}: a DDR weight port goes with DDR weights")
        args = ", ".join([*inputs, *outputs, *([ddr_port] if ddr_port else []), *names])
        return f"{self.kernel}<{self.config_name}>({args});"


def _lanes_of(stream_type: str) -> int:
    m = re.fullmatch(r"hwgen::Pack<.*, (\d+)>", stream_type)
    return int(m.group(1)) if m else 0


def _struct(name: str, types: Mapping[str, str], consts: Sequence[tuple[str, str, object]],
            comment: str) -> str:
    lines = [f"// {comment}", f"struct {name} {{"]
    lines += [f"  typedef {t} {n};" for n, t in types.items()]
    for ctype, n, v in consts:
        if isinstance(v, bool):
            v = "true" if v else "false"
        lines.append(f"  static const {ctype} {n} = {v};")
    lines.append("};\n")
    return "\n".join(lines)


def _pack(fmt: FixedType, lanes: int) -> str:
    return f"hwgen::Pack<{fmt.cpp()}, {lanes}>"


#: widest on-chip ROM word (PE*SIMD weights): the ap_[u]int limit types.h sets (AP_INT_MAX_W)
MAX_ROM_WORD_BITS = 4096


def rom_word_fits(pe: int, simd: int, weight_bits: int, bias_bits: int) -> bool:
    """Whether a conv's weight and bias ROM words fit one ap_uint (conv2d.h)."""
    return pe * simd * weight_bits <= MAX_ROM_WORD_BITS and pe * bias_bits <= MAX_ROM_WORD_BITS


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise HwgenError(f"{where}: {what}")


# ---- sliding window schedule (window.h) ------------------------------------------------------
def window_phases(in_h: int, in_w: int, c: int, in_lanes: int, out_lanes: int, k: int,
                  stride: int, pad_t: int, out_h: int, out_w: int) -> list[tuple[int, int]]:
    """(reads, emits) of each of the OUT_H + 1 phases of ``sliding_window`` (window.h)."""
    phases, prev = [], 0
    for p in range(out_h + 1):
        need = in_h if p >= out_h else min(in_h, p * stride + k - pad_t)
        reads = (need - prev) * in_w * (c // in_lanes)
        emits = out_w * k * k * (c // out_lanes) if p else 0
        phases.append((reads, emits))
        prev = need
    return phases


def window_iterations(*args, **kwargs) -> int:
    """Iterations (cycles at II=1) of ``sliding_window`` for one frame."""
    return sum(max(r, e) for r, e in window_phases(*args, **kwargs))


# ---- conv ------------------------------------------------------------------------------------
def pack_conv_weights(w_raw: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """(Cout, Cin, K, K) raw weights -> flat [NF][SF][SIMD][PE] (conv2d.h, "Weight layout")."""
    cout, cin, k, _ = w_raw.shape
    nf, sf = cout // pe, k * k * cin // simd
    m = np.asarray(w_raw, dtype=np.int64).transpose(0, 2, 3, 1).reshape(cout, k * k * cin)
    return np.ascontiguousarray(m.reshape(nf, pe, sf, simd).transpose(0, 2, 3, 1)).ravel()


def _conv_mode(op: Conv, in_lanes: int, simd: int) -> str:
    if op.kernel == 1 and op.stride == 1 and not any(op.pad):
        return "direct" if in_lanes == simd else "regroup"
    return "window"


def conv_front_cycles(op: Conv, in_shape: Sequence[int], out_shape: Sequence[int],
                      in_lanes: int, simd: int, ddr: bool = False) -> int:
    """Cycles of what runs in front of a conv's matrix-vector unit: its sliding window, or a lane
    regroup (conv2d_ddr copies a direct input through too); 0 when the input goes straight in."""
    cin, h, w = in_shape
    _, oh, ow = out_shape
    mode = _conv_mode(op, in_lanes, simd)
    if mode == "window":
        return window_iterations(h, w, cin, in_lanes, simd, op.kernel, op.stride, op.pad[0],
                                 oh, ow) + WINDOW_DEPTH
    if mode == "regroup" or ddr:
        return h * w * cin // min(in_lanes, simd) + SIMPLE_DEPTH
    return 0


def conv_cycles(op: Conv, in_shape: Sequence[int], out_shape: Sequence[int], pe: int, simd: int,
                in_lanes: int) -> int:
    """Cycles per frame of a conv with its weights on chip (conv2d.h): OH*OW*NF*SF iterations of
    the matrix-vector unit, or its front end's when those are more, plus the pipeline depth."""
    cin = in_shape[0]
    cout, oh, ow = out_shape
    mvau = oh * ow * (cout // pe) * (op.kernel ** 2 * cin // simd)
    return max(mvau, conv_front_cycles(op, in_shape, out_shape, in_lanes, simd)) + MVAU_DEPTH


def ddr_fetch_cycles(beats: int) -> int:
    """Cycles of one pass of ``ddr_weight_fetch`` over ``beats`` sequential beats, in bursts of
    DDR_MAX_BURST with DDR_OUTSTANDING requests in flight: the first burst's latency, then one
    beat per cycle unless the requests in flight cannot cover the latency."""
    bursts = -(-beats // DDR_MAX_BURST)
    gap = max(0, -(-DDR_BURST_LATENCY // DDR_OUTSTANDING) - DDR_MAX_BURST)
    return beats + DDR_BURST_LATENCY + max(0, bursts - 1) * gap


def conv_call(graph: Graph, node: Node, fold: Folding, ident: str) -> KernelCall:
    op: Conv = node.op
    where = f"layer {node.name!r}"
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    cin, h, w = x.shape
    cout, oh, ow = y.shape
    pe, simd = fold.pe, fold.simd
    in_lanes = fold.in_lanes or simd
    _check(cout % pe == 0, where, f"PE={pe} does not divide {cout} output channels")
    _check(cin % simd == 0, where, f"SIMD={simd} does not divide {cin} input channels")
    _check(cin % in_lanes == 0, where, f"input lanes {in_lanes} do not divide {cin} channels")
    _check(in_lanes % simd == 0 or simd % in_lanes == 0, where,
           f"input lanes {in_lanes} and SIMD={simd}: one must divide the other")
    _check(fold.out_lanes in (None, pe), where, f"output lanes are PE={pe}")
    _check(op.pad[0] < op.kernel and op.pad[1] < op.kernel, where, "padding must be below K")
    in_fmt, out_fmt = x.fmt, y.fmt
    _check(op.accum_fmt.frac == in_fmt.frac + op.weight_fmt.frac, where,
           "accumulator fraction must be input + weight fraction")
    w_raw = op.weight_raw()
    b_raw = op.bias_fmt.quantize(op.fixed_bias)
    shift = op.accum_fmt.frac - op.bias_fmt.frac
    _check(shift >= 0 and np.array_equal(b_raw << shift, op.bias_raw_in_accum()), where,
           "bias must not be finer than the accumulator")
    k, s = op.kernel, op.stride
    t, l, b, r = op.pad
    block = ow  # DDR weights: one output row per pass over the weights
    beats = beats_per_word(pe, simd, op.weight_fmt.width)
    nf, sf = cout // pe, k * k * cin // simd
    mode = _conv_mode(op, in_lanes, simd)
    out_t = [_pack(out_fmt, pe)]
    wa, ww = in_fmt.width, op.weight_fmt.width
    # every array the kernel declares, in the memory chosen here (the kernel binds it)
    bias_mem, bias_store = cost.memory(nf, pe * op.bias_fmt.width, prefer_lutram=True)
    res = (cost.control() + cost.mac_array(pe, simd, wa, ww, op.accum_fmt.width, out_fmt.width,
                                           fold.mul_fabric) + bias_mem)
    storage = {"bias": bias_store}
    fill = 1 / (h * w)  # pointwise: one pixel in, one pixel out
    if mode == "window":
        win_res, storage["window"] = cost.window_buffer(k, s, w, cin, max(in_lanes, simd), wa)
        res += win_res
        fill = min(1.0, (k - t + s) / h)  # the window's rows are read before the first output
    if fold.ddr:
        xbuf_res, storage["xbuf"] = cost.memory(block * sf, wa, banks=simd)  # block's windows
        obuf_res, storage["obuf"] = cost.memory(block * nf, out_fmt.width, banks=pe)  # outputs
        acc_res, storage["acc"] = cost.rmw_memory(block, op.accum_fmt.width, banks=pe)
        res += xbuf_res + obuf_res + acc_res
    else:
        wmem, storage["weights"] = cost.memory(
            nf * sf, pe * simd * ww,
            prefer_lutram=None if fold.storage is None else fold.storage == "lutram")
        xbuf_res, storage["xbuf"] = cost.memory(sf, wa, banks=simd)  # input kept for NF passes
        res += wmem + xbuf_res
    consts = {"weights": "W_STORAGE", "xbuf": "XBUF_STORAGE", "window": "WIN_STORAGE",
              "obuf": "OBUF_STORAGE", "acc": "ACC_STORAGE"}
    stores = [("int", consts[a], cost.STORAGE_CPP[kind]) for a, kind in storage.items()
              if a in consts]
    ddr = [("unsigned", "BLOCK", block), ("unsigned", "BEATS", beats)] if fold.ddr else []
    cfg = f"{ident}_config"
    config = _struct(cfg, {"in_t": in_fmt.cpp(), "out_t": out_fmt.cpp(),
                           "acc_t": op.accum_fmt.cpp(), "weight_t": op.weight_fmt.cpp(),
                           "bias_t": op.bias_fmt.cpp()},
                     [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "IN_C", cin),
                      ("unsigned", "OUT_H", oh), ("unsigned", "OUT_W", ow),
                      ("unsigned", "OUT_C", cout), ("unsigned", "K", k),
                      ("unsigned", "STRIDE", s), ("unsigned", "PAD_T", t),
                      ("unsigned", "PAD_L", l), ("unsigned", "PAD_B", b),
                      ("unsigned", "PAD_R", r), ("bool", "RELU", op.relu),
                      ("unsigned", "PE", pe), ("unsigned", "SIMD", simd),
                      ("unsigned", "IN_LANES", in_lanes),
                      ("bool", "MUL_FABRIC", fold.mul_fabric), *ddr, *stores],
                     f"{node.name}: conv {op.describe()}, {cin}x{h}x{w} -> {cout}x{oh}x{ow}"
                     + (", weights in DDR" if fold.ddr else ""))
    wname, bname = f"{ident}_w", f"{ident}_b"
    packed = pack_conv_weights(w_raw, pe, simd)
    # NF words of PE biases (conv2d.h: read with the neuron-fold counter)
    bias = KernelArray(bname, raw_ctype(op.bias_fmt), np.asarray(b_raw, np.int64), pe)
    if fold.ddr:
        blocks = oh * ow // block
        mvau = blocks * (block * sf + nf * sf * block + block * nf + MVAU_DEPTH + 2 * SIMPLE_DEPTH)
        fetch = blocks * ddr_fetch_cycles(nf * sf * beats)
        front = conv_front_cycles(op, x.shape, y.shape, in_lanes, simd, ddr=True)
        res += (cost.Resources(**cost.M_AXI_READ)
                + cost.fifo(4, pe * simd * ww) + cost.Resources(lut=beats * 64, ff=beats * 64))
        return KernelCall(ident, "hwgen::conv2d_ddr", cfg, config, [_pack(in_fmt, in_lanes)],
                          out_t, [bias], max(mvau, front, fetch) + MVAU_DEPTH, [],
                          ddr=DdrWeights(packed, pe, simd, op.weight_fmt.width),
                          resources=res, weights="ddr", fill=min(1.0, fill + 1 / oh),
                          storage=storage)
    # NF*SF ROM words of PE*SIMD weights (conv2d.h, "Weight layout")
    _check(rom_word_fits(pe, simd, op.weight_fmt.width, op.bias_fmt.width), where,
           f"PE={pe} x SIMD={simd} weights of {op.weight_fmt.width} bits make a "
           f"{pe * simd * op.weight_fmt.width}-bit ROM word; supported: at most "
           f"{MAX_ROM_WORD_BITS} bits (lower pe or simd, or keep the weights in DDR)")
    arrays = [KernelArray(wname, raw_ctype(op.weight_fmt), packed, pe * simd), bias]
    return KernelCall(ident, "hwgen::conv2d", cfg, config, [_pack(in_fmt, in_lanes)], out_t,
                      arrays, conv_cycles(op, x.shape, y.shape, pe, simd, in_lanes), [],
                      resources=res, weights=storage["weights"], fill=fill, storage=storage)


# ---- pooling ---------------------------------------------------------------------------------
def maxpool_call(graph: Graph, node: Node, fold: Folding, ident: str) -> KernelCall:
    op: MaxPool = node.op
    where = f"layer {node.name!r}"
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    _, oh, ow = y.shape
    lanes = fold.lanes
    _check(c % lanes == 0, where, f"lanes {lanes} do not divide {c} channels")
    _check(fold.out_lanes in (None, lanes), where, "max pooling keeps the lane count")
    _check(op.pad[0] < op.kernel and op.pad[1] < op.kernel, where, "padding must be below K")
    k, s = op.kernel, op.stride
    t, l, b, r = op.pad
    win_res, win_store = cost.window_buffer(k, s, w, c, lanes, x.fmt.width)
    m_res, m_store = cost.rmw_memory(c // lanes, x.fmt.width, banks=lanes)  # running maxima
    cfg = f"{ident}_config"
    config = _struct(cfg, {"in_t": x.fmt.cpp(), "out_t": y.fmt.cpp()},
                     [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "C", c),
                      ("unsigned", "LANES", lanes), ("unsigned", "K", k),
                      ("unsigned", "STRIDE", s), ("unsigned", "PAD_T", t),
                      ("unsigned", "PAD_L", l), ("unsigned", "PAD_B", b),
                      ("unsigned", "PAD_R", r), ("bool", "CEIL_MODE", op.ceil_mode),
                      ("unsigned", "OUT_H", oh), ("unsigned", "OUT_W", ow),
                      ("int", "WIN_STORAGE", cost.STORAGE_CPP[win_store]),
                      ("int", "M_STORAGE", cost.STORAGE_CPP[m_store])],
                     f"{node.name}: maxpool {op.describe()}, {c}x{h}x{w} -> {c}x{oh}x{ow}")
    reduce = oh * ow * k * k * (c // lanes)
    window = window_iterations(h, w, c, lanes, lanes, k, s, t, oh, ow)
    res = (cost.control() + win_res + m_res
           + cost.Resources(lut=lanes * x.fmt.width * 2, ff=lanes * x.fmt.width))  # max, cast
    return KernelCall(ident, "hwgen::maxpool2d", cfg, config, [_pack(x.fmt, lanes)],
                      [_pack(y.fmt, lanes)], [], max(reduce, window) + WINDOW_DEPTH,
                      resources=res, fill=min(1.0, (k - t + s) / h),
                      storage={"window": win_store, "m": m_store})


def global_avgpool_call(graph: Graph, node: Node, fold: Folding, ident: str) -> KernelCall:
    op: GlobalAvgPool = node.op
    where = f"layer {node.name!r}"
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    lanes = fold.lanes
    _check(c % lanes == 0, where, f"lanes {lanes} do not divide {c} channels")
    _check(fold.out_lanes in (None, lanes), where, "global average pooling keeps the lane count")
    recip, rfrac = op.reciprocal(h * w)
    sum_bits = op.sum_format(x.fmt, h * w).width
    acc_res, acc_store = cost.rmw_memory(c // lanes, sum_bits, banks=lanes)  # running sums
    cfg = f"{ident}_config"
    config = _struct(cfg, {"in_t": x.fmt.cpp(), "out_t": y.fmt.cpp(),
                           "sum_t": op.sum_format(x.fmt, h * w).cpp()},
                     [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "C", c),
                      ("unsigned", "LANES", lanes), ("unsigned", "RECIP_BITS", RECIP_BITS),
                      ("unsigned", "RECIP", recip), ("int", "RECIP_FRAC", rfrac),
                      ("int", "ACC_STORAGE", cost.STORAGE_CPP[acc_store])],
                     f"{node.name}: global average pool, {c}x{h}x{w} -> {c}")
    res = (cost.control() + acc_res
           + cost.Resources(dsp=lanes * (1 + (sum_bits > 25)),  # x reciprocal, per lane
                            lut=lanes * (sum_bits + y.fmt.width), ff=lanes * 2 * sum_bits))
    return KernelCall(ident, "hwgen::global_avgpool", cfg, config, [_pack(x.fmt, lanes)],
                      [_pack(y.fmt, lanes)], [], h * w * c // lanes + SIMPLE_DEPTH + 2,
                      resources=res, storage={"acc": acc_store})


# ---- stream plumbing -------------------------------------------------------------------------
def _plumbing(bits: int) -> Resources:
    """A kernel that only moves words of ``bits`` bits: counters, a register stage, muxes."""
    return cost.control() + Resources(lut=bits, ff=bits)


def concat_call(graph: Graph, node: Node, fold: Folding, ident: str) -> KernelCall:
    where = f"layer {node.name!r}"
    _check(len(node.inputs) == 2, where, "concat_channels joins exactly two streams")
    a, b = (graph.tensors[t] for t in node.inputs)
    y = graph.tensors[node.outputs[0]]
    _check(a.fmt == b.fmt == y.fmt, where, f"inputs {a.fmt}, {b.fmt} and output {y.fmt} must "
           "share one format")
    c1, h, w = a.shape
    c2 = b.shape[0]
    lanes = fold.lanes
    _check(c1 % lanes == 0 and c2 % lanes == 0, where,
           f"lanes {lanes} must divide both {c1} and {c2}")
    _check(fold.out_lanes in (None, lanes), where, "concat keeps the lane count")
    cfg = f"{ident}_config"
    config = _struct(cfg, {"data_t": y.fmt.cpp()},
                     [("unsigned", "C1", c1), ("unsigned", "C2", c2),
                      ("unsigned", "PIXELS", h * w), ("unsigned", "LANES", lanes)],
                     f"{node.name}: concat {c1} + {c2} channels, {h}x{w}")
    t = _pack(y.fmt, lanes)
    return KernelCall(ident, "hwgen::concat_channels", cfg, config, [t, t], [t], [],
                      h * w * (c1 + c2) // lanes + SIMPLE_DEPTH,
                      resources=_plumbing(lanes * y.fmt.width))


def duplicate_call(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int
                   ) -> KernelCall:
    """One stream into two (the fork in front of a Fire module's expand convolutions)."""
    _check(channels % lanes == 0, ident, f"lanes {lanes} do not divide {channels} channels")
    cfg = f"{ident}_config"
    config = _struct(cfg, {"data_t": fmt.cpp()},
                     [("unsigned", "CHANNELS", channels), ("unsigned", "PIXELS", pixels),
                      ("unsigned", "LANES", lanes)], f"{ident}: duplicate")
    t = _pack(fmt, lanes)
    return KernelCall(ident, "hwgen::duplicate", cfg, config, [t], [t, t], [],
                      pixels * channels // lanes + SIMPLE_DEPTH,
                      resources=_plumbing(lanes * fmt.width))


def regroup_call(ident: str, fmt: FixedType, channels: int, pixels: int, in_lanes: int,
                 out_lanes: int) -> KernelCall:
    """Lane-width conversion of a stream (one of the lane counts divides the other)."""
    _check(channels % in_lanes == 0 and channels % out_lanes == 0, ident,
           f"lanes {in_lanes}, {out_lanes} must divide {channels} channels")
    _check(in_lanes % out_lanes == 0 or out_lanes % in_lanes == 0, ident,
           "one lane count must divide the other")
    cfg = f"{ident}_config"
    config = _struct(cfg, {"data_t": fmt.cpp()},
                     [("unsigned", "CHANNELS", channels), ("unsigned", "PIXELS", pixels),
                      ("unsigned", "IN_LANES", in_lanes), ("unsigned", "OUT_LANES", out_lanes)],
                     f"{ident}: regroup {in_lanes} -> {out_lanes} lanes")
    return KernelCall(ident, "hwgen::regroup", cfg, config, [_pack(fmt, in_lanes)],
                      [_pack(fmt, out_lanes)], [],
                      pixels * channels // min(in_lanes, out_lanes) + SIMPLE_DEPTH,
                      resources=_plumbing(max(in_lanes, out_lanes) * fmt.width * 2))


def _axi_config(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int, what: str,
                beat_bits: int | None) -> tuple[str, str, int, int]:
    _check(channels % lanes == 0, ident, f"lanes {lanes} do not divide {channels} channels")
    bits = beat_bits or axi_bits(fmt, lanes)
    beats = axis_beats(fmt, lanes, bits)
    cfg = f"{ident}_config"
    config = _struct(cfg, {"data_t": fmt.cpp()},
                     [("unsigned", "CHANNELS", channels), ("unsigned", "PIXELS", pixels),
                      ("unsigned", "LANES", lanes), ("unsigned", "AXI_BITS", bits),
                      ("unsigned", "BEATS", beats)],
                     f"{ident}: {what}, {bits}-bit AXI4-Stream beats, {beats} per word")
    return cfg, config, bits, beats


def _axis_plumbing(fmt: FixedType, lanes: int, bits: int, beats: int) -> Resources:
    """A beat register, and a word-wide shift register when a word takes several beats."""
    return _plumbing(bits if beats == 1 else bits + lanes * fmt.width)


def axis_in_call(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int,
                 beat_bits: int | None = None) -> KernelCall:
    """AXI4-Stream -> stream words (axi.h); ``beat_bits`` (default: a whole word per beat) is the
    TDATA width, a word arriving in consecutive beats."""
    cfg, config, bits, beats = _axi_config(ident, fmt, channels, pixels, lanes,
                                           "AXI4-Stream input", beat_bits)
    return KernelCall(ident, "hwgen::axis_to_stream", cfg, config, [f"hwgen::axis_t<{bits}>"],
                      [_pack(fmt, lanes)], [], pixels * channels // lanes * beats + SIMPLE_DEPTH,
                      resources=_axis_plumbing(fmt, lanes, bits, beats))


def axis_out_call(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int,
                  beat_bits: int | None = None) -> KernelCall:
    """Stream words -> AXI4-Stream, TLAST on the frame's last beat (axi.h); ``beat_bits`` as in
    axis_in_call."""
    cfg, config, bits, beats = _axi_config(ident, fmt, channels, pixels, lanes,
                                           "AXI4-Stream output", beat_bits)
    return KernelCall(ident, "hwgen::stream_to_axis", cfg, config, [_pack(fmt, lanes)],
                      [f"hwgen::axis_t<{bits}>"], [], pixels * channels // lanes * beats
                      + SIMPLE_DEPTH, resources=_axis_plumbing(fmt, lanes, bits, beats))


# ---- dispatch --------------------------------------------------------------------------------
KernelFn = Callable[[Graph, Node, Folding, str], KernelCall]
#: op class -> the function that renders it as a kernel call
KERNELS: dict[type[Op], KernelFn] = {
    Conv: conv_call,
    MaxPool: maxpool_call,
    GlobalAvgPool: global_avgpool_call,
    Concat: concat_call,
}


def kernel_call(graph: Graph, node: Node, folding: Folding | None = None,
                ident: str | None = None) -> KernelCall:
    """The kernel call of a node of a quantised graph."""
    fn = KERNELS.get(type(node.op))
    if fn is None:
        raise HwgenError(f"layer {node.name!r}: no HLS kernel for op {node.kind!r}; kernels exist "
                         "for " + ", ".join(sorted(c.kind for c in KERNELS)))
    for t in (*node.inputs, *node.outputs):
        if graph.tensors[t].fmt is None:
            raise HwgenError(f"layer {node.name!r}: tensor {t!r} has no format (quantise first)")
    return fn(graph, node, folding or Folding(), ident or cpp_ident(node.name))


def legal_folding(node: Node, graph: Graph | None = None) -> tuple[list[int], list[int]]:
    """(PE values, SIMD values) a node allows: the divisors of its output / input channels.

    For convolutions the node alone suffices; for maxpool, global average pool and concat (whose
    "PE" is the lane count and which have no SIMD) the graph gives the channel count. Across
    nodes, a conv's input lanes and SIMD must also divide one another.
    """
    op = node.op
    if isinstance(op, Conv):
        return divisors(op.out_channels), divisors(op.in_channels)
    if graph is None:
        raise HwgenError(f"layer {node.name!r}: legal folding of a {node.kind} needs the graph")
    if isinstance(op, Concat):
        cs = [graph.shape(t)[0] for t in node.inputs]
        return [d for d in divisors(min(cs)) if all(c % d == 0 for c in cs)], [1]
    if type(op) in KERNELS:
        return divisors(graph.shape(node.inputs[0])[0]), [1]
    raise HwgenError(f"layer {node.name!r}: no HLS kernel for op {node.kind!r}")


# ---- Fire module FIFO depths -----------------------------------------------------------------
def window_lead_pixels(in_h: int, in_w: int, c: int, in_lanes: int, simd: int, k: int, stride: int,
                       pad_t: int, out_h: int, out_w: int, slack: int = _WINDOW_SLACK) -> int:
    """max over output pixels p of (input pixels a windowed conv has read by the time it can have
    delivered output pixel p) - (p + 1): how many pixels its input runs ahead of its output.

    Exact for ``sliding_window``'s schedule (window.h); the matrix-vector unit may have taken
    ``slack`` window words more than pixel p needs (internal FIFO and pipeline).
    """
    phases = window_phases(in_h, in_w, c, in_lanes, simd, k, stride, pad_t, out_h, out_w)
    cw_in = c // in_lanes
    per_pixel = k * k * (c // simd)
    starts_r, total_reads = [], 0
    for r, _ in phases:
        starts_r.append(total_reads)
        total_reads += r

    def reads_when_emitted(p: int, j: int) -> int:
        """Input words read once j window words of phase p have been emitted."""
        while p < len(phases) and j > phases[p][1]:  # the slack spills into later phases
            j -= phases[p][1]
            p += 1
        if p >= len(phases):
            return total_reads
        return starts_r[p] + min(j, phases[p][0])

    lead = 0
    for oy in range(out_h):  # output row oy is emitted in phase oy + 1
        for ox in range(out_w):
            pix = oy * out_w + ox
            words = reads_when_emitted(oy + 1, (ox + 1) * per_pixel + slack)
            lead = max(lead, -(-words // cw_in) - (pix + 1))
    return lead


def fire_fifo_depths(graph: Graph, fire: Fire, folding: Mapping[str, Folding]
                     ) -> dict[str, int]:
    """Stream depths (in words) for a Fire module's dataflow so that it cannot deadlock.

    Keys: ``expand1x1_in`` (duplicate -> expand1x1), ``expand3x3_in`` (duplicate -> expand3x3),
    ``expand1x1_out`` / ``expand3x3_out`` (-> concat). Rule (conv2d.h, "FIFO depths in a Fire
    module"): the expand1x1 branch must buffer the pixels that the expand3x3 branch reads ahead of
    what concat has taken; all of it goes on ``expand1x1_in``, where a pixel has the fewest
    channels: (window_lead_pixels + 2) * channels / lanes words. The rest get the default depth.
    ``folding`` maps the layer names of the squeeze and the two expands to their Folding.
    """
    e1, e3 = graph.node(fire.expand1x1), graph.node(fire.expand3x3)
    x = graph.tensors[e3.inputs[0]]
    c, h, w = x.shape
    _, oh, ow = graph.shape(e3.outputs[0])
    f3, f1 = folding.get(e3.name, Folding()), folding.get(e1.name, Folding())
    sq_lanes = folding.get(fire.squeeze, Folding()).pe
    for name, f in ((e1.name, f1), (e3.name, f3)):
        if (f.in_lanes or f.simd) != sq_lanes:
            raise HwgenError(f"layer {name!r}: its input lanes ({f.in_lanes or f.simd}) must be "
                             f"the squeeze's PE ({sq_lanes}): duplicate passes words unchanged")
    if (oh, ow) != (h, w):
        raise HwgenError(f"{fire.name}: expand3x3 changes the spatial size {h}x{w} -> {oh}x{ow}; "
                         "concat needs both branches in step")
    return fifo_depths(h, w, c, sq_lanes, f3.simd, e3.op.kernel, e3.op.stride, e3.op.pad[0],
                       ddr3=f3.ddr)


@functools.lru_cache(maxsize=4096)
def fifo_depths(h: int, w: int, c: int, lanes: int, simd3: int, k: int = 3, stride: int = 1,
                pad_t: int = 1, ddr3: bool = False) -> dict[str, int]:
    """``fire_fifo_depths`` from numbers: the squeeze output is (c, h, w) on ``lanes`` lanes, the
    KxK expand reads it with ``simd3``; both expands keep h x w. With ``ddr3`` the KxK expand is
    a conv2d_ddr, which takes a whole output row of window words before its first output."""
    out_h = (h + 2 * pad_t - k) // stride + 1
    out_w = (w + 2 * pad_t - k) // stride + 1
    slack = _WINDOW_SLACK + (out_w * k * k * (c // simd3) if ddr3 else 0)
    lead = window_lead_pixels(h, w, c, lanes, simd3, k, stride, pad_t, out_h, out_w, slack)
    return {"expand1x1_in": (max(lead, 0) + 2) * (c // lanes),
            "expand3x3_in": DEFAULT_FIFO_DEPTH,
            "expand1x1_out": DEFAULT_FIFO_DEPTH,
            "expand3x3_out": DEFAULT_FIFO_DEPTH}


def window_phase_reads(graph: Graph, node: Node, fold: Folding) -> int:
    """Most input words a windowed kernel (a KxK conv or max pooling) reads in one phase of the
    window schedule; 0 for a kernel without a window."""
    op = node.op
    if isinstance(op, Conv):
        if _conv_mode(op, fold.in_lanes or fold.simd, fold.simd) != "window":
            return 0
        in_lanes, out_lanes = fold.in_lanes or fold.simd, fold.simd
    elif isinstance(op, MaxPool):
        in_lanes = out_lanes = fold.lanes
    else:
        return 0
    c, h, w = graph.shape(node.inputs[0])
    _, oh, ow = graph.shape(node.outputs[0])
    phases = window_phases(h, w, c, in_lanes, out_lanes, op.kernel, op.stride, op.pad[0], oh, ow)
    return max(reads for reads, _ in phases)


def window_input_depth(graph: Graph, node: Node, fold: Folding, producer_cycles_per_word: float
                       ) -> int:
    """Depth of the input stream of a kernel, for its window's sake.

    ``sliding_window`` reads a phase's input words in the first iterations of the phase and then
    only emits (window.h, "Schedule"). Fed by a producer slower than a word per cycle through a
    shallow stream, it waits for every word, and the producer then waits, blocked, while the
    window emits: both lose time (measured in RTL simulation: up to 10% of a frame). A stream
    that holds one phase's reads lets the producer run on at its own pace.
    """
    reads = window_phase_reads(graph, node, fold)
    if reads == 0 or producer_cycles_per_word < 2:
        return DEFAULT_FIFO_DEPTH
    return DEFAULT_FIFO_DEPTH + reads


# ---- stream data helpers (testbenches) -------------------------------------------------------
def from_stream(flat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of ``to_stream``."""
    c = shape[0]
    return np.asarray(flat, dtype=np.int64).reshape(-1, c).T.reshape(shape)


def pack_axi(raw: np.ndarray, fmt: FixedType, lanes: int) -> np.ndarray:
    """The AXI4-Stream words (axi.h packing) of a raw tensor: uint8 array (words, AXI_BITS/8),
    byte 0 = data bits 7..0. One implementation, the PYNQ driver's, serves hwgen and the board."""
    return pack_stream(to_stream(raw), lanes, fmt.width)


def unpack_axi(words: np.ndarray, fmt: FixedType, lanes: int, shape: Sequence[int]) -> np.ndarray:
    """Inverse of ``pack_axi``: raw integers of shape ``shape``."""
    vals = unpack_output(np.asarray(words, dtype=np.uint8), lanes, fmt.width, fmt.signed)
    return from_stream(vals, shape)

