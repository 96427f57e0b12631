"""Resource estimates of the kernels (7-series / UltraScale+ primitives), no vendor tool needed.

Each stage constructor in ``stages.py`` attaches a ``Resources`` to its ``Stage`` with the helpers
here; the estimator (``estimate.py``) adds them up. The figures are engineering estimates of what
Vitis HLS builds from the kernels' code, in the terms of the FINN cost models:

* a multiplier is one DSP48 (an 8x8 product needs one 25x18 multiplier), or, mapped to fabric,
  ``(2*ceil((Wa+Ww)/6) - 1) * (Wa+Ww)`` LUTs (80 for 8x8); packed (``multipliers: dsp2``, where
  ``packs_two`` allows it), one DSP48 computes two PEs' products with one input, plus per pair
  ``Ww`` LUTs to form the packed operand and ``Wa+Ww`` for the upper product's borrow;
* a SIMD-wide adder tree into a ``acc``-bit register costs about ``acc`` LUTs per input, and
  every multiplier output is registered (``Wa+Ww`` FFs);
* memories: a ROM/RAM of ``depth`` words of ``width`` bits is BRAM (the cheapest BRAM18 aspect
  ratio: 16Kx1 ... 512x36; two BRAM18 make a BRAM36) or LUTRAM (``width * ceil(depth/64)`` LUTs),
  whichever is the smaller share of the board; weights are never put in URAM, which the bitstream
  cannot initialise;
* a FIFO of up to 32 words is shift-register LUTs (``width * ceil(depth/32)``), deeper ones LUT RAM
  or BRAM, whichever Yosys' memory mapper picks (``fifo_impl``; the generated top binds each
  deeper stream with ``BIND_STORAGE type=fifo impl=lutram|bram``);
* an array updated read-modify-write every ``depth`` iterations (running maxima, sums, the DDR
  convolution's accumulators) is registers up to ``RMW_REG_DEPTH`` words, else LUTRAM (whose
  asynchronous read lets the update complete within ``depth`` >= 3 iterations at II=1);
* every array a kernel declares is bound (``BIND_STORAGE``) to the memory chosen here: the HLS
  backend (hwgen.hls.kernels) passes the choice to the kernel as a ``*_STORAGE`` constant of its
  config struct;
* an AXI4 master read port (Vitis' m_axi adapter and its read buffer): one BRAM18, 800 LUTs,
  900 FFs (M_AXI_READ: a measured 32-bit port, rounded up for 64 bits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

#: BRAM18 aspect ratios (depth, width), widest last (simple dual port for 36 bits)
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
LUTRAM_DEPTH = 64  # one LUT6 is a 64 x 1 memory
SRL_DEPTH = 32  # one LUT is a 32-deep shift register
#: memories this small are always LUTRAM (Vitis does the same)
SMALL_MEMORY_BITS = 1024
#: read-modify-write arrays this shallow (words) are registers (kernels' STORE_REG)
RMW_REG_DEPTH = 3
#: C++ enumerators of hwgen::storage_kind (types.h) for each storage the estimator chooses
STORAGE_CPP = {"lutram": "hwgen::STORE_LUTRAM", "bram": "hwgen::STORE_BRAM",
               "registers": "hwgen::STORE_REG"}
#: Vitis HLS's m_axi read adapter: a read-only 32-bit gmem port on an xc7z020 reports 657 LUT and
#: 671 FF (csynth.rpt of a public Vitis HLS 2025.2 project), rounded up for 64 bits; its read
#: buffer holds the outstanding bursts, 4 x 16 beats x 64 bits = 4 Kbit here (top.cpp.j2): one
#: BRAM18
M_AXI_READ = {"bram36": 0.5, "lut": 800, "ff": 900}
KERNEL_CONTROL = {"lut": 150, "ff": 200}  # loop counters, FSM, stream handshakes


@dataclass
class Resources:
    dsp: float = 0
    bram36: float = 0
    lut: float = 0
    ff: float = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict:
        return {"dsp": int(math.ceil(self.dsp)), "bram36": round(self.bram36, 1),
                "lut": int(math.ceil(self.lut)), "ff": int(math.ceil(self.ff))}


def bram18_count(depth: int, width: int) -> int:
    """BRAM18 primitives for a depth x width memory (the cheapest aspect ratio)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in BRAM18_SHAPES)


