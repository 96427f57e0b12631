"""hwgen_add (a Fire module's bypass sum) against the golden model's Add, for every pair of
operands of two unrelated formats, with the parameters the generator gives it: the operands'
alignment shifts, ReLU, and the output cast's rounding and overflow modes."""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from hwgen.fixed import FixedType
from hwgen.ir import Graph, Node, Tensor
from hwgen.ops import Add
from hwgen.rtl.generate import HDL_DIR
from hwgen.rtl.modules import add_kernel
from hwgen.design.folding import Folding
from hwgen.rtl.sim import BUILD_ARGS, verilator_bin, verilator_env

# every (a, b) raw pair, one per cycle through the output register: prints out_data
DRIVER = """
#include "Vhwgen_add.h"
#include <cstdio>
int main() {{
  Vhwgen_add m;
  m.clk = 0; m.rst_n = 0; m.eval(); m.clk = 1; m.eval(); m.clk = 0; m.rst_n = 1; m.eval();
  m.a_valid = 1; m.b_valid = 1; m.out_ready = 1;
  for (long i = 0; i < (1L << {aw}); i++)
    for (long j = 0; j < (1L << {bw}); j++) {{
      m.a_data = i; m.b_data = j; m.eval();
      if (!m.a_ready || !m.b_ready) return 1;
      m.clk = 1; m.eval(); m.clk = 0; m.eval();
      if (!m.out_valid) return 2;
      std::printf("%ld\\n", (long)m.out_data);
    }}
  return 0;
}}
"""

CASES = [  # a, b, out, relu
    (FixedType(8, 4, False), FixedType(8, 2, True), FixedType(8, 3, True, "AP_RND", "AP_SAT"),
     False),
    (FixedType(6, 4, True), FixedType(8, 6, True), FixedType(6, 3, False, "AP_TRN", "AP_WRAP"),
     True),
    (FixedType(8, 8, False), FixedType(7, 4, False),
     FixedType(8, 8, False, "AP_RND_CONV", "AP_SAT_SYM"), False),
    (FixedType(5, 1, True), FixedType(8, 8, True),
     FixedType(8, 6, True, "AP_RND_ZERO", "AP_SAT_ZERO"), True),
]


def _params(a: FixedType, b: FixedType, y: FixedType, relu: bool) -> dict:
    g = Graph("t", "a", "y", tensors={"a": Tensor("a", (1, 1, 1), fmt=a),
                                      "b": Tensor("b", (1, 1, 1), fmt=b),
                                      "y": Tensor("y", (1, 1, 1), fmt=y)})
    node = Node("add", Add(relu=relu), ["a", "b"], ["y"])
    g.nodes.append(node)
    return add_kernel(g, node, Folding(pe=1), "u_add").params


# two of the four operand pairs in the default suite (time), the other two under -m slow
@pytest.mark.parametrize("a,b,y,relu", [CASES[0], CASES[1]] + [
    pytest.param(*c, marks=pytest.mark.slow) for c in CASES[2:]])
def test_every_sum_is_bit_exact(a, b, y, relu, tmp_path):
    params = _params(a, b, y, relu)
    driver = tmp_path / "driver.cpp"
    driver.write_text(DRIVER.format(aw=a.width, bw=b.width))
    env = {**os.environ, **verilator_env()}
    build = subprocess.run(
        [str(verilator_bin()), "--cc", "--exe", "--build", *BUILD_ARGS,
         *(f"-G{k}={v.sv()}" for k, v in params.items()), "-Mdir", str(tmp_path / "obj"),
         "-o", "bench", *(str(HDL_DIR / f) for f in ("hwgen_saturate.sv", "hwgen_round_shift.sv",
                                                      "hwgen_requant.sv", "hwgen_add.sv")),
         "--top-module", "hwgen_add", str(driver)],
        env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(tmp_path / "obj" / "bench")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = np.array(run.stdout.split(), dtype=np.int64)

    def raws(f: FixedType) -> np.ndarray:  # every bit pattern 0 .. 2^W - 1, as a raw value
        u = np.arange(1 << f.width, dtype=np.int64)
        return np.where(f.signed & (u >= 1 << (f.width - 1)), u - (1 << f.width), u)

    xa, xb = np.meshgrid(raws(a), raws(b), indexing="ij")
    want = y.cast(*Add(relu=relu).exact([xa.ravel(), xb.ravel()], [a, b]))
    want &= (1 << y.width) - 1  # the port's bits
    assert got.size == want.size
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{bad.size} wrong, first at a={xa.ravel()[bad[0]]}, " \
        f"b={xb.ravel()[bad[0]]}: {got[bad[0]]} != {want[bad[0]]}"
    # the cases reach the output's limits: saturation or wrapping is exercised
    y_raw = y.cast(*Add(relu=relu).exact([xa.ravel(), xb.ravel()], [a, b]))
    assert y_raw.max() == y.max_raw or y.overflow == "AP_WRAP"
