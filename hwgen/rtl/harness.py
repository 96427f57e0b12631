"""The cocotb harness: golden-model test vectors through an accelerator's AXI4-Stream ports.

It drives the top-level ports the HLS backend's top gets from Vitis HLS -- ``ap_clk``,
``ap_rst_n``, ``in_r_*`` and ``out_r_*`` -- so it runs unchanged on hwgen's own RTL and on the
RTL Vitis exports. Its AXI-Lite ``s_axi_control`` gets the DDR weight pointers, as the board driver
writes them, and is started in auto-restart.

Two passes, every output value compared with the expected vector:
  timing  frames back to back, TVALID always high, TREADY always high: cycles per frame (between
          the ends of consecutive output frames), latency (first input word to last output
          word of the first frame) and, when weights live in DDR, the DDR model's beats and
          stall cycles per frame;
  stress  the same vectors with random gaps on TVALID and random backpressure on TREADY.
Settings come from the JSON file named by $HWGEN_RTLSIM_CONFIG (written by hwgen.rtl.sim); the
results go to the JSON file it names.
"""
from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from hwgen.pynq_driver import pack_stream, unpack_output

AP_START_AUTO_RESTART = 0x81


def _pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


async def _start_control(dut, clk, ddr: dict | None) -> None:
    """The AXI-Lite control (UG1399 register map, as the board driver uses it): each DDR weight
    port's pointer, read back, then ap_start with auto-restart."""
    if not hasattr(dut, "s_axi_control_AWVALID"):
        return
    from cocotbext.axi import AxiLiteBus, AxiLiteMaster  # noqa: PLC0415

    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), clk, dut.ap_rst_n,
                           reset_active_level=False)
    for layer in (ddr or {}).get("layers", []):
        addr = int(ddr["base"]) + int(layer["offset"])
        await master.write_dword(int(layer["register"]), addr & 0xFFFFFFFF)
        if ddr.get("addr64"):
            await master.write_dword(int(layer["register"]) + 4, addr >> 32)
        back = await master.read_dword(int(layer["register"]))
        assert back == addr & 0xFFFFFFFF, f"pointer of {layer['port']}: read back 0x{back:x}"
    await master.write_dword(0x00, AP_START_AUTO_RESTART)


class DdrCounters:
    """The DDR model's counters (ports of the simulation top, hwgen_sim_top): beats delivered and
    cycles a port waited, summed over the weight ports."""

    def __init__(self, dut, ports: list[str]):
        self.handles = [(getattr(dut, f"ddr_beats_{p}"), getattr(dut, f"ddr_stall_{p}"))
                        for p in ports]

    def read(self) -> tuple[int, int]:
        beats = sum(int(b.value) for b, _ in self.handles)
        stall = sum(int(s.value) for _, s in self.handles)
        return beats, stall


class Bench:
    def __init__(self, dut, cfg: dict):
        self.dut, self.cfg = dut, cfg
        self.period = float(cfg["clock_ns"])
        self.clk = dut.ap_clk
        ins = cfg["in"]
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "in_r"), self.clk, dut.ap_rst_n,
                                   reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "out_r"), self.clk, dut.ap_rst_n,
                                  reset_active_level=False)
        for bfm in (self.src, self.sink):  # they would log every frame in full
            bfm.log.setLevel(logging.WARNING)
        folder = Path(cfg["vectors"])
        self.inputs, self.expected = [], []
        for i in range(cfg["images"]):
            x = np.fromfile(folder / f"input_{i}.bin", dtype=np.int32)
            self.inputs.append(pack_stream(x, ins["lanes"], ins["width"],
                                           ins.get("axi_bits")).tobytes())
            self.expected.append(np.fromfile(folder / f"expected_{i}.bin", dtype=np.int32))
        self.out_count = self.expected[0].size
        self.per_image = [0] * cfg["images"]
        self.first_mismatch = None

    def cycles(self) -> float:
        return get_sim_time(unit="ns") / self.period

    def check(self, i: int, frame, where: str) -> None:
        outs = self.cfg["out"]
        got = unpack_output(np.frombuffer(bytes(frame.tdata), dtype=np.uint8), outs["lanes"],
                            outs["width"], outs["signed"], axi_bits=outs.get("axi_bits"))
        want = self.expected[i]
        bad = (np.flatnonzero(got != want) if got.size == want.size
               else np.arange(max(want.size, 1)))
        self.per_image[i] += int(bad.size)
        if bad.size and self.first_mismatch is None:
            k = int(bad[0])
            self.first_mismatch = (f"{where} pass, image {i}, output {k}: got "
                                   f"{got[k] if k < got.size else 'nothing'}, expected {want[k]}")

    async def run(self, frames: list[int], where: str, budget: float,
                  ddr: DdrCounters | None = None) -> tuple[list[float], list[tuple[int, int]]]:
        """Send the frames; receive and check them; the cycle count and the DDR counters
        (beats, stall cycles) at each frame's end."""
        for i in frames:
            await self.src.send(AxiStreamFrame(self.inputs[i]))
        ends, counts = [], []
        for i in frames:
            frame = await with_timeout(self.sink.recv(), budget * self.period, "ns")
            ends.append(self.cycles())
            counts.append(ddr.read() if ddr else (0, 0))
            self.check(i, frame, where)
            if self.cfg.get("progress"):  # hwgen rtlsim's progress bar counts the lines
                with open(self.cfg["progress"], "a") as f:
                    f.write(f"{where} {i}\n")
        return ends, counts


