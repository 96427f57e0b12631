"""Host side of a generated accelerator on a PYNQ board: AXI4-Stream packing, image preprocessing,
top-5, and ``HwgenOverlay`` (bitstream, weights in DDR, AXI DMA, ap_start).

This one file is shared by hwgen and the board: ``hwgen generate`` copies it into each project as
``driver/hwgen_driver.py``. It needs numpy only (Pillow for ``preprocess_image``, ``pynq`` for
``HwgenOverlay``, imported when an overlay is made), so it runs on a board without hwgen installed.

Packing (hls_templates/hwgen/axi.h): one AXI word carries LANES consecutive values of the stream
(pixels in raster order, channels ascending), lane l in data bits [l*W, l*W + W) as its raw W-bit
two's-complement pattern, upper bits zero; a word is ceil(LANES*W / 8) bytes, byte 0 = bits 7..0.
Words are arrays of shape (words, bytes_per_word), dtype uint8 -- exactly
``hwgen.hls.kernels.pack_axi``'s layout -- so ``words.tobytes()`` is the DMA buffer's content.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

PROJECT_FILE = "hwgen_project.json"
AP_START, AP_DONE, AP_IDLE, AUTO_RESTART = 0x01, 0x02, 0x04, 0x80  # control register 0x00


class DriverError(RuntimeError):
    """A problem with the overlay or the project, in one line."""


# ---- packing ----------------------------------------------------------------------------------
def word_bytes(lanes: int, width: int) -> int:
    """Bytes per AXI4-Stream word: lanes * width rounded up to whole bytes."""
    return -(-lanes * width // 8)


def to_stream(raw: np.ndarray) -> np.ndarray:
    """(C, H, W) or (C,) values -> stream order (pixels raster, channels ascending); 1-D kept."""
    raw = np.asarray(raw, dtype=np.int64)
    if raw.ndim == 1:
        return raw
    return raw.reshape(raw.shape[0], -1).T.ravel()


def pack_stream(values: np.ndarray, lanes: int, width: int) -> np.ndarray:
    """Stream-order raw integers -> AXI words, uint8 array (words, bytes per word)."""
    vals = np.asarray(values, dtype=np.int64).reshape(-1)
    if vals.size % lanes:
        raise DriverError(f"{vals.size} values do not fill whole {lanes}-lane words")
    bits = (vals & ((1 << width) - 1)).astype(np.uint64).reshape(-1, lanes)
    shifts = np.arange(width, dtype=np.uint64)
    bitmat = ((bits[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(len(bits), -1)
    nbytes = word_bytes(lanes, width)
    pad = nbytes * 8 - lanes * width
    if pad:
        bitmat = np.pad(bitmat, ((0, 0), (0, pad)))
    return np.packbits(bitmat, axis=1, bitorder="little")


def pack_input(raw_chw: np.ndarray, lanes: int, width: int) -> np.ndarray:
    """Raw input values ((C, H, W), or 1-D already in stream order) -> AXI words (see module doc)."""
    return pack_stream(to_stream(raw_chw), lanes, width)


def unpack_output(words, lanes: int, width: int, signed: bool, count: int | None = None) -> np.ndarray:
    """AXI words (the (words, bytes) uint8 array, or any buffer holding them back to back) ->
    stream-order raw integers (int64), the first ``count`` of them."""
    nbytes = word_bytes(lanes, width)
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
def _flush(buf) -> None:
    for name in ("flush", "sync_to_device"):
        if hasattr(buf, name):
            getattr(buf, name)()
            return


def _invalidate(buf) -> None:
    for name in ("invalidate", "sync_from_device"):
        if hasattr(buf, name):
            getattr(buf, name)()
            return


class HwgenOverlay:
    """The accelerator of an hwgen project on the board.

    ``HwgenOverlay(project_dir)`` loads ``overlay/<name>.bit`` (with its .hwh) and finds the AXI DMA
    (``dma``) and the HLS IP (``ip``); either is None when the design lacks it (``require()`` says
    which). ``run_words`` streams one frame of packed words through; ``classify`` a whole image.
    """

    def __init__(self, project_dir, bitfile=None, download: bool = True, auto_restart: bool = False):
        import pynq  # noqa: PLC0415  (only on the board)

        self._pynq = pynq
        self.dir = Path(project_dir)
        self.meta = read_project(self.dir)
        self.s = self.meta["stream"]
        self.bitfile = Path(bitfile) if bitfile else self.dir / self.s["overlay"]
        if not self.bitfile.is_file():
            raise DriverError(f"{self.bitfile}: no bitstream (build it with scripts/build_bitstream.sh)")
        self.overlay = pynq.Overlay(str(self.bitfile), download=download)
        self.dma = self._find(lambda t: t.startswith("xilinx.com:ip:axi_dma:"))
        top = self.meta.get("top", "hwgen_top")
        self.ip = self._find(lambda t: t.startswith("hwgen:hwgen:") or f":{top}:" in t)
        self.auto_restart = auto_restart
        self._started = False
        self._weights = None
        ins, outs = self.s["in"], self.s["out"]
        self.in_count = int(np.prod(self.s["input_shape"]))
        self.out_count = int(np.prod(self.s["output_shape"]))
        self.in_bytes = -(-self.in_count // ins["lanes"]) * word_bytes(ins["lanes"], ins["width"])
        self.out_bytes = -(-self.out_count // outs["lanes"]) * word_bytes(outs["lanes"], outs["width"])
        self._in_buf = self._out_buf = None

    def _find(self, match):
        for name, d in self.overlay.ip_dict.items():
            if match(str(d.get("type", ""))):
                return self._getpath(name)
        return None

    def _getpath(self, name):
        obj = self.overlay
        for part in name.split("/"):
            obj = getattr(obj, part)
        return obj

    def load_ddr_weights(self) -> int:
        """Copy the project's DDR weight image (``ddr_weights.bin``) into a contiguous buffer
        and write each weight port's address into its AXI-Lite register; returns the bytes
        placed (0 when every layer keeps its weights on chip). Done once, before the first run."""
        ddr = self.meta.get("ddr") or {}
        if not ddr.get("layers") or self._weights is not None:
            return 0
        path = self.dir / ddr["file"]
        blob = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
        if blob.size != ddr["bytes"]:
            raise DriverError(f"{path}: expected {ddr['bytes']} bytes of DDR weights, found "
                              f"{blob.size}")
        buf = self._pynq.allocate(shape=(blob.size,), dtype=np.uint8)
        buf[:] = blob
        _flush(buf)
        base = int(getattr(buf, "physical_address", getattr(buf, "device_address", 0)))
        for layer in ddr["layers"]:
            addr = base + int(layer["offset"])
            self.ip.write(int(layer["register"]), addr & 0xFFFFFFFF)
            if ddr.get("addr64"):
                self.ip.write(int(layer["register"]) + 4, addr >> 32)
        self._weights = buf
        return int(blob.size)

    def require(self) -> None:
        if self.dma is None:
            raise DriverError(f"{self.bitfile.name}: no AXI DMA in the design")
        if self.ip is None:
            raise DriverError(f"{self.bitfile.name}: no {self.meta.get('top')} IP in the design")

    def _buffers(self):
        if self._in_buf is None:
            self._in_buf = self._pynq.allocate(shape=(self.in_bytes,), dtype=np.uint8)
            self._out_buf = self._pynq.allocate(shape=(self.out_bytes,), dtype=np.uint8)
        return self._in_buf, self._out_buf

    def _start(self) -> None:
        self.load_ddr_weights()
        if self.auto_restart:
            if not self._started:
                self.ip.write(0x00, AP_START | AUTO_RESTART)
                self._started = True
        else:
            self.ip.write(0x00, AP_START)

    def run_words(self, words: np.ndarray) -> tuple[np.ndarray, float]:
        """One frame: packed input words in, packed output bytes out, and the seconds it took."""
        self.require()
        inb, outb = self._buffers()
        data = np.ascontiguousarray(words).view(np.uint8).reshape(-1)
        if data.size != self.in_bytes:
            raise DriverError(f"input is {data.size} bytes, the accelerator takes {self.in_bytes}")
        inb[:] = data
        _flush(inb)
        t0 = time.perf_counter()
        self._start()
        self.dma.recvchannel.transfer(outb)
        self.dma.sendchannel.transfer(inb)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        seconds = time.perf_counter() - t0
        _invalidate(outb)
        return np.array(outb, dtype=np.uint8, copy=True), seconds

    def run_raw(self, raw_in: np.ndarray) -> tuple[np.ndarray, float]:
        """Raw input values ((C, H, W) or stream order) -> raw output values (stream order)."""
        ins, outs = self.s["in"], self.s["out"]
        out, sec = self.run_words(pack_input(raw_in, ins["lanes"], ins["width"]))
        return unpack_output(out, outs["lanes"], outs["width"], outs["signed"], self.out_count), sec

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

    def classify(self, rgb_uint8: np.ndarray, class_names=None) -> dict:
        """Top-5 (index, name, logit), latency in ms and frames/s for one image."""
        raw, sec = self.run_raw(self.input_raw(rgb_uint8))
        logits = np.ldexp(raw.astype(np.float64), -int(self.s["out"]["frac"]))
        return {"top5": top5(logits, class_names), "latency_ms": sec * 1e3,
                "fps": 1.0 / sec if sec > 0 else float("inf"), "logits": logits}
