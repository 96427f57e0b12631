"""The stages of the dataflow design: what each kernel takes per frame and costs, whichever
backend writes it.

For an IR node of a quantised graph and its folding, ``layer_stage`` returns a ``Stage``: its
cycles per frame, resource estimate (cost.py), the share of its frame before its first output,
the storage of every array it owns, where its weights live (and their DDR image), the lanes and
formats of its ports. The kernels that have no IR node of their own (duplicate, regroup, the
AXI4-Stream adapters) have their own constructors. One function per op (``STAGES``) checks that
the folding is legal for it; ``legal_folding`` lists the parallelism a node allows. The backends
render a stage: hwgen.hls.kernels as a config struct and a call, hwgen.rtl.modules as a module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..ir import Graph, Node
from ..ops import Add, Concat, Conv, GlobalAvgPool, MaxPool
from ..ops.base import Op
from . import cost
from .cost import Resources
from .ddr import DdrWeights, beats_per_word
from .folding import MAX_ROM_WORD_BITS, Folding, divisors, rom_word_fits
from .names import cpp_ident
from .schedule import (SIMPLE_DEPTH, WINDOW_DEPTH, conv_cycles, conv_ddr_cycles, conv_mode,
                       window_iterations)
from .streams import axi_bits, axis_beats


@dataclass
class Stage:
    """One kernel of the dataflow design."""

    #: the kernel: "conv", "maxpool", "global_avgpool", "concat", "add", "duplicate",
    #: "regroup", "axis_in" or "axis_out"
    kind: str
    name: str  # identifier: the layer's cpp_ident, or e.g. "input", "fire2_dup", "output"
    layer: str | None  # the IR node; None for the plumbing (duplicate, regroup, adapters)
    folding: Folding | None
    in_fmts: list[FixedType]  # format of the words of each input port, in call order
    in_lanes: list[int]  # lanes of each input port (0: an AXI4-Stream)
    out_fmts: list[FixedType]
    out_lanes: list[int]
    cycles: int  # estimated cycles per frame
    resources: Resources = field(default_factory=Resources)  # estimate (cost.py)
    #: share of its frame cycles from its first input to its first output (latency estimate)
    fill: float = 0.0
    #: each array the kernel owns -> the storage the estimator chose ("bram", "lutram",
    #: "registers"), which the kernel binds
    storage: dict[str, str] = field(default_factory=dict)
    weights: str = ""  # where its weights live: "bram", "lutram", "ddr" ("" when it has none)
    ddr: DdrWeights | None = None  # weights in DDR: their image
    #: the numbers a backend needs besides the node's: for the plumbing "channels" and "pixels",
    #: for the AXI4-Stream adapters also "axi_bits" (TDATA width) and "beats" (per word), for a
    #: conv with weights in DDR "block" (output pixels per pass over the weights) and "beats"
    #: (64-bit beats per weight word)
    params: dict[str, int] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # its streams, wired by build_design
    outputs: list[str] = field(default_factory=list)


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise HwgenError(f"{where}: {what}")


# ---- conv ------------------------------------------------------------------------------------
def pack_conv_weights(w_raw: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """(Cout, Cin, K, K) raw weights -> flat [NF][SF][SIMD][PE] (conv2d.h, "Weight layout")."""
    cout, cin, k, _ = w_raw.shape
    nf, sf = cout // pe, k * k * cin // simd
    m = np.asarray(w_raw, dtype=np.int64).transpose(0, 2, 3, 1).reshape(cout, k * k * cin)
    return np.ascontiguousarray(m.reshape(nf, pe, sf, simd).transpose(0, 2, 3, 1)).ravel()


def conv_stage(graph: Graph, node: Node, fold: Folding, ident: str) -> Stage:
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
    b_raw = op.bias_raw()  # each channel's bias at its own format (per-channel weight formats)
    shift = op.accum_fmt.frac - op.bias_fmt.frac
    _check(shift >= 0 and np.array_equal(b_raw << shift, op.bias_raw_in_accum()), where,
           "bias must not be finer than the accumulator")
    k, s = op.kernel, op.stride
    t = op.pad[0]
    nf, sf = cout // pe, k * k * cin // simd
    wa, ww = in_fmt.width, op.weight_fmt.width
    _check(not fold.mul_packed or cost.packs_formats(op.weight_fmt, in_fmt), where,
           cost.packing_refused(ww, wa))
    # every array the kernel declares, in the memory chosen here (the kernel binds it)
    # a bias lane carries the channel's shift too (per-channel formats, conv2d.h)
    b_lane = op.bias_fmt.width + op.max_shift.bit_length()
    bias_mem, bias_store = cost.memory(nf, pe * b_lane, prefer_lutram=True)
    res = (cost.control() + cost.mac_array(pe, simd, wa, ww, op.accum_fmt.width, out_fmt.width,
                                           fold.mul_fabric, fold.mul_packed) + bias_mem
           + cost.channel_align(pe, op.accum_fmt.width, op.max_shift))
    storage = {"bias": bias_store}
    fill = 1 / (h * w)  # pointwise: one pixel in, one pixel out
    if conv_mode(op, in_lanes, simd) == "window":
        win_res, storage["window"] = cost.window_buffer(k, s, w, cin, max(in_lanes, simd), wa)
        res += win_res
        fill = min(1.0, (k - t + s) / h)  # the window's rows are read before the first output
    ports = dict(in_fmts=[in_fmt], in_lanes=[in_lanes], out_fmts=[out_fmt], out_lanes=[pe])
    if fold.ddr:
        block = ow  # one output row per pass over the weights
        beats = beats_per_word(pe, simd, ww)
        xbuf_res, storage["xbuf"] = cost.memory(block * sf, wa, banks=simd)  # block's windows
        obuf_res, storage["obuf"] = cost.memory(block * nf, out_fmt.width, banks=pe)  # outputs
        acc_res, storage["acc"] = cost.rmw_memory(block, op.accum_fmt.width, banks=pe)
        res += xbuf_res + obuf_res + acc_res
        res += (cost.Resources(**cost.M_AXI_READ)  # its AXI4 master, weight FIFO, beat unpacking
                + cost.fifo(4, pe * simd * ww) + cost.Resources(lut=beats * 64, ff=beats * 64))
        cycles = conv_ddr_cycles(op, x.shape, y.shape, pe, simd, in_lanes, block, beats)
        packed = pack_conv_weights(op.weight_raw(), pe, simd)
        return Stage("conv", ident, node.name, fold, **ports, cycles=cycles, resources=res,
                     fill=min(1.0, fill + 1 / oh), storage=storage, weights="ddr",
                     ddr=DdrWeights(packed, pe, simd, ww), params={"block": block, "beats": beats})
    wmem, storage["weights"] = cost.memory(
        nf * sf, pe * simd * ww,
        prefer_lutram=None if fold.storage is None else fold.storage == "lutram")
    xbuf_res, storage["xbuf"] = cost.memory(sf, wa, banks=simd)  # input kept for NF passes
    res += wmem + xbuf_res
    # NF*SF ROM words of PE*SIMD weights (conv2d.h, "Weight layout")
    _check(rom_word_fits(pe, simd, ww, b_lane), where,
           f"PE={pe} x SIMD={simd} weights of {ww} bits make a {pe * simd * ww}-bit ROM word; "
           f"supported: at most {MAX_ROM_WORD_BITS} bits (lower pe or simd, or keep the weights "
           "in DDR)")
    return Stage("conv", ident, node.name, fold, **ports,
                 cycles=conv_cycles(op, x.shape, y.shape, pe, simd, in_lanes), resources=res,
                 fill=fill, storage=storage, weights=storage["weights"])


# ---- pooling ---------------------------------------------------------------------------------
def _lanes_through(graph: Graph, node: Node, fold: Folding, what: str) -> int:
    """The lane count of a kernel that keeps it, checked against every input's channels."""
    lanes = fold.lanes
    for t in node.inputs:
        c = graph.shape(t)[0]
        _check(c % lanes == 0, f"layer {node.name!r}", f"lanes {lanes} do not divide {c} channels")
    _check(fold.out_lanes in (None, lanes), f"layer {node.name!r}", f"{what} keeps the lane count")
    return lanes


