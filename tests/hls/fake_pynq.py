"""A fake ``pynq`` for driving ``hwgen.pynq_driver`` without a board.

It mirrors the parts of the PYNQ API the driver uses, with the semantics of the PYNQ sources:
``Overlay(bitfile, download)`` with ``ip_dict`` (``"type"``, and ``"registers"`` as
pynq/pl_server/hwh_parser.py makes them from the .hwh); ``allocate(shape, dtype)`` buffers with
``physical_address``, ``flush``/``invalidate``/``freebuffer`` (pynq/buffer.py); an AXI DMA whose
channels have ``transfer(array, start=0, nbytes=0)``, ``wait()``, ``idle``, ``running``, ``error``,
``transferred`` and refuse a transfer while busy (pynq/lib/dma.py ``_SDMAChannel``); DMASR at
0x04 / 0x34 through ``read``; and the HLS IP's ``read``/``write`` (pynq/overlay.py DefaultIP).

Where real pynq would hang -- ``wait()`` on a channel that never goes idle -- the fake raises
``AssertionError`` instead, so a driver that calls ``wait()`` without a deadline fails its test.

The "accelerator" behind the DMA is a timing model: once started (ap_start; with auto_restart for
good) and with every weight pointer aimed at the DDR weight image, it takes one input frame every
``interval`` seconds from the MM2S data and produces that frame's output ``latency`` seconds
later, handing it to S2MM when S2MM is armed (a transfer ends at the frame's TLAST, as in PG021
simple mode). The output of a frame is the project's expected test vector when the input is one
of its test vectors, else a deterministic function of the input (``respond``; ``responder``
replaces both, e.g. with the golden model). ``stall="in"``:
it never reads input; ``stall="out"``: it reads all input but never ends an output frame.
"""
from __future__ import annotations

import json
import time
import types
from pathlib import Path

import numpy as np

from hwgen import pynq_driver as drv

IDLE, HALTED = 0x02, 0x01  # PG021 DMASR bits


def hwh_registers(meta: dict, shift: int = 0, drop: str | None = None) -> dict:
    """The register table Vitis HLS would put in the .hwh for the project's top: the control
    block at 0x00-0x0c, then each weight pointer (``<port>_1``/``<port>_2`` when 64-bit, else
    ``<port>``); ``shift`` moves the pointers, ``drop`` leaves one port out."""

    def reg(off, desc):
        return {"address_offset": off, "size": 32, "access": "read-write", "description": desc,
                "fields": {}}

    regs = {"CTRL": reg(0x00, "Control signals"), "GIER": reg(0x04, "Global Interrupt Enable"),
            "IP_IER": reg(0x08, "IP Interrupt Enable"), "IP_ISR": reg(0x0C, "IP Interrupt Status")}
    ddr = meta.get("ddr") or {}
    for layer in ddr.get("layers") or []:
        port, off = layer["port"], int(layer["register"]) + shift
        if port == drop:
            continue
        if ddr.get("addr64"):
            regs[f"{port}_1"] = reg(off, f"Data signal of {port}")
            regs[f"{port}_2"] = reg(off + 4, f"Data signal of {port}")
        else:
            regs[port] = reg(off, f"Data signal of {port}")
    return regs


