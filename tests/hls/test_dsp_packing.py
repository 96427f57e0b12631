"""Two products per DSP48 (conv2d.h detail::mul2, hwgen.design.cost.packs_two): the packed
multiplication against the two plain products, for every operand value at the widths the
hardware packs, compiled with the real ap_types headers; and the width rule against the DSP48E1's
25 x 18 multiplier (UG479)."""
from __future__ import annotations

import subprocess

import pytest

from hwgen import toolchain
from hwgen.design.cost import packs_two
from hwgen.resources import data_dir

PROGRAM = r"""
#include <cstdio>
#include <cstdlib>
#include "hwgen/conv2d.h"

template <int W, int X, bool XS>
struct TR {  // the conv_traits fields mul2 reads
  static const int W_BITS = W, IN_BITS = X;
  static const bool IN_SIGNED = XS;
};

// every (w_lo, w_hi, x) when there are at most 2^25 of them, else 2^22 drawn at random (plus the
// extremes): returns the number of wrong products
template <int W, int X, bool XS>
long check() {
  typedef TR<W, X, XS> T;
  typedef typename hwgen::select_type<XS, ap_int<X>, ap_uint<X> >::type x_t;
  const long wn = 1L << W, xn = 1L << X, wmin = -(1L << (W - 1)), xmin = XS ? -(1L << (X - 1)) : 0;
  const bool all = wn * wn * xn <= (1L << 25);
  const long n = all ? wn * wn * xn : (1L << 22);
  long bad = 0;
  unsigned long r = 12345;
  for (long i = 0; i < n; ++i) {
    long a, b, c;
    if (all) {
      a = i % wn; b = (i / wn) % wn; c = i / (wn * wn);
    } else {
      r = r * 6364136223846793005UL + 1442695040888963407UL;
      a = (r >> 11) % wn; b = (r >> 29) % wn; c = (r >> 40) % xn;
      if (i < 8) { a = (i & 1) ? wn - 1 : 0; b = (i & 2) ? wn - 1 : 0; c = (i & 4) ? xn - 1 : 0; }
    }
    const ap_int<W> lo = wmin + a, hi = wmin + b;
    const x_t x = xmin + c;
    typename hwgen::detail::mul2_traits<T>::p_t plo, phi;
    hwgen::detail::mul2<T>(lo, hi, x, plo, phi);
    const long want_lo = (wmin + a) * (xmin + c), want_hi = (wmin + b) * (xmin + c);
    if (plo.to_int64() != want_lo || phi.to_int64() != want_hi) {
      if (bad < 3) std::printf("W=%d X=%d XS=%d: %ld %ld x %ld -> %lld %lld\n", W, X, XS,
                               wmin + a, wmin + b, xmin + c, (long long)plo.to_int64(),
                               (long long)phi.to_int64());
      ++bad;
    }
  }
  std::printf("W=%d X=%d signed x=%d: %ld products, %ld wrong\n", W, X, XS, 2 * n, bad);
  return bad;
}

int main() {
  // every case at the limit 2W + X + 1 = 25 or the 18-bit port, and two tiny ones
  long bad = check<8, 8, false>() + check<8, 8, true>() + check<4, 16, false>() +
             check<4, 16, true>() + check<6, 12, false>() + check<2, 18, true>() +
             check<2, 2, true>() + check<3, 1, false>();
  return bad ? 1 : 0;
}
"""


@pytest.fixture(scope="module")
def packing_exe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mul2")
    src, exe = folder / "mul2.cpp", folder / "mul2"
    src.write_text(PROGRAM)
    subprocess.run([toolchain.cxx(), "-std=c++14", "-O2", "-DHWGEN_CSIM_NATIVE=0", "-w",
                    f"-I{toolchain.ap_types_include()}", f"-I{data_dir('hls_templates')}",
                    str(src), "-o", str(exe)], check=True, capture_output=True, text=True)
    return exe


def test_packed_products_exact_for_every_operand(packing_exe):
    run = subprocess.run([str(packing_exe)], capture_output=True, text=True, timeout=300)
    print(run.stdout)
    assert run.returncode == 0, run.stdout
    assert run.stdout.count(", 0 wrong") == 8


def test_packing_rule_is_the_dsp48e1_multiplier():
    # 25-bit port: w_hi * 2^(W+X) + w_lo takes 2W + X + 1 bits; 18-bit port: x as signed
    assert packs_two(8, 8, True, False) and packs_two(8, 8, True, True)
    assert not packs_two(8, 9, True, True) and not packs_two(9, 8, True, False)
    assert packs_two(4, 16, True, False) and not packs_two(4, 17, True, False)
    assert packs_two(2, 18, True, True) and not packs_two(2, 19, True, True)
    assert not packs_two(2, 18, True, False)  # 19 bits on the 18-bit port
    assert not packs_two(8, 8, False, False)  # unsigned weights: no borrow rule
