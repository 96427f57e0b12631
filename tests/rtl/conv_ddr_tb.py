"""cocotb side of test_rtl_conv_ddr.py: drives every stream of conv_ddr_bench at once.

Per DUT: ``timing`` frames back to back (input always valid, output always ready), then
``stress`` frames with random input gaps and output backpressure. Every output word is compared
with the expected one; the clock cycle at which each frame's last output word is taken is
recorded. Config and results: JSON files named by $CONV_DDR_CONFIG (written by the test).
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly


class Source:
    def __init__(self, dut, i: int, frames: list[list[int]], timing: int, gap: float, rng):
        self.valid = getattr(dut, f"d{i}_in_valid")
        self.ready = getattr(dut, f"d{i}_in_ready")
        self.data = getattr(dut, f"d{i}_in_data")
        self.words = [(f, w) for f, words in enumerate(frames) for w in words]
        self.timing, self.gap, self.rng = timing, gap, rng
        self.pos = 0
        self.offered = False
        self.valid.value = 0

    def drive(self) -> None:
        """Mid-cycle (falling edge): what the DUT samples at the next rising edge."""
        self.offered = False
        if self.pos < len(self.words):
            frame, word = self.words[self.pos]
            self.offered = frame < self.timing or self.rng.random() >= self.gap
            if self.offered:
                self.data.value = word
        self.valid.value = int(self.offered)

    def sample(self) -> None:
        """After the logic settled: is the word taken at the next rising edge?"""
        if self.offered and int(self.ready.value):
            self.pos += 1


class Sink:
    def __init__(self, dut, i: int, frames: list[list[int]], timing: int, backpressure: float,
                 rng):
        self.valid = getattr(dut, f"d{i}_out_valid")
        self.ready = getattr(dut, f"d{i}_out_ready")
        self.data = getattr(dut, f"d{i}_out_data")
        self.frames, self.timing, self.bp, self.rng = frames, timing, backpressure, rng
        self.frame = self.word = 0
        self.ends: list[int] = []
        self.mismatches = 0
        self.first = None
        self.taking = True
        self.ready.value = 1

    @property
    def done(self) -> bool:
        return self.frame >= len(self.frames)

    def drive(self) -> None:
        self.taking = not (self.frame >= self.timing and self.rng.random() < self.bp)
        self.ready.value = int(self.taking)

    def sample(self, cycle: int) -> None:
        if self.done or not self.taking or not int(self.valid.value):
            return
        got, want = int(self.data.value), self.frames[self.frame][self.word]
        if got != want:
            self.mismatches += 1
            if self.first is None:
                self.first = f"frame {self.frame} word {self.word}: got {got:#x}, " \
                             f"expected {want:#x}"
        self.word += 1
        if self.word == len(self.frames[self.frame]):
            self.ends.append(cycle)
            self.frame += 1
            self.word = 0


@cocotb.test()
async def conv_ddr_bench(dut):
    cfg = json.loads(open(os.environ["CONV_DDR_CONFIG"]).read())
    rng = random.Random(cfg["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    sources, sinks = [], []
    for d in cfg["duts"]:
        sources.append(Source(dut, d["i"], d["inputs"], cfg["timing"], cfg["gap"], rng))
        sinks.append(Sink(dut, d["i"], d["outputs"], cfg["timing"], cfg["backpressure"], rng))
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst_n.value = 1
    cycle = 0
    # drive at the falling edge, sample once the logic has settled: exactly what the DUT sees
    # at the next rising edge, whatever the simulator's edge ordering
    while not all(s.done for s in sinks) and cycle < cfg["max_cycles"]:
        await FallingEdge(dut.clk)
        cycle += 1
        for x in (*sources, *sinks):
            x.drive()
        await ReadOnly()
        for src in sources:
            src.sample()
        for snk in sinks:
            snk.sample(cycle)
    models = {}
    for m in cfg["models"]:
        n = m["ports"]

        def lanes(sig, n=n):
            v = int(getattr(dut, sig).value)
            return [(v >> (32 * p)) & 0xFFFFFFFF for p in range(n)]

        models[m["i"]] = {"beats": lanes(f"m{m['i']}_beats"),
                          "stall_bw": lanes(f"m{m['i']}_stall_bw"),
                          "stall_lat": lanes(f"m{m['i']}_stall_lat"),
                          "errors": int(getattr(dut, f"m{m['i']}_errors").value)}
    result = {"cycles": cycle, "models": models,
              "duts": {d["i"]: {"ends": s.ends, "mismatches": s.mismatches, "first": s.first,
                                "frames_done": s.frame, "inputs_left": len(src.words) - src.pos}
                       for d, s, src in zip(cfg["duts"], sinks, sources)}}
    with open(cfg["result"], "w") as f:
        json.dump(result, f)
