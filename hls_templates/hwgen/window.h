// hwgen kernel library: the sliding-window generator shared by conv2d and maxpool2d.
//
// sliding_window<G>(in, out) turns a (C, IN_H, IN_W) tensor, IN_LANES channels per word, into
// the sequence of its KxK windows: for each output pixel (oy, ox) in raster order, for ky, kx in
// [0, K), the C channels of input pixel (oy*STRIDE - PAD_T + ky, ox*STRIDE - PAD_L + kx) as
// C/OUT_LANES words (channels ascending). Positions outside the input (padding, and for ceil-mode
// pooling the part of a last window past the end) read as 0, or as T's lowest value when
// G::PAD_LOWEST (max pooling). The pad value is a constant of the process, not an argument (UG1399
// "canonical dataflow": the processes of a region take only streams and arrays).
//
// Schedule (also modelled by hwgen.hls.kernels.window_schedule for FIFO sizing):
//   Let need(p) = min(IN_H, p*STRIDE - PAD_T + K) for p < OUT_H and need(OUT_H) = IN_H: the input
//   rows that must be in the buffer before output row p can be produced. The single pipelined loop
//   runs OUT_H + 1 phases; phase p reads input rows [need(p-1), need(p)) (reads_p words) and, for
//   p >= 1, emits the windows of output row p-1 (emits_p = OUT_W*K*K*C/OUT_LANES words). Phase p
//   lasts max(reads_p, emits_p) iterations; iteration j reads word j (if j < reads_p) and emits
//   word j (if j < emits_p). So the first window word comes after need(0)*IN_W*C/IN_LANES cycles
//   (K - PAD_T rows), and input is read at most one output row ahead.
//   Cycles: sum over phases of max(reads_p, emits_p) (window_iterations<G>()), II=1.
//   Buffer: (K + STRIDE) rows x IN_W x C elements (a row-circular buffer: one output row's K
//   rows plus the STRIDE rows read for the next one), partitioned cyclically on channels by
//   max(IN_LANES, OUT_LANES): one word written and one read per cycle. It is bound to the
//   memory hwgen.hls.cost.window_buffer chose (G::STORAGE: STORE_LUTRAM or STORE_BRAM), as
//   ram_2p (one write port, one read port).
//
// Geometry struct G (all `static const unsigned` unless said):
//   typedef T            element type
//   IN_H, IN_W, C        input height, width, channels
//   IN_LANES, OUT_LANES  channels per input / output word; each divides C and one divides the other
//   K, STRIDE            square window size and stride
//   PAD_T, PAD_L         top / left zero padding (< K); bottom / right padding is implied by OUT_H/W
//   OUT_H, OUT_W         number of window rows / columns
//   static const bool PAD_LOWEST  padding reads as T's lowest value (else 0)
//   static const int STORAGE      storage_kind of the row buffer (types.h)
#ifndef HWGEN_WINDOW_H
#define HWGEN_WINDOW_H

#include "types.h"

