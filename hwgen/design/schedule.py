"""When a kernel reads and writes: the sliding window's schedule (window.h, hwgen_window.sv), how
a conv feeds its matrix-vector unit, and the cycles per frame of the kernels that need a model.

Both backends follow the one schedule step for step, so these counts hold for either (RTL
simulation measures them, ``hwgen rtlsim``).
"""
from __future__ import annotations

from typing import Sequence

from ..ir import Graph, Node
from ..ops import Conv, MaxPool
from .folding import Folding

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


def window_input_pixels(in_h: int, in_w: int, c: int, in_lanes: int, simd: int, k: int,
                        stride: int, pad_t: int, out_h: int, out_w: int, slack: int = 0
                        ) -> list[int]:
    """For each output pixel p (raster order): how many input pixels a windowed conv has read
    (begun) once it can have delivered p -- its window has emitted p's window words and
    ``slack`` more (what its matrix-vector unit may take ahead: internal FIFO and pipeline).

    Exact for ``sliding_window``'s schedule (window.h), which reads and emits in the same
    iterations of a phase: with no slack, the reads p cannot be delivered without."""
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

    # output row oy is emitted in phase oy + 1
    return [-(-reads_when_emitted(oy + 1, (ox + 1) * per_pixel + slack) // cw_in)
            for oy in range(out_h) for ox in range(out_w)]


def window_lead_pixels(in_h: int, in_w: int, c: int, in_lanes: int, simd: int, k: int, stride: int,
                       pad_t: int, out_h: int, out_w: int, slack: int) -> int:
    """max over output pixels p of (input pixels a windowed conv has read by the time it can have
    delivered output pixel p) - (p + 1): how many pixels its input runs ahead of its output
    (``window_input_pixels``)."""
    needs = window_input_pixels(in_h, in_w, c, in_lanes, simd, k, stride, pad_t, out_h, out_w,
                                slack)
    return max(n - (p + 1) for p, n in enumerate(needs))


def window_phase_reads(graph: Graph, node: Node, fold: Folding) -> int:
    """Most input words a windowed kernel (a KxK conv or max pooling) reads in one phase of the
    window schedule; 0 for a kernel without a window."""
    op = node.op
    if isinstance(op, Conv):
        if conv_mode(op, fold.in_lanes or fold.simd, fold.simd) != "window":
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


# ---- conv ------------------------------------------------------------------------------------
def conv_mode(op: Conv, in_lanes: int, simd: int) -> str:
    """What feeds a conv's matrix-vector unit: "direct" (a 1x1 conv reading its input as it
    comes), "regroup" (a 1x1 conv whose input lanes differ from its SIMD) or "window"."""
    if op.kernel == 1 and op.stride == 1 and not any(op.pad):
        return "direct" if in_lanes == simd else "regroup"
    return "window"


def conv_front_cycles(op: Conv, in_shape: Sequence[int], out_shape: Sequence[int],
                      in_lanes: int, simd: int, ddr: bool = False) -> int:
    """Cycles of what runs in front of a conv's matrix-vector unit: its sliding window, or a lane
    regroup (conv2d_ddr copies a direct input through too); 0 when the input goes straight in."""
    cin, h, w = in_shape
    _, oh, ow = out_shape
    mode = conv_mode(op, in_lanes, simd)
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
    """Cycles of a weight master to read ``beats`` sequential beats, in bursts of DDR_MAX_BURST
    with DDR_OUTSTANDING requests in flight and a read buffer as deep (the read master issues a
    request only when the whole burst fits): the first burst's latency, then at most
    DDR_OUTSTANDING bursts per round trip of a request (its latency, the burst, 2 cycles of
    handshakes) -- measured to the cycle in RTL simulation (hwgen_axi_read against the DDR model).
    The masters read pass after pass without a pause, so the latency counts once per frame."""
    round_trip = DDR_BURST_LATENCY + DDR_MAX_BURST + 2
    per_trip = DDR_OUTSTANDING * DDR_MAX_BURST
    return DDR_BURST_LATENCY + max(beats, -(-beats * round_trip // per_trip))


def conv_ddr_cycles(op: Conv, in_shape: Sequence[int], out_shape: Sequence[int], pe: int,
                    simd: int, in_lanes: int, block: int, beats: int) -> int:
    """Cycles per frame of a conv with its weights in DDR (conv2d_ddr.h): per block of ``block``
    output pixels, the block's windows in, NF*SF weight words past them, the outputs out -- or
    the weight fetch's ``beats`` per word, or the front end, when those take longer."""
    cin = in_shape[0]
    cout, oh, ow = out_shape
    nf, sf = cout // pe, op.kernel ** 2 * cin // simd
    blocks = oh * ow // block
    mvau = blocks * (block * sf + nf * sf * block + block * nf + MVAU_DEPTH + 2 * SIMPLE_DEPTH)
    fetch = ddr_fetch_cycles(blocks * nf * sf * beats)
    front = conv_front_cycles(op, in_shape, out_shape, in_lanes, simd, ddr=True)
    return max(mvau, front, fetch) + MVAU_DEPTH
