"""The Python side of the SystemVerilog library in ``hdl/``: for an IR node of a quantised graph and
its folding, the module to instantiate, its parameters and its memory images.

Parameters mirror the HLS config structs of ``hwgen.hls.kernels`` (same folding, same weight
layout, same stream packing: LANES elements per word, lane l in bits [l*W, l*W + W)); the RTL
modules compute what the golden model computes, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import HwgenError
from ..fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType
from ..ir import Graph, Node
from ..ops import Add, Concat, Conv, GlobalAvgPool, MaxPool
from ..ops.pool import RECIP_BITS
from ..design.ddr import DdrWeights, beats_per_word
from ..design.folding import Folding
from ..design.names import cpp_ident
from ..design.schedule import conv_mode as _conv_mode
from ..design.stages import layer_stage, pack_conv_weights


@dataclass
class Param:
    """A SystemVerilog parameter value: an int, a bool (bit), a string, or a sized bit pattern."""

    value: object
    bits: int | None = None  # sized literal: W'h...

    def sv(self) -> str:
        v = self.value
        if isinstance(v, bool):
            return "1'b1" if v else "1'b0"
        if isinstance(v, str):
            return f'"{v}"'
        if self.bits is not None:
            return f"{self.bits}'h{int(v) & ((1 << self.bits) - 1):x}"
        return str(int(v))


@dataclass
class Kernel:
    """One library module instance: module name, parameters, stream widths, memory images."""

    module: str
    name: str  # instance identifier
    params: dict[str, Param]
    in_widths: list[int]  # data bits of each input stream
    out_width: int
    mems: dict[str, str] = field(default_factory=dict)  # file name -> $readmemh text
    #: weights in DDR (hwgen_conv_ddr): the layer's image (hwgen.design.ddr, the HLS backend's
    #: bytes), to be placed 4 KiB-aligned in the weight buffer; the instance's base_addr is its
    #: byte address there (valid from reset on), its m_axi_* ports read that memory
    ddr: DdrWeights | None = None
    #: name of the DDR weight port, as the HLS top's argument (``w_<layer ident>``)
    ddr_port: str | None = None


def _cast_params(out: FixedType, shift: int) -> dict[str, Param]:
    """Parameters of the output cast (hwgen_requant): drop ``shift`` fraction bits into ``out``."""
    return {"SHIFT": Param(shift), "RND": Param(ROUNDING_MODES.index(out.rounding)),
            "OW": Param(out.width), "OSIGNED": Param(out.signed),
            "OVF": Param(OVERFLOW_MODES.index(out.overflow))}


def _signed_width(fmt: FixedType) -> int:
    """Bits of a signed register that holds every raw value of ``fmt``."""
    return fmt.width + (0 if fmt.signed else 1)


def mem_image(words: np.ndarray, width: int) -> str:
    """$readmemh text: one word per line, element i of a row at bits [i*width, i*width + width)."""
    words = np.asarray(words, dtype=np.int64)
    mask = (1 << width) - 1
    digits = -(-words.shape[1] * width // 4)
    lines = []
    for row in words:
        v = 0
        for i, x in enumerate(row.tolist()):
            v |= (x & mask) << (i * width)
        lines.append(f"{v:0{digits}x}")
    return "\n".join(lines) + "\n"


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise HwgenError(f"{where}: {what}")


#: Folding.storage -> hwgen_mvau's W_STORAGE (the weight ROM's rom_style / ram_style, UG901);
#: the same names for the estimator's choice of a window buffer (WIN_STORAGE, hwgen_ram)
W_STORAGE = {None: "auto", "bram": "block", "lutram": "distributed"}


# ---- one function per op -------------------------------------------------------------------
def conv_kernel(graph: Graph, node: Node, fold: Folding, ident: str) -> Kernel:
    op: Conv = node.op
    where = f"layer {node.name!r}"
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    cin, h, w = x.shape
    cout, oh, ow = y.shape
    pe, simd = fold.pe, fold.simd
    in_lanes = fold.in_lanes or simd
    _check(cout % pe == 0 and cin % simd == 0, where, f"PE={pe} / SIMD={simd} must divide "
           f"{cout} / {cin} channels")
    _check(in_lanes % simd == 0 or simd % in_lanes == 0, where,
           f"input lanes {in_lanes} and SIMD={simd}: one must divide the other")
    _check(op.accum_fmt.frac == x.fmt.frac + op.weight_fmt.frac, where,
           "accumulator fraction must be input + weight fraction")
    b_shift = op.accum_fmt.frac - op.bias_fmt.frac
    _check(b_shift >= 0, where, "bias must not be finer than the accumulator")
    w_raw = op.weight_raw()
    b_raw = op.bias_raw()  # per-channel formats: each channel's bias at its own fraction
    top = op.max_shift  # per-channel formats: every channel aligned on the finest before the cast
    nf, sf = cout // pe, op.kernel ** 2 * cin // simd
    # the exact sum's register: the largest |partial sum| any input can make, plus a sign bit
    x_mag = max(-x.fmt.min_raw, x.fmt.max_raw)
    w_abs = np.abs(w_raw.reshape(cout, -1).astype(np.int64)).sum(axis=1).max(initial=0)
    bound = int(w_abs) * x_mag + (int(np.abs(b_raw).max(initial=0)) << b_shift)
    accw = max(bound.bit_length() + 2, _signed_width(op.accum_fmt) + 1)
    ww, bw = _signed_width(op.weight_fmt), _signed_width(op.bias_fmt)
    t, l, _, _ = op.pad
    mode = {"direct": 0, "regroup": 1, "window": 2}[_conv_mode(op, in_lanes, simd)]
    wfile, bfile = f"mem/{ident}_w.mem", f"mem/{ident}_b.mem"
    params = {
        "MODE": Param(mode), "IN_H": Param(h), "IN_W": Param(w), "IN_C": Param(cin),
        "IN_LANES": Param(in_lanes), "K": Param(op.kernel), "STRIDE": Param(op.stride),
        "PAD_T": Param(t), "PAD_L": Param(l), "OUT_H": Param(oh), "OUT_W": Param(ow),
        "WIN_FIFO": Param(sf + 2), "XW": Param(x.fmt.width), "X_SIGNED": Param(x.fmt.signed), "WW": Param(ww),
        "BW": Param(bw), "B_SHIFT": Param(b_shift), "ACCW": Param(accw), "PE": Param(pe),
        "SIMD": Param(simd), "NF": Param(nf), "SF": Param(sf), "W_FILE": Param(wfile),
        "B_FILE": Param(bfile), "ACC_CAST": Param(bool(op.accum_can_overflow(x.fmt))),
        "ACC_W": Param(op.accum_fmt.width), "ACC_SIGNED": Param(op.accum_fmt.signed),
        "ACC_OVF": Param(OVERFLOW_MODES.index(op.accum_fmt.overflow)), "RELU": Param(op.relu),
        "MUL_FABRIC": Param(bool(fold.mul_fabric)), "MUL_PACKED": Param(bool(fold.mul_packed)),
        **_cast_params(y.fmt, op.accum_fmt.frac + top - y.fmt.frac)}
    packed = pack_conv_weights(w_raw, pe, simd)
    bias_mem = mem_image(np.asarray(b_raw, np.int64).reshape(nf, pe), bw)
    mems = {bfile: bias_mem}
    if top > 0:  # the shift ROM: word nf, lane pe = channel nf*PE + pe's shift, in SW bits
        sfile = f"mem/{ident}_s.mem"
        params.update({"ALIGN": Param(top), "S_FILE": Param(sfile)})
        mems[sfile] = mem_image(op.channel_shift.reshape(nf, pe), top.bit_length())
    widths = [in_lanes * x.fmt.width], pe * y.fmt.width
    stage = layer_stage(graph, node, fold)
    if mode == 2:  # the window buffer where the estimator booked it
        params["WIN_STORAGE"] = Param(W_STORAGE[stage.storage.get("window")])
    if fold.ddr:
        # hwgen_conv_ddr: the stage's block (output pixels per pass over the weights), beats per
        # weight word and DDR image (hwgen.design.ddr) -- what the HLS backend gets, byte for byte
        wbits = op.weight_fmt.width
        _check(stage.ddr is not None and stage.params["beats"] == beats_per_word(pe, simd, wbits),
               where, "the DDR image is not in PE*SIMD words of the weight width")
        del params["W_FILE"], params["WW"]
        params.update({"XBUF_STORAGE": Param(W_STORAGE[stage.storage.get("xbuf")]),
                       "OBUF_STORAGE": Param(W_STORAGE[stage.storage.get("obuf")]),
                       "WIN_FIFO": Param(2), "W_BITS": Param(wbits),
                       "W_SIGNED": Param(op.weight_fmt.signed),
                       "BLOCK": Param(stage.params["block"]),
                       "BEATS": Param(stage.params["beats"]), "ADDR_W": Param(32)})
        return Kernel("hwgen_conv_ddr", ident, params, *widths, mems,
                      ddr=stage.ddr, ddr_port="w_" + cpp_ident(node.name))
    params["W_STORAGE"] = Param(W_STORAGE[fold.storage])
    mems = {wfile: mem_image(packed.reshape(nf * sf, simd * pe), ww), **mems}
    return Kernel("hwgen_conv", ident, params, *widths, mems)


def maxpool_kernel(graph: Graph, node: Node, fold: Folding, ident: str) -> Kernel:
    op: MaxPool = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    _, oh, ow = y.shape
    lanes = fold.lanes
    _check(c % lanes == 0, f"layer {node.name!r}", f"lanes {lanes} do not divide {c} channels")
    t, l, _, _ = op.pad
    params = {"W": Param(x.fmt.width), "SIGNED": Param(x.fmt.signed), "IN_H": Param(h),
              "IN_W": Param(w), "C": Param(c), "LANES": Param(lanes), "K": Param(op.kernel),
              "STRIDE": Param(op.stride), "PAD_T": Param(t), "PAD_L": Param(l),
              "OUT_H": Param(oh), "OUT_W": Param(ow),
              **_cast_params(y.fmt, x.fmt.frac - y.fmt.frac),
              "WIN_STORAGE": Param(W_STORAGE[layer_stage(graph, node, fold).storage.get("window")])}
    return Kernel("hwgen_maxpool", ident, params, [lanes * x.fmt.width], lanes * y.fmt.width)


def global_avgpool_kernel(graph: Graph, node: Node, fold: Folding, ident: str) -> Kernel:
    op: GlobalAvgPool = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    lanes = fold.lanes
    _check(c % lanes == 0, f"layer {node.name!r}", f"lanes {lanes} do not divide {c} channels")
    recip, rfrac = op.reciprocal(h * w)
    sumw = _signed_width(op.sum_format(x.fmt, h * w)) + 1
    params = {"W": Param(x.fmt.width), "SIGNED": Param(x.fmt.signed), "C": Param(c),
              "LANES": Param(lanes), "PIXELS": Param(h * w), "SUMW": Param(sumw),
              "RECIP_BITS": Param(RECIP_BITS), "RECIP": Param(recip, RECIP_BITS),
              **_cast_params(y.fmt, x.fmt.frac + rfrac - y.fmt.frac)}
    return Kernel("hwgen_gap", ident, params, [lanes * x.fmt.width], lanes * y.fmt.width)


def concat_kernel(graph: Graph, node: Node, fold: Folding, ident: str) -> Kernel:
    where = f"layer {node.name!r}"
    _check(len(node.inputs) == 2, where, "concat joins exactly two streams")
    a, b = (graph.tensors[t] for t in node.inputs)
    y = graph.tensors[node.outputs[0]]
    _check(a.fmt == b.fmt == y.fmt, where, f"inputs {a.fmt}, {b.fmt} and output {y.fmt} must "
           "share one format")
    lanes = fold.lanes
    c1, c2 = a.shape[0], b.shape[0]
    _check(c1 % lanes == 0 and c2 % lanes == 0, where, f"lanes {lanes} must divide {c1} and {c2}")
    width = lanes * y.fmt.width
    params = {"WIDTH": Param(width), "WA": Param(c1 // lanes), "WB": Param(c2 // lanes)}
    return Kernel("hwgen_concat", ident, params, [width, width], width)


def add_kernel(graph: Graph, node: Node, fold: Folding, ident: str) -> Kernel:
    op: Add = node.op
    a, b = (graph.tensors[t] for t in node.inputs)
    y = graph.tensors[node.outputs[0]]
    lanes = fold.lanes
    _check(y.shape[0] % lanes == 0, f"layer {node.name!r}",
           f"lanes {lanes} do not divide {y.shape[0]} channels")
    s = op.sum_format(a.fmt, b.fmt)
    params = {"LANES": Param(lanes),
              "AW": Param(a.fmt.width), "ASIGNED": Param(a.fmt.signed),
              "ASHIFT": Param(s.frac - a.fmt.frac),
              "BW": Param(b.fmt.width), "BSIGNED": Param(b.fmt.signed),
              "BSHIFT": Param(s.frac - b.fmt.frac),
              "SW": Param(_signed_width(s)), "RELU": Param(op.relu),
              **_cast_params(y.fmt, s.frac - y.fmt.frac)}
    return Kernel("hwgen_add", ident, params, [lanes * a.fmt.width, lanes * b.fmt.width],
                  lanes * y.fmt.width)


KernelFn = Callable[[Graph, Node, Folding, str], Kernel]
#: op class -> the function that renders it as an RTL module instance
KERNELS: dict[type, KernelFn] = {
    Conv: conv_kernel,
    MaxPool: maxpool_kernel,
    GlobalAvgPool: global_avgpool_kernel,
    Concat: concat_kernel,
    Add: add_kernel,
}


def rtl_kernel(graph: Graph, node: Node, fold: Folding) -> Kernel:
    fn = KERNELS.get(type(node.op))
    if fn is None:
        raise HwgenError(f"layer {node.name!r}: no RTL module for op {node.kind!r}; modules exist "
                         "for " + ", ".join(sorted(c.kind for c in KERNELS)))
    return fn(graph, node, fold, "u_" + cpp_ident(node.name))
