// hwgen kernel library: max pooling and global average pooling.
#ifndef HWGEN_POOL_H
#define HWGEN_POOL_H

#include "types.h"
#include "window.h"

namespace hwgen {

// maxpool2d<CFG>(in, out)
// =======================
//   in  : hls::stream<Pack<in_t, LANES>>    (C, IN_H, IN_W), raster order
//   out : hls::stream<Pack<out_t, LANES>>   (C, OUT_H, OUT_W), raster order (lanes pass through)
// What it computes (bit-exact with hwgen.ops.MaxPool.exact, then the cast to out_t -- normally
// out_t == in_t and the cast is the identity):
//   out[c][oy][ox] = max over ky, kx in [0, K) of x[c][oy*STRIDE-PAD_T+ky][ox*STRIDE-PAD_L+kx],
//   over the positions inside the input only: padding, and (ceil mode) the part of a last window
//   past the end, never win. They are fed as in_t's lowest value, which cannot change a max, and
//   every window holds at least one input position (PAD_T, PAD_L < K; OUT_H/OUT_W as given by
//   hwgen.ops.pool.pooled_size, which drops windows that would start in the end padding).
// CFG:
//   typedef in_t, out_t                  ap_[u]fixed element types
//   static const unsigned IN_H, IN_W, C, LANES (divides C)
//   static const unsigned K, STRIDE, PAD_T, PAD_L, PAD_B, PAD_R
//   static const bool CEIL_MODE          (documentation: OUT_H / OUT_W already reflect it)
//   static const unsigned OUT_H, OUT_W
//   static const int WIN_STORAGE         the window's row buffer (STORE_LUTRAM / STORE_BRAM)
//   static const int M_STORAGE           the running maxima (STORE_REG / STORE_LUTRAM,
//                                        hwgen.hls.cost.rmw_memory)
// Structure: sliding_window (window.h) -> max reduction, in a DATAFLOW region. The reduction is
// one loop of OUT_H*OUT_W*K*K*C/LANES iterations at II=1 keeping C running maxima.
// Cycles ~ max(window iterations, OUT_H*OUT_W*K*K*C/LANES) + ~4. Buffers: the window buffer
// ((K+STRIDE) rows x IN_W x C) and C maxima. First output after K - PAD_T input rows.
namespace detail {

template <class CFG>
struct pool_window {
  typedef typename CFG::in_t T;
  static const unsigned IN_H = CFG::IN_H, IN_W = CFG::IN_W, C = CFG::C;
  static const unsigned IN_LANES = CFG::LANES, OUT_LANES = CFG::LANES;
  static const unsigned K = CFG::K, STRIDE = CFG::STRIDE, PAD_T = CFG::PAD_T, PAD_L = CFG::PAD_L;
  static const unsigned OUT_H = CFG::OUT_H, OUT_W = CFG::OUT_W;
  static const bool PAD_LOWEST = true;  // padding never wins a max
  static const int STORAGE = CFG::WIN_STORAGE;
};

/// The reduction on a maxima array m[CW][LANES] declared (with its pragmas) by max_reduce.
/// m[cw] is read and written once per word and again CW words later (cw wraps at CW): the true
/// inter-iteration dependence distance is CW, stated with UG1399 "pragma HLS dependence"; for
/// CW <= cost.RMW_REG_DEPTH m is registers, where an update takes one cycle.
template <class CFG>
void max_reduce_body(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& win,
                     hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out,
                     typename CFG::in_t m[CFG::C / CFG::LANES][CFG::LANES]) {
#pragma HLS INLINE
  typedef typename CFG::in_t in_t;
  const unsigned LANES = CFG::LANES, CW = CFG::C / CFG::LANES, KK = CFG::K * CFG::K;
  static_assert(fits_u32((unsigned long long)CFG::OUT_H * CFG::OUT_W * KK * CW),
                "maxpool2d: 32-bit counters");
  const unsigned ITER = CFG::OUT_H * CFG::OUT_W * KK * CW;
  unsigned k = 0, cw = 0;
max_reduce_loop:
  for (unsigned i = 0; i < ITER; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = m inter distance = CW true
    const Pack<in_t, CFG::LANES> v = win.read();
    Pack<typename CFG::out_t, CFG::LANES> o;
    for (unsigned l = 0; l < LANES; ++l) {
#pragma HLS UNROLL
      const in_t cur = (k == 0 || v.data[l] > m[cw][l]) ? v.data[l] : m[cw][l];
      m[cw][l] = cur;
      o.data[l] = cur;
    }
    if (k == KK - 1) out.write(o);
    if (++cw == CW) {
      cw = 0;
      if (++k == KK) k = 0;
    }
  }
}

template <class CFG, int S>
struct max_reduce_m;
template <class CFG>
struct max_reduce_m<CFG, STORE_REG> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& win,
                  hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
#pragma HLS INLINE
    typename CFG::in_t m[CFG::C / CFG::LANES][CFG::LANES];
#pragma HLS ARRAY_PARTITION variable = m complete dim = 0
    max_reduce_body<CFG>(win, out, m);
  }
};
template <class CFG>
struct max_reduce_m<CFG, STORE_LUTRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& win,
                  hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
#pragma HLS INLINE
    typename CFG::in_t m[CFG::C / CFG::LANES][CFG::LANES];
#pragma HLS ARRAY_PARTITION variable = m complete dim = 2
// UG1399 "pragma HLS bind_storage": one read and one write per lane bank and cycle
#pragma HLS BIND_STORAGE variable = m type = ram_2p impl = lutram
    max_reduce_body<CFG>(win, out, m);
  }
};

