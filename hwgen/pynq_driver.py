"""Host side of a generated accelerator on a PYNQ board: AXI4-Stream packing, image preprocessing,
top-5, and ``HwgenOverlay`` (bitstream, weights in DDR, AXI DMA, ap_start).

This one file is shared by hwgen and the board: ``hwgen generate`` copies it into each project as
``driver/hwgen_driver.py``. It needs numpy only (Pillow for ``preprocess_image``, ``pynq`` for
``HwgenOverlay``, imported when an overlay is made), so it runs on a board without hwgen installed.

Packing (hls_templates/hwgen/axi.h): one stream word carries LANES consecutive values of the
stream (pixels in raster order, channels ascending), lane l in word bits [l*W, l*W + W) as its raw
W-bit two's-complement pattern, upper bits zero. On the AXI4-Stream a word takes
ceil(LANES*W / AXI_BITS) beats of AXI_BITS bits, lowest bits first, so in memory a word is that
many beats' bytes, byte 0 = bits 7..0 (the project file's stream "axi_bits"; without it, one beat
of whole bytes). Words are arrays of shape (words, bytes_per_word), dtype uint8 -- exactly
``hwgen.hls.kernels.pack_axi``'s layout -- so ``words.tobytes()`` is the DMA buffer's content.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

PROJECT_FILE = "hwgen_project.json"
AP_START, AP_DONE, AP_IDLE, AUTO_RESTART = 0x01, 0x02, 0x04, 0x80  # control register 0x00
# ap_ctrl_chain (the top's block protocol): the host acknowledges ap_done by writing ap_continue
# (bit 4, self-clearing); with auto-restart the AXI-Lite adapter asserts it itself (a generated
# *_control_s_axi.v: ap_continue = int_ap_continue || auto_restart_status)
AP_CONTINUE = 0x10


class DriverError(RuntimeError):
    """A problem with the overlay or the project, in one line."""


# ---- packing ----------------------------------------------------------------------------------
def word_bytes(lanes: int, width: int, axi_bits: int | None = None) -> int:
    """Bytes per stream word in memory: lanes * width rounded up to whole AXI4-Stream beats of
    ``axi_bits`` (default: to whole bytes, one beat)."""
    beat = axi_bits or 8
    return -(-lanes * width // beat) * beat // 8


def to_stream(raw: np.ndarray) -> np.ndarray:
    """(C, H, W) or (C,) values -> stream order (pixels raster, channels ascending); 1-D kept."""
    raw = np.asarray(raw, dtype=np.int64)
    if raw.ndim == 1:
        return raw
    return raw.reshape(raw.shape[0], -1).T.ravel()


def pack_stream(values: np.ndarray, lanes: int, width: int, axi_bits: int | None = None
                ) -> np.ndarray:
    """Stream-order raw integers -> AXI words, uint8 array (words, bytes per word)."""
    vals = np.asarray(values, dtype=np.int64).reshape(-1)
    if vals.size % lanes:
        raise DriverError(f"{vals.size} values do not fill whole {lanes}-lane words")
    bits = (vals & ((1 << width) - 1)).astype(np.uint64).reshape(-1, lanes)
    shifts = np.arange(width, dtype=np.uint64)
    bitmat = ((bits[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(len(bits), -1)
    nbytes = word_bytes(lanes, width, axi_bits)
    pad = nbytes * 8 - lanes * width
    if pad:
        bitmat = np.pad(bitmat, ((0, 0), (0, pad)))
    return np.packbits(bitmat, axis=1, bitorder="little")


def pack_input(raw_chw: np.ndarray, lanes: int, width: int, axi_bits: int | None = None
               ) -> np.ndarray:
    """Raw input values ((C, H, W), or 1-D already in stream order) -> AXI words (see module doc)."""
    return pack_stream(to_stream(raw_chw), lanes, width, axi_bits)


def unpack_output(words, lanes: int, width: int, signed: bool, count: int | None = None,
                  axi_bits: int | None = None) -> np.ndarray:
    """AXI words (the (words, bytes) uint8 array, or any buffer holding them back to back) ->
    stream-order raw integers (int64), the first ``count`` of them."""
    nbytes = word_bytes(lanes, width, axi_bits)
    b = np.ascontiguousarray(words).view(np.uint8).reshape(-1)
    b = b[: b.size - b.size % nbytes].reshape(-1, nbytes)
    bitmat = np.unpackbits(b, axis=1, bitorder="little")[:, : lanes * width]
    bitmat = bitmat.reshape(len(b), lanes, width).astype(np.int64)
    vals = (bitmat << np.arange(width, dtype=np.int64)).sum(axis=2).reshape(-1)
    if signed:
        vals = np.where(vals >= (1 << (width - 1)), vals - (1 << width), vals)
    return vals if count is None else vals[:count]


# ---- images and results -----------------------------------------------------------------------
def preprocess_image(rgb_uint8: np.ndarray, size: int = 224, resize: int = 256) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, size, size) int64 raw pixels, the input of a network whose
    preprocessing is folded into conv1: shorter side resized to ``resize`` (bilinear), centre crop
    (as ``hwgen.images.load_rgb``; images already size x size are taken as they are)."""
    from PIL import Image  # noqa: PLC0415

    im = Image.fromarray(np.asarray(rgb_uint8, dtype=np.uint8)).convert("RGB")
    w, h = im.size
    if (w, h) != (size, size):
        scale = resize / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        im = im.crop((left, top, left + size, top + size))
    return np.asarray(im, dtype=np.int64).transpose(2, 0, 1).copy()


