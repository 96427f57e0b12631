"""Fixed-point numbers with the exact semantics of Vitis HLS ``ap_fixed<W,I,Q,O>`` / ``ap_ufixed``.

A value of type ``FixedType`` is held as its raw integer ``r`` (int64): the number is ``r * 2**-frac``
with ``frac = W - I``. Everything here works on numpy arrays of raw integers so that the golden model
is integer-exact. ``tests/unit/test_fixed_vs_ap_types.py`` proves these casts against the real headers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .errors import HwgenError

ROUNDING_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF",
                  "AP_RND_CONV")
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
MAX_WIDTH = 62  # raw values and their products stay inside int64 / exact float64 sums
_BIG = 2.0 ** 62  # beyond every type's range, still inside int64


@dataclass(frozen=True)
class FixedType:
    width: int
    integer: int  # integer bits, sign bit included for signed types (may be negative or > width)
    signed: bool = True
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        if not 1 <= self.width <= MAX_WIDTH:
            raise HwgenError(f"fixed-point width {self.width} out of range: supported 1..{MAX_WIDTH}")
        if self.rounding not in ROUNDING_MODES:
            raise HwgenError(f"unknown quantisation mode {self.rounding!r}: supported "
                             + ", ".join(ROUNDING_MODES))
        if self.overflow not in OVERFLOW_MODES:
            raise HwgenError(f"unknown overflow mode {self.overflow!r}: supported "
                             + ", ".join(OVERFLOW_MODES))

    # ---- description ---------------------------------------------------------------------------
    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    @property
    def max_value(self) -> float:
        return self.max_raw * self.step

    def cpp(self) -> str:
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    __str__ = cpp

    def with_modes(self, rounding: str | None = None, overflow: str | None = None) -> "FixedType":
        return replace(self, rounding=rounding or self.rounding, overflow=overflow or self.overflow)

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """Parse ``ap_fixed<W,I[,Q[,O]]>`` or ``ap_ufixed<...>`` (also ``fixed<...>``/``ufixed<...>``)."""
        m = re.fullmatch(r"\s*(ap_)?(u?)fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*"
                         r"(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?>\s*", str(text))
        if not m:
            raise HwgenError(f"cannot read fixed-point type {text!r}: expected e.g. "
                             "ap_fixed<8,3> or ap_ufixed<8,4,AP_RND,AP_SAT>")
        return cls(width=int(m.group(3)), integer=int(m.group(4)), signed=m.group(2) != "u",
                   rounding=m.group(5) or "AP_TRN", overflow=m.group(6) or "AP_WRAP")

    # ---- conversions ---------------------------------------------------------------------------
    def quantize(self, x) -> np.ndarray:
        """Raw integers of ``ap_fixed(double x)``: round by ``rounding``, then handle overflow."""
        return self._overflow(self._round(x))

    def quantize_counting(self, x) -> tuple[np.ndarray, int]:
        """``quantize``, and how many values fell outside the range (saturated or wrapped)."""
        return self._overflow_counting(self._round(x))

    def _round(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore"):
            scaled = np.ldexp(x, self.frac)  # exact, unless it leaves float64's range (below)
        # ap_fixed(double) works on the double's own exponent and mantissa, so nothing is lost there:
        # a negative value that underflowed to 0 still floors to -1, as any value in (-1/2, 0) does,
        if self.frac < 0:
            scaled = np.where((scaled == 0) & (x < 0), -0.25, scaled)
        # and one beyond int64 keeps its low W bits under AP_WRAP: move it into +-[2**62, 2**63) with
        # the same residue modulo 2**62 (an infinity is a multiple of 2**62)
        big = np.abs(scaled) >= _BIG
        if big.any():
            residue = np.fmod(np.where(np.isinf(scaled), 0.0, scaled), _BIG)
            scaled = np.where(big, np.copysign(_BIG, scaled) + residue, scaled)
        return _round_float(scaled, self.rounding)

    def cast(self, raw, from_frac: int) -> np.ndarray:
        """Raw integers of this type assigned from an exact fixed value ``raw * 2**-from_frac``."""
        return self._overflow(self._rescale(raw, from_frac))

    def cast_counting(self, raw, from_frac: int) -> tuple[np.ndarray, int]:
        """``cast``, and how many values fell outside the range (saturated or wrapped)."""
        return self._overflow_counting(self._rescale(raw, from_frac))

    def _overflow_counting(self, r: np.ndarray) -> tuple[np.ndarray, int]:
        lo, hi = r.min(initial=0), r.max(initial=0)
        # AP_SAT_SYM never yields the most negative code, even from an in-range value
        sym = self.overflow == "AP_SAT_SYM" and self.signed and self.width > 1
        if lo >= (self.min_raw + 1 if sym else self.min_raw) and hi <= self.max_raw:
            return r, 0
        return self._overflow(r), int(np.count_nonzero((r < self.min_raw) | (r > self.max_raw)))

    def _rescale(self, raw, from_frac: int) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.int64)
        shift = from_frac - self.frac
        if shift > 0:
            return shift_round(raw, shift, self.rounding)
        if shift == 0:
            return raw
        v = raw << -shift
        # bits pushed out of int64 mean out of range: move those values into +-[2**62, 2**63),
        # keeping their low 62 bits for AP_WRAP (ap_fixed shifts in a wide enough register)
        lost = (v >> -shift) != raw
        if lost.any():
            low = v & ((1 << 62) - 1)
            v = np.where(lost, low | np.where(raw < 0, np.int64(-1 << 63), np.int64(1 << 62)), v)
        return v

    def dequantize(self, raw) -> np.ndarray:
        return np.ldexp(np.asarray(raw, dtype=np.float64), -self.frac)

    def to_bits(self, raw) -> np.ndarray:
        """W-bit two's-complement patterns (as unsigned int64), as packed on a stream."""
        return np.asarray(raw, dtype=np.int64) & ((1 << self.width) - 1)

    def from_bits(self, bits) -> np.ndarray:
        bits = np.asarray(bits, dtype=np.int64) & ((1 << self.width) - 1)
        if self.signed:
            bits = np.where(bits >= (1 << (self.width - 1)), bits - (1 << self.width), bits)
        return bits

    def _overflow(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.int64)
        lo, hi = self.min_raw, self.max_raw
        if self.overflow == "AP_WRAP":
            return self.from_bits(v)
        if self.overflow == "AP_SAT":
            return np.clip(v, lo, hi)
        if self.overflow == "AP_SAT_SYM":
            # the most negative code is skipped (ap_fixed sets min, then ORs in the LSB) -- which, in
            # a 1-bit signed type, is the sign bit again: there it saturates like AP_SAT
            return np.clip(v, -hi if self.signed and self.width > 1 else lo, hi)
        return np.where((v < lo) | (v > hi), 0, v)  # AP_SAT_ZERO


