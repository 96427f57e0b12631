"""Weights that live in DDR: the memory image an AXI4 master port of ``conv2d_ddr`` reads
(conv2d_ddr.h, hwgen_conv_ddr.sv), where each layer's image sits in the one buffer the testbench
and the board driver hand to the accelerator, and the control register holding each one's
address."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

BEAT_BITS = 64
#: each layer's image starts on a 4 KiB boundary (AXI bursts never cross one; pages stay whole)
ALIGN = 4096


def beats_per_word(pe: int, simd: int, width: int) -> int:
    """64-bit beats per weight word of PE*SIMD weights of ``width`` bits."""
    return -(-pe * simd * width // BEAT_BITS)


def pack_ddr_weights(packed_raw: np.ndarray, pe: int, simd: int, width: int) -> np.ndarray:
    """conv2d's flat [NF][SF][SIMD][PE] raw weights -> the DDR image as uint64 beats.

    Word i (PE*SIMD weights) fills beats [i*BEATS, (i+1)*BEATS) as one little-endian bit string:
    weight k at bits [k*width, (k+1)*width), two's complement, zero padding at the end.
    """
    wpar = pe * simd
    vals = np.asarray(packed_raw, dtype=np.int64).reshape(-1, wpar) & ((1 << width) - 1)
    beats = beats_per_word(pe, simd, width)
    bits = ((vals[:, :, None] >> np.arange(width)) & 1).astype(np.uint8).reshape(len(vals), -1)
    bits = np.pad(bits, ((0, 0), (0, beats * BEAT_BITS - bits.shape[1])))
    octets = np.packbits(bits.reshape(-1, 8), axis=1, bitorder="little").reshape(-1)
    return octets.view("<u8").copy()


def unpack_ddr_weights(image: np.ndarray, pe: int, simd: int, width: int, signed: bool
                       ) -> np.ndarray:
    """Inverse of ``pack_ddr_weights``: the flat raw weights."""
    wpar, beats = pe * simd, beats_per_word(pe, simd, width)
    octets = np.asarray(image, dtype="<u8").view(np.uint8).reshape(-1, beats * 8)
    bits = np.unpackbits(octets, axis=1, bitorder="little")[:, :wpar * width]
    vals = (bits.reshape(-1, wpar, width).astype(np.int64) << np.arange(width)).sum(axis=2)
    if signed:
        vals = np.where(vals >= 1 << (width - 1), vals - (1 << width), vals)
    return vals.reshape(-1)


class DdrWeights:
    """A layer's weights in DDR: the image is packed only when a project is written (estimating
    and optimising only need its size)."""

    def __init__(self, packed_raw: np.ndarray, pe: int, simd: int, width: int):
        self._args = (packed_raw, pe, simd, width)
        self.beats = packed_raw.size // (pe * simd) * beats_per_word(pe, simd, width)
        self._image: np.ndarray | None = None

    @property
    def image(self) -> np.ndarray:
        """uint64 beats (``pack_ddr_weights``)."""
        if self._image is None:
            self._image = pack_ddr_weights(*self._args)
        return self._image

    @property
    def nbytes(self) -> int:
        return self.beats * BEAT_BITS // 8


class DdrLayer(NamedTuple):
    port: str  # C++ argument of the top function (and AXI bundle suffix)
    layer: str  # IR layer name
    offset: int  # bytes from the start of the weight buffer
    beats: int  # 64-bit words of its image


def ddr_layout(images: Sequence[tuple[str, str, np.ndarray]]) -> tuple[list[DdrLayer], bytes]:
    """(port, layer, uint64 image) per DDR layer -> their placement and the whole buffer."""
    layers, chunks, offset = [], [], 0
    for port, layer, image in images:
        layers.append(DdrLayer(port, layer, offset, int(image.size)))
        data = np.asarray(image, dtype="<u8").tobytes()
        pad = -len(data) % ALIGN
        chunks.append(data + bytes(pad))
        offset += len(data) + pad
    return layers, b"".join(chunks)


def register_offset(index: int, addr64: bool) -> int:
    """AXI-Lite offset of the index-th weight pointer of the top: Vitis HLS puts its control
    registers at 0x00-0x0c and then each scalar argument in order, a 64-bit one in three 32-bit
    slots (low, high, reserved), a 32-bit one in two (data, reserved); the RTL top's control
    decodes the same map."""
    return 0x10 + index * (0xC if addr64 else 0x8)
