// hwgen kernel library: stream plumbing -- regroup (lane-width conversion), duplicate (fork) and
// concat_channels (channel concatenation, the join of a Fire module).
#ifndef HWGEN_STREAM_H
#define HWGEN_STREAM_H

#include "types.h"

namespace hwgen {

namespace detail {

/// Lane-width conversion of a stream of TOTAL_CH channels (all pixels together) from IN_L to OUT_L
/// lanes; one of IN_L, OUT_L divides the other. One iteration moves min(IN_L, OUT_L) channels:
/// TOTAL_CH / min(IN_L, OUT_L) cycles, II=1, buffers one word.
template <typename T, unsigned IN_L, unsigned OUT_L, unsigned TOTAL_CH>
void regroup_impl(hls::stream<Pack<T, IN_L> >& in, hls::stream<Pack<T, OUT_L> >& out) {
  static_assert(IN_L % OUT_L == 0 || OUT_L % IN_L == 0,
                "regroup: one of the two lane counts must divide the other");
  static_assert(TOTAL_CH % IN_L == 0 && TOTAL_CH % OUT_L == 0,
                "regroup: lane counts must divide the channel count");
  const unsigned STEP = umin(IN_L, OUT_L);
  const unsigned SPLIT = IN_L / STEP;   // > 1: each input word becomes SPLIT output words
  const unsigned MERGE = OUT_L / STEP;  // > 1: MERGE input words make one output word
  const unsigned ITER = TOTAL_CH / STEP;
  Pack<T, IN_L> iw;
  Pack<T, OUT_L> ow;
  unsigned part = 0;
regroup_loop:
  for (unsigned i = 0; i < ITER; ++i) {
#pragma HLS PIPELINE II = 1
    if (SPLIT > 1) {
      if (part == 0) iw = in.read();
      for (unsigned l = 0; l < OUT_L; ++l) {
#pragma HLS UNROLL
        ow.data[l] = iw.data[part * STEP + l];
      }
      out.write(ow);
      if (++part == SPLIT) part = 0;
    } else {
      iw = in.read();
      for (unsigned l = 0; l < IN_L; ++l) {
#pragma HLS UNROLL
        ow.data[part * STEP + l] = iw.data[l];
      }
      if (++part == MERGE) {
        part = 0;
        out.write(ow);
      }
    }
  }
}

}  // namespace detail

/// regroup<CFG>: the same tensor with another number of lanes per word.
///
/// CFG: typedef data_t; CHANNELS, PIXELS (H*W), IN_LANES, OUT_LANES (one divides the other, both
/// divide CHANNELS).
/// Cycles: PIXELS*CHANNELS / min(IN_LANES, OUT_LANES). Buffers one word; latency ~2 cycles.
template <class CFG>
void regroup(hls::stream<Pack<typename CFG::data_t, CFG::IN_LANES> >& in,
             hls::stream<Pack<typename CFG::data_t, CFG::OUT_LANES> >& out) {
  static_assert(fits_u32((unsigned long long)CFG::PIXELS * CFG::CHANNELS),
                "regroup: 32-bit counters");
  detail::regroup_impl<typename CFG::data_t, CFG::IN_LANES, CFG::OUT_LANES,
                       CFG::PIXELS * CFG::CHANNELS>(in, out);
}

/// duplicate<CFG>: every word of `in` is written to both `out_a` and `out_b` (the fork in front of
/// a Fire module's two expand convolutions).
///
/// CFG: typedef data_t; CHANNELS, PIXELS (H*W), LANES (divides CHANNELS).
/// Cycles: PIXELS*CHANNELS/LANES, II=1. Buffers nothing: it stalls when either output is full, so
/// the FIFO on the expand1x1 branch must be deep enough for the expand3x3 branch's look-ahead
/// (see conv2d.h, "FIFO depths in a Fire module").
template <class CFG>
void duplicate(hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& in,
               hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& out_a,
               hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& out_b) {
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "duplicate: LANES must divide CHANNELS");
  static_assert(fits_u32((unsigned long long)CFG::PIXELS * CFG::CHANNELS),
                "duplicate: 32-bit counters");
  const unsigned WORDS = CFG::PIXELS * (CFG::CHANNELS / CFG::LANES);
duplicate_loop:
  for (unsigned i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
    const Pack<typename CFG::data_t, CFG::LANES> w = in.read();
    out_a.write(w);
    out_b.write(w);
  }
}

/// concat_channels<CFG>: per pixel, the C1 channels of `a` then the C2 channels of `b`.
///
/// CFG: typedef data_t (both inputs and the output share it: a Fire module's two expand outputs
/// have one format by construction); C1, C2, PIXELS (H*W), LANES (divides C1 and C2).
/// Cycles: PIXELS*(C1+C2)/LANES, II=1; one output word per cycle, read from a then b in lockstep
/// per pixel, so it stalls on whichever branch is behind. Buffers nothing.
template <class CFG>
void concat_channels(hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& a,
                     hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& b,
                     hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& out) {
  static_assert(CFG::C1 % CFG::LANES == 0 && CFG::C2 % CFG::LANES == 0,
                "concat_channels: LANES must divide C1 and C2");
  const unsigned WA = CFG::C1 / CFG::LANES, WB = CFG::C2 / CFG::LANES, WP = WA + WB;
  static_assert(fits_u32((unsigned long long)CFG::PIXELS * WP), "concat: 32-bit counters");
  const unsigned ITER = CFG::PIXELS * WP;
  unsigned w = 0;
concat_loop:
  for (unsigned i = 0; i < ITER; ++i) {
#pragma HLS PIPELINE II = 1
    Pack<typename CFG::data_t, CFG::LANES> v;
    if (w < WA) {
      v = a.read();
    } else {
      v = b.read();
    }
    out.write(v);
    if (++w == WP) w = 0;
  }
}

}  // namespace hwgen

#endif  // HWGEN_STREAM_H