def lutram_luts(depth: int, width: int) -> int:
    return width * math.ceil(depth / LUTRAM_DEPTH) if depth > 0 else 0


def memory(depth: int, width: int, banks: int = 1, prefer_lutram: bool | None = None
           ) -> tuple[Resources, str]:
    """``banks`` memories of depth x width: (resources, "bram" | "lutram").

    ``prefer_lutram`` forces a choice; by default small memories are LUTRAM and the rest BRAM
    unless LUTRAM is cheaper counted in LUTs against BRAM36 at 1 BRAM36 ~ 400 LUTs (the
    LUT/BRAM ratio of a Zynq-7020)."""
    bits = depth * width
    luts = lutram_luts(depth, width) * banks
    brams = bram18_count(depth, width) * banks / 2
    use_lut = prefer_lutram if prefer_lutram is not None else (
        bits <= SMALL_MEMORY_BITS or luts <= 400 * brams)
    if use_lut:
        return Resources(lut=luts), "lutram"
    return Resources(bram36=brams), "bram"


def rmw_memory(depth: int, width: int, banks: int = 1) -> tuple[Resources, str]:
    """``banks`` arrays of depth x width updated read-modify-write once every ``depth``
    iterations: (resources, "registers" | "lutram")."""
    if depth <= RMW_REG_DEPTH:
        return Resources(ff=depth * width * banks, lut=(depth > 1) * width * banks), "registers"
    return Resources(lut=lutram_luts(depth, width) * banks), "lutram"


def _lutram_cells(depth: int, width: int) -> int:
    """RAM32M/RAM64M-style cells (3 data bits x 64 words each) of a depth x width LUT RAM with one
    write and one asynchronous read port."""
    return math.ceil(width / 3) * math.ceil(depth / LUTRAM_DEPTH)


def fifo_impl(depth: int, width: int) -> str:
    """What ``fifo`` books a stream of ``depth`` words of ``width`` bits in: "srl" up to
    SRL_DEPTH words, then LUT RAM while it costs less than block RAM at Yosys' own exchange rate
    (memory_libmap: a LUT RAM cell 8, a BRAM18 129; measured with scripts/fit_cost_yosys.py, which
    found 200 x 8 and 200 x 64-bit FIFOs in LUT RAM, 1000-word ones in BRAM), else "bram". Each
    deeper stream is bound to exactly this (BIND_STORAGE type=fifo impl=lutram|bram, UG1399)."""
    if depth <= SRL_DEPTH:
        return "srl"
    if depth <= LUTRAM_DEPTH or 8 * _lutram_cells(depth, width) < 129 * bram18_count(depth, width):
        return "lutram"
    return "bram"


def fifo(depth: int, width: int) -> Resources:
    kind = fifo_impl(depth, width)
    if kind == "srl":
        return Resources(lut=width * math.ceil(depth / SRL_DEPTH), ff=width)
    pointers = 4 * math.ceil(math.log2(depth + 1))  # read and write counters, level, flags
    if kind == "lutram":  # 4 LUT sites a cell, the read mux across 64-word banks, the counters
        return Resources(lut=4 * _lutram_cells(depth, width) + 28
                         + width * (math.ceil(depth / LUTRAM_DEPTH) - 1), ff=pointers)
    return Resources(bram36=bram18_count(depth, width) / 2, lut=width + 2 * pointers,
                     ff=width + pointers)


def fabric_mult_luts(wa: int, ww: int) -> int:
    n = wa + ww
    return (2 * math.ceil(n / 6) - 1) * n


#: DSP48E1 (7-series, Zynq-7000) multiplier operands: 25 x 18 bits, signed (UG479); the
#: UltraScale+ DSP48E2's 27-bit port is wider, so one rule holds for both families
DSP_A_BITS, DSP_B_BITS = 25, 18


