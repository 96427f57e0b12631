"""Stream depths of the dataflow design: one set, which both backends give their FIFOs, so that
neither can deadlock and both run at the estimated pace.

Each rule takes the larger of what the HLS kernels (window.h, conv2d.h) and the RTL modules
(hwgen_window.sv, hwgen_conv.sv) need:

* every stream holds ``DEFAULT_FIFO_DEPTH`` words;
* a windowed kernel's input holds one phase's reads when its producer is slower than a word per
  cycle (``window_input_depth``);
* a concat's input holds one pixel more (``input_depth``);
* a strided max pool's output holds what its consumer cannot take of a row's burst
  (``pool_burst_depth``);
* in a Fire module, the duplicate's expand1x1 branch holds what the expand3x3 window reads ahead
  of what concat has taken, plus all that the expand3x3 branch holds (``fire_fifo_depths``);
* a Fire module's bypass holds what the module may read ahead of its output (``bypass_depths``).
"""
from __future__ import annotations

import functools
import math
from typing import Mapping

from ..errors import HwgenError
from ..ir import Fire, Graph, Node
from ..ops import Concat, MaxPool
from .folding import Folding
from .schedule import (MVAU_DEPTH, window_input_pixels, window_lead_pixels,
                       window_phase_reads)

#: depth given to every stream that needs no more (Vitis' default)
DEFAULT_FIFO_DEPTH = 2
#: window words the HLS matrix-vector unit may be ahead of its output (internal FIFO + pipeline)
HLS_WINDOW_SLACK = 2 + MVAU_DEPTH
#: window words an RTL conv holds beyond its window FIFO of SF + 2 words (window output register,
#: MVAU pipeline)
RTL_WINDOW_SLACK = 4


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