def top5(logits, class_names=None) -> list[tuple[int, str, float]]:
    """The five highest logits, best first (ties: lower index first): (index, name, value)."""
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    order = np.argsort(-x, kind="stable")[:5]
    names = list(class_names) if class_names is not None else []
    return [(int(i), names[i] if i < len(names) else f"class {i}", float(x[i])) for i in order]


def load_class_names(path) -> list[str]:
    """One class name per line (ImageNet's synset order)."""
    return [line.strip() for line in Path(path).read_text().splitlines()]


def read_project(project_dir) -> dict:
    f = Path(project_dir) / PROJECT_FILE
    if not f.is_file():
        raise DriverError(f"{project_dir}: not an hwgen project (no {PROJECT_FILE})")
    meta = json.loads(f.read_text())
    if "stream" not in meta:
        raise DriverError(f"{f}: no 'stream' section; regenerate the project with this hwgen")
    return meta


# ---- the overlay ------------------------------------------------------------------------------
# Register facts the driver relies on (no board here; each from the source named beside it).
AP_READY = 0x08  # UG1399 s_axilite control register map, offset 0x00: bit 3 ap_ready
CTRL_BITS = ((AP_START, "ap_start"), (AP_DONE, "ap_done"), (AP_IDLE, "ap_idle"),
             (AP_READY, "ap_ready"), (AUTO_RESTART, "auto_restart"))
# PG021 / pynq/lib/dma.py _SDMAChannel: MM2S registers from 0x00, S2MM from 0x30; DMASR at +0x04
MM2S_DMASR, S2MM_DMASR = 0x04, 0x34
DMASR_BITS = ((0x01, "halted"), (0x02, "idle"), (0x10, "DMAIntErr"), (0x20, "DMASlvErr"),
              (0x40, "DMADecErr"), (0x1000, "IOC_Irq"), (0x4000, "Err_Irq"))
#: per DMA wait, at least: the project's estimated latency (report.json) sets it when longer
DEFAULT_TIMEOUT_S = 2.0
#: a frame may take this many times the estimated latency (DDR contention, interconnects)
TIMEOUT_MARGIN = 3.0
S2MM_ALIGN = 64  # each result frame starts on a cache line of the output buffer


def _flush(buf) -> None:
    for name in ("flush", "sync_to_device"):  # pynq/buffer.py PynqBuffer.flush
        if hasattr(buf, name):
            getattr(buf, name)()
            return


def _invalidate(buf) -> None:
    for name in ("invalidate", "sync_from_device"):  # pynq/buffer.py PynqBuffer.invalidate
        if hasattr(buf, name):
            getattr(buf, name)()
            return


def estimated_latency_s(project_dir: Path) -> float:
    """The project's estimated single-frame latency in seconds (report.json), 0 if unknown."""
    try:
        return float(json.loads((Path(project_dir) / "report.json").read_text())["latency_ms"]) / 1e3
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _bits(value: int, names) -> str:
    on = [name for bit, name in names if value & bit]
    return ",".join(on) if on else "-"


