"""A token-level model of a Fire module's dataflow with bounded FIFOs, to check that the depths
from hwgen.design.depths.fifo_depths prevent deadlock (which C simulation, running the processes
one after another on unbounded streams, cannot show).

Each process is a generator yielding, per loop iteration of its kernel, the FIFOs it reads and
writes in that iteration (window.h, conv2d.h, stream.h); an iteration fires only when all its
reads have a token and all its writes have room. The network is a Kahn process network, so
whether it deadlocks does not depend on the order in which processes fire.
"""
from __future__ import annotations

from hwgen.design.schedule import window_phases


class Fifo:
    def __init__(self, name: str, depth: int | None):
        self.name, self.depth, self.n = name, depth, 0


def source(out: Fifo, words: int):
    for _ in range(words):
        yield [], [out]


def duplicate(inp: Fifo, a: Fifo, b: Fifo, words: int):
    for _ in range(words):
        yield [inp], [a, b]


def mvau(inp: Fifo, out: Fifo, pixels: int, nf: int, sf: int):
    for _ in range(pixels):
        for n in range(nf):
            for s in range(sf):
                yield ([inp] if n == 0 else []), ([out] if s == sf - 1 else [])


def window(inp: Fifo, out: Fifo, phases):
    for reads, emits in phases:
        for j in range(max(reads, emits)):
            yield ([inp] if j < reads else []), ([out] if j < emits else [])


def concat(a: Fifo, b: Fifo, out: Fifo, pixels: int, wa: int, wb: int):
    for _ in range(pixels):
        for _ in range(wa):
            yield [a], [out]
        for _ in range(wb):
            yield [b], [out]


def run(processes) -> bool:
    """True if every process finishes, False on deadlock."""
    pending = []
    for p in processes:
        op = next(p, None)
        if op is not None:
            pending.append([p, op])
    while pending:
        progress = False
        for item in pending:
            while item[1] is not None:
                reads, writes = item[1]
                if any(f.n == 0 for f in reads) or any(
                        f.depth is not None and f.n >= f.depth for f in writes):
                    break
                for f in reads:
                    f.n -= 1
                for f in writes:
                    f.n += 1
                item[1] = next(item[0], None)
                progress = True
        pending = [it for it in pending if it[1] is not None]
        if pending and not progress:
            return False
    return True


def fire_runs(h: int, w: int, cs: int, lanes: int, c1: int, pe1: int, simd1: int, c3: int,
              pe3: int, simd3: int, depth_1x1_in: int, depth_3x3_in: int = 2,
              depth_out: int = 2) -> bool:
    """Model squeeze output -> duplicate -> expand1x1 (direct, needs simd1 == lanes) ||
    expand3x3 (window + MVAU, pad 1) -> concat (on pe1 == pe3 lanes)."""
    assert simd1 == lanes and pe1 == pe3
    s = Fifo("squeeze", 2)
    a_in, b_in = Fifo("a_in", depth_1x1_in), Fifo("b_in", depth_3x3_in)
    win = Fifo("window", 2)
    a_out, b_out = Fifo("a_out", depth_out), Fifo("b_out", depth_out)
    out = Fifo("out", None)
    words = h * w * cs // lanes
    phases = window_phases(h, w, cs, lanes, simd3, 3, 1, 1, h, w)
    procs = [source(s, words), duplicate(s, a_in, b_in, words),
             mvau(a_in, a_out, h * w, c1 // pe1, cs // simd1),
             window(b_in, win, phases), mvau(win, b_out, h * w, c3 // pe3, 9 * cs // simd3),
             concat(a_out, b_out, out, h * w, c1 // pe1, c3 // pe3)]
    return run(procs)


def add(a: Fifo, b: Fifo, out: Fifo, words: int):
    for _ in range(words):
        yield [a, b], [out]


def bypass_fire_runs(h: int, w: int, c_in: int, cs: int, lanes: int, c1: int, c3: int,
                     simd3: int, complex_bypass: bool, depth: int, depth_1x1_in: int) -> bool:
    """Model a Fire module with a bypass: input -> duplicate -> (squeeze (direct, SIMD = lanes,
    PE = lanes) -> the module as in fire_runs, on PE = lanes) || bypass -> add. The bypass is
    the input itself through a ``depth``-word FIFO (simple), or a 1x1 conv (direct, SIMD =
    lanes, PE = lanes) behind a 2-word FIFO, its output through a ``depth``-word FIFO
    (complex). Concat's inputs hold a pixel more than the default (depths.input_depth)."""
    x = Fifo("x", 2)
    sq_in, byp = Fifo("sq_in", 2), Fifo("bypass", 2 if complex_bypass else depth)
    s = Fifo("squeeze", 2)
    a_in, b_in = Fifo("a_in", depth_1x1_in), Fifo("b_in", 2)
    win = Fifo("window", 2)
    a_out, b_out = Fifo("a_out", 2 + c1 // lanes), Fifo("b_out", 2 + c3 // lanes)
    cat = Fifo("concat", 2)
    out = Fifo("out", None)
    pixels, cout = h * w, c1 + c3
    phases = window_phases(h, w, cs, lanes, simd3, 3, 1, 1, h, w)
    procs = [source(x, pixels * c_in // lanes), duplicate(x, sq_in, byp, pixels * c_in // lanes),
             mvau(sq_in, s, pixels, cs // lanes, c_in // lanes),
             duplicate(s, a_in, b_in, pixels * cs // lanes),
             mvau(a_in, a_out, pixels, c1 // lanes, cs // lanes),
             window(b_in, win, phases), mvau(win, b_out, pixels, c3 // lanes, 9 * cs // simd3),
             concat(a_out, b_out, cat, pixels, c1 // lanes, c3 // lanes)]
    if complex_bypass:
        conv_out = Fifo("bypass_conv", depth)
        procs += [mvau(byp, conv_out, pixels, cout // lanes, c_in // lanes),
                  add(cat, conv_out, out, pixels * cout // lanes)]
    else:
        procs.append(add(cat, byp, out, pixels * cout // lanes))
    return run(procs)