namespace hwgen {

/// Input rows needed before output row p (p == OUT_H: all of them).
template <class G>
constexpr unsigned window_need(unsigned p) {
  return p >= G::OUT_H ? G::IN_H : umin(G::IN_H, p * G::STRIDE + G::K - G::PAD_T);
}

/// Iterations of sliding_window<G> for one frame.
template <class G>
constexpr unsigned long long window_iterations() {
  unsigned long long total = 0;
  unsigned prev = 0;
  for (unsigned p = 0; p <= G::OUT_H; ++p) {
    const unsigned need = window_need<G>(p);
    const unsigned long long reads =
        (unsigned long long)(need - prev) * G::IN_W * (G::C / G::IN_LANES);
    const unsigned long long emits =
        p ? (unsigned long long)G::OUT_W * G::K * G::K * (G::C / G::OUT_LANES) : 0;
    total += reads > emits ? reads : emits;
    prev = need;
  }
  return total;
}

namespace detail {

/// The window generator's loop on a row buffer declared (with its pragmas) by the caller.
template <class G>
void window_body(hls::stream<Pack<typename G::T, G::IN_LANES> >& in,
                 hls::stream<Pack<typename G::T, G::OUT_LANES> >& out,
                 typename G::T buf[G::K + G::STRIDE][G::IN_W][G::C]) {
#pragma HLS INLINE
  typedef typename G::T T;
  const unsigned R = G::K + G::STRIDE;  // buffered rows
  const unsigned CW_IN = G::C / G::IN_LANES, CW_OUT = G::C / G::OUT_LANES;
  const unsigned EMITS = G::OUT_W * G::K * G::K * CW_OUT;
  constexpr unsigned TOTAL = (unsigned)window_iterations<G>();
  const T pad = G::PAD_LOWEST ? lowest<T>() : T(0);

  // phase state
  unsigned j = 0;  // iteration within the phase
  unsigned p = 0;
  unsigned need = window_need<G>(0);
  unsigned next_top = G::STRIDE + G::K - G::PAD_T;  // p*STRIDE + K - PAD_T for p = 1
  unsigned reads = need * G::IN_W * CW_IN, emits = 0, len = reads;
  // write side: slot (row mod R), column, channel word
  unsigned w_slot = 0, w_col = 0, w_cw = 0;
  // emit side: top row of the windows and its slot, left column of the current window, counters
  int top = -(int)G::PAD_T;
  unsigned top_slot = (R - G::PAD_T) % R;
  int left = -(int)G::PAD_L;
  unsigned ky = 0, kx = 0, cw = 0;

window_loop:
  for (unsigned it = 0; it < TOTAL; ++it) {
#pragma HLS PIPELINE II = 1
// UG1399 "pragma HLS dependence": a word is read K..K+STRIDE rows after it was written (the
// row-circular schedule above), never in the iteration that writes it
#pragma HLS DEPENDENCE variable = buf inter false
    if (j < reads) {
      const Pack<T, G::IN_LANES> v = in.read();
      for (unsigned l = 0; l < G::IN_LANES; ++l) {
#pragma HLS UNROLL
        buf[w_slot][w_col][w_cw * G::IN_LANES + l] = v.data[l];
      }
      if (++w_cw == CW_IN) {
        w_cw = 0;
        if (++w_col == G::IN_W) {
          w_col = 0;
          if (++w_slot == R) w_slot = 0;
        }
      }
    }
    if (j < emits) {
      const int iy = top + (int)ky, ix = left + (int)kx;
      const bool valid = iy >= 0 && iy < (int)G::IN_H && ix >= 0 && ix < (int)G::IN_W;
      unsigned slot = top_slot + ky;
      if (slot >= R) slot -= R;
      const unsigned col = valid ? (unsigned)ix : 0;
      Pack<T, G::OUT_LANES> o;
      for (unsigned s = 0; s < G::OUT_LANES; ++s) {
#pragma HLS UNROLL
        o.data[s] = valid ? buf[slot][col][cw * G::OUT_LANES + s] : pad;
      }
      out.write(o);
      if (++cw == CW_OUT) {
        cw = 0;
        if (++kx == G::K) {
          kx = 0;
          if (++ky == G::K) {
            ky = 0;
            left += G::STRIDE;
          }
        }
      }
    }
    if (++j == len) {  // next phase
      j = 0;
      ++p;
      if (p >= 2) {
        top += G::STRIDE;
        top_slot += G::STRIDE;
        if (top_slot >= R) top_slot -= R;
      }
      left = -(int)G::PAD_L;
      const unsigned prev = need;
      need = p >= G::OUT_H ? G::IN_H : umin(G::IN_H, next_top);
      next_top += G::STRIDE;
      reads = (need - prev) * G::IN_W * CW_IN;
      emits = EMITS;
      len = reads > emits ? reads : emits;
    }
  }
}


/// The row buffer, in the memory the estimator chose: one specialisation per storage kind.
template <class G, int S>
struct window_buffer;

template <class G>
struct window_buffer<G, STORE_LUTRAM> {
  static void run(hls::stream<Pack<typename G::T, G::IN_LANES> >& in,
                  hls::stream<Pack<typename G::T, G::OUT_LANES> >& out) {
#pragma HLS INLINE
    const unsigned PF = umax(G::IN_LANES, G::OUT_LANES);
    typename G::T buf[G::K + G::STRIDE][G::IN_W][G::C];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = PF dim = 3
// UG1399 "pragma HLS bind_storage": one write and one read port per bank
#pragma HLS BIND_STORAGE variable = buf type = ram_2p impl = lutram
    (void)PF;  // (only the pragma uses it)
    window_body<G>(in, out, buf);
  }
};

template <class G>
struct window_buffer<G, STORE_BRAM> {
  static void run(hls::stream<Pack<typename G::T, G::IN_LANES> >& in,
                  hls::stream<Pack<typename G::T, G::OUT_LANES> >& out) {
#pragma HLS INLINE
    const unsigned PF = umax(G::IN_LANES, G::OUT_LANES);
    typename G::T buf[G::K + G::STRIDE][G::IN_W][G::C];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = PF dim = 3
// UG1399 "pragma HLS bind_storage": one write and one read port per bank
#pragma HLS BIND_STORAGE variable = buf type = ram_2p impl = bram
    (void)PF;  // (only the pragma uses it)
    window_body<G>(in, out, buf);
  }
};

}  // namespace detail

template <class G>
void sliding_window(hls::stream<Pack<typename G::T, G::IN_LANES> >& in,
                    hls::stream<Pack<typename G::T, G::OUT_LANES> >& out) {
  static_assert(G::C % G::IN_LANES == 0 && G::C % G::OUT_LANES == 0,
                "sliding_window: lanes must divide the channel count");
  static_assert(G::IN_LANES % G::OUT_LANES == 0 || G::OUT_LANES % G::IN_LANES == 0,
                "sliding_window: one of IN_LANES, OUT_LANES must divide the other");
  static_assert(G::PAD_T < G::K && G::PAD_L < G::K, "sliding_window: padding must be below K");
  static_assert(G::K >= 1 && G::STRIDE >= 1 && G::OUT_H >= 1 && G::OUT_W >= 1,
                "sliding_window: empty geometry");
  static_assert((G::OUT_H - 1) * G::STRIDE < G::IN_H + G::PAD_T &&
                    (G::OUT_W - 1) * G::STRIDE < G::IN_W + G::PAD_L,
                "sliding_window: a window starts past the input (check OUT_H / OUT_W)");
  static_assert(fits_u32(window_iterations<G>()) &&
                    fits_u32((unsigned long long)G::IN_H * G::IN_W * G::C),
                "sliding_window: 32-bit loop counters");
  static_assert(G::STORAGE == STORE_LUTRAM || G::STORAGE == STORE_BRAM,
                "sliding_window: the row buffer is LUTRAM or BRAM");
  detail::window_buffer<G, G::STORAGE>::run(in, out);
}

}  // namespace hwgen

#endif  // HWGEN_WINDOW_H
