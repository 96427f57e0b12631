"""Activation statistics from float inference on sample images, and the policies that turn them
into power-of-two fixed-point formats."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, bits_for
from ..schema import POLICIES

SAMPLES_PER_IMAGE = 20000  # values kept per tensor per image: enough for percentiles and MSE


@dataclass
class TensorStats:
    max_abs: float = 0.0
    min_value: float = np.inf
    samples: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, rng: np.random.Generator) -> None:
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        self.max_abs = max(self.max_abs, float(np.abs(x).max(initial=0)))
        self.min_value = min(self.min_value, float(x.min(initial=np.inf)))
        if x.size > SAMPLES_PER_IMAGE:
            x = rng.choice(x, SAMPLES_PER_IMAGE, replace=False)
        self.samples.append(x)

    def values(self) -> np.ndarray:
        return np.concatenate(self.samples) if self.samples else np.zeros(1, np.float32)


def integer_bits_for(max_abs: float, width: int, signed: bool) -> int:
    """Fewest integer bits (sign included) so that ``max_abs`` is (nearly) representable.

    max_raw * step >= max_abs up to one step: with I bits the top is 2**(I-signed) - step.
    """
    return bits_for(max_abs) + int(signed)


def choose_format(values: np.ndarray, max_abs: float, width: int, signed: bool, policy: str,
                  percentile: float, rounding: str, overflow: str) -> FixedType:
    if policy not in POLICIES:
        raise HwgenError(f"calibration policy {policy!r} unknown; supported: {', '.join(POLICIES)}")
    top = integer_bits_for(max_abs, width, signed)
    if policy == "max":
        integer = top
    elif policy == "percentile":
        integer = integer_bits_for(float(np.percentile(np.abs(values), percentile)), width, signed)
    else:  # least squared error over the candidates that clip at most 4 bits of range
        best = None
        for cand in range(top - 4, top + 1):
            f = FixedType(width, cand, signed, rounding, overflow)
            err = float(np.mean((f.dequantize(f.quantize(values)) - values) ** 2))
            if best is None or err < best[0]:
                best = (err, cand)
        integer = best[1]
    return FixedType(width, integer, signed, rounding, overflow)


def weight_format(w: np.ndarray, width: int, policy: str = "max") -> FixedType:
    """Power-of-two format for constant data (weights, biases): 'max' keeps every value in range,
    'mse' may clip a few outliers to buy resolution for the others."""
    if policy not in ("max", "mse"):
        raise HwgenError(f"weight calibration {policy!r}; supported: max, mse")
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    return choose_format(w, float(np.abs(w).max(initial=0)), width, True, policy, 100.0,
                         "AP_RND_CONV", "AP_SAT")
