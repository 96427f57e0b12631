"""cocotb tests of hwgen_control (through tests/rtl/hdl/control_bench.sv, a stand-in datapath
gated as the generated top gates its own): the register sequences of hwgen/pynq_driver.py and of
the harness against the register map of UG1399 / the Vitis-generated AXI-Lite adapter.
Settings from $HWGEN_CONTROL_TB (JSON: n_ptr, addr64, words)."""
from __future__ import annotations

import json
import logging
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from hwgen.design.ddr import register_offset
from hwgen.pynq_driver import AP_CONTINUE, AP_DONE, AP_IDLE, AP_READY, AP_START, AUTO_RESTART

CFG = json.loads(os.environ["HWGEN_CONTROL_TB"])
N_PTR, ADDR64, WORDS = CFG["n_ptr"], bool(CFG["addr64"]), CFG["words"]
GIE, IER, ISR = 0x04, 0x08, 0x0C


class Bench:
    def __init__(self, dut):
        self.dut = dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_control"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "in_r"), dut.ap_clk,
                                   dut.ap_rst_n, reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "out_r"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        for bfm in (self.axil.write_if, self.axil.read_if, self.src, self.sink):
            bfm.log.setLevel(logging.WARNING)
        self.n = 0

    async def reset(self):
        cocotb.start_soon(Clock(self.dut.ap_clk, 10, unit="ns").start())
        self.dut.ap_rst_n.value = 0
        await ClockCycles(self.dut.ap_clk, 5)
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.dut.ap_clk, 3)

    async def ctrl(self) -> int:
        return await self.axil.read_dword(0x00)

    def frame(self) -> bytes:
        self.n += 1
        return bytes((self.n * 16 + k) & 0xFF for k in range(WORDS))

    async def recv(self, want: bytes, cycles: int = 500) -> None:
        got = await with_timeout(self.sink.recv(), cycles * 10, "ns")
        assert bytes(got.tdata) == want, (bytes(got.tdata), want)

    async def quiet(self, cycles: int = 40) -> None:
        """Nothing comes out for a while."""
        await ClockCycles(self.dut.ap_clk, cycles)
        assert self.sink.empty(), "output while it should be held"


async def started(dut) -> Bench:
    b = Bench(dut)
    await b.reset()
    return b


@cocotb.test()
async def idle_after_reset_and_nothing_taken_without_ap_start(dut):
    b = await started(dut)
    ctrl = await b.ctrl()
    assert ctrl & AP_IDLE and not ctrl & (AP_START | AP_DONE | AP_READY | AUTO_RESTART), hex(ctrl)
    await b.src.send(AxiStreamFrame(b.frame()))
    await ClockCycles(dut.ap_clk, 50)
    assert not b.src.idle()  # the frame is still queued
    assert int(dut.in_r_TREADY.value) == 0 and b.sink.empty()
    assert (await b.ctrl()) & AP_IDLE


@cocotb.test()
async def pointers_written_read_back_with_byte_strobes(dut):
    """setup(): each weight pointer written at register_offset(i, addr64) and read back; the
    reserved words read 0; the ptr outputs carry the values."""
    b = await started(dut)
    values = []
    for i in range(N_PTR):
        v = (0x1800_0000 + 0x40_0000 * i + 0x123) | ((0xA5 + i) << 32 if ADDR64 else 0)
        values.append(v)
        reg = register_offset(i, ADDR64)
        await b.axil.write_dword(reg, v & 0xFFFFFFFF)
        if ADDR64:
            await b.axil.write_dword(reg + 4, v >> 32)
    for i, v in enumerate(values):
        reg = register_offset(i, ADDR64)
        assert await b.axil.read_dword(reg) == v & 0xFFFFFFFF
        if ADDR64:
            assert await b.axil.read_dword(reg + 4) == v >> 32
        assert await b.axil.read_dword(reg + (8 if ADDR64 else 4)) == 0  # reserved
    width = 64 if ADDR64 else 32
    ptr = int(dut.ptr.value)
    assert [(ptr >> (i * width)) & ((1 << width) - 1) for i in range(N_PTR)] == values
    # one byte written: the others keep their value (WSTRB)
    await b.axil.write(register_offset(0, ADDR64) + 1, b"\xEE")
    assert await b.axil.read_dword(register_offset(0, ADDR64)) == \
        (values[0] & 0xFFFF00FF) | 0xEE00
    # the control block is untouched by pointer writes
    assert (await b.ctrl()) & AP_IDLE


