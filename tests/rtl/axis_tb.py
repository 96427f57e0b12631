"""cocotb test of hwgen_axis_in / hwgen_axis_out with words in several beats (tests/rtl/hdl/
axis_bench.sv): frames packed by the driver's pack_stream come back bit for bit, with TLAST on the
last beat of each frame only, under random gaps and backpressure. $HWGEN_AXIS_TB: JSON
{axi_bits, width, words, lanes}."""
from __future__ import annotations

import json
import logging
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from hwgen.pynq_driver import pack_stream, unpack_output

CFG = json.loads(os.environ["HWGEN_AXIS_TB"])


def _pauses(rng, p):
    while True:
        yield rng.random() < p


@cocotb.test()
async def frames_round_trip_in_beats(dut):
    bits, lanes, words = CFG["axi_bits"], CFG["lanes"], CFG["words"]
    width = CFG["width"] // lanes
    cocotb.start_soon(Clock(dut.ap_clk, 10, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "in_r"), dut.ap_clk, dut.ap_rst_n,
                          reset_active_level=False)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "out_r"), dut.ap_clk, dut.ap_rst_n,
                         reset_active_level=False)
    for bfm in (src, sink):
        bfm.log.setLevel(logging.WARNING)
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 4)
    dut.ap_rst_n.value = 1
    rng = random.Random(1)
    src.set_pause_generator(_pauses(rng, 0.3))
    sink.set_pause_generator(_pauses(rng, 0.3))
    frames = [np.random.default_rng(k).integers(0, 1 << width, size=words * lanes)
              for k in range(4)]
    for f in frames:
        await src.send(AxiStreamFrame(pack_stream(f, lanes, width, bits).tobytes()))
    beats = -(-lanes * width // bits)
    for f in frames:
        got = await with_timeout(sink.recv(), 100_000, "ns")
        assert len(got.tdata) == words * beats * bits // 8  # TLAST after the frame's last beat
        vals = unpack_output(np.frombuffer(bytes(got.tdata), np.uint8), lanes, width, False,
                             axi_bits=bits)
        assert np.array_equal(vals, f), (vals, f)
