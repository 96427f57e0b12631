// hwgen kernel library: 2-D convolution whose weights live in DDR (too many for the chip's RAM).
//
// conv2d_ddr<CFG>(in, out, wmem, bias)
// ====================================
//   in, out, bias : as conv2d (conv2d.h; bias: NF scalar words ap_uint<PE*(Wb+SHIFT_BITS)>);
//                   the result is bit-identical to conv2d's
//   wmem : const ddr_word_t*  (an AXI4 master port, 64-bit beats): the layer's weights in conv2d's
//          "[NF][SF][SIMD][PE]" layout, one weight word (the PE*SIMD weights of one (nf, sf)) per
//          BEATS consecutive beats. Weight k = s*PE + pe of word i sits at bits [k*W, k*W + W) of
//          beats i*BEATS .. i*BEATS + BEATS - 1 read as one little-endian bit string (W = weight
//          width; the last beat is zero-padded). hwgen.hls.ddr.pack_ddr_weights writes this image.
//
// CFG: conv2d's config plus
//   static const unsigned BLOCK   output pixels that share one pass over the weights (divides
//                                 OUT_H*OUT_W; hwgen uses one output row, OUT_W)
//   static const unsigned BEATS   64-bit beats per weight word: ceil(PE*SIMD*W / 64)
//   static const int XBUF_STORAGE, OBUF_STORAGE   STORE_LUTRAM / STORE_BRAM (cost.memory)
//   static const int ACC_STORAGE  STORE_REG / STORE_LUTRAM (cost.rmw_memory)
//
// Why the loop order changes: conv2d's matrix-vector unit reads every weight once per output pixel,
// which for a weight array in DDR would cost (weights x pixels) bytes per frame. Here a block of
// BLOCK output pixels is held on chip (its window words) and the weights stream past it once:
// weight traffic is (weights x pixels / BLOCK) bytes per frame, e.g. 13x less for a 13x13 layer
// with one row per block, and each weight word is used for BLOCK cycles, so one 64-bit port keeps
// up when BEATS <= BLOCK.
//
// Structure (DATAFLOW): ddr_weight_fetch (burst-reads the whole weight image OUT_H*OUT_W/BLOCK
// times into a stream of weight words) || [sliding_window | regroup] -> conv_mvau_blocked.
// conv_mvau_blocked, per block: load BLOCK*SF window words; one flattened loop over
// (nf, sf, pixel) at II=1 doing PE*SIMD MACs (a weight word is read from the fetch stream when
// pixel == 0 and kept for the BLOCK pixels); outputs gathered per pixel and emitted in raster
// order, PE channels per word, as conv2d does.
//   Cycles per frame ~ PIXELS * (SF + NF*SF + NF) + pipeline depths
//   (hwgen.hls.kernels.conv_ddr_call models this; the NF*SF term is conv2d's).
//   Buffers: BLOCK*SF*SIMD inputs (xbuf), BLOCK*PE accumulators (acc), BLOCK*OUT_C outputs (obuf),
//   each bound to the memory the estimator chose. Every access is one word per bank and cycle at
//   an address built from counters (xbuf[p][sf], acc[p], obuf[p][nf]): no bank is read twice in an
//   iteration, so none of them limits the II (unlike a ROM read at base + lane offsets).
//   acc[p] is updated every BLOCK iterations: DEPENDENCE inter distance=BLOCK true; with
//   BLOCK <= cost.RMW_REG_DEPTH it is registers (ACC_STORAGE == STORE_REG).
// Bursts: the fetch reads each pass as one sequential run of beats; the top's m_axi pragma caps
// a burst at 16 beats on Zynq-7000 (its HP ports are AXI3) and allows 4 outstanding reads, which
// covers hwgen.hls.kernels.DDR_BURST_LATENCY (kernels.ddr_fetch_cycles models exactly this).
#ifndef HWGEN_CONV2D_DDR_H
#define HWGEN_CONV2D_DDR_H

#include "conv2d.h"

