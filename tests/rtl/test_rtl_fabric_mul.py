"""hwgen_fabric_mul (products in LUTs) against the integer product, for every pair of operands, at
the widths and signedness the generator gives it; built with the simulation's Verilator options
(--output-split-cfuncs split an earlier procedural version into wrong code)."""
from __future__ import annotations

import os
import subprocess

import pytest

from hwgen.rtl.generate import HDL_DIR
from hwgen.rtl.sim import BUILD_ARGS, verilator_bin, verilator_env

# every (w, x): p must be w * x, w signed, x signed if X_SIGNED
DRIVER = """
#include "Vhwgen_fabric_mul.h"
#include <cstdio>
int main() {{
  Vhwgen_fabric_mul m;
  const int ww = {ww}, xw = {xw}, xs = {xs}, pw = ww + xw + 1;
  long n = 0, bad = 0;
  for (long i = 0; i < (1L << ww); i++)
    for (long j = 0; j < (1L << xw); j++) {{
      m.w = i;
      m.x = j;
      m.eval();
      long w = i >= (1L << (ww - 1)) ? i - (1L << ww) : i;
      long x = xs && j >= (1L << (xw - 1)) ? j - (1L << xw) : j;
      long p = (long)m.p;
      if (p >= (1L << (pw - 1))) p -= 1L << pw;  // the port's bits, two's complement
      bad += p != w * x;
      n++;
    }}
  std::printf("PRODUCTS %ld WRONG %ld\\n", n, bad);
  return 0;
}}
"""


# two of the four width pairs in the default suite (time), the other two under -m slow
@pytest.mark.parametrize("ww,xw,xs", [(8, 8, 0), pytest.param(3, 8, 1, marks=pytest.mark.slow),
                                      (9, 5, 1), pytest.param(6, 1, 0, marks=pytest.mark.slow)])
def test_every_product_is_exact(ww, xw, xs, tmp_path):
    driver = tmp_path / "driver.cpp"
    driver.write_text(DRIVER.format(ww=ww, xw=xw, xs=xs))
    env = {**os.environ, **verilator_env()}
    build = subprocess.run(
        [str(verilator_bin()), "--cc", "--exe", "--build", *BUILD_ARGS, f"-GWW={ww}",
         f"-GXW={xw}", f"-GX_SIGNED={xs}", "-Mdir", str(tmp_path / "obj"), "-o", "bench",
         str(HDL_DIR / "hwgen_fabric_mul.sv"), str(driver)],
        env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(tmp_path / "obj" / "bench")], capture_output=True, text=True)
    assert f"PRODUCTS {2 ** (ww + xw)} WRONG 0" in run.stdout, run.stdout + run.stderr
