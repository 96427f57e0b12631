// hwgen kernel library: add_streams, the element-wise sum of two streams (a Fire module's bypass).
#ifndef HWGEN_ADD_H
#define HWGEN_ADD_H

#include "types.h"

namespace hwgen {

// add_streams<CFG>(a, b, out)
// ===========================
//   a   : hls::stream<Pack<a_t, LANES>>     (C, H, W), raster order
//   b   : hls::stream<Pack<b_t, LANES>>     the same tensor shape, the same lanes
//   out : hls::stream<Pack<out_t, LANES>>
// What it computes (bit-exact with hwgen.ops.Add.exact, then the cast to out_t):
//   s = sum_t(a) + sum_t(b)   exactly: sum_t (Add.sum_format) has the finer of the two fraction
//                             bits and room for every sum, so each operand is an exact shift
//   if RELU: s = max(s, 0)
//   out = (out_t)s            out_t's rounding and overflow modes apply once
// CFG:
//   typedef a_t, b_t, sum_t, out_t       ap_[u]fixed
//   static const unsigned CHANNELS, PIXELS (H*W), LANES (divides CHANNELS)
//   static const bool RELU
// One loop of PIXELS*CHANNELS/LANES iterations at II=1, a word of each input per iteration: it
// stalls on whichever input is behind. Buffers nothing, so the bypass stream must hold what the
// Fire module reads before it emits the matching output (hwgen.design.depths.bypass_depth).
template <class CFG>
void add_streams(hls::stream<Pack<typename CFG::a_t, CFG::LANES> >& a,
                 hls::stream<Pack<typename CFG::b_t, CFG::LANES> >& b,
                 hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
  typedef typename CFG::sum_t sum_t;
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "add_streams: LANES must divide CHANNELS");
  static_assert(fits_u32((unsigned long long)CFG::PIXELS * CFG::CHANNELS),
                "add_streams: 32-bit counters");
  const unsigned WORDS = CFG::PIXELS * (CFG::CHANNELS / CFG::LANES);
add_loop:
  for (unsigned i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
    const Pack<typename CFG::a_t, CFG::LANES> x = a.read();
    const Pack<typename CFG::b_t, CFG::LANES> y = b.read();
    Pack<typename CFG::out_t, CFG::LANES> o;
    for (unsigned l = 0; l < CFG::LANES; ++l) {
#pragma HLS UNROLL
      sum_t s = sum_t(x.data[l]) + sum_t(y.data[l]);
      if (CFG::RELU && s < 0) s = 0;
      o.data[l] = s;
    }
    out.write(o);
  }
}

}  // namespace hwgen

#endif  // HWGEN_ADD_H
