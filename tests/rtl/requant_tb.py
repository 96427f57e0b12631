"""cocotb test of hwgen_requant (through tests/rtl/hdl/requant_bank.sv): every input value of a
12-bit signed raw integer, every rounding and overflow mode, against hwgen.fixed.FixedType.cast."""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import Timer

from hwgen.fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType

XW, SHIFT, OW = 12, 3, 6
X_FRAC = 8  # any: only SHIFT = X_FRAC - out frac matters


def lanes(v: int, n: int, width: int) -> list[int]:
    return [(v >> (i * width)) & ((1 << width) - 1) for i in range(n)]


@cocotb.test()
async def every_mode_every_input(dut):
    xs = np.arange(-(1 << (XW - 1)), 1 << (XW - 1), dtype=np.int64)
    got_s, got_u, got_relu, got_acc, got_left = [], [], [], [], []
    for x in xs.tolist():
        dut.x.value = x & ((1 << XW) - 1)
        await Timer(1, unit="ns")
        got_s.append(lanes(int(dut.y_signed.value), 28, OW))
        got_u.append(lanes(int(dut.y_unsigned.value), 28, OW))
        got_relu.append(int(dut.y_relu.value))
        got_acc.append(int(dut.y_acc.value))
        got_left.append(int(dut.y_left.value))
    got_s, got_u = np.array(got_s), np.array(got_u)
    out_frac = X_FRAC - SHIFT
    for r, rnd in enumerate(ROUNDING_MODES):
        for o, ovf in enumerate(OVERFLOW_MODES):
            for signed, got in ((True, got_s), (False, got_u)):
                fmt = FixedType(OW, OW - out_frac, signed, rnd, ovf)
                want = fmt.to_bits(fmt.cast(xs, X_FRAC))
                bad = np.flatnonzero(got[:, r * 4 + o] != want)
                assert bad.size == 0, (f"{fmt}: x={xs[bad[0]]} gives {got[bad[0], r * 4 + o]}, "
                                       f"expected {want[bad[0]]}")
    fmt = FixedType(OW, OW - out_frac, True, "AP_RND", "AP_SAT")
    assert got_relu == fmt.to_bits(fmt.cast(np.maximum(xs, 0), X_FRAC)).tolist()
    acc = FixedType(9, 9 - X_FRAC, True, "AP_TRN", "AP_SAT")
    fmt = FixedType(OW, OW - out_frac, True, "AP_TRN", "AP_WRAP")
    assert got_acc == fmt.to_bits(fmt.cast(acc.cast(xs, X_FRAC), X_FRAC)).tolist()
    fmt = FixedType(XW + 2, XW + 2 - (X_FRAC + 2), True, "AP_TRN", "AP_WRAP")
    assert got_left == fmt.to_bits(fmt.cast(xs, X_FRAC)).tolist()