class FakeBoard:
    """One fake board for a project; ``module()`` is the ``pynq`` to put in sys.modules."""

    def __init__(self, project, latency: float = 0.0, interval: float = 0.0,
                 stall: str | None = None, registers="hwh", readback_xor: int = 0,
                 with_dma: bool = True, responder=None):
        self.project = Path(project)
        self.meta = json.loads((self.project / drv.PROJECT_FILE).read_text())
        self.s = self.meta["stream"]
        self.latency, self.interval, self.stall = latency, interval, stall
        self.registers = hwh_registers(self.meta) if registers == "hwh" else registers
        self.readback_xor = readback_xor
        self.with_dma = with_dma
        self.responder = responder  # frame bytes -> output bytes (e.g. via the golden model)
        self.log: list[tuple] = []  # (event, detail..., time)
        self.buffers: list[np.ndarray] = []
        self.regs: dict[int, int] = {}
        self.ctrl = 0
        self.frame_budget = 0  # frames the IP may still start (auto-restart: unlimited)
        self.pending: list[tuple[float, bytes]] = []  # (ready time, output bytes), in order
        self.carry = b""
        self.frames_in = 0
        self.frames_out = 0
        self.in_bytes = self._frame_bytes("in", int(np.prod(self.s["input_shape"])))
        self.out_bytes = self._frame_bytes("out", int(np.prod(self.s["output_shape"])))
        self.table = self._vectors()

    # -- the accelerator's data ---------------------------------------------------------------
    def _frame_bytes(self, side, count):
        d = self.s[side]
        one = drv.pack_stream(np.zeros(d["lanes"], np.int64), d["lanes"], d["width"],
                              d.get("axi_bits"))
        return -(-count // d["lanes"]) * one.nbytes

    def pack(self, side, values) -> bytes:
        d = self.s[side]
        vals = np.asarray(values, dtype=np.int64).reshape(-1)
        pad = -vals.size % d["lanes"]
        vals = np.concatenate([vals, np.zeros(pad, np.int64)])
        return drv.pack_stream(vals, d["lanes"], d["width"], d.get("axi_bits")).tobytes()

    def _vectors(self) -> dict[bytes, bytes]:
        data, table, i = self.project / "tb" / "tb_data", {}, 0
        while (data / f"input_{i}.bin").is_file():
            x = np.fromfile(data / f"input_{i}.bin", dtype=np.int32)
            y = np.fromfile(data / f"expected_{i}.bin", dtype=np.int32)
            table[self.pack("in", x)] = self.pack("out", y)
            i += 1
        return table

    def respond_raw(self, frame: bytes) -> np.ndarray:
        """The deterministic output (raw, stream order) for an input frame not in the table."""
        d = self.s["out"]
        x = np.frombuffer(frame, dtype=np.uint8).astype(np.int64)
        n = int(np.prod(self.s["output_shape"]))
        j = np.arange(n, dtype=np.int64)
        v = (x[j % x.size] * 7 + j * 3 + int(x.sum())) % (1 << d["width"])
        if d["signed"]:
            v = v - (1 << (d["width"] - 1))
        return v

    def respond(self, frame: bytes) -> bytes:
        if self.responder is not None:
            return self.responder(frame)
        if frame in self.table:
            return self.table[frame]
        return self.pack("out", self.respond_raw(frame))

    def weights_ok(self) -> bool:
        """Every weight pointer points at its layer's bytes of an allocated copy of the image."""
        ddr = self.meta.get("ddr") or {}
        if not ddr.get("layers"):
            return True
        blob = np.fromfile(self.project / ddr["file"], dtype=np.uint8)
        for layer in ddr["layers"]:
            reg = int(layer["register"])
            addr = self.regs.get(reg, 0) | ((self.regs.get(reg + 4, 0) << 32) if ddr["addr64"]
                                             else 0)
            off = int(layer["offset"])
            buf = next((b for b in self.buffers
                        if b.physical_address <= addr < b.physical_address + b.nbytes), None)
            if buf is None:
                return False
            start = addr - buf.physical_address
            want = blob[off: off + 256]
            if not np.array_equal(np.asarray(buf).view(np.uint8)[start: start + want.size], want):
                return False
        return True

    def running(self) -> bool:
        return bool(self.ctrl & drv.AP_START) and (self.ctrl & drv.AUTO_RESTART
                                                   or self.frame_budget > 0)

    # -- the DMA's view -------------------------------------------------------------------------
    def feed(self, data: bytes, now: float) -> float | None:
        """MM2S data into the accelerator; returns when MM2S finishes (None: never)."""
        if self.stall == "in" or not self.running() or not self.weights_ok():
            return None
        data = self.carry + data
        nframes = len(data) // self.in_bytes
        self.carry = data[nframes * self.in_bytes:]
        for k in range(nframes):
            if not self.ctrl & drv.AUTO_RESTART:
                if self.frame_budget <= 0:
                    return None  # no ap_start for this frame: its input is never read
                self.frame_budget -= 1
            frame = data[k * self.in_bytes:(k + 1) * self.in_bytes]
            take = now + k * self.interval
            self.pending.append((take + self.latency, self.respond(frame)))
            self.frames_in += 1
        return now + max(0, nframes - 1) * self.interval

    def module(self) -> types.ModuleType:
        board = self

        class Buffer(np.ndarray):
            def flush(self):
                board.log.append(("flush", self.physical_address, time.monotonic()))

            def invalidate(self):
                board.log.append(("invalidate", self.physical_address, time.monotonic()))

            def freebuffer(self):
                pass

            close = freebuffer

        def allocate(shape, dtype="u4", target=None, **kwargs):
            buf = np.zeros(shape, dtype=dtype).view(Buffer)
            buf.physical_address = 0x1800_0000 + 0x40_0000 * len(board.buffers)
            board.buffers.append(buf)
            board.log.append(("allocate", buf.nbytes, time.monotonic()))
            return buf

        class Channel:
            def __init__(self, send: bool):
                self.send = send
                self.first = True
                self.busy = False
                self.done_at = None  # MM2S: when its data is all taken
                self.target = None  # S2MM: (buffer, start, nbytes)
                self.transferred = 0
                self.err = 0

            @property
            def running(self):
                return True

            def _poll(self):
                now = time.monotonic()
                if not self.busy:
                    return
                if self.send:
                    if self.done_at is not None and now >= self.done_at:
                        self.busy = False
                        board.log.append(("mm2s_done", now))
                    return
                if board.stall == "out" or not board.pending:
                    return
                ready, data = board.pending[0]
                if now < ready:
                    return
                buf, start, nbytes = self.target
                board.pending.pop(0)
                if len(data) > nbytes:
                    self.err |= 0x10  # no room for the frame before TLAST: DMAIntErr
                    return
                np.asarray(buf).view(np.uint8).reshape(-1)[start:start + len(data)] = \
                    np.frombuffer(data, np.uint8)
                self.transferred = len(data)
                self.busy = False
                board.frames_out += 1
                board.log.append(("s2mm_done", start, now))

            def status(self) -> int:
                self._poll()
                return (0 if self.busy else IDLE) | self.err

            @property
            def idle(self):
                return bool(self.status() & IDLE)

            @property
            def error(self):
                return bool(self.status() & 0x70)

            def transfer(self, array, start=0, nbytes=0):
                if self.busy and not self.first:
                    raise RuntimeError("DMA channel not idle")  # as pynq's _SDMAChannel
                if nbytes == 0:
                    nbytes = array.nbytes - start
                now = time.monotonic()
                self.first, self.busy, self.transferred = False, True, 0
                if self.send:
                    board.log.append(("mm2s", start, nbytes, now))
                    data = np.asarray(array).view(np.uint8).reshape(-1)[start:start + nbytes]
                    self.done_at = board.feed(data.tobytes(), now)
                else:
                    board.log.append(("s2mm", start, nbytes, now))
                    self.target = (array, start, nbytes)

            def wait(self):
                board.log.append(("wait", self.send, time.monotonic()))
                if not self.idle:
                    raise AssertionError("wait() on a busy DMA channel: pynq's "
                                         "_SDMAChannel.wait() would poll forever here")
                if not self.send:
                    self.target[0].invalidate()

        class DMA:
            buffer_max_size = (1 << 26) - 1

            def __init__(self):
                self.sendchannel, self.recvchannel = Channel(True), Channel(False)

            def read(self, offset=0):
                ch = {0x04: self.sendchannel, 0x34: self.recvchannel}.get(offset)
                return ch.status() if ch else 0

        class IP:
            def write(self, offset, value):
                board.log.append(("write", offset, value, time.monotonic()))
                if offset == 0:
                    board.ctrl = value & (drv.AP_START | drv.AUTO_RESTART)
                    if value & drv.AP_START:
                        board.frame_budget += 1
                else:
                    board.regs[offset] = value & 0xFFFFFFFF

            def read(self, offset=0):
                if offset == 0:
                    idle = not board.pending and board.frames_in == board.frames_out
                    return board.ctrl | (drv.AP_IDLE if idle else 0)
                return board.regs.get(offset, 0) ^ board.readback_xor

        class Overlay:
            def __init__(self, bitfile, download=True):
                assert Path(bitfile).is_file()
                top = {"type": "hwgen:hwgen:hwgen_top:1.0", "fullpath": "hwgen_top_0"}
                if board.registers is not None:
                    top["registers"] = board.registers
                self.ip_dict = {"hwgen_top_0": top}
                self.hwgen_top_0 = IP()
                if board.with_dma:
                    self.ip_dict["axi_dma_0"] = {"type": "xilinx.com:ip:axi_dma:7.1",
                                                 "fullpath": "axi_dma_0"}
                    self.axi_dma_0 = DMA()
                board.overlay = self

        mod = types.ModuleType("pynq")
        mod.Overlay, mod.allocate = Overlay, allocate
        mod.fake_board = board
        return mod
