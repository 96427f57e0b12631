"""Stream packing, the same in every backend (types.h, axi.h, the RTL library, the PYNQ driver): a
(C, H, W) tensor travels as pixels in raster order, each pixel as C/N words of N consecutive
channels, lane l of a word at bits [l*W, l*W + W); on an AXI4-Stream a word takes whole bytes,
in one beat or in several."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..fixed import FixedType
from ..pynq_driver import pack_stream, to_stream, unpack_output

#: TDATA widths the HLS top gives its AXI4-Streams: what an AXI DMA channel takes over its 64-bit
#: memory-mapped side (PG021: the stream may not be wider than the memory map, and Vivado's DMA
#: takes 8..1024-bit powers of two), so the block design needs no width converter
DMA_BEAT_BITS = (8, 16, 32, 64)


def axi_bits(fmt: FixedType, lanes: int) -> int:
    """Width of the AXI4-Stream word that carries one stream word: lanes * W rounded up to bytes."""
    return -(-lanes * fmt.width // 8) * 8


def dma_beat_bits(fmt: FixedType, lanes: int) -> int:
    """TDATA width of a DMA-facing stream: the narrowest DMA width that holds a whole stream word,
    else 64 (the word then takes several beats, see axis_beats)."""
    need = lanes * fmt.width
    return next((b for b in DMA_BEAT_BITS if b >= need), DMA_BEAT_BITS[-1])


def axis_beats(fmt: FixedType, lanes: int, beat_bits: int) -> int:
    """AXI4-Stream beats per stream word of ``lanes`` values."""
    return -(-lanes * fmt.width // beat_bits)


def stream_meta(fmt: FixedType, lanes: int) -> dict:
    """How the top packs one of its DMA-facing AXI4-Streams (axi.h), for the driver and the RTL
    harness."""
    bits = dma_beat_bits(fmt, lanes)
    return {"lanes": lanes, "width": fmt.width, "frac": fmt.frac, "signed": fmt.signed,
            "axi_bits": bits, "beats": axis_beats(fmt, lanes, bits)}


# ---- stream data (testbenches) ---------------------------------------------------------------
def from_stream(flat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of ``to_stream``."""
    c = shape[0]
    return np.asarray(flat, dtype=np.int64).reshape(-1, c).T.reshape(shape)


def pack_axi(raw: np.ndarray, fmt: FixedType, lanes: int) -> np.ndarray:
    """The AXI4-Stream words (axi.h packing) of a raw tensor: uint8 array (words, AXI_BITS/8),
    byte 0 = data bits 7..0. One implementation, the PYNQ driver's, serves hwgen and the board."""
    return pack_stream(to_stream(raw), lanes, fmt.width)


def unpack_axi(words: np.ndarray, fmt: FixedType, lanes: int, shape: Sequence[int]) -> np.ndarray:
    """Inverse of ``pack_axi``: raw integers of shape ``shape``."""
    vals = unpack_output(np.asarray(words, dtype=np.uint8), lanes, fmt.width, fmt.signed)
    return from_stream(vals, shape)
