"""Resources of the RTL library's modules as Yosys maps them (``hwgen synth``: Yosys 0.70
``synth_xilinx -family xc7 -flatten``, counted as Vivado counts), one function per module, from
the parameters the generator gives the instance (``build_netlist``).

The figures were measured by synthesising every instance of the trained SqueezeNet 1.1 for the
PYNQ-Z2 (its RTL project at the optimiser's folding, eight layers' weights in DDR: 103 instances)
alone with the same flow, and checked against the instances of a Fire module and of a reduced
SqueezeNet at wider foldings (PE x SIMD up to 8 x 8); each function says what it was fitted on.
Summed per module over that design they are upper bounds within 13% (LUT; FF within 6%, DSP and
BRAM exact or above); single instances of over 50 LUTs lie between 0.87 and 1.34 of Yosys. The
flattened top counted 586 LUT and 309 FF more than its instances alone: the control block and the
top's glue (CONTROL). On the design the optimiser then chose (8.0 frames/s, every instance
synthesised alone again) the models summed to 1.10 x Yosys on LUT and 1.07 on FF, DSP and BRAM36
exact or above; the DDR conv at PE 1 x SIMD 8 (conv10) was the most over-booked, 1.42 on LUT.

``RtlCosting`` is the hook ``hwgen.design.estimate.estimate_for`` takes: the resources of a design's
stages and streams as this backend builds them, in place of the HLS-oriented ``cost.py`` of the
design.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable

from ..design.cost import Resources, bram18_count, packed_pairs
from ..design.dataflow import Design
from ..design.estimate import Costs
from ..design.folding import Folding
from ..ir import Graph, Node
from .modules import Kernel, rtl_kernel

#: one LUT RAM cell: RAM32M (32 words x 6 bits, one write and one read port) or RAM64M (64 x 3)
SITES_PER_CELL = 4
#: memory_libmap's costs that decide registers / LUT RAM / block RAM for the tool's choice
LIBMAP_CELL, LIBMAP_BRAM18 = 8, 129


def clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _int(v) -> int:
    """A SystemVerilog literal of the netlist (``8``, ``1'b1``, ``16'hc1e5``) or an int."""
    if isinstance(v, str):
        v = v.strip('"')
        if "'" in v:
            size, lit = v.split("'", 1)
            return int(lit[1:], {"b": 2, "h": 16, "d": 10}[lit[0]])
        return int(v)
    return int(v)


def _str(v) -> str:
    return str(v).strip('"')


# ---- memories --------------------------------------------------------------------------------
def lutram_sites(depth: int, width: int) -> int:
    """LUT sites of a RAM with one write and one read port: RAM32M (32 x 6 bits) or RAM64M
    (64 x 3) banks, whichever takes fewer cells (measured on every FIFO, window buffer and DDR
    buffer of the trained design: exact)."""
    return SITES_PER_CELL * min(math.ceil(width / 6) * math.ceil(depth / 32),
                                math.ceil(width / 3) * math.ceil(depth / 64))


def lutram_mux(depth: int, width: int) -> float:
    """The read mux and write decode across the 64-word banks of a deep LUT RAM: 0.4 LUT per
    bit and 4 per bank beyond the first (fitted on 2600 x 40, 2496 x 8 and 1120 x 24)."""
    banks = math.ceil(depth / 64)
    return (banks - 1) * (0.4 * width + 4)


def ram_kind(depth: int, width: int) -> str:
    """Yosys' choice (memory_libmap) for a RAM left to it: "ff" (registers, when no LUT RAM cell
    would hold more than 8 of its bits), "lutram" (up to 64 words, or while its cells cost less
    than block RAM: 8 a cell, 129 a BRAM18), else "bram" (measured: FIFOs of 200 x 8 in LUT RAM,
    116 x 64 and 1000 x 8 in block RAM)."""
    cells = lutram_sites(depth, width) / SITES_PER_CELL
    if depth * width <= 8 * cells:
        return "ff"
    if depth <= 64 or LIBMAP_CELL * cells < LIBMAP_BRAM18 * bram18_count(depth, width):
        return "lutram"
    return "bram"


def _deep_banks(depth: int, width: int) -> int:
    """Block RAMs stacked in depth (their outputs need a mux): the BRAM18s per 9 bits of width."""
    return math.ceil(bram18_count(depth, width) / math.ceil(width / 9))


def bram(depth: int, width: int, mux: float = 0.3) -> Resources:
    """Block RAM, and the mux after the RAMs stacked in depth: ``mux`` LUTs per bit and RAM
    (0.6 for the weight ROMs of 12288 to 24576 x 8, less for the window buffers)."""
    return Resources(bram36=bram18_count(depth, width) / 2,
                     lut=mux * width * (_deep_banks(depth, width) - 1))


def ram(depth: int, width: int, style: str = "auto") -> Resources:
    """hwgen_ram (one write, one synchronous read port) in ``style``: "block", "distributed" or
    "auto" (Yosys' choice, ram_kind); the read register is in the block RAM, else FFs."""
    kind = {"block": "bram", "distributed": "lutram"}.get(style) or ram_kind(depth, width)
    if kind == "bram":
        return bram(depth, width)
    if kind == "ff":
        return Resources(lut=width * (depth > 1) * math.ceil(depth / 4), ff=(depth + 1) * width)
    return Resources(lut=lutram_sites(depth, width) + lutram_mux(depth, width), ff=width)


def rmw(depth: int, width: int) -> Resources:
    """An array read (asynchronously) and written back every cycle: running maxima and sums, the
    DDR conv's accumulators. Registers, LUT RAM or block RAM as for a RAM left to Yosys
    (measured: 13 x 115 in RAM32M, 200 x 90 in 3 RAMB18, 64 x 16 in RAM64M)."""
    kind = ram_kind(depth, width)
    if kind == "ff":
        return Resources(lut=width * (depth > 1) * math.ceil(depth / 4), ff=depth * width)
    if kind == "lutram":
        return Resources(lut=lutram_sites(depth, width) + lutram_mux(depth, width))
    return bram(depth, width) + Resources(lut=width / 2)


def single_port(depth: int, width: int) -> Resources:
    """The MVAU's input buffer (written and read at one address): RAM32M in 8-bit slices up to 32
    words, else RAM64X1S/RAM128X1S/RAM256X1S, one LUT site per bit per 64 words (measured)."""
    if depth * width <= 16:
        return Resources(ff=depth * width)
    if depth <= 32:
        return Resources(lut=SITES_PER_CELL * math.ceil(width / 8))
    return Resources(lut=width * math.ceil(depth / 64))


def rom_logic(depth: int, width: int) -> float:
    """A ROM in LUTs, per bit: one LUT6 up to 64 words, then what abc9 makes of the wider
    functions: 3 LUTs at 128 words, 7 at 256 (the bias ROMs of 128 to 256 x 16), growing with
    depth^1.8 beyond (80 at 1024: the 1024 x 8 weight ROMs, 530 to 670 LUTs)."""
    if depth <= 1:
        return 0
    if depth <= 4:  # at most 16 distinct functions of 2 address bits
        return min(width, 16)
    if depth <= 64:
        return width
    if depth <= 128:
        return 3 * width
    return 7 * width * max(1.0, depth / 256) ** 1.8


def rom_in_bram(depth: int, width: int) -> bool:
    """Yosys' choice for a ROM left to it: block RAM from 512 words and 8 Kbit up (measured:
    864 x 16 and 2048 x 8 in block RAM, 1024 x 8 in LUTs)."""
    return depth >= 512 and depth * width > 8192


def rom(depth: int, width: int, style: str = "auto") -> Resources:
    """A weight ROM in ``style`` (rom_style block / logic, "auto": Yosys' choice); in LUTs it has
    an output register."""
    if style == "block" or (style == "auto" and rom_in_bram(depth, width)):
        return bram(depth, width, mux=0.6)
    return Resources(lut=rom_logic(depth, width), ff=width)


# ---- one function per module -----------------------------------------------------------------
def fifo(depth: int, width: int) -> Resources:
    """hwgen_fifo (asynchronous read) as Yosys maps it; fitted on 48 FIFOs of 2 to 10658 words,
    8 to 512 bits: registers (8-bit, 2 words), LUT RAM with its pointers (FF 4 per address bit),
    block RAM with an output register."""
    a = clog2(depth + 1)
    kind = ram_kind(depth, width)
    if kind == "ff":
        return Resources(lut=width + 9, ff=depth * width + 6)
    if kind == "lutram":
        if depth == 2:
            logic, ff = 8, 5
        elif depth <= 32:
            logic, ff = 6 * a + 2, 4 * a
        else:
            logic = 14 + 4 * a + math.ceil(width * (math.ceil(depth / 64) - 1) / 2)
            ff = 4 * a
        return Resources(lut=lutram_sites(depth, width) + logic, ff=ff)
    n18 = bram18_count(depth, width)
    return Resources(bram36=n18 / 2,
                     lut=width + 7 * a + 0.35 * width * (_deep_banks(depth, width) - 1),
                     ff=width + 3 * a + 3 + clog2(n18))


def regroup(in_lanes: int, out_lanes: int, w: int) -> Resources:
    """hwgen_regroup: a word register when merging, a lane mux when splitting (measured 1->8,
    8->1, 4->16, 16->4, 2->1)."""
    if in_lanes == out_lanes:
        return Resources()
    if out_lanes > in_lanes:
        return Resources(lut=out_lanes * w + 8, ff=out_lanes * w + 6)
    return Resources(lut=out_lanes * w * math.ceil(in_lanes / out_lanes / 4) + 12, ff=6)


def window(w: int, in_h: int, in_w: int, c: int, in_lanes: int, out_lanes: int, k: int,
           stride: int, out_w: int, style: str) -> Resources:
    """hwgen_window: the (K+STRIDE) x IN_W x C buffer in words of max(IN_LANES, OUT_LANES)
    lanes (hwgen_ram in ``style``), the phase and address counters (fitted on the 3 max pools of
    the trained design: about 190 to 220 LUT and 125 FF besides the buffer)."""
    pf = max(in_lanes, out_lanes)
    depth, width = (k + stride) * in_w * (c // pf), pf * w
    counters = clog2(in_h * in_w * c) + clog2(out_w * k * k * c)
    # words of other lanes than the buffer's: sub-word writes or the read mux (conv1, fire2)
    sub = in_lanes != out_lanes
    return ram(depth, width, style) + Resources(lut=100 + 2 * counters + width + sub * 2 * width,
                                                ff=58 + 2 * counters + sub * (width + 4))


def conv_front(p: dict) -> Resources:
    """hwgen_conv_front: nothing (MODE 0), hwgen_regroup (1), or hwgen_window and a FIFO of
    WIN_FIFO words (2)."""
    mode, xw, simd = _int(p["MODE"]), _int(p["XW"]), _int(p["SIMD"])
    if mode == 0:
        return Resources()
    if mode == 1:
        return regroup(_int(p["IN_LANES"]), simd, xw)
    return (window(xw, _int(p["IN_H"]), _int(p["IN_W"]), _int(p["IN_C"]), _int(p["IN_LANES"]),
                   simd, _int(p["K"]), _int(p["STRIDE"]), _int(p["OUT_W"]),
                   _str(p.get("WIN_STORAGE", "auto")))
            + fifo(_int(p["WIN_FIFO"]), simd * xw))


def _products(p: dict, ww: int) -> Resources:
    """PE x SIMD products and their sum per PE: one DSP48 each, about half of the SIMD-1 adds
    of each PE's sum in LUTs (the rest in the DSPs' cascade: measured on PE x SIMD = 8 x 4 to
    8 x 8), or in LUTs (hwgen_fabric_mul: the shift-and-add chain, about (XW+1) x (WW+2) LUTs
    a product). MUL_PACKED (hwgen_dot): one DSP48 per pair of PEs and lane, plus per pair and
    lane 2*WW + XW LUTs (the packed operand's upper half, the borrow add) and a third of the
    adds that sat in the DSPs' cascade (the products now leave the DSPs): fitted on Yosys runs
    of both MVAUs at PE x SIMD = 2 x 2, 3 x 2, 4 x 4, 8 x 4 (8 x 8 bits) and 4 x 2 (4 x 16 bits),
    what packing adds within 22% of each (tests/rtl/test_rtl_yosys.py prints them)."""
    pe, simd, xw = _int(p["PE"]), _int(p["SIMD"]), _int(p["XW"])
    dw = ww + xw + 2 + clog2(simd)
    if _int(p.get("MUL_FABRIC", 0)):
        return Resources(lut=pe * simd * (xw + 1) * (ww + 2), ff=pe * dw)
    plain = Resources(dsp=pe * simd, lut=0.5 * pe * (simd - 1) * dw)
    if _int(p.get("MUL_PACKED", 0)):
        pairs = packed_pairs(pe, simd)
        return plain + Resources(dsp=-pairs, lut=pairs * (2 * ww + xw) + pe * (simd - 1) * dw / 6)
    return plain


def _align(p: dict, stall: bool) -> Resources:
    """Per-channel weight formats (ALIGN > 0): the shift ROM (NF words of PE*SW bits, in LUTs),
    its word carried down the pipeline with the sums (three registers; in hwgen_mvau_ddr, whose
    pipeline never stalls, two of them become SRL16 shift registers, a LUT site per bit), and per
    PE the aligning shifter in front of the cast: about 2 LUTs per output bit from ALIGN = 2 on
    (a 1-bit shift merges into the cast's LUTs). Fitted on what ALIGN adds to five convs under
    Yosys (3x3 and 1x1, PE 4 and 8, ALIGN 1, 2, 4 and 8, OW 8, on chip and in DDR: +6 to +161
    LUT): within 2 LUTs of each, FF exact or above (Yosys drops the register bits that the ROM
    holds constant). Nothing when ALIGN = 0 (the same netlist as without per-channel formats)."""
    top = _int(p.get("ALIGN", 0))
    if top == 0:
        return Resources()
    pe, nf, ow = _int(p["PE"]), _int(p["NF"]), _int(p["OW"])
    bits = pe * top.bit_length()
    shifter = pe * 2 * ow if top > 1 else 0
    if stall:  # hwgen_mvau: the registers move with the pipeline's enable
        return Resources(lut=rom_logic(nf, bits) + shifter, ff=3 * bits)
    return Resources(lut=rom_logic(nf, bits) + bits + shifter, ff=bits)


def _mvau_common(p: dict, ww: int, pe_luts: int) -> Resources:
    """What both MVAUs have: products, the bias ROM, per PE ``pe_luts`` (accumulator and
    requantisation) and ACCW + OW FFs, the input word's registers, the weight address counters
    (fitted on the 18 on-chip convs of the trained design: with the accumulator in the DSP48,
    about ACCW/2 + OW LUTs per PE)."""
    pe, simd, nf = _int(p["PE"]), _int(p["SIMD"]), _int(p["NF"])
    xw, accw, ow, bw = _int(p["XW"]), _int(p["ACCW"]), _int(p["OW"]), _int(p["BW"])
    counters = clog2(nf * _int(p["SF"]))
    return (_products(p, ww) + Resources(lut=rom_logic(nf, pe * bw))
            + Resources(lut=10 + counters + pe * pe_luts + simd * xw,
                        ff=3.5 * counters + pe * (accw + ow) + simd * xw - 12))


def conv(p: dict) -> Resources:
    """hwgen_conv: front + hwgen_mvau (weight ROM of NF*SF words of PE*SIMD*WW bits in
    W_STORAGE, the SF-word input buffer, products, accumulators, requantisers)."""
    pe, simd, nf, sf = (_int(p[k]) for k in ("PE", "SIMD", "NF", "SF"))
    ww, xw = _int(p["WW"]), _int(p["XW"])
    return (conv_front(p) + _mvau_common(p, ww, _int(p["ACCW"]) // 2 + _int(p["OW"]))
            + _align(p, stall=True) + rom(nf * sf, pe * simd * ww, _str(p.get("W_STORAGE", "auto")))
            + single_port(sf, simd * xw))


def axi_read(width_used: int) -> Resources:
    """hwgen_axi_read: the request counters and the 32-bit address (about 100 LUT, 100 FF) and
    its 64-beat FIFO, of which Yosys keeps only the bits the weights use (measured)."""
    return Resources(lut=100, ff=100) + fifo(64, width_used)


def conv_ddr(p: dict) -> Resources:
    """hwgen_conv_ddr: front + AXI4 read master + beat gatherer + hwgen_mvau_ddr (input block
    BLOCK*SF x SIMD*XW in XBUF_STORAGE, output buffer BLOCK*NF x PE*OW in OBUF_STORAGE, the
    BLOCK accumulators of PE*ACCW bits, the held weight word); fitted on the 8 DDR convs of the
    trained design."""
    pe, simd, nf, sf = (_int(p[k]) for k in ("PE", "SIMD", "NF", "SF"))
    xw, ow, accw, block = _int(p["XW"]), _int(p["OW"]), _int(p["ACCW"]), _int(p["BLOCK"])
    beats, wbits = _int(p["BEATS"]), _int(p["W_BITS"])
    ww = wbits + (0 if _int(p.get("W_SIGNED", 1)) else 1)
    wpar = pe * simd * wbits
    used = min(64, wpar) if beats == 1 else 64
    gather = Resources(lut=(beats > 1) * 64 * (beats - 1) // 8, ff=64 * (beats - 1) + 3 * wpar)
    counters = clog2(block * sf) + clog2(block * nf)
    # the accumulators are in LUT RAM, so each PE's sum is a fabric adder (2 x ACCW LUTs)
    return (conv_front(p) + axi_read(used) + gather
            + _mvau_common(p, ww, 2 * accw + ow) + _align(p, stall=False)
            + ram(block * sf, simd * xw, _str(p.get("XBUF_STORAGE", "auto")))
            + ram(block * nf, pe * ow, _str(p.get("OBUF_STORAGE", "auto")))
            + rmw(block, pe * accw)
            + Resources(lut=50 + 2 * counters, ff=32 - 2 * wpar))


def maxpool(p: dict) -> Resources:
    """hwgen_maxpool: window + 2-word FIFO + running maxima (C/LANES words) + per lane a compare,
    a mux, the output cast and register (fitted on the 3 pools of the trained design)."""
    w, c, lanes, ow = (_int(p[k]) for k in ("W", "C", "LANES", "OW"))
    win = window(w, _int(p["IN_H"]), _int(p["IN_W"]), c, lanes, lanes, _int(p["K"]),
                 _int(p["STRIDE"]), _int(p["OUT_W"]), _str(p.get("WIN_STORAGE", "auto")))
    return (win + fifo(2, lanes * w) + rmw(c // lanes, lanes * w)
            + Resources(lut=20 + lanes * (2 * w + ow), ff=10 + lanes * ow))


def gap(p: dict) -> Resources:
    """hwgen_gap: running sums (C/LANES words of LANES*SUMW bits), per lane an adder, the product
    with the reciprocal (a DSP48 up to 25 x 18 bits, none for a power of two) and the output
    cast and register (measured: 1000 channels, 5 lanes)."""
    w, c, lanes, sumw, ow = (_int(p[k]) for k in ("W", "C", "LANES", "SUMW", "OW"))
    recip = _int(p["RECIP"])
    dsp = 0 if _pow2(recip) else lanes * (1 + (sumw > 25))
    return rmw(c // lanes, lanes * sumw) + Resources(
        dsp=dsp, lut=40 + lanes * (sumw + 1.5 * ow), ff=20 + lanes * (ow + sumw))


def concat(p: dict) -> Resources:
    """hwgen_concat: a WIDTH-bit 2:1 mux and a word counter, no data register (measured)."""
    n = clog2(_int(p["WA"]) + _int(p["WB"]))
    return Resources(lut=_int(p["WIDTH"]) + n + 3, ff=n)


def add(p: dict) -> Resources:
    """hwgen_add: per lane the aligned adder (its carry chain aside) and the output cast, and the
    output register (measured: the eight sums of a reduced complex-bypass SqueezeNet 1.1, 1 to 4
    lanes of 11 to 13-bit sums: 19 to 58 LUT, LANES * OW + 1 FF)."""
    lanes, sw, ow = (_int(p[k]) for k in ("LANES", "SW", "OW"))
    return Resources(lut=6 + lanes * (sw + 3), ff=lanes * ow + 1)


def duplicate(p: dict) -> Resources:
    """hwgen_duplicate: handshakes only (measured: 3 LUTs)."""
    return Resources(lut=4)


def axis_in(p: dict) -> Resources:
    """hwgen_axis_in: wires when a word is one beat (measured: nothing), else a word register
    filled beat by beat."""
    ab, wd = _int(p["AXI_BITS"]), _int(p["WIDTH"])
    beats = math.ceil(wd / ab)
    if beats == 1:
        return Resources()
    return Resources(lut=beats * ab + 8, ff=beats * ab + clog2(beats) + 2)


def axis_out(p: dict) -> Resources:
    """hwgen_axis_out: the beat mux of a word, the word and beat counters for TLAST (measured:
    80 bits in 64-bit beats, 76 LUT / 9 FF)."""
    ab, wd, words = _int(p["AXI_BITS"]), _int(p["WIDTH"]), _int(p["WORDS"])
    beats = math.ceil(wd / ab)
    n = clog2(words) + clog2(beats)
    return Resources(lut=ab * math.ceil((beats - 1) / 3 + 0.1) + 2 * n + 4, ff=n + 1)


#: hwgen_control with 8 weight pointers: the flattened top minus the sum of its instances
#: (586 LUT, 309 FF), rounded up; each pointer register adds its address bits
CONTROL = Resources(lut=650, ff=350)

#: library module -> its resources from the instance's parameters (names -> literals)
MODELS: dict[str, Callable[[dict], Resources]] = {
    "hwgen_fifo": lambda p: fifo(_int(p["DEPTH"]), _int(p["WIDTH"])),
    "hwgen_regroup": lambda p: regroup(_int(p["IN_L"]), _int(p["OUT_L"]), _int(p.get("W", 8))),
    "hwgen_conv": conv,
    "hwgen_conv_ddr": conv_ddr,
    "hwgen_maxpool": maxpool,
    "hwgen_gap": gap,
    "hwgen_concat": concat,
    "hwgen_add": add,
    "hwgen_duplicate": duplicate,
    "hwgen_axis_in": axis_in,
    "hwgen_axis_out": axis_out,
}


def instance(module: str, params) -> Resources:
    """The resources of one library instance (params: a dict or the netlist's (name, literal)
    pairs)."""
    return MODELS[module](dict(params))


class RtlCosting:
    """The costing hook of hwgen.design.estimate.estimate_for for RTL projects: every stage and
    stream of a design at the resources of the instance the RTL top builds for it. A layer's
    module is made once per folding (the optimiser asks for hundreds of designs of one graph)."""

    model = "rtl: Yosys synth_xilinx of the library modules (hwgen.rtl.cost)"

    def __init__(self) -> None:
        self._graph: Graph | None = None
        self._kernels: dict[tuple[str, Folding], Kernel] = {}

    def _kernel(self, graph: Graph, node: Node, fold: Folding) -> Kernel:
        if graph is not self._graph:
            self._graph, self._kernels = graph, {}
        k = self._kernels.get((node.name, fold))
        if k is None:  # without its memory images: only the parameters count
            k = self._kernels[(node.name, fold)] = replace(rtl_kernel(graph, node, fold),
                                                            mems={})
        return k

    def __call__(self, design: Design) -> Costs:
        from .generate import build_netlist  # noqa: PLC0415 (generate imports this module)

        stages: dict[str, Resources] = {}
        streams: dict[str, Resources] = {}
        for inst in build_netlist(design, kernel=self._kernel).instances:
            if inst.source is None or inst.module not in MODELS:
                continue  # a module without a model keeps the design's own estimate
            kind, name = inst.source
            book = streams if kind == "stream" else stages
            book[name] = book.get(name, Resources()) + instance(inst.module, inst.params)
        return Costs(stages, streams, CONTROL, self.model)