def _round_float(s: np.ndarray, mode: str) -> np.ndarray:
    """Round float64 values to integers the way ap_fixed's quantisation modes do."""
    fl = np.floor(s)
    frac = s - fl  # exact (Sterbenz), except for -1/2 < s < 0 where it may round up to exactly 1/2
    tiny_neg = (s < 0) & (s > -0.5)  # ... while the true fraction there is above one half
    half, above = (frac == 0.5) & ~tiny_neg, (frac > 0.5) | tiny_neg
    if mode == "AP_TRN":
        r = fl
    elif mode == "AP_TRN_ZERO":
        r = np.trunc(s)
    else:
        up = {
            "AP_RND": half,
            "AP_RND_ZERO": half & (s < 0),
            "AP_RND_MIN_INF": np.zeros_like(half),
            "AP_RND_INF": half & (s > 0),
            "AP_RND_CONV": half & (np.mod(fl, 2) == 1),
        }[mode]
        r = fl + (above | up)
    return r.astype(np.int64)


def shift_round(raw: np.ndarray, shift: int, mode: str) -> np.ndarray:
    """``raw / 2**shift`` rounded to an integer by ``mode`` (shift > 0), in exact integer arithmetic."""
    raw = np.asarray(raw, dtype=np.int64)
    shift = min(shift, 63)  # |raw| < 2**62: any longer shift leaves a value in (-1/2, 1/2) all the same
    if mode == "AP_TRN":
        return raw >> shift
    if mode == "AP_RND":  # the common case, in one pass: floor(x + 1/2)
        return (raw + (1 << (shift - 1))) >> shift
    fl = raw >> shift  # floor
    rem = raw - (fl << shift)  # 0 <= rem < 2**shift
    half = 1 << (shift - 1)
    is_half, above = rem == half, rem > half
    if mode == "AP_TRN_ZERO":
        return fl + ((raw < 0) & (rem != 0))
    up = {
        "AP_RND_ZERO": is_half & (raw < 0),
        "AP_RND_MIN_INF": np.zeros_like(is_half),
        "AP_RND_INF": is_half & (raw > 0),
        "AP_RND_CONV": is_half & ((fl & 1) == 1),
    }[mode]
    return fl + (above | up)


def bits_for(max_abs: float) -> int:
    """Integer bits (sign excluded) needed to represent magnitudes up to ``max_abs``."""
    if max_abs <= 0:
        return 0
    return int(np.floor(np.log2(max_abs))) + 1