namespace hwgen {

/// One beat of an AXI4 master weight port.
typedef ap_uint<64> ddr_word_t;

template <class CFG>
struct conv_ddr_traits : conv_traits<CFG> {
  static const unsigned WPAR = CFG::PE * CFG::SIMD;  // (W_BITS, W_SIGNED: conv_traits)
  static const unsigned BLOCKS = conv_traits<CFG>::PIXELS / CFG::BLOCK;
  typedef Pack<typename conv_traits<CFG>::w_store_t, CFG::PE * CFG::SIMD> wword_t;
};

namespace detail {

/// Weight image in DDR -> one weight word per (block, nf, sf), in the order the MVAU uses them.
template <class CFG>
void ddr_weight_fetch(const ddr_word_t* wmem, hls::stream<typename conv_ddr_traits<CFG>::wword_t>& ws) {
  typedef conv_ddr_traits<CFG> TR;
  const unsigned BEATS = CFG::BEATS, W = TR::W_BITS;
  static_assert(fits_u32((unsigned long long)TR::WMEM * BEATS), "conv2d_ddr: 32-bit counters");
  const unsigned BEATS_PER_PASS = TR::WMEM * BEATS;
  (void)BEATS_PER_PASS;
fetch_blocks:
  for (unsigned b = 0; b < TR::BLOCKS; ++b) {
#if HWGEN_CSIM_NATIVE
    // the same bits, gathered from 64-bit words instead of one wide ap_uint (much faster in C)
    for (unsigned i = 0; i < TR::WMEM; ++i) {
      uint64_t beat[BEATS + 1];
      for (unsigned j = 0; j < BEATS; ++j) beat[j] = wmem[i * BEATS + j].to_uint64();
      beat[BEATS] = 0;
      typename TR::wword_t w;
      for (unsigned k = 0; k < TR::WPAR; ++k) {
        const unsigned bit = k * W, lo = bit / 64, sh = bit % 64;
        uint64_t v = beat[lo] >> sh;
        if (sh + W > 64) v |= beat[lo + 1] << (64 - sh);
        v &= (W == 64) ? ~0ULL : ((1ULL << W) - 1);
        const int64_t sv = TR::W_SIGNED && W < 64 && ((v >> (W - 1)) & 1) ? (int64_t)v - (1LL << W)
                                                                           : (int64_t)v;
        w.data[k] = (typename TR::w_store_t)sv;
      }
      ws.write(w);
    }
#else
    ap_uint<BEATS * 64> word = 0;
    unsigned beat = 0;
  fetch_beats:
    for (unsigned i = 0; i < BEATS_PER_PASS; ++i) {  // sequential beats (bursts: see the top)
#pragma HLS PIPELINE II = 1
      const ddr_word_t v = wmem[i];
      if (BEATS == 1) {
        word = v;
      } else {
        word = (word >> 64) | (ap_uint<BEATS * 64>(v) << (64 * (BEATS - 1)));
      }
      if (++beat == BEATS) {
        beat = 0;
        typename TR::wword_t w;
        for (unsigned k = 0; k < TR::WPAR; ++k) {
#pragma HLS UNROLL
          const ap_uint<W> bits = word.range(k * W + W - 1, k * W);
          if (TR::W_SIGNED) {
            const ap_int<W> sv = bits;  // same bits, read as two's complement
            w.data[k] = (typename TR::w_store_t)sv.to_int64();
          } else {
            w.data[k] = (typename TR::w_store_t)bits.to_uint64();
          }
        }
        ws.write(w);
      }
    }
#endif
  }
}

/// Matrix-vector unit that streams its weights: for each block of BLOCK output pixels, every
/// weight word once (see the file comment). Its buffers are declared, with their pragmas, by the
/// blocked_* specialisations below.
template <class CFG>
void conv_mvau_blocked_body(
    hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
    hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
    hls::stream<typename conv_ddr_traits<CFG>::wword_t>& ws,
    const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF],
    typename conv_traits<CFG>::x_t xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD],
    typename CFG::out_t obuf[CFG::BLOCK][conv_traits<CFG>::NF][CFG::PE],
    typename conv_traits<CFG>::reg_t acc[CFG::BLOCK][CFG::PE]) {
#pragma HLS INLINE
  typedef conv_ddr_traits<CFG> TR;
  typedef typename TR::reg_t reg_t;
  typedef typename TR::x_t x_t;
  const unsigned PE = CFG::PE, SIMD = CFG::SIMD, NF = TR::NF, SF = TR::SF, BLOCK = CFG::BLOCK;
  static_assert(fits_u32((unsigned long long)NF * SF * BLOCK), "conv2d_ddr: 32-bit counters");
#if HWGEN_CSIM_NATIVE
  const typename TR::b_lane_t* btab =
      rom_table<TR::B_LANE, TR::B_LANE_SIGNED, CFG::PE, TR::NF>(bias);
#endif

blocks:
  for (unsigned blk = 0; blk < TR::BLOCKS; ++blk) {
    unsigned p = 0, sf = 0, nf = 0;
  load:
    for (unsigned i = 0; i < BLOCK * SF; ++i) {
#pragma HLS PIPELINE II = 1
      const Pack<typename CFG::in_t, CFG::SIMD> v = in.read();
      for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
        xbuf[p][sf][s] = (x_t)raw_of(v.data[s]);
      }
      if (++sf == SF) {
        sf = 0;
        ++p;
      }
    }
    typename TR::wword_t w;
    p = sf = nf = 0;
  compute:
    for (unsigned i = 0; i < NF * SF * BLOCK; ++i) {
#pragma HLS PIPELINE II = 1
// UG1399 "pragma HLS dependence": acc[p] is read and written again BLOCK iterations later
#pragma HLS DEPENDENCE variable = acc inter distance = BLOCK true
      if (p == 0) w = ws.read();
#if HWGEN_CSIM_NATIVE
      const typename TR::b_lane_t* b = btab + nf * PE;  // the decoded bias word
#else
      // one bias word per neuron fold, read every iteration at the fold counter: the bias at
      // sf == 0 and the shifts at sf == SF - 1 come from one read (one port, SF == 1 included)
      const typename TR::b_word_t b = bias[nf];
#endif
      if (sf == 0) {
        for (unsigned pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
#if HWGEN_CSIM_NATIVE
          acc[p][pe] = (reg_t)native_bias<TR>(b[pe]);
#else
          acc[p][pe] = (reg_t)bias_lane<TR>(b, pe);
#endif
          acc[p][pe] <<= TR::B_SHIFT;
        }
      }
      HWGEN_CSIM_UNROLL
      for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
#if HWGEN_CSIM_NATIVE
        const reg_t xs = xbuf[p][sf][s];
        HWGEN_CSIM_UNROLL
        for (unsigned pe = 0; pe < PE; ++pe) acc[p][pe] += (reg_t)w.data[s * PE + pe] * xs;
#else
        for (unsigned pe = 0; pe < PE; pe += TR::PE_STEP) {
#pragma HLS UNROLL
          if (TR::PE_STEP == 2 && pe + 1 < PE) {  // two products on one DSP48 (conv2d.h mul2)
            typename mul2_traits<TR>::p_t lo, hi;
            mul2<TR>(w.data[s * PE + pe], w.data[s * PE + pe + 1], xbuf[p][sf][s], lo, hi);
            acc[p][pe] += lo;
            acc[p][pe + 1] += hi;
          } else {
            acc[p][pe] += mul(w.data[s * PE + pe], xbuf[p][sf][s], mul_tag<CFG::MUL_FABRIC>());
          }
        }
#endif
      }
      if (sf == SF - 1) {
        for (unsigned pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
#if HWGEN_CSIM_NATIVE
          obuf[p][nf][pe] = conv_output<CFG>(acc[p][pe], native_align<TR>(b[pe]));
#else
          obuf[p][nf][pe] = conv_output<CFG>(acc[p][pe], align_lane<TR>(b, pe));
#endif
        }
      }
      if (++p == BLOCK) {
        p = 0;
        if (++sf == SF) {
          sf = 0;
          ++nf;
        }
      }
    }
    p = nf = 0;
  emit:
    for (unsigned i = 0; i < BLOCK * NF; ++i) {
#pragma HLS PIPELINE II = 1
      Pack<typename CFG::out_t, CFG::PE> o;
      for (unsigned pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
        o.data[pe] = obuf[p][nf][pe];
      }
      out.write(o);
      if (++nf == NF) {
        nf = 0;
        ++p;
      }
    }
  }
}