@cocotb.test()
async def frames_bit_exact(dut):
    cfg = json.loads(Path(os.environ["HWGEN_RTLSIM_CONFIG"]).read_text())
    bench = Bench(dut, cfg)
    cocotb.start_soon(Clock(dut.ap_clk, bench.period, unit="ns").start())
    if hasattr(dut, "in_r_TSTRB"):
        dut.in_r_TSTRB.value = (1 << len(dut.in_r_TSTRB)) - 1
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    ddr = cfg.get("ddr") or {}
    await _start_control(dut, dut.ap_clk, ddr)
    counters = DdrCounters(dut, [d["port"] for d in ddr.get("layers", [])])
    images = cfg["images"]
    # a frame may take this long before giving up (a deadlock otherwise hangs forever)
    budget = 4 * cfg["estimated_cycles_per_frame"] + 20_000

    timed = [i % images for i in range(max(images, 2))]  # two frames at least, for the interval
    start = bench.cycles()
    before = counters.read()
    ends, counts = await bench.run(timed, "timing", 2 * budget, counters)
    frames = len(ends) - 1
    cycles_per_frame = (ends[-1] - ends[0]) / frames
    latency = ends[0] - start
    # DDR traffic of all timed frames, from before the first one's input: between two frame ends
    # a later layer's reads for the next frame have already begun (frames overlap in the
    # pipeline), so that interval undercounts them; what the masters read ahead for a frame
    # that never comes (at most their FIFOs) is shared out over the frames
    ddr_beats = (counts[-1][0] - before[0]) / len(ends)
    ddr_stall = (counts[-1][1] - before[1]) / len(ends)

    rng = random.Random(cfg["seed"])
    bench.src.set_pause_generator(_pauses(rng, cfg["gap"]))
    bench.sink.set_pause_generator(_pauses(rng, cfg["backpressure"]))
    await bench.run(list(range(images)), "stress", 10 * budget, counters)
    stress_frames = images
    # the timing pass checked the first max(images, 2) frames once more
    mismatches = sum(bench.per_image)
    result = {"images": images, "mismatches": mismatches, "mismatches_per_image": bench.per_image,
              "first_mismatch": bench.first_mismatch, "cycles_per_frame": cycles_per_frame,
              "latency_cycles": latency, "timed_frames": len(timed),
              "stress_frames": stress_frames, "gap_probability": cfg["gap"],
              "ddr_beats_per_frame": ddr_beats, "ddr_stall_cycles_per_frame": ddr_stall,
              # AXI protocol violations the DDR model saw (4 KiB crossings, long bursts, ...)
              "ddr_errors": int(dut.ddr_errors.value) if hasattr(dut, "ddr_errors") else 0,
              "backpressure_probability": cfg["backpressure"]}
    Path(cfg["result"]).write_text(json.dumps(result, indent=2))
    assert mismatches == 0, bench.first_mismatch
    assert result["ddr_errors"] == 0, "AXI protocol violations on the weight ports (see the log)"
