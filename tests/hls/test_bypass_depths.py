"""The depths of a bypassed Fire module's bypass stream (hwgen.design.depths.bypass_min_words,
bypass_depths) against the token model of the kernels' dataflow: the depth the rule gives
finishes, and smaller depths deadlock."""
from __future__ import annotations

import fifo_sim
import pytest

from hwgen.design.depths import DEFAULT_FIFO_DEPTH, bypass_min_words, fifo_depths

#: h, w, input channels, squeeze channels, lanes, c1 = c3, expand3x3 SIMD
SHAPES = [(6, 5, 8, 2, 2, 4, 2), (7, 7, 8, 4, 4, 4, 1), (5, 9, 16, 4, 4, 8, 4),
          (8, 6, 4, 2, 1, 2, 2), (9, 9, 16, 8, 8, 8, 8)]


def least_depth(runs, hi: int) -> int:
    """The least depth with which ``runs(depth)`` finishes (runs(hi) must)."""
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        if runs(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("complex_bypass", [False, True])
def test_bypass_depth_finishes_and_less_deadlocks(shape, complex_bypass):
    h, w, c_in, cs, lanes, ce, simd3 = shape
    if not complex_bypass:
        c_in = 2 * ce  # a simple bypass adds the input itself: equal channels
    d1 = fifo_depths(h, w, cs, lanes, simd3)["expand1x1_in"]
    rule = bypass_min_words(h, w, c_in, cs, lanes, simd3, ce, ce, lanes, complex_bypass)

    def runs(depth: int) -> bool:
        return fifo_sim.bypass_fire_runs(h, w, c_in, cs, lanes, ce, ce, simd3, complex_bypass,
                                         depth, d1)

    assert runs(rule)
    least = least_depth(runs, rule)
    assert not runs(least - 1)
    # the bypass holds about a row of the input: the default depth would deadlock
    assert least > DEFAULT_FIFO_DEPTH and least >= w * (2 * ce) // lanes
    if complex_bypass:  # an upper bound: the conv and its input stream hold a pixel more
        assert least <= rule <= least + (2 * ce) // lanes + DEFAULT_FIFO_DEPTH
    else:  # exact
        assert rule == least
