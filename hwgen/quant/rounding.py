"""Weight rounding optimisation (GPTQ / Optimal Brain Quantisation).

Rounding every weight to its nearest grid value is not what minimises a layer's output error: the
errors of weights that see correlated inputs can cancel. Given a Conv's inputs on calibration
images, we look for grid weights Q minimising ``||W X - Q Xq||^2``, where X are the float inputs and
Xq the inputs the fixed-point network actually produces (so upstream quantisation error is
compensated too). Only the choice of grid value changes: the format, the hardware and the golden
model stay the same.

With H = Xq Xq^T, the real minimiser is W* = W (X Xq^T) H^-1 and the objective is
``(Q - W*) H (Q - W*)^T`` up to a constant. Input columns are quantised one at a time, most
active first; each column's rounding error is spread over the columns not yet quantised through
the Cholesky factor of H^-1 (Frantar et al., "GPTQ", 2023).
"""
from __future__ import annotations

import base64
import zlib

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..schema import WEIGHT_ROUNDINGS

METHODS = WEIGHT_ROUNDINGS
# of H's mean diagonal: keeps H invertible and W* near W where the calibration data says little
# (0.1 gave the best logits on held-out calibration images, against 0.01, 0.03 and 0.2; 0.01
# overfits the last layers)
DAMPING = 0.1


def input_moments(columns) -> tuple[np.ndarray, np.ndarray]:
    """H = sum Xq Xq^T and C = sum X Xq^T over (float im2col, fixed im2col) pairs."""
    h = c = None
    for xf, xq in columns:
        xf, xq = np.asarray(xf, np.float64), np.asarray(xq, np.float64)
        h = xq @ xq.T if h is None else h + xq @ xq.T
        c = xf @ xq.T if c is None else c + xf @ xq.T
    return h, c


def gptq_round(weight: np.ndarray, fmt: FixedType, h: np.ndarray, c: np.ndarray | None = None,
               damping: float | None = None, shift: np.ndarray | None = None) -> np.ndarray:
    """Raw integers of ``fmt`` for ``weight`` (Cout, ...) given the moments H and C (d, d) of the
    layer's d = prod(weight.shape[1:]) inputs; without C, plain GPTQ (the inputs taken as exact).
    ``shift``: per output channel, fraction bits more than ``fmt`` (per-channel formats; the rows
    are independent, so each simply rounds on its own grid)."""
    shape = weight.shape
    w = weight.reshape(shape[0], -1).astype(np.float64)
    h = np.array(h, dtype=np.float64)
    # damping keeps H invertible; an input never nonzero on calibration data is then decoupled
    # from the others, and its weights keep their nearest grid value
    lam = (DAMPING if damping is None else damping) * max(float(np.mean(np.diag(h))), 1e-12)
    h[np.diag_indices_from(h)] += lam
    target = w if c is None else _least_squares(w, h, c, lam)
    order = np.argsort(-np.diag(h), kind="stable")
    u = _inverse_cholesky(h[np.ix_(order, order)])
    q = _quantise_columns(target[:, order], u, fmt, shift)
    raw = np.empty_like(q)
    raw[:, order] = q
    return raw.reshape(shape)


def _least_squares(w, h, c, lam):
    """W* = W (C + lam I) (H + lam I)^-1, with h already damped: the real weights best reproducing
    the float outputs from the fixed inputs, kept near W (ridge) where the data says little. W* = W
    when the inputs are exact (C = H)."""
    wc = w @ c + lam * w
    return np.linalg.solve(h, wc.T).T  # H is symmetric


def _inverse_cholesky(h):
    """Upper factor U of H^-1 = U^T U: row i tells how column i's error moves the later columns."""
    return np.linalg.cholesky(np.linalg.inv(h)).T


def _quantise_columns(w, u, fmt: FixedType, shift=None, block: int = 64) -> np.ndarray:
    """Column by column; the errors of a block of columns reach the later columns in one product
    (the same arithmetic as one column at a time, with far fewer passes over W)."""
    w = w.copy()
    scale = np.ldexp(1.0, fmt.frac + (np.zeros(w.shape[0], np.int64) if shift is None
                                      else np.asarray(shift, np.int64)))
    raw = np.empty(w.shape, dtype=np.int64)
    for b0 in range(0, w.shape[1], block):
        b1 = min(b0 + block, w.shape[1])
        err = np.empty((w.shape[0], b1 - b0))
        for i in range(b0, b1):
            r = np.clip(np.rint(w[:, i] * scale), fmt.min_raw, fmt.max_raw)
            raw[:, i] = r
            err[:, i - b0] = (w[:, i] - r / scale) / u[i, i]
            w[:, i + 1:b1] -= np.outer(err[:, i - b0], u[i, i + 1:b1])
        w[:, b1:] -= err @ u[b0:b1, b1:]
    return raw


def encode_offsets(raw: np.ndarray, nearest: np.ndarray) -> str:
    """Optimised raw weights as text for a resolved configuration: their distance from the nearest
    grid value (mostly 0 or +-1, so it compresses well), int16, zlib, base64."""
    d = (np.asarray(raw, np.int64) - nearest).astype("<i2")
    return base64.b64encode(zlib.compress(d.tobytes(), 9)).decode("ascii")


def decode_offsets(text: str, nearest: np.ndarray, fmt: FixedType) -> np.ndarray:
    """Raw weights back from ``encode_offsets`` (clipped to ``fmt``, should it have been edited)."""
    try:
        d = np.frombuffer(zlib.decompress(base64.b64decode(text, validate=True)), "<i2")
    except (ValueError, zlib.error):
        raise HwgenError("weight_offsets: not the base64 text hwgen config writes") from None
    if d.size != nearest.size:
        raise HwgenError(f"weight_offsets: {d.size} values for {nearest.size} weights")
    return np.clip(nearest + d.reshape(nearest.shape), fmt.min_raw, fmt.max_raw)