template <class CFG>
void max_reduce(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& win,
                hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
  max_reduce_m<CFG, CFG::M_STORAGE>::run(win, out);
}

}  // namespace detail

template <class CFG>
void maxpool2d(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& in,
               hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
#pragma HLS DATAFLOW
  static_assert(CFG::C % CFG::LANES == 0, "maxpool2d: LANES must divide C");
  static_assert(CFG::PAD_T < CFG::K && CFG::PAD_L < CFG::K, "maxpool2d: padding must be below K");
  hls::stream<Pack<typename CFG::in_t, CFG::LANES> > win("maxpool_window");
#pragma HLS STREAM variable = win depth = 2
  sliding_window<detail::pool_window<CFG> >(in, win);
  detail::max_reduce<CFG>(win, out);
}

// global_avgpool<CFG>(in, out)
// ============================
//   in  : hls::stream<Pack<in_t, LANES>>    (C, IN_H, IN_W), raster order
//   out : hls::stream<Pack<out_t, LANES>>   the (C,) vector: C/LANES words
// What it computes (bit-exact with hwgen.ops.GlobalAvgPool.exact, then the cast to out_t):
//   sum[c] = sum of x[c][y][x] over the IN_H*IN_W pixels, exactly, in sum_t (the
//            GlobalAvgPool.sum_format: in_t widened by ceil(log2(IN_H*IN_W)) integer bits)
//   out[c] = (out_t)(sum[c] * R), R = RECIP * 2^-RECIP_FRAC, the unsigned RECIP_BITS-bit
//            constant nearest to 1/(IN_H*IN_W) (GlobalAvgPool.reciprocal); the product is exact
//            (ap_fixed full precision) and out_t's rounding / overflow modes apply once.
// CFG:
//   typedef in_t, out_t, sum_t           ap_[u]fixed; sum_t has in_t's fraction bits
//   static const unsigned IN_H, IN_W, C, LANES (divides C)
//   static const unsigned RECIP_BITS, RECIP (raw), static const int RECIP_FRAC
//   static const int ACC_STORAGE         the running sums (STORE_REG / STORE_LUTRAM)
// One loop of IN_H*IN_W*C/LANES iterations at II=1; the output words are written during the last
// pixel. Cycles ~ IN_H*IN_W*C/LANES + ~5. Buffers C sums (C * sum_t bits). Produces nothing
// until the whole frame has been read.
namespace detail {

/// The sums acc[CW][LANES], declared (with their pragmas) by global_avgpool. acc[cw] is updated
/// once per word and again CW words later: true dependence distance CW (UG1399 "pragma HLS
/// dependence"); registers for CW <= cost.RMW_REG_DEPTH.
template <class CFG>
void gap_body(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& in,
              hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out,
              typename CFG::sum_t acc[CFG::C / CFG::LANES][CFG::LANES]) {
#pragma HLS INLINE
  typedef typename CFG::sum_t sum_t;
  typedef ap_ufixed<CFG::RECIP_BITS, (int)CFG::RECIP_BITS - CFG::RECIP_FRAC> recip_t;
  const unsigned LANES = CFG::LANES, CW = CFG::C / CFG::LANES;
  static_assert(fits_u32((unsigned long long)CFG::IN_H * CFG::IN_W * CW),
                "global_avgpool: 32-bit counters");
  const unsigned PIX = CFG::IN_H * CFG::IN_W;
  recip_t r;
  r.range(CFG::RECIP_BITS - 1, 0) = CFG::RECIP;
  unsigned pix = 0;
  unsigned cw = 0;
gap_loop:
  for (unsigned i = 0; i < PIX * CW; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = acc inter distance = CW true
    const Pack<typename CFG::in_t, CFG::LANES> v = in.read();
    const bool last = pix == PIX - 1;
    Pack<typename CFG::out_t, CFG::LANES> o;
    for (unsigned l = 0; l < LANES; ++l) {
#pragma HLS UNROLL
      sum_t s = pix == 0 ? sum_t(0) : acc[cw][l];
      s += v.data[l];
      acc[cw][l] = s;
      if (last) o.data[l] = s * r;
    }
    if (last) out.write(o);
    if (++cw == CW) {
      cw = 0;
      ++pix;
    }
  }
}

template <class CFG, int S>
struct gap_acc;
template <class CFG>
struct gap_acc<CFG, STORE_REG> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
#pragma HLS INLINE
    typename CFG::sum_t acc[CFG::C / CFG::LANES][CFG::LANES];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    gap_body<CFG>(in, out, acc);
  }
};
template <class CFG>
struct gap_acc<CFG, STORE_LUTRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
#pragma HLS INLINE
    typename CFG::sum_t acc[CFG::C / CFG::LANES][CFG::LANES];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
// UG1399 "pragma HLS bind_storage": one read and one write per lane bank and cycle
#pragma HLS BIND_STORAGE variable = acc type = ram_2p impl = lutram
    gap_body<CFG>(in, out, acc);
  }
};

}  // namespace detail

template <class CFG>
void global_avgpool(hls::stream<Pack<typename CFG::in_t, CFG::LANES> >& in,
                    hls::stream<Pack<typename CFG::out_t, CFG::LANES> >& out) {
  static_assert(CFG::C % CFG::LANES == 0, "global_avgpool: LANES must divide C");
  static_assert(fixed_traits<typename CFG::sum_t>::frac == fixed_traits<typename CFG::in_t>::frac,
                "global_avgpool: sum_t must have in_t's fraction bits");
  detail::gap_acc<CFG, CFG::ACC_STORAGE>::run(in, out);
}

}  // namespace hwgen

#endif  // HWGEN_POOL_H