def input_depth(graph: Graph, node: Node, fold: Folding, index: int, lanes: int,
                producer_cycles_per_word: float) -> int:
    """Depth of the stream into input ``index`` of ``node``, ``lanes`` values a word, from a
    producer that takes ``producer_cycles_per_word``: a windowed kernel's input holds a phase
    (``window_input_depth``); a concat's input holds a pixel beyond the default, for concat takes
    a whole pixel from one branch, then from the other, and a branch that could not hold one
    would stall the other's producer meanwhile."""
    depth = (window_input_depth(graph, node, fold, producer_cycles_per_word) if index == 0
             else DEFAULT_FIFO_DEPTH)
    if isinstance(node.op, Concat):
        depth = max(depth, DEFAULT_FIFO_DEPTH + graph.shape(node.inputs[index])[0] // lanes)
    return depth


def pool_burst_depth(graph: Graph, pool: Node, lanes: int, pool_in_pace: float,
                     consumer_pace: float, upstream_cycles: float, period: float) -> int:
    """Depth of the stream out of ``pool`` (``lanes`` values a word) into a consumer that takes
    ``consumer_pace`` cycles per word, the pool's own input arriving at ``pool_in_pace``.

    A KxK max pool of stride S > 1 emits a row of outputs only while it reads the last input
    row of their windows, and nothing for the other S - 1 rows: a burst of OUT_W pixels in the
    time of one input row. What the consumer cannot take meanwhile blocks the pool and, through
    shallow streams, everything upstream of it. That costs frames only where the blocked time
    added to the slowest stage upstream (``upstream_cycles``, the pool included) exceeds the
    design's ``period`` (cycles per frame); then the stream holds the excess. Measured in RTL
    simulation of a reduced SqueezeNet 1.1: 14% of a frame lost behind the pools in front of
    fire4 and fire6 without it, none with it."""
    if not isinstance(pool.op, MaxPool) or pool.op.stride == 1:
        return DEFAULT_FIFO_DEPTH
    c, out_h, out_w = graph.shape(pool.outputs[0])
    _, _, in_w = graph.shape(pool.inputs[0])
    words = c // lanes  # a pixel's words (the pool's input and output lanes are the same)
    burst_cycles = in_w * words * max(1.0, pool_in_pace)
    # (less a rounding hair: a consumer exactly at the burst's pace needs nothing)
    excess = math.ceil(out_w * words - burst_cycles / max(consumer_pace, 1e-9) - 1e-9)
    if excess <= 0 or upstream_cycles + out_h * excess * consumer_pace <= period:
        return DEFAULT_FIFO_DEPTH
    return DEFAULT_FIFO_DEPTH + excess


def fire_fifo_depths(graph: Graph, fire: Fire, folding: Mapping[str, Folding],
                     squeeze_cycles_per_word: float = 1.0) -> dict[str, int]:
    """Depths (in words) of the two streams from a Fire module's duplicate so that its dataflow
    cannot deadlock: ``expand1x1_in`` (duplicate -> expand1x1) and ``expand3x3_in`` (duplicate ->
    expand3x3).

    ``expand3x3_in`` holds what the window wants at once (``window_input_depth``, the squeeze
    taking ``squeeze_cycles_per_word``). Rule (conv2d.h, "FIFO depths in a Fire module"): the
    expand1x1 branch must buffer the pixels that the expand3x3 branch reads ahead of what concat
    has taken; all of it goes on ``expand1x1_in``, where a pixel has the fewest channels, and as
    duplicate writes every word to both branches, so does all that ``expand3x3_in`` holds
    (``fifo_depths``). ``folding`` maps the layer names of the squeeze and the two expands to
    their Folding.
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
    depths = fifo_depths(h, w, c, sq_lanes, f3.simd, e3.op.kernel, e3.op.stride, e3.op.pad[0],
                         ddr3=f3.ddr)
    deeper = window_input_depth(graph, e3, f3, squeeze_cycles_per_word) - DEFAULT_FIFO_DEPTH
    return {key: d + deeper for key, d in depths.items()}


@functools.lru_cache(maxsize=4096)
def fifo_depths(h: int, w: int, c: int, lanes: int, simd3: int, k: int = 3, stride: int = 1,
                pad_t: int = 1, ddr3: bool = False) -> dict[str, int]:
    """``fire_fifo_depths`` from numbers, for a squeeze fast enough that the expand3x3 branch
    keeps the default depth: the squeeze output is (c, h, w) on ``lanes`` lanes, the KxK expand
    reads it with ``simd3``; both expands keep h x w.

    The KxK expand's matrix-vector unit may be ahead of its window by HLS_WINDOW_SLACK words in
    HLS, by a whole output row of window words more as a conv2d_ddr (``ddr3``: it takes a row
    before its first output), and by its SF + 2 word window FIFO and RTL_WINDOW_SLACK in RTL;
    the rule takes the most.
    """
    out_h = (h + 2 * pad_t - k) // stride + 1
    out_w = (w + 2 * pad_t - k) // stride + 1
    sf = k * k * (c // simd3)
    slack = max(HLS_WINDOW_SLACK + (out_w * sf if ddr3 else 0), sf + 2 + RTL_WINDOW_SLACK)
    lead = window_lead_pixels(h, w, c, lanes, simd3, k, stride, pad_t, out_h, out_w, slack)
    return {"expand1x1_in": (max(lead, 0) + 2) * (c // lanes) + DEFAULT_FIFO_DEPTH,
            "expand3x3_in": DEFAULT_FIFO_DEPTH}


def bypass_depths(graph: Graph, fire: Fire, folding: Mapping[str, Folding]) -> dict[str, int]:
    """Depths (in words) of a bypassed Fire module's bypass streams: ``bypass`` (its input, from
    the duplicate in front of the module to the sum, or to the bypass conv) and, for a complex
    bypass, ``bypass_conv`` (the bypass conv's output, to the sum).

    The sum takes an output word of the module only with the bypass word of the same index, and
    the module emits a pixel only once it has read about a row more of its input (the expand 3x3
    window), so the bypass holds that lead. For the module to run at its own pace, the bypass
    holds what the module may read ahead of its output: the window's lead with the slack its
    matrix-vector unit may take (``fifo_depths``) and two pixels (the squeeze's and concat's
    own), never less than ``bypass_min_depth``, the least that cannot deadlock. A bypass conv
    works at a pace of its own: it must not wait for the sum while the module catches up, so the
    lead is held behind it, on its output, and its input keeps the default depth. (Measured in
    RTL simulation of a reduced SqueezeNet 1.1: with the least depths, +25% (simple) and +67%
    (complex) cycles per frame; with these, +2%.)"""
    sq, e1, e3 = (graph.node(n) for n in (fire.squeeze, fire.expand1x1, fire.expand3x3))
    fs, f1, f3 = (folding.get(n.name, Folding()) for n in (sq, e1, e3))
    c_in, h, w = graph.shape(sq.inputs[0])
    cs = graph.shape(sq.outputs[0])[0]
    sf = e3.op.kernel ** 2 * (cs // f3.simd)
    slack = max(HLS_WINDOW_SLACK + (w * sf if f3.ddr else 0), sf + 2 + RTL_WINDOW_SLACK)
    needs = window_input_pixels(h, w, cs, fs.pe, f3.simd, e3.op.kernel, e3.op.stride,
                                e3.op.pad[0], h, w, slack)
    lead = max(n - (p + 1) for p, n in enumerate(needs)) + 2
    lead += (w if fs.ddr else 0) + (w if f1.ddr else 0)  # a DDR conv takes a row first
    # words of a pixel on the sum's lanes: of the module's input, or of the bypass conv's output
    pixel_words = (c_in if fire.bypass_conv is None else e1.op.out_channels
                   + e3.op.out_channels) // f1.pe
    words = lead * pixel_words
    minimum = bypass_min_depth(graph, fire, folding)
    if fire.bypass_conv is None:
        return {"bypass": max(minimum, words)}
    return {"bypass": DEFAULT_FIFO_DEPTH, "bypass_conv": max(minimum, words)}


def bypass_min_depth(graph: Graph, fire: Fire, folding: Mapping[str, Folding]) -> int:
    """The least depth (in words) of a bypassed Fire module's bypass that cannot deadlock: of
    its input on the sum's lanes (simple bypass), or of the bypass conv's output (complex bypass,
    the conv's input at the default depth).

    The duplicate writes each input word to the squeeze and to the bypass in the same cycle, and
    the sum takes an output word of the module only with the bypass word of the same index. So
    while the sum waits for a word of output pixel p, the bypass holds every input word from the
    one the sum takes next up to the last one the module needs to emit that word. Computed from
    the schedules, pixel by pixel: the squeeze and the expand 1x1 are pointwise (a DDR-weight conv
    takes a whole output row first: conv2d_ddr.h), the expand 3x3 window needs what
    ``window_input_pixels`` counts; concat emits a pixel's expand1x1 words before its expand3x3
    words. The complex bypass's 1x1 conv emits a pixel once it has read it, so its output holds
    the module's lead in output words. Exact (the least depth that finishes) for the token model
    of the kernels (tests/hls/fifo_sim.py) for a simple bypass; an upper bound for a complex
    one (its conv and input stream hold a little more)."""
    sq, e1, e3 = (graph.node(n) for n in (fire.squeeze, fire.expand1x1, fire.expand3x3))
    fs, f1, f3 = (folding.get(n.name, Folding()) for n in (sq, e1, e3))
    c_in, h, w = graph.shape(sq.inputs[0])
    if graph.shape(e3.outputs[0])[1:] != (h, w):
        raise HwgenError(f"{fire.name}: expand3x3 changes the spatial size {h}x{w} -> "
                         f"{'x'.join(map(str, graph.shape(e3.outputs[0])[1:]))}; the bypass sum "
                         "needs the input and the output in step")
    return bypass_min_words(h, w, c_in, graph.shape(sq.outputs[0])[0], fs.pe, f3.simd,
                            e1.op.out_channels, e3.op.out_channels, f1.pe,
                            fire.bypass_conv is not None, e3.op.kernel, e3.op.stride,
                            e3.op.pad[0], fs.ddr, f1.ddr, f3.ddr)


@functools.lru_cache(maxsize=1024)
def bypass_min_words(h: int, w: int, c_in: int, cs: int, sq_lanes: int, simd3: int, c1: int,
                     c3: int, lanes: int, complex_bypass: bool, k: int = 3, stride: int = 1,
                     pad_t: int = 1, ddr_sq: bool = False, ddr1: bool = False,
                     ddr3: bool = False) -> int:
    """``bypass_min_depth`` from numbers: the module's input (c_in, h, w), its squeeze's
    ``cs`` channels on ``sq_lanes``, the expand 3x3 (k, stride, pad_t) reading ``simd3``, the
    expands' c1 and c3 channels and the sum on ``lanes``; ``ddr_*``: those convs have their
    weights in DDR."""

    def row_end(n: int, ddr: bool) -> int:  # pixels read before n outputs: a row per DDR block
        return min(-(-n // w) * w, h * w) if ddr else n

    e3_needs = window_input_pixels(h, w, cs, sq_lanes, simd3, k, stride, pad_t, h, w)
    # words of a pixel on the sum's lanes: of the module's input, or of the bypass conv's output
    wx = (c1 + c3 if complex_bypass else c_in) // lanes
    depth = DEFAULT_FIFO_DEPTH
    for p in range(h * w):
        n3 = e3_needs[row_end(p + 1, ddr3) - 1]  # squeeze pixels before p's expand3x3 part
        n1 = row_end(p + 1, ddr1)  # and before its expand1x1 part
        x3, x1 = row_end(n3, ddr_sq), row_end(n1, ddr_sq)  # input pixels before them
        depth = max(depth, x3 * wx - (p * wx + c1 // lanes), x1 * wx - p * wx)
    return depth
