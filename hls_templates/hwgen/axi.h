// hwgen kernel library: AXI4-Stream adapters at the accelerator's edges.
//
// Packing of an AXI4-Stream frame (both directions). A stream word is LANES consecutive channels of
// one pixel; lane l (channel i*LANES + l of the pixel, for the pixel's word i) occupies word bits
// [l*W, l*W + W), W = the element type's width, as its raw two's-complement (or unsigned) bit
// pattern; bits from LANES*W up to BEATS*AXI_BITS are zero. The word travels in BEATS consecutive
// beats of AXI_BITS bits, beat b carrying word bits [b*AXI_BITS, (b+1)*AXI_BITS), so that in
// memory (an AXI DMA writes beats at ascending addresses, byte 0 = bits 7..0) a word is its
// BEATS*AXI_BITS/8 bytes, little-endian. Words follow the tensor's order: pixels in raster
// order, C/LANES words per pixel. TKEEP/TSTRB are all ones; TLAST marks the frame's last beat.
// The HLS top takes AXI_BITS from {8, 16, 32, 64} (kernels.py dma_beat_bits): PG021 lets an AXI
// DMA stream be no wider than its 64-bit memory-mapped side, so no width converter is needed.
//
// CFG (both adapters):
//   typedef data_t                       ap_[u]fixed element type
//   static const unsigned CHANNELS, PIXELS (H*W; 1 for a vector), LANES (divides CHANNELS)
//   static const unsigned AXI_BITS       multiple of 8 (TDATA width)
//   static const unsigned BEATS          beats per word: ceil(LANES * width / AXI_BITS)
// Cycles: PIXELS*CHANNELS/LANES*BEATS, II=1 (one beat per cycle). Buffers one word.
#ifndef HWGEN_AXI_H
#define HWGEN_AXI_H

#include "types.h"

namespace hwgen {

/// AXI4-Stream beats in, stream words out. TLAST is not checked (the frame length is fixed).
template <class CFG>
void axis_to_stream(hls::stream<axis_t<CFG::AXI_BITS> >& in,
                    hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& out) {
  typedef typename CFG::data_t T;
  const int W = fixed_traits<T>::width;
  const unsigned A = CFG::AXI_BITS, BEATS = CFG::BEATS;
  static_assert(A % 8 == 0, "axis_to_stream: AXI_BITS must be a multiple of 8");
  static_assert(BEATS * A >= CFG::LANES * W && (BEATS - 1) * A < CFG::LANES * W,
                "axis_to_stream: BEATS must be ceil(LANES * width / AXI_BITS)");
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "axis_to_stream: LANES must divide CHANNELS");
  // 32-bit counters: a frame is far below 2^32 beats (finn-hlslib's streaming kernels count in
  // unsigned too)
  const unsigned TOTAL = CFG::PIXELS * (CFG::CHANNELS / CFG::LANES) * BEATS;
  ap_uint<BEATS * A> word = 0;  // the beats of one word so far, the newest at the top
  unsigned beat = 0;
axis_in_loop:
  for (unsigned i = 0; i < TOTAL; ++i) {
#pragma HLS PIPELINE II = 1
    const axis_t<A> a = in.read();
    // a shift register (constant shifts are wiring), not a part-select at a variable position,
    // which would build a barrel shifter: the new beat enters at the top
    const ap_uint<(BEATS + 1) * A> both = (a.data, word);
    word = both >> A;
    if (beat == BEATS - 1) {
      Pack<T, CFG::LANES> v;
      for (unsigned l = 0; l < CFG::LANES; ++l) {
#pragma HLS UNROLL
        v.data[l].range(W - 1, 0) = word.range(l * W + W - 1, l * W);
      }
      out.write(v);
      beat = 0;
    } else {
      ++beat;
    }
  }
}

/// Stream words in, AXI4-Stream beats out, TLAST on the frame's last beat.
template <class CFG>
void stream_to_axis(hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& in,
                    hls::stream<axis_t<CFG::AXI_BITS> >& out) {
  typedef typename CFG::data_t T;
  const int W = fixed_traits<T>::width;
  const unsigned A = CFG::AXI_BITS, BEATS = CFG::BEATS;
  static_assert(A % 8 == 0, "stream_to_axis: AXI_BITS must be a multiple of 8");
  static_assert(BEATS * A >= CFG::LANES * W && (BEATS - 1) * A < CFG::LANES * W,
                "stream_to_axis: BEATS must be ceil(LANES * width / AXI_BITS)");
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "stream_to_axis: LANES must divide CHANNELS");
  const unsigned TOTAL = CFG::PIXELS * (CFG::CHANNELS / CFG::LANES) * BEATS;
  ap_uint<BEATS * A> word = 0;  // the beats still to send, the next one at the bottom
  unsigned beat = 0;
axis_out_loop:
  for (unsigned i = 0; i < TOTAL; ++i) {
#pragma HLS PIPELINE II = 1
    if (beat == 0) {
      const Pack<T, CFG::LANES> v = in.read();
      word = 0;
      for (unsigned l = 0; l < CFG::LANES; ++l) {
#pragma HLS UNROLL
        word.range(l * W + W - 1, l * W) = v.data[l].range(W - 1, 0);
      }
    }
    axis_t<A> a;
    a.data = word.range(A - 1, 0);
    a.keep = -1;
    a.strb = -1;
    a.last = i == TOTAL - 1;
    out.write(a);
    word >>= A;  // the next beat to the bottom (constant shift: wiring)
    beat = beat == BEATS - 1 ? 0 : beat + 1;
  }
}

}  // namespace hwgen

#endif  // HWGEN_AXI_H