// The three buffers, each in the memory the estimator chose (one specialisation per kind, each
// declaring its array with a literal BIND_STORAGE, UG1399 "pragma HLS bind_storage").
#define HWGEN_BLOCKED_ARGS                                                        \
  hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >&in,                          \
      hls::stream<Pack<typename CFG::out_t, CFG::PE> >&out,                      \
      hls::stream<typename conv_ddr_traits<CFG>::wword_t>&ws,                    \
      const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]
#define HWGEN_XBUF_T typename conv_traits<CFG>::x_t
#define HWGEN_OBUF_T typename CFG::out_t

template <class CFG, int S>
struct blocked_acc;
template <class CFG>
struct blocked_acc<CFG, STORE_REG> {
  static void run(HWGEN_BLOCKED_ARGS,
                  HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD],
                  HWGEN_OBUF_T obuf[CFG::BLOCK][conv_traits<CFG>::NF][CFG::PE]) {
#pragma HLS INLINE
    typename conv_traits<CFG>::reg_t acc[CFG::BLOCK][CFG::PE];
// registers (BLOCK <= cost.RMW_REG_DEPTH): the update completes within the iteration
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    conv_mvau_blocked_body<CFG>(in, out, ws, bias, xbuf, obuf, acc);
  }
};
template <class CFG>
struct blocked_acc<CFG, STORE_LUTRAM> {
  static void run(HWGEN_BLOCKED_ARGS,
                  HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD],
                  HWGEN_OBUF_T obuf[CFG::BLOCK][conv_traits<CFG>::NF][CFG::PE]) {
#pragma HLS INLINE
    typename conv_traits<CFG>::reg_t acc[CFG::BLOCK][CFG::PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS BIND_STORAGE variable = acc type = ram_2p impl = lutram
    conv_mvau_blocked_body<CFG>(in, out, ws, bias, xbuf, obuf, acc);
  }
};