def packs_two(ww: int, wa: int, w_signed: bool, x_signed: bool) -> bool:
    """Whether one DSP48 multiplier computes two products w_lo * x and w_hi * x exactly: the
    operand w_hi * 2**K + w_lo with K = Ww + Wa (the width of one signed product) takes K + Ww + 1
    bits (w_hi at its most negative and a negative w_lo reach below -2**(K+Ww-1)), which must fit
    the 25-bit port (2*Ww + Wa + 1 <= 25), and x, as a signed number, the 18-bit one. The low
    product is then bits [0, K) of the result, the high one the bits above plus the low one's sign
    (its borrow). This is the packing of FINN's mvu_8sx8u_dsp48.sv (two PEs' 8-bit weights Wa + Ww
    bits apart on the DSP48E1's 25-bit pre-adder port, one 8-bit activation on its B port) and of
    Xilinx WP486 (INT8 on DSP48E2), here with each product taken out of the DSP at once rather
    than accumulated in it, so that no guard bits are needed. Signed weights only (the borrow
    rule)."""
    return w_signed and 2 * ww + wa + 1 <= DSP_A_BITS and wa + (not x_signed) <= DSP_B_BITS


def packs_formats(weight_fmt, in_fmt) -> bool:
    """packs_two for a conv's weight format and the format of its input (FixedTypes)."""
    return packs_two(weight_fmt.width, in_fmt.width, weight_fmt.signed, in_fmt.signed)


def packed_pairs(pe: int, simd: int) -> int:
    """DSP48s that packing saves: one per pair of PEs and SIMD lane (an odd PE's last alone)."""
    return (pe // 2) * simd


def packing_refused(ww: int, wa: int) -> str:
    """What a layer folded with ``multipliers: dsp2`` is told when packs_two says no."""
    return (f"multipliers: dsp2 packs two products into one DSP48 only for signed weights with "
            f"2 x {ww} weight bits + {wa} input bits + 1 <= {DSP_A_BITS} and the input, signed, "
            f"within {DSP_B_BITS} bits; use dsp or lut")


def mac_array(pe: int, simd: int, wa: int, ww: int, acc_bits: int, out_bits: int,
              fabric: bool, packed: bool = False) -> Resources:
    """PE x SIMD multipliers, PE adder trees and accumulators, PE requantisers; ``packed``: the
    PEs in pairs, two products per DSP48 (``packs_two``; an odd PE's last alone)."""
    macs = pe * simd
    r = Resources(ff=macs * (wa + ww) + pe * (2 * acc_bits + out_bits),
                  lut=macs * acc_bits + pe * (acc_bits + out_bits))
    if fabric:
        r.lut += macs * fabric_mult_luts(wa, ww)
    elif packed:
        pairs = packed_pairs(pe, simd)
        r.dsp += macs - pairs
        r.lut += pairs * (2 * ww + wa)  # the packed operand's upper half, the borrow add
    else:
        r.dsp += macs
    return r


def channel_align(pe: int, acc_bits: int, max_shift: int) -> Resources:
    """Per-channel weight formats: per PE lane, a left shift of the accumulator by 0..max_shift
    bits before the requantiser (a mux per bit and shift stage; a LUT6 holds two 2:1 stages)
    and a register after it. (The shifts themselves widen the bias ROM.)"""
    if max_shift == 0:
        return Resources()
    bits = acc_bits + max_shift
    return Resources(lut=pe * bits * -(-max_shift.bit_length() // 2), ff=pe * bits)


def control() -> Resources:
    return Resources(**KERNEL_CONTROL)


def window_buffer(k: int, stride: int, in_w: int, c: int, lanes: int, width: int
                  ) -> tuple[Resources, str]:
    """sliding_window's (K+STRIDE) x IN_W x C buffer, split into ``lanes`` channel banks:
    (resources, "bram" | "lutram")."""
    depth = (k + stride) * in_w * c // lanes
    res, kind = memory(depth, width, banks=lanes)
    return res + Resources(lut=100 + lanes * width, ff=100 + lanes * width), kind  # mux, counters