def maxpool_stage(graph: Graph, node: Node, fold: Folding, ident: str) -> Stage:
    op: MaxPool = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    _, oh, ow = y.shape
    lanes = _lanes_through(graph, node, fold, "max pooling")
    _check(op.pad[0] < op.kernel and op.pad[1] < op.kernel, f"layer {node.name!r}",
           "padding must be below K")
    k, s, t = op.kernel, op.stride, op.pad[0]
    win_res, win_store = cost.window_buffer(k, s, w, c, lanes, x.fmt.width)
    m_res, m_store = cost.rmw_memory(c // lanes, x.fmt.width, banks=lanes)  # running maxima
    reduce = oh * ow * k * k * (c // lanes)
    window = window_iterations(h, w, c, lanes, lanes, k, s, t, oh, ow)
    res = (cost.control() + win_res + m_res
           + cost.Resources(lut=lanes * x.fmt.width * 2, ff=lanes * x.fmt.width))  # max, cast
    return Stage("maxpool", ident, node.name, fold, [x.fmt], [lanes], [y.fmt], [lanes],
                 max(reduce, window) + WINDOW_DEPTH, res, fill=min(1.0, (k - t + s) / h),
                 storage={"window": win_store, "m": m_store})


def global_avgpool_stage(graph: Graph, node: Node, fold: Folding, ident: str) -> Stage:
    op: GlobalAvgPool = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    lanes = _lanes_through(graph, node, fold, "global average pooling")
    sum_bits = op.sum_format(x.fmt, h * w).width
    acc_res, acc_store = cost.rmw_memory(c // lanes, sum_bits, banks=lanes)  # running sums
    res = (cost.control() + acc_res
           + cost.Resources(dsp=lanes * (1 + (sum_bits > 25)),  # x reciprocal, per lane
                            lut=lanes * (sum_bits + y.fmt.width), ff=lanes * 2 * sum_bits))
    return Stage("global_avgpool", ident, node.name, fold, [x.fmt], [lanes], [y.fmt], [lanes],
                 h * w * c // lanes + SIMPLE_DEPTH + 2, res, storage={"acc": acc_store})


# ---- stream plumbing -------------------------------------------------------------------------
def _plumbing(bits: int) -> Resources:
    """A kernel that only moves words of ``bits`` bits: counters, a register stage, muxes."""
    return cost.control() + Resources(lut=bits, ff=bits)


def concat_stage(graph: Graph, node: Node, fold: Folding, ident: str) -> Stage:
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
    return Stage("concat", ident, node.name, fold, [a.fmt, b.fmt], [lanes, lanes], [y.fmt],
                 [lanes], h * w * (c1 + c2) // lanes + SIMPLE_DEPTH, _plumbing(lanes * y.fmt.width))


def add_stage(graph: Graph, node: Node, fold: Folding, ident: str) -> Stage:
    """The element-wise sum of two streams on the same lanes (a Fire module's bypass): per lane
    each operand shifted onto the finer fraction, added, the output cast."""
    op: Add = node.op
    where = f"layer {node.name!r}"
    a, b = (graph.tensors[t] for t in node.inputs)
    y = graph.tensors[node.outputs[0]]
    c, h, w = y.shape
    lanes = fold.lanes
    _check(c % lanes == 0, where, f"lanes {lanes} do not divide {c} channels")
    _check(fold.out_lanes in (None, lanes), where, "an add keeps the lane count")
    sum_bits = op.sum_format(a.fmt, b.fmt).width
    res = cost.control() + Resources(lut=lanes * (sum_bits + y.fmt.width),  # adder, cast
                                     ff=lanes * y.fmt.width)  # output register
    return Stage("add", ident, node.name, fold, [a.fmt, b.fmt], [lanes, lanes], [y.fmt], [lanes],
                 h * w * c // lanes + SIMPLE_DEPTH, res)


def duplicate_stage(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int) -> Stage:
    """One stream into two (the fork in front of a Fire module's expand convolutions)."""
    _check(channels % lanes == 0, ident, f"lanes {lanes} do not divide {channels} channels")
    return Stage("duplicate", ident, None, None, [fmt], [lanes], [fmt, fmt], [lanes, lanes],
                 pixels * channels // lanes + SIMPLE_DEPTH, _plumbing(lanes * fmt.width),
                 params={"channels": channels, "pixels": pixels})


def regroup_stage(ident: str, fmt: FixedType, channels: int, pixels: int, in_lanes: int,
                  out_lanes: int) -> Stage:
    """Lane-width conversion of a stream (one of the lane counts divides the other)."""
    _check(channels % in_lanes == 0 and channels % out_lanes == 0, ident,
           f"lanes {in_lanes}, {out_lanes} must divide {channels} channels")
    _check(in_lanes % out_lanes == 0 or out_lanes % in_lanes == 0, ident,
           "one lane count must divide the other")
    return Stage("regroup", ident, None, None, [fmt], [in_lanes], [fmt], [out_lanes],
                 pixels * channels // min(in_lanes, out_lanes) + SIMPLE_DEPTH,
                 _plumbing(max(in_lanes, out_lanes) * fmt.width * 2),
                 params={"channels": channels, "pixels": pixels})


def _axis_stage(kind: str, ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int,
                beat_bits: int | None) -> Stage:
    _check(channels % lanes == 0, ident, f"lanes {lanes} do not divide {channels} channels")
    bits = beat_bits or axi_bits(fmt, lanes)
    beats = axis_beats(fmt, lanes, bits)
    # a beat register, and a word-wide shift register when a word takes several beats
    res = _plumbing(bits if beats == 1 else bits + lanes * fmt.width)
    axi, words = ([0], [lanes]) if kind == "axis_in" else ([lanes], [0])
    return Stage(kind, ident, None, None, [fmt], axi, [fmt], words,
                 pixels * channels // lanes * beats + SIMPLE_DEPTH, res,
                 params={"channels": channels, "pixels": pixels, "axi_bits": bits, "beats": beats})


def axis_in_stage(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int,
                  beat_bits: int | None = None) -> Stage:
    """AXI4-Stream -> stream words (axi.h); ``beat_bits`` (default: a whole word per beat) is the
    TDATA width, a word arriving in consecutive beats."""
    return _axis_stage("axis_in", ident, fmt, channels, pixels, lanes, beat_bits)


def axis_out_stage(ident: str, fmt: FixedType, channels: int, pixels: int, lanes: int,
                   beat_bits: int | None = None) -> Stage:
    """Stream words -> AXI4-Stream, TLAST on the frame's last beat (axi.h); ``beat_bits`` as in
    axis_in_stage."""
    return _axis_stage("axis_out", ident, fmt, channels, pixels, lanes, beat_bits)


# ---- dispatch --------------------------------------------------------------------------------
StageFn = Callable[[Graph, Node, Folding, str], Stage]
#: op class -> the function that makes its stage
STAGES: dict[type[Op], StageFn] = {
    Conv: conv_stage,
    MaxPool: maxpool_stage,
    GlobalAvgPool: global_avgpool_stage,
    Concat: concat_stage,
    Add: add_stage,
}


def _supported(node: Node) -> None:
    if type(node.op) not in STAGES:
        raise HwgenError(f"layer {node.name!r}: no dataflow kernel for op {node.kind!r}; kernels "
                         "exist for " + ", ".join(sorted(c.kind for c in STAGES)))


def layer_stage(graph: Graph, node: Node, folding: Folding | None = None,
                ident: str | None = None) -> Stage:
    """The stage of a node of a quantised graph."""
    _supported(node)
    for t in (*node.inputs, *node.outputs):
        if graph.tensors[t].fmt is None:
            raise HwgenError(f"layer {node.name!r}: tensor {t!r} has no format (quantise first)")
    return STAGES[type(node.op)](graph, node, folding or Folding(), ident or cpp_ident(node.name))


def legal_folding(node: Node, graph: Graph | None = None) -> tuple[list[int], list[int]]:
    """(PE values, SIMD values) a node allows: the divisors of its output / input channels.

    For convolutions the node alone suffices; for maxpool, global average pool, concat and add
    (whose "PE" is the lane count and which have no SIMD) the graph gives the channel count. Across
    nodes, a conv's input lanes and SIMD must also divide one another.
    """
    op = node.op
    if isinstance(op, Conv):
        return divisors(op.out_channels), divisors(op.in_channels)
    _supported(node)
    if graph is None:
        raise HwgenError(f"layer {node.name!r}: legal folding of a {node.kind} needs the graph")
    cs = [graph.shape(t)[0] for t in node.inputs]
    return [d for d in divisors(min(cs)) if all(c % d == 0 for c in cs)], [1]