template <class CFG, int S>
struct blocked_obuf;
template <class CFG>
struct blocked_obuf<CFG, STORE_LUTRAM> {
  static void run(HWGEN_BLOCKED_ARGS,
                  HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD]) {
#pragma HLS INLINE
    HWGEN_OBUF_T obuf[CFG::BLOCK][conv_traits<CFG>::NF][CFG::PE];
#pragma HLS ARRAY_PARTITION variable = obuf complete dim = 3
#pragma HLS BIND_STORAGE variable = obuf type = ram_2p impl = lutram
    blocked_acc<CFG, CFG::ACC_STORAGE>::run(in, out, ws, bias, xbuf, obuf);
  }
};
template <class CFG>
struct blocked_obuf<CFG, STORE_BRAM> {
  static void run(HWGEN_BLOCKED_ARGS,
                  HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD]) {
#pragma HLS INLINE
    HWGEN_OBUF_T obuf[CFG::BLOCK][conv_traits<CFG>::NF][CFG::PE];
#pragma HLS ARRAY_PARTITION variable = obuf complete dim = 3
#pragma HLS BIND_STORAGE variable = obuf type = ram_2p impl = bram
    blocked_acc<CFG, CFG::ACC_STORAGE>::run(in, out, ws, bias, xbuf, obuf);
  }
};

template <class CFG, int S>
struct blocked_xbuf;
template <class CFG>
struct blocked_xbuf<CFG, STORE_LUTRAM> {
  static void run(HWGEN_BLOCKED_ARGS) {
#pragma HLS INLINE
    HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD];
#pragma HLS ARRAY_PARTITION variable = xbuf complete dim = 3
#pragma HLS BIND_STORAGE variable = xbuf type = ram_2p impl = lutram
    blocked_obuf<CFG, CFG::OBUF_STORAGE>::run(in, out, ws, bias, xbuf);
  }
};
template <class CFG>
struct blocked_xbuf<CFG, STORE_BRAM> {
  static void run(HWGEN_BLOCKED_ARGS) {
#pragma HLS INLINE
    HWGEN_XBUF_T xbuf[CFG::BLOCK][conv_traits<CFG>::SF][CFG::SIMD];
#pragma HLS ARRAY_PARTITION variable = xbuf complete dim = 3
#pragma HLS BIND_STORAGE variable = xbuf type = ram_2p impl = bram
    blocked_obuf<CFG, CFG::OBUF_STORAGE>::run(in, out, ws, bias, xbuf);
  }
};
#undef HWGEN_BLOCKED_ARGS
#undef HWGEN_XBUF_T
#undef HWGEN_OBUF_T

template <class CFG>
void conv_mvau_blocked(hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
                       hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                       hls::stream<typename conv_ddr_traits<CFG>::wword_t>& ws,
                       const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
  blocked_xbuf<CFG, CFG::XBUF_STORAGE>::run(in, out, ws, bias);
}

/// What feeds the blocked unit: one specialisation per conv structure (no tag objects passed by
/// value inside the dataflow region: UG1399 canonical dataflow).
template <class CFG, int M>
struct ddr_front;