@cocotb.test()
async def auto_restart_runs_frames_back_to_back(dut):
    """setup() / the harness: one write of ap_start | auto_restart, then frames stream without
    another register access; ap_ready is not reported meanwhile. Cleared auto_restart: the
    current frame completes, then the block idles and reports ap_done."""
    b = await started(dut)
    await b.axil.write_dword(0x00, AP_START | AUTO_RESTART)
    frames = [b.frame() for _ in range(4)]
    for f in frames:
        await b.src.send(AxiStreamFrame(f))
    for f in frames:
        await b.recv(f)
    ctrl = await b.ctrl()
    assert ctrl & AP_START and ctrl & AUTO_RESTART, hex(ctrl)
    assert not ctrl & (AP_READY | AP_DONE | AP_IDLE), hex(ctrl)  # still granted, waiting
    # back to back: the input never waits between frames when data is there
    stalls = 0
    for f in [b.frame() for _ in range(3)]:
        await b.src.send(AxiStreamFrame(f))
    await RisingEdge(dut.in_r_TVALID)
    for _ in range(3 * WORDS):
        await RisingEdge(dut.ap_clk)
        stalls += int(dut.in_r_TVALID.value) and not int(dut.in_r_TREADY.value)
    for _ in range(3):
        await with_timeout(b.sink.recv(), 5000, "ns")
    assert stalls == 0, stalls
    # stop: clear auto_restart; the granted frame still runs, then idle and ap_done
    await b.axil.write_dword(0x00, 0)
    last = b.frame()
    await b.src.send(AxiStreamFrame(last))
    await b.recv(last)
    await ClockCycles(dut.ap_clk, 5)
    ctrl = await b.ctrl()
    assert ctrl & AP_IDLE and ctrl & AP_DONE and not ctrl & (AP_START | AUTO_RESTART), hex(ctrl)
    assert not (await b.ctrl()) & AP_DONE  # clear on read
    # and nothing more is taken
    await b.src.send(AxiStreamFrame(b.frame()))
    await ClockCycles(dut.ap_clk, 30)
    assert int(dut.in_r_TREADY.value) == 0 and b.sink.empty()


@cocotb.test()
async def one_ap_start_per_frame_and_ap_continue(dut):
    """run_frames(auto_restart=False): ap_start, the frame, ap_continue -- per frame. Without
    ap_start the next frame's input is not taken; without ap_continue (ap_ctrl_chain) ap_done
    stays and the next frame's output is held."""
    b = await started(dut)
    a, c = b.frame(), b.frame()
    await b.src.send(AxiStreamFrame(a))
    await b.src.send(AxiStreamFrame(c))
    await b.axil.write_dword(0x00, AP_START)
    await b.recv(a)
    await ClockCycles(dut.ap_clk, 5)
    ctrl = await b.ctrl()
    assert ctrl & AP_DONE and ctrl & AP_READY and not ctrl & (AP_START | AP_IDLE), hex(ctrl)
    ctrl = await b.ctrl()
    assert ctrl & AP_DONE and not ctrl & AP_READY, hex(ctrl)  # done held; ready cleared on read
    # frame c waits for its ap_start: its input is not taken
    assert int(dut.in_r_TREADY.value) == 0
    await b.axil.write_dword(0x00, AP_START)
    await b.quiet()  # c's input taken, its output held: frame a's ap_done not acknowledged
    assert int(dut.out_r_TVALID.value) == 0
    await b.axil.write_dword(0x00, AP_CONTINUE)
    await b.recv(c)
    await ClockCycles(dut.ap_clk, 5)
    await b.axil.write_dword(0x00, AP_CONTINUE)
    await ClockCycles(dut.ap_clk, 5)
    ctrl = await b.ctrl()
    assert ctrl & AP_IDLE and not ctrl & (AP_START | AP_CONTINUE), hex(ctrl)
    # the driver's loop: ap_start, frame, ap_continue -- several times
    for _ in range(3):
        f = b.frame()
        await b.axil.write_dword(0x00, AP_START)
        await b.src.send(AxiStreamFrame(f))
        await b.recv(f)
        await b.axil.write_dword(0x00, AP_CONTINUE)
    await ClockCycles(dut.ap_clk, 5)
    assert (await b.ctrl()) & AP_IDLE


@cocotb.test()
async def interrupt_status_toggles_on_write(dut):
    """GIE and IER gate the interrupt; ISR bits are set by ap_done / ap_ready and toggled by
    writing ones."""
    b = await started(dut)
    await b.axil.write_dword(GIE, 1)
    await b.axil.write_dword(IER, 0x3)
    assert await b.axil.read_dword(GIE) == 1 and await b.axil.read_dword(IER) == 3
    assert await b.axil.read_dword(ISR) == 0 and int(dut.interrupt.value) == 0
    f = b.frame()
    await b.axil.write_dword(0x00, AP_START)
    await b.src.send(AxiStreamFrame(f))
    await b.recv(f)
    await ClockCycles(dut.ap_clk, 3)
    assert await b.axil.read_dword(ISR) == 0x3 and int(dut.interrupt.value) == 1
    assert (await b.ctrl()) & (1 << 9)  # the interrupt, mirrored in the control register
    await b.axil.write_dword(0x00, AP_CONTINUE)
    await ClockCycles(dut.ap_clk, 3)
    await b.axil.write_dword(ISR, 0x1)  # toggle: clears done
    assert await b.axil.read_dword(ISR) == 0x2 and int(dut.interrupt.value) == 1
    await b.axil.write_dword(ISR, 0x2)
    await ClockCycles(dut.ap_clk, 2)
    assert await b.axil.read_dword(ISR) == 0 and int(dut.interrupt.value) == 0
    await b.axil.write_dword(ISR, 0x1)  # toggle on write: a one sets a clear bit
    assert await b.axil.read_dword(ISR) == 0x1
    await b.axil.write_dword(GIE, 0)
    await ClockCycles(dut.ap_clk, 2)
    assert int(dut.interrupt.value) == 0