def _register_for(registers: dict, port: str, part: int):
    """The .hwh register (name, offset) of a weight pointer's low (``part`` 0) or high (1) word:
    Vitis HLS names a 64-bit pointer's halves ``<port>_1`` / ``<port>_2`` and a 32-bit one
    ``<port>`` (``_r`` appended to reserved names). None when the map has no such register."""
    stems = (port, f"{port}_r")
    names = [f"{s}_2" for s in stems] if part else [f"{s}_1" for s in stems] + list(stems)
    for name in names:
        if name in registers:
            return name, int(registers[name]["address_offset"])
    return None


class HwgenOverlay:
    """The accelerator of an hwgen project on the board.

    ``HwgenOverlay(project_dir)`` loads ``overlay/<name>.bit`` (with its .hwh) and finds the AXI DMA
    (``dma``) and the HLS IP (``ip``); either is None when the design lacks it (``require()`` says
    which). ``setup()`` -- done once, before any timing -- places the DDR weights, checks the
    weight-pointer registers against the .hwh and reads them back, and starts the IP.

    Streaming (``run_frames``): the IP is a DATAFLOW pipeline; with ``auto_restart`` (the
    default) it is started once (ap_start | auto_restart, UG1399 control register 0x00) and keeps
    taking frames, so the next frame enters while the previous ones are still in flight. Its input
    reader ignores TLAST (hls_templates/hwgen/axi.h), so a batch's input is ONE MM2S transfer of N
    frames back to back. Its output writer ends every frame with TLAST, and in direct-register
    (simple) mode an S2MM transfer ends at TLAST (PG021, S2MM_LENGTH: the transfer completes at
    TLAST and the register reports the bytes written) -- one N-frame S2MM transfer would stop
    after frame 0. pynq's simple-mode channel takes one transfer at a time (pynq/lib/dma.py
    ``_SDMAChannel.transfer`` refuses a channel that is not idle), so S2MM is re-armed per frame,
    each frame into its own slice of one output buffer (``transfer(buf, start, nbytes)``), while
    the batch's MM2S transfer keeps feeding the pipeline. With ``auto_restart=False`` every frame
    gets its own ap_start and runs alone (no overlap; for debugging). Frames overlap inside
    the IP because its block protocol is ap_ctrl_chain (UG1448 200-786: under ap_ctrl_hs a
    dataflow top does not overlap calls): with auto-restart its AXI-Lite adapter re-asserts
    ap_start at ap_ready and ap_continue by itself; ``infer_batch``'s ``fps`` measures it.

    Waits never hang: pynq's ``wait()`` polls DMASR forever, so the driver polls the channel's
    ``idle``/``error`` (pynq/lib/dma.py ``_SDMAChannel.idle``/``.error``, DMASR bits 1 and 4-6)
    against a deadline of ``timeout_s`` per frame, and calls ``wait()`` only once the channel is
    idle (it then returns at once, after invalidating the buffer and reading ``transferred``).
    On timeout it reads the IP's control register and both DMASRs and raises ``DriverError``
    naming the stalled side.
    """

    def __init__(self, project_dir, bitfile=None, download: bool = True, auto_restart: bool = True,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
        import pynq  # noqa: PLC0415  (only on the board)

        self._pynq = pynq
        self.dir = Path(project_dir)
        self.meta = read_project(self.dir)
        self.s = self.meta["stream"]
        self.bitfile = Path(bitfile) if bitfile else self.dir / self.s["overlay"]
        if not self.bitfile.is_file():
            raise DriverError(f"{self.bitfile}: no bitstream (build it with vivado.tcl, or scripts/build_bitstream.sh of the hwgen repository)")
        # pynq/overlay.py Overlay(bitfile_name, download=True): parses the .hwh beside the .bit
        self.overlay = pynq.Overlay(str(self.bitfile), download=download)
        self.dma_name, self.dma = self._find(lambda t: t.startswith("xilinx.com:ip:axi_dma:"))
        top = self.meta.get("top", "hwgen_top")
        self.ip_name, self.ip = self._find(
            lambda t: t.startswith("hwgen:hwgen:") or f":{top}:" in t)
        self.auto_restart = auto_restart
        self.timeout_s = max(float(timeout_s), TIMEOUT_MARGIN * estimated_latency_s(self.dir))
        self._started = False
        self._weights = None
        self._bufs = {}
        self.in_count = int(np.prod(self.s["input_shape"]))
        self.out_count = int(np.prod(self.s["output_shape"]))
        self.in_bytes = self._frame_bytes("in", self.in_count)
        self.out_bytes = self._frame_bytes("out", self.out_count)
        self.out_stride = -(-self.out_bytes // S2MM_ALIGN) * S2MM_ALIGN

    # -- finding things ---------------------------------------------------------------------
    def _find(self, match):
        # pynq/overlay.py Overlay.ip_dict: full name -> {"type": VLNV, "registers": ..., ...}
        for name, d in self.overlay.ip_dict.items():
            if match(str(d.get("type", ""))):
                return name, self._getpath(name)
        return None, None

    def _getpath(self, name):
        obj = self.overlay
        for part in name.split("/"):
            obj = getattr(obj, part)  # pynq/overlay.py _IPMap.__getattr__ builds the driver
        return obj

    def require(self) -> None:
        if self.dma is None:
            raise DriverError(f"{self.bitfile.name}: no AXI DMA in the design")
        if self.ip is None:
            raise DriverError(f"{self.bitfile.name}: no {self.meta.get('top')} IP in the design")

    # -- packing (calls the packing section; every frame goes through these two) --------------
    def _pack_args(self, side: str):
        d = self.s[side]
        return d["lanes"], d["width"], {"axi_bits": d.get("axi_bits")}

    def _frame_bytes(self, side: str, count: int) -> int:
        lanes, width, kw = self._pack_args(side)
        one_word = pack_stream(np.zeros(lanes, np.int64), lanes, width, **kw)
        return -(-count // lanes) * int(one_word.nbytes)

    def pack_frame(self, raw_in) -> np.ndarray:
        """Raw input values ((C, H, W) or stream order) -> one frame's DMA bytes (uint8, 1-D)."""
        lanes, width, kw = self._pack_args("in")
        words = pack_input(raw_in, lanes, width, **kw)
        data = np.ascontiguousarray(words).view(np.uint8).reshape(-1)
        if data.size != self.in_bytes:
            raise DriverError(f"input is {data.size} bytes, the accelerator takes {self.in_bytes}")
        return data

    def unpack_frame(self, out_bytes) -> np.ndarray:
        """One frame's output bytes -> raw output values (stream order, int64)."""
        lanes, width, kw = self._pack_args("out")
        return unpack_output(out_bytes, lanes, width, self.s["out"]["signed"], self.out_count, **kw)

    # -- setup: weights, registers, start (never inside a timed run) --------------------------
    def _hwh_registers(self) -> dict:
        """The IP's registers from the .hwh (pynq/pl_server/hwh_parser.py fills
        ``ip_dict[name]["registers"]``: name -> {"address_offset", "size", ...}, the same table
        ``ip.register_map`` is built from in pynq/overlay.py DefaultIP); {} when absent."""
        d = self.overlay.ip_dict.get(self.ip_name, {}) if self.ip_name else {}
        return dict(d.get("registers") or {})

    def weight_registers(self) -> list[tuple[dict, int]]:
        """(project.json layer entry, register offset) per DDR layer, the offsets checked
        against the .hwh register map when the overlay has one."""
        ddr = self.meta.get("ddr") or {}
        regs = self._hwh_registers()
        addr64 = bool(ddr.get("addr64"))
        out = []
        for layer in ddr.get("layers") or []:
            want = int(layer["register"])
            if regs:
                for part in ((0, 1) if addr64 else (0,)):
                    hit = _register_for(regs, layer["port"], part)
                    if hit is None:
                        raise DriverError(
                            f"weight port {layer['port']} ({layer['layer']}): the .hwh register "
                            f"map of {self.ip_name} has no register for it ({PROJECT_FILE} says "
                            f"0x{want + 4 * part:02x}); bitstream and project do not match")
                    if hit[1] != want + 4 * part:
                        raise DriverError(
                            f"weight port {layer['port']} ({layer['layer']}): the .hwh puts "
                            f"{hit[0]} at 0x{hit[1]:02x}, {PROJECT_FILE} says "
                            f"0x{want + 4 * part:02x}; bitstream and project do not match "
                            f"(rebuild or regenerate)")
            out.append((layer, want))
        return out

    def load_ddr_weights(self) -> int:
        """Copy the project's DDR weight image (``ddr_weights.bin``) into a contiguous buffer,
        write each weight port's address into its AXI-Lite register (offsets checked against the
        .hwh) and read it back; returns the bytes placed (0 when every layer keeps its weights on
        chip). Done once, by ``setup()``, before the first run."""
        ddr = self.meta.get("ddr") or {}
        if not ddr.get("layers") or self._weights is not None:
            return 0
        self.require()
        ports = self.weight_registers()
        path = self.dir / ddr["file"]
        blob = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
        if blob.size != ddr["bytes"]:
            raise DriverError(f"{path}: expected {ddr['bytes']} bytes of DDR weights, found "
                              f"{blob.size}")
        buf = self._pynq.allocate(shape=(blob.size,), dtype=np.uint8)  # pynq/buffer.py allocate
        buf[:] = blob
        _flush(buf)
        base = int(buf.physical_address)  # pynq/buffer.py PynqBuffer.physical_address
        for layer, reg in ports:
            addr = base + int(layer["offset"])
            words = [(reg, addr & 0xFFFFFFFF)]
            if ddr.get("addr64"):
                words.append((reg + 4, addr >> 32))
            elif addr >> 32:
                raise DriverError(f"weights at 0x{addr:x}: beyond the 32-bit address of "
                                  f"{layer['port']}")
            for off, value in words:
                self.ip.write(off, value)  # pynq/overlay.py DefaultIP.write -> MMIO.write
                back = int(self.ip.read(off)) & 0xFFFFFFFF  # DefaultIP.read -> MMIO.read
                if back != value:
                    raise DriverError(
                        f"weight port {layer['port']}: wrote 0x{value:08x} to register "
                        f"0x{off:02x}, read back 0x{back:08x} (wrong register map, or the IP "
                        f"is not at {self.ip_name}'s address)")
        self._weights = buf
        return int(blob.size)

    def setup(self) -> int:
        """Weights into DDR, registers checked, IP started (auto-restart: once). Idempotent;
        returns the DDR weight bytes placed by this call."""
        self.require()
        placed = self.load_ddr_weights()
        if self.auto_restart and not self._started:
            # UG1399 control register 0x00: bit 0 ap_start, bit 7 auto_restart
            self.ip.write(0x00, AP_START | AUTO_RESTART)  # pynq/overlay.py DefaultIP.write
            self._started = True
        return placed

    # -- streaming ------------------------------------------------------------------------------
    def _buffer(self, key: str, nbytes: int):
        buf = self._bufs.get(key)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()  # pynq/buffer.py PynqBuffer.freebuffer
            buf = self._pynq.allocate(shape=(nbytes,), dtype=np.uint8)
            self._bufs[key] = buf
        return buf

    def _read(self, dev, offset: int):
        try:
            return int(dev.read(offset)) & 0xFFFFFFFF  # DefaultIP.read (the DMA is a DefaultIP)
        except Exception:  # noqa: BLE001  (diagnostics only)
            return None

    def _status(self, ctrl=None) -> str:
        """The IP's control register and both DMASRs, decoded (ap_ready is clear-on-read in the
        generated AXI-Lite adapter: pass ``ctrl`` when it was read already)."""
        ctrl = self._read(self.ip, 0x00) if ctrl is None else ctrl
        mm2s, s2mm = self._read(self.dma, MM2S_DMASR), self._read(self.dma, S2MM_DMASR)

        def fmt(name, v, names):
            return f"{name}=" + ("unreadable" if v is None else f"0x{v:02x}({_bits(v, names)})")

        return "; ".join([fmt("ctrl", ctrl, CTRL_BITS), fmt("MM2S_DMASR", mm2s, DMASR_BITS),
                          fmt("S2MM_DMASR", s2mm, DMASR_BITS)])

    def _stall(self, waiting: str, frame: int, n: int, waited: float) -> DriverError:
        ctrl = self._read(self.ip, 0x00)
        in_idle = bool(self.dma.sendchannel.idle)  # pynq/lib/dma.py _SDMAChannel.idle
        if waiting == "out" and not in_idle:
            if ctrl is not None and not ctrl & AP_START and self.auto_restart:
                why = "the accelerator is not started (ap_start=0)"
            else:
                why = ("the accelerator is not reading its input stream (stalled on its DDR "
                       "weight reads, or an earlier frame's output is stuck)")
            side = f"input not consumed (MM2S busy): {why}"
        elif waiting == "out":
            side = ("output not produced: the accelerator took all the input (MM2S idle) but "
                    "sent no TLAST-terminated frame to S2MM (output stalled, or TLAST missing)")
        else:
            side = ("input not consumed: every output frame arrived but MM2S still holds input "
                    "(the accelerator takes fewer bytes per frame than the driver sends)")
        what = f"output frame {frame + 1} of {n}" if waiting == "out" else f"input of {n} frame(s)"
        return DriverError(f"timeout after {waited:.3g} s waiting for {what}: {side} "
                           f"[{self._status(ctrl)}]")

    def _await(self, ch, waiting: str, frame: int, n: int) -> None:
        """Poll a channel until idle, with a deadline; then let pynq's wait() finish it."""
        t0 = time.monotonic()
        deadline = t0 + self.timeout_s
        chans = (self.dma.sendchannel, self.dma.recvchannel)
        while not ch.idle:  # pynq/lib/dma.py _SDMAChannel.idle: DMASR bit 1
            if any(c.error for c in chans):  # _SDMAChannel.error: DMASR bits 4-6
                what = f"output frame {frame + 1}" if waiting == "out" else "the input"
                raise DriverError(f"DMA error while waiting for {what} of {n} frame(s): "
                                  f"{self._status()}")
            if time.monotonic() > deadline:
                raise self._stall(waiting, frame, n, time.monotonic() - t0)
        try:
            ch.wait()  # idle already: returns at once (invalidates the buffer, sets transferred)
        except RuntimeError as exc:
            raise DriverError(f"DMA: {exc} [{self._status()}]") from exc

    def _transfer(self, ch, buf, start: int, nbytes: int) -> None:
        try:
            ch.transfer(buf, start=start, nbytes=nbytes)  # pynq/lib/dma.py _SDMAChannel.transfer
        except (RuntimeError, ValueError) as exc:
            raise DriverError(f"DMA transfer of {nbytes} bytes: {exc}") from exc

    def run_frames(self, frames) -> tuple[np.ndarray, dict]:
        """Packed frames ((N, in_bytes) uint8, or a list of 1-D byte frames) -> output bytes
        (N, out_bytes) and timing {"seconds", "done_s"} (done_s: each frame's completion, from
        the first input submitted). Frames stream back to back (see the class doc)."""
        self.setup()
        frames = [np.ascontiguousarray(f).view(np.uint8).reshape(-1) for f in frames]
        n = len(frames)
        if not n:
            raise DriverError("no frames to run")
        for i, f in enumerate(frames):
            if f.size != self.in_bytes:
                raise DriverError(f"frame {i} is {f.size} bytes, the accelerator takes "
                                  f"{self.in_bytes}")
        inb = self._buffer("in", n * self.in_bytes)
        outb = self._buffer("out", n * self.out_stride)
        inb[: n * self.in_bytes] = np.concatenate(frames)
        _flush(inb)
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        # one MM2S transfer may carry at most buffer_max_size bytes (pynq/lib/dma.py DMA)
        max_bytes = int(getattr(self.dma, "buffer_max_size", (1 << 26) - 1))
        per = max(1, max_bytes // self.in_bytes) if self.auto_restart else 1
        done = []
        t0 = time.perf_counter()
        for f0 in range(0, n, per):
            k = min(per, n - f0)
            if not self.auto_restart:
                self.ip.write(0x00, AP_START)  # UG1399: one ap_start, one frame
            self._transfer(recv, outb, f0 * self.out_stride, self.out_bytes)
            self._transfer(send, inb, f0 * self.in_bytes, k * self.in_bytes)
            for j in range(k):
                i = f0 + j
                self._await(recv, "out", i, n)
                if not self.auto_restart:
                    self.ip.write(0x00, AP_CONTINUE)  # ap_ctrl_chain: ap_done acknowledged
                done.append(time.perf_counter() - t0)
                got = int(getattr(recv, "transferred", 0) or 0)  # S2MM_LENGTH after TLAST
                if 0 < got < self.out_bytes:
                    raise DriverError(f"output frame {i + 1} of {n} ended (TLAST) after {got} "
                                      f"bytes, expected {self.out_bytes}")
                if j + 1 < k:
                    self._transfer(recv, outb, (i + 1) * self.out_stride, self.out_bytes)
            self._await(send, "in", n - 1, n)
        seconds = time.perf_counter() - t0
        _invalidate(outb)
        out = np.stack([np.array(outb[i * self.out_stride: i * self.out_stride + self.out_bytes],
                                 dtype=np.uint8, copy=True) for i in range(n)])
        return out, {"seconds": seconds, "done_s": done}

    def run_words(self, words: np.ndarray) -> tuple[np.ndarray, float]:
        """One frame: packed input words in, packed output bytes out, and the seconds it took."""
        out, t = self.run_frames([words])
        return out[0], t["seconds"]

    def run_raw(self, raw_in: np.ndarray) -> tuple[np.ndarray, float]:
        """Raw input values ((C, H, W) or stream order) -> raw output values (stream order)."""
        out, sec = self.run_words(self.pack_frame(raw_in))
        return self.unpack_frame(out), sec

    def infer_batch(self, inputs, latency: bool = True) -> tuple[np.ndarray, dict]:
        """Raw inputs (each (C, H, W) or stream order) -> raw outputs (N, out_count) and stats:
        ``fps`` (frames / seconds over the streamed batch), ``fps_steady`` (frames after the
        first / their completion span: the pipeline's rate without its fill), ``latency_ms``
        (one frame alone through the idle pipeline, a separate run first; None without
        ``latency``), ``frames``, ``batch_seconds``. Weights are placed before any timing."""
        frames = [self.pack_frame(x) for x in inputs]
        self.setup()
        lat = None
        if latency and frames:
            _, t = self.run_frames(frames[:1])
            lat = t["seconds"] * 1e3
        out, t = self.run_frames(frames)
        n, d = len(frames), t["done_s"]
        stats = {"frames": n, "batch_seconds": t["seconds"],
                 "fps": n / t["seconds"] if t["seconds"] > 0 else float("inf"),
                 "fps_steady": (n - 1) / (d[-1] - d[0]) if n > 1 and d[-1] > d[0] else None,
                 "latency_ms": lat}
        return np.stack([self.unpack_frame(o) for o in out]), stats

    def input_raw(self, rgb_uint8: np.ndarray) -> np.ndarray:
        """The raw accelerator input for an RGB image (pixels, or quantised preprocessed values)."""
        size = int(self.s["input_shape"][-1])
        px = preprocess_image(rgb_uint8, size)
        if self.s["pixel_input"]:
            return px
        pp, ins = self.s["preprocess"], self.s["in"]
        x = px.astype(np.float64)
        if pp["channel_order"] == "BGR":
            x = x[::-1]
        x = (x - np.asarray(pp["mean"])[:, None, None]) / np.asarray(pp["std"])[:, None, None]
        # nearest rounding with saturation (the hwgen defaults AP_RND/AP_SAT)
        lo = -(1 << (ins["width"] - 1)) if ins["signed"] else 0
        hi = (1 << (ins["width"] - 1)) - 1 if ins["signed"] else (1 << ins["width"]) - 1
        return np.clip(np.floor(x * 2.0 ** ins["frac"] + 0.5), lo, hi).astype(np.int64)

    def _logits(self, raw) -> np.ndarray:
        return np.ldexp(np.asarray(raw).astype(np.float64), -int(self.s["out"]["frac"]))

    def classify(self, rgb_uint8: np.ndarray, class_names=None) -> dict:
        """Top-5 (index, name, logit), logits and the single-frame latency in ms for one image
        (throughput needs a batch: ``classify_batch``)."""
        raw, sec = self.run_raw(self.input_raw(rgb_uint8))
        logits = self._logits(raw)
        return {"top5": top5(logits, class_names), "latency_ms": sec * 1e3, "logits": logits}

    def classify_batch(self, images, class_names=None) -> tuple[list[dict], dict]:
        """RGB images -> per image {"top5", "logits"}, and ``infer_batch``'s stats."""
        raws, stats = self.infer_batch([self.input_raw(im) for im in images])
        res = []
        for raw in raws:
            logits = self._logits(raw)
            res.append({"top5": top5(logits, class_names), "logits": logits})
        return res, stats
