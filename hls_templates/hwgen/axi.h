// hwgen kernel library: AXI4-Stream adapters at the accelerator's edges.
//
// Packing of an AXI4-Stream word (both directions): one AXI word carries exactly one stream word,
// i.e. LANES consecutive channels of one pixel; lane l (channel i*LANES + l of the pixel, for the
// pixel's word i) occupies data bits [l*W, l*W + W), W = the element type's width, as its raw
// two's-complement (or unsigned) bit pattern. Bits from LANES*W up to AXI_BITS are zero.
// AXI_BITS is a multiple of 8, at least LANES*W (kernels.py picks the smallest such). Words follow
// the tensor's order: pixels in raster order, C/LANES words per pixel. TKEEP/TSTRB are all ones;
// TLAST marks the last word of a frame (PIXELS*CHANNELS/LANES words).
//
// CFG (both adapters):
//   typedef data_t                       ap_[u]fixed element type
//   static const unsigned CHANNELS, PIXELS (H*W; 1 for a vector), LANES (divides CHANNELS)
//   static const unsigned AXI_BITS       multiple of 8, >= LANES * width of data_t
// Cycles: PIXELS*CHANNELS/LANES, II=1. Buffers nothing.
#ifndef HWGEN_AXI_H
#define HWGEN_AXI_H

#include "types.h"

namespace hwgen {

/// AXI4-Stream words in, stream words out. TLAST is not checked (the frame length is fixed).
template <class CFG>
void axis_to_stream(hls::stream<axis_t<CFG::AXI_BITS> >& in,
                    hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& out) {
  typedef typename CFG::data_t T;
  const int W = fixed_traits<T>::width;
  static_assert(CFG::AXI_BITS % 8 == 0, "axis_to_stream: AXI_BITS must be a multiple of 8");
  static_assert(CFG::AXI_BITS >= CFG::LANES * W, "axis_to_stream: AXI word too narrow");
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "axis_to_stream: LANES must divide CHANNELS");
  const unsigned long WORDS = (unsigned long)CFG::PIXELS * (CFG::CHANNELS / CFG::LANES);
axis_in_loop:
  for (unsigned long i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
    const axis_t<CFG::AXI_BITS> a = in.read();
    Pack<T, CFG::LANES> v;
    for (unsigned l = 0; l < CFG::LANES; ++l) {
#pragma HLS UNROLL
      v.data[l].range(W - 1, 0) = a.data.range(l * W + W - 1, l * W);
    }
    out.write(v);
  }
}

/// Stream words in, AXI4-Stream words out, TLAST on the last word of the frame.
template <class CFG>
void stream_to_axis(hls::stream<Pack<typename CFG::data_t, CFG::LANES> >& in,
                    hls::stream<axis_t<CFG::AXI_BITS> >& out) {
  typedef typename CFG::data_t T;
  const int W = fixed_traits<T>::width;
  static_assert(CFG::AXI_BITS % 8 == 0, "stream_to_axis: AXI_BITS must be a multiple of 8");
  static_assert(CFG::AXI_BITS >= CFG::LANES * W, "stream_to_axis: AXI word too narrow");
  static_assert(CFG::CHANNELS % CFG::LANES == 0, "stream_to_axis: LANES must divide CHANNELS");
  const unsigned long WORDS = (unsigned long)CFG::PIXELS * (CFG::CHANNELS / CFG::LANES);
axis_out_loop:
  for (unsigned long i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
    const Pack<T, CFG::LANES> v = in.read();
    axis_t<CFG::AXI_BITS> a;
    a.data = 0;
    for (unsigned l = 0; l < CFG::LANES; ++l) {
#pragma HLS UNROLL
      a.data.range(l * W + W - 1, l * W) = v.data[l].range(W - 1, 0);
    }
    a.keep = -1;
    a.strb = -1;
    a.last = i == WORDS - 1;
    out.write(a);
  }
}

}  // namespace hwgen

#endif  // HWGEN_AXI_H