template <class CFG>
struct ddr_front<CFG, CONV_DIRECT> {
  // IN_LANES == SIMD: pass the words through (a copy keeps one DATAFLOW shape for every mode)
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& vec) {
    const unsigned WORDS = CFG::IN_H * CFG::IN_W * CFG::IN_C / CFG::SIMD;
  pass:
    for (unsigned i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
      vec.write(in.read());
    }
  }
};

template <class CFG>
struct ddr_front<CFG, CONV_REGROUP> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& vec) {
    regroup_impl<typename CFG::in_t, CFG::IN_LANES, CFG::SIMD,
                 CFG::IN_H * CFG::IN_W * CFG::IN_C>(in, vec);
  }
};

template <class CFG>
struct ddr_front<CFG, CONV_WINDOW> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& vec) {
    sliding_window<conv_window<CFG> >(in, vec);
  }
};

}  // namespace detail

template <class CFG>
void conv2d_ddr(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out, const ddr_word_t* wmem,
                const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
  typedef conv_ddr_traits<CFG> TR;
  static_assert(CFG::OUT_C % CFG::PE == 0 && CFG::IN_C % CFG::SIMD == 0 &&
                    CFG::IN_C % CFG::IN_LANES == 0,
                "conv2d_ddr: PE, SIMD and IN_LANES must divide the channel counts");
  static_assert(CFG::IN_LANES % CFG::SIMD == 0 || CFG::SIMD % CFG::IN_LANES == 0,
                "conv2d_ddr: one of IN_LANES, SIMD must divide the other");
  static_assert(CFG::OUT_H == (CFG::IN_H + CFG::PAD_T + CFG::PAD_B - CFG::K) / CFG::STRIDE + 1 &&
                    CFG::OUT_W == (CFG::IN_W + CFG::PAD_L + CFG::PAD_R - CFG::K) / CFG::STRIDE + 1,
                "conv2d_ddr: OUT_H / OUT_W do not match the geometry");
  static_assert(TR::ACC_FRAC == TR::IN_FRAC + TR::W_FRAC,
                "conv2d_ddr: acc_t must have the fraction bits of in_t plus those of weight_t");
  static_assert(TR::B_SHIFT >= 0, "conv2d_ddr: bias_t must not be finer than acc_t");
  static_assert((TR::MAX_SHIFT == 0) == (TR::SHIFT_BITS == 0) &&
                    TR::MAX_SHIFT < (1 << TR::SHIFT_BITS),
                "conv2d_ddr: SHIFT_BITS must hold 0..MAX_SHIFT (both 0: one format per tensor)");
  static_assert(TR::PIXELS % CFG::BLOCK == 0, "conv2d_ddr: BLOCK must divide OUT_H*OUT_W");
  static_assert(CFG::BEATS * 64 >= TR::WPAR * TR::W_BITS && (CFG::BEATS - 1) * 64 < TR::WPAR * TR::W_BITS,
                "conv2d_ddr: BEATS must be ceil(PE*SIMD*W / 64)");
  static_assert(fits_u32((unsigned long long)CFG::IN_H * CFG::IN_W * CFG::IN_C),
                "conv2d_ddr: 32-bit counters");
  static_assert(CFG::PE * TR::B_LANE <= AP_INT_MAX_W,
                "conv2d_ddr: a bias word is wider than AP_INT_MAX_W bits (define it larger)");
// the bias ROM: NF scalar words ap_uint<PE*(Wb+SHIFT_BITS)> (no AGGREGATE needed), read with the
// neuron-fold counter (see conv2d.h, "Weight layout"); a global array, bound in the function that
// uses it, on its argument (UG1399 "pragma HLS bind_storage": a variable, array or function
// argument)
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS DATAFLOW
  hls::stream<typename TR::wword_t> ws("conv_ddr_weights");
#pragma HLS STREAM variable = ws depth = 4
  hls::stream<Pack<typename CFG::in_t, CFG::SIMD> > vec("conv_ddr_window");
#pragma HLS STREAM variable = vec depth = 2
  detail::ddr_weight_fetch<CFG>(wmem, ws);
  detail::ddr_front<CFG, detail::conv_mode_of<CFG>::value>::run(in, vec);
  detail::conv_mvau_blocked<CFG>(vec, out, ws, bias);
}

}  // namespace hwgen

#endif  // HWGEN_CONV2D_DDR_H
