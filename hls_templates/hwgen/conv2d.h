// hwgen kernel library: 2-D convolution (KxK, stride, zero padding, bias, optional ReLU) as a
// sliding-window generator feeding a matrix-vector unit with PE x SIMD multipliers.
//
// conv2d<CFG>(in, out, weights, bias)
// ===================================
//   in  : hls::stream<Pack<in_t, IN_LANES>>   (IN_C, IN_H, IN_W), raster order
//   out : hls::stream<Pack<out_t, PE>>        (OUT_C, OUT_H, OUT_W), raster order, PE lanes
//   weights : const w_word_t [NF*SF]   ROM words ap_uint<PE*SIMD*W> of PE*SIMD raw weights
//   bias    : const b_word_t [NF]      ROM words ap_uint<PE*(Wb+SHIFT_BITS)> of PE raw biases
//                                      and shifts (word nf: channels nf*PE ..); layout below
//
// What it computes (bit-exact with hwgen.ops.Conv.exact followed by the cast to the output format):
//   acc = sum over (ky, kx, ci) of w[co][ci][ky][kx] * x[ci][oy*S-PAD_T+ky][ox*S-PAD_L+kx]
//         (padding contributes 0) + bias[co]        -- exact: the products have fraction
//         W_FRAC + IN_FRAC = ACC_FRAC and the bias is shifted left by ACC_FRAC - bias frac
//   acc = (acc_t) acc     -- acc_t's overflow mode applies to the final sum (no rounding: same frac)
//   if RELU: acc = max(acc, 0)
//   out = (out_t) acc     -- ap_fixed assignment: out_t's rounding and overflow modes
//   The sum is carried in a register that cannot overflow (or, when acc_t wraps, in exactly
//   acc_t's width, which wraps identically).
//
// Per-channel formats (MAX_SHIFT > 0; hwgen.ops.Conv.weight_shift): output channel co's
//   weights, bias and sum have shift[co] (0..MAX_SHIFT) fraction bits more than weight_t,
//   bias_t and acc_t say. The raw integers and their sums are computed exactly as above; only
//   the final cast differs: out = (out_t) (acc read with ACC_FRAC + shift[co] fraction bits),
//   done as an exact left shift by align[co] = MAX_SHIFT - shift[co] onto a MAX_SHIFT bits wider
//   type and one ap_fixed assignment. align[co] sits in the bias ROM, above the bias (layout
//   below), so the kernel shifts by a ROM field (no subtractor).
//
// CFG (hls4ml-style traits struct emitted by hwgen/hls/kernels.py):
//   typedef in_t      ap_[u]fixed of the input stream
//   typedef out_t     ap_[u]fixed of the output stream
//   typedef acc_t     ap_[u]fixed accumulator; its fraction bits = in_t's + weight_t's
//   typedef weight_t  ap_[u]fixed format of the weights (stored raw, see raw_t)
//   typedef bias_t    ap_[u]fixed format of the biases (stored raw); not finer than acc_t
//   static const unsigned IN_H, IN_W, IN_C, OUT_H, OUT_W, OUT_C
//   static const unsigned K, STRIDE, PAD_T, PAD_L, PAD_B, PAD_R      (PAD_T, PAD_L < K)
//   static const bool     RELU
//   static const int      SHIFT_BITS, MAX_SHIFT  per-channel formats: bits of an alignment in
//                                   the bias ROM, the largest shift (both 0: one format per
//                                   tensor; MAX_SHIFT < 2^SHIFT_BITS)
//   static const unsigned PE        output channels computed in parallel (divides OUT_C)
//   static const unsigned SIMD      input channels multiplied in parallel (divides IN_C)
//   static const unsigned IN_LANES  channels per input word (divides IN_C; one of IN_LANES, SIMD
//                                   divides the other)
//   static const bool     MUL_FABRIC  multipliers in LUTs instead of DSP48s (synthesis only)
//   static const bool     MUL_PACKED  two PEs' products per DSP48 (detail::mul2; ap_int path)
//   static const int      W_STORAGE   STORE_BRAM / STORE_LUTRAM: the weight ROM (cost.memory)
//   static const int      XBUF_STORAGE  the matrix-vector unit's input buffer (cost.memory)
//   static const int      WIN_STORAGE   the sliding window's row buffer (windowed convs only)
//
// Weight layout: NF = OUT_C/PE, SF = K*K*IN_C/SIMD, column j = (ky*K + kx)*IN_C + ci = sf*SIMD + s,
// output channel co = nf*PE + pe. The ROM holds WMEM = NF*SF words; each word is ONE scalar
// w_word_t = ap_uint<PE*SIMD*W> (W = weight_t's width), word nf*SF + sf carrying weight
// w[co][ci][ky][kx] in lane k = s*PE + pe, i.e. at bits [k*W, k*W + W) as its raw W-bit
// two's-complement pattern. The bias ROM holds NF words b_word_t = ap_uint<PE*L>, L = Wb +
// SHIFT_BITS: channel nf*PE + pe has its raw bias at bits [pe*L, pe*L + Wb) and its alignment
// MAX_SHIFT - shift (unsigned) at [pe*L + Wb, pe*L + L). This is finn-hlslib's and FINN's ROM form (one
// ap_uint<SIMD*W> word per PE and tile, lanes unpacked with constant part-selects); the generated
// header (hwgen.hls.kernels.KernelArray) initialises each word from a hex string,
// ap_uint<N>("0x...", 16), as FINN's data packing does (finn.util.data_packing.numpy_to_hls_code).
// A scalar word is one memory word by construction: no AGGREGATE is needed (UG1399 "pragma HLS
// aggregate" concerns structs), so weights[widx] is one ROM read of PE*SIMD*W bits per cycle.
// The matrix-vector unit reads word i in iteration i of each pixel through a word counter that
// steps by one and wraps at WMEM -- never an address computed from a product -- as finn-hlslib's
// MVAU reads weights.weights(tile) (mvau.hpp) and hls4ml's resource strategy its reshaped words
// (nnet_dense_resource.h), and unpacks the lanes with constant part-selects (rom_lane, sign
// extended for signed formats): the same raw integers, and so the same sums, as before.
// The biases are NF words of PE, read with the neuron-fold counter nf.
// C simulation: the arrays' element type is types.h rom_word<N> (ap_uint<N> for synthesis; in
// g++ a constant-initialised struct that converts to ap_uint<N>).
// Fast C simulation (HWGEN_CSIM_NATIVE): rom_table decodes a ROM once, at the kernel's first
// call, into a plain array of native raw integers (same values as rom_lane); the loop reads rows
// of it with the same counters.
// Pragmas: the kernel owns them (the top only wires streams). The ROMs are global arrays (the
// layer's weights header, included at file scope), so no function body defines them; they are
// bound in the kernel function that uses them, on its argument (UG1399 "pragma HLS
// bind_storage": it "assigns a variable (array, or function argument) ... to a specific memory
// type"; only top-level arguments need INTERFACE storage options instead):
//   BIND_STORAGE type=rom_1p impl=<W_STORAGE>   (bias: rom_1p lutram, as cost.py books it)
//
// Structure and timing
//   * K == 1, STRIDE == 1, no padding: a plain matrix-vector unit on the input stream (through a
//     lane regroup when IN_LANES != SIMD). It starts on the first input word.
//   * otherwise: sliding_window<> (window.h) -> matrix-vector unit, in a DATAFLOW region.
//   Matrix-vector unit: one flattened loop of OUT_H*OUT_W*NF*SF iterations at II=1; iteration
//   (pixel, nf, sf) does PE*SIMD multiply-accumulates, reads a window word when nf == 0 (kept in a
//   SF-word input buffer for the other NF-1 passes) and writes an output word when sf == SF-1.
//   Cycles per frame ~ max(OUT_H*OUT_W*NF*SF, window iterations) + pipeline depth.
//   Buffers: SF*SIMD inputs (XBUF_STORAGE, ram_2p: one write and one read per cycle and bank) +
//   the window buffer ((K+STRIDE) rows x IN_W x IN_C, window.h).
//
// FIFO depths in a Fire module
// ----------------------------
//   squeeze -> duplicate -> (A) expand1x1 -> concat
//                        -> (B) expand3x3 -> concat
//   concat reads pixel p from A, then pixel p from B, one word per cycle; duplicate writes each
//   word to both branches and stalls while either stream is full. expand1x1 (direct
//   matrix-vector unit) turns input pixel p into output pixel p at once. expand3x3 reads its input
//   ahead (window.h, "Schedule"): K - PAD_T rows before its first output, and while it emits the
//   windows of output row oy it reads input row need(oy) = oy + K - PAD_T, one input word per
//   emitted window word. So by the time it can deliver output pixel p = (oy, ox), it has read
//   in(p) input pixels, in(p) - p - 1 lying between (K - PAD_T) rows and (K - PAD_T + 1) rows
//   (for a 3x3 pad-1 expand: about 2 rows plus (ox+1)*9*IN_LANES/SIMD pixels of the next row).
//   duplicate has pushed the same in(p) pixels into branch A, of which concat has taken only
//   p + 1: branch A must hold the other max_p (in(p) - p - 1) pixels, or duplicate stalls, the
//   expand3x3 branch starves and the dataflow deadlocks.
//   Rule (hwgen.hls.kernels.fifo_depths / fire_fifo_depths): depth of the stream
//   duplicate -> expand1x1 = (max_p (in(p) - p - 1) + 2) * IN_C / IN_LANES words, with in(p)
//   computed exactly from the window schedule plus a slack of 12 window words (the internal
//   window FIFO and the MVAU pipeline); the streams duplicate -> expand3x3 and both
//   expand -> concat keep the default depth 2. The squeeze side is the cheapest place for it (a
//   squeeze pixel has the fewest channels). A token-level model of the whole Fire dataflow
//   (tests/hls/fifo_sim.py) finishes with this depth, deadlocks below ~0.7-0.9 of it.
//   (C simulation runs the processes one after another on unbounded streams and cannot show a
//   deadlock; it matters for RTL co-simulation and hardware.)
#ifndef HWGEN_CONV2D_H
#define HWGEN_CONV2D_H

#include "stream.h"
#include "types.h"
#include "window.h"

namespace hwgen {

/// Storage type of the raw integers of fixed-point format T (weights, biases).
template <typename T>
using raw_t = typename raw_of_type<T>::type;

template <bool FABRIC>
struct mul_tag {};

/// Derived constants and arithmetic types of a conv2d config.
template <class CFG>
struct conv_traits {
  typedef typename CFG::in_t in_t;
  typedef typename CFG::out_t out_t;
  typedef typename CFG::acc_t acc_t;
  typedef raw_t<typename CFG::weight_t> w_store_t;
  typedef raw_t<typename CFG::bias_t> b_store_t;
  static const unsigned NF = CFG::OUT_C / CFG::PE;
  static const unsigned SF = CFG::K * CFG::K * CFG::IN_C / CFG::SIMD;
  static const unsigned WMEM = NF * SF;
  static const unsigned PIXELS = CFG::OUT_H * CFG::OUT_W;
  static const int W_BITS = fixed_traits<typename CFG::weight_t>::width;
  static const bool W_SIGNED = fixed_traits<typename CFG::weight_t>::is_signed;
  static const int B_BITS = fixed_traits<typename CFG::bias_t>::width;
  static const bool B_SIGNED = fixed_traits<typename CFG::bias_t>::is_signed;
  /// per-channel weight formats ("Per-channel formats" above): each bias lane carries its
  /// channel's alignment (MAX_SHIFT - shift) in SHIFT_BITS above the raw bias; 0: one format
  /// per tensor
  static const int SHIFT_BITS = CFG::SHIFT_BITS;
  static const int MAX_SHIFT = CFG::MAX_SHIFT;
  static const int SHIFT_W = SHIFT_BITS > 0 ? SHIFT_BITS : 1;
  static const int B_LANE = B_BITS + SHIFT_BITS;
  /// one ROM word: the PE*SIMD weights of one (nf, sf) step; one bias word: PE bias lanes (lane
  /// l at bits [l*B_LANE, l*B_LANE + B_LANE), see "Weight layout")
  typedef ap_uint<CFG::PE * CFG::SIMD * W_BITS> w_word_t;
  typedef ap_uint<CFG::PE * B_LANE> b_word_t;
  /// the ROMs' element types: the same words (types.h rom_word: ap_uint<N> for synthesis)
  typedef rom_word<CFG::PE * CFG::SIMD * W_BITS> w_rom_t;
  typedef rom_word<CFG::PE * B_LANE> b_rom_t;
  /// a bias lane as the fast C simulation decodes it: the raw bias, or bias and shift unsigned
  static const bool B_LANE_SIGNED = SHIFT_BITS == 0 && B_SIGNED;
  typedef typename native_int<B_LANE, B_LANE_SIGNED>::type b_lane_t;
  static const int IN_FRAC = fixed_traits<in_t>::frac;
  static const int W_FRAC = fixed_traits<typename CFG::weight_t>::frac;
  static const int B_FRAC = fixed_traits<typename CFG::bias_t>::frac;
  static const int ACC_FRAC = fixed_traits<acc_t>::frac;
  static const int ACC_W = fixed_traits<acc_t>::width;
  static const int B_SHIFT = ACC_FRAC - B_FRAC;
  /// bits of a register that holds every partial sum exactly (bias included)
  static const int EXACT_BITS =
      imax(fixed_traits<typename CFG::weight_t>::mag_bits + fixed_traits<in_t>::mag_bits +
               clog2((unsigned long long)CFG::K * CFG::K * CFG::IN_C),
           fixed_traits<typename CFG::bias_t>::mag_bits + B_SHIFT) +
      3;
  static const bool ACC_WRAPS = acc_t::omode == AP_WRAP;
  /// CFG::MUL_PACKED: PEs in pairs, two products per DSP48 (mul2)
  static const int IN_BITS = fixed_traits<in_t>::width;
  static const bool IN_SIGNED = fixed_traits<in_t>::is_signed;
  static const unsigned PE_STEP = CFG::MUL_PACKED ? 2 : 1;
  static_assert(!CFG::MUL_PACKED || (W_SIGNED && 2 * W_BITS + IN_BITS + 1 <= 25 &&
                                     IN_BITS + !IN_SIGNED <= 18 && !CFG::MUL_FABRIC),
                "conv2d: MUL_PACKED needs signed weights, 2*W + X + 1 <= 25, X <= 18 as signed "
                "(hwgen.design.cost.packs_two), and DSP48 multipliers");
#if HWGEN_CSIM_NATIVE
  static_assert(EXACT_BITS <= 64,
                "conv2d: sums need more than 64 bits; compile with -DHWGEN_CSIM_NATIVE=0");
  static const int REG_BITS = EXACT_BITS;
  typedef typename select_type<(EXACT_BITS <= 32), int32_t, int64_t>::type reg_t;
  /// operands: int16_t when both fit (g++ then vectorises the widening multiply), else reg_t
  static const bool NARROW = fixed_traits<in_t>::mag_bits <= 15 &&
                             fixed_traits<typename CFG::weight_t>::mag_bits <= 15 &&
                             EXACT_BITS <= 32;
  typedef typename select_type<NARROW, int16_t, reg_t>::type x_t;
#else
  /// a wrapping acc_t wraps the running sum identically; otherwise keep the exact sum
  static const int REG_BITS = ACC_WRAPS ? ACC_W : imax(EXACT_BITS, ACC_W);
  typedef ap_int<REG_BITS> reg_t;
  typedef raw_t<in_t> x_t;
#endif
  /// the register read as a fixed-point number (before acc_t's overflow handling)
  typedef ap_fixed<REG_BITS, REG_BITS - ACC_FRAC> reg_fixed_t;
  /// per-channel formats: acc_t's value on the finest channel's fraction (MAX_SHIFT bits more),
  /// one bit wider so that an unsigned acc_t fits too -- every channel's sum exactly
  static const int WIDE_W = MAX_SHIFT > 0 ? ACC_W + MAX_SHIFT + 1 : ACC_W;
  typedef ap_fixed<WIDE_W, WIDE_W - ACC_FRAC - MAX_SHIFT> wide_t;
  typedef typename raw_int<WIDE_W, true>::type wide_raw_t;
};

/// Lane l (a constant once the caller's loop is unrolled) of a ROM word of N bits: bits
/// [l*W, l*W + W) read as a W-bit two's-complement (S) or unsigned raw integer -- a constant
/// part-select, no logic.
template <int W, bool S, int N>
inline typename select_type<S, ap_int<W>, ap_uint<W> >::type rom_field(const ap_uint<N>& word,
                                                                        unsigned bit) {
#pragma HLS INLINE
  const ap_uint<W> bits = word.range(bit + W - 1, bit);
  typename select_type<S, ap_int<W>, ap_uint<W> >::type r = bits;  // same bits
  return r;
}
template <int W, bool S, int N>
inline typename select_type<S, ap_int<W>, ap_uint<W> >::type rom_lane(const ap_uint<N>& word,
                                                                       unsigned l) {
#pragma HLS INLINE
  return rom_field<W, S>(word, l * W);
}

/// Bias lane l of a bias ROM word: the raw bias (its low B_BITS) and the channel's alignment
/// (its SHIFT_BITS above; 0 with one format per tensor) -- constant part-selects.
template <class TR, int N>
inline typename select_type<TR::B_SIGNED, ap_int<TR::B_BITS>, ap_uint<TR::B_BITS> >::type
bias_lane(const ap_uint<N>& word, unsigned l) {
#pragma HLS INLINE
  return rom_field<TR::B_BITS, TR::B_SIGNED>(word, l * TR::B_LANE);
}
template <class TR, int N>
inline ap_uint<TR::SHIFT_W> align_lane(const ap_uint<N>& word, unsigned l) {
#pragma HLS INLINE
  if (TR::SHIFT_BITS == 0) return 0;
  return rom_field<TR::SHIFT_W, false>(word, TR::SHIFT_BITS ? l * TR::B_LANE + TR::B_BITS : 0);
}

#if HWGEN_CSIM_NATIVE
/// The same two fields of a bias lane decoded by rom_table (fast C simulation).
template <class TR>
inline int64_t native_bias(typename TR::b_lane_t v) {
  if (TR::SHIFT_BITS == 0) return (int64_t)v;
  const uint64_t low = (uint64_t)v & ((1ULL << TR::B_BITS) - 1);
  return TR::B_SIGNED ? (int64_t)(low << (64 - TR::B_BITS)) >> (64 - TR::B_BITS) : (int64_t)low;
}
template <class TR>
inline unsigned native_align(typename TR::b_lane_t v) {
  return TR::SHIFT_BITS == 0 ? 0 : (unsigned)((uint64_t)v >> TR::B_BITS);
}
#endif

#if HWGEN_CSIM_NATIVE
/// Fast C simulation only: ROM `rom` of WORDS words of L lanes of W bits decoded into a plain
/// array of native raw integers, WORDS rows of L (row i lane l = rom_lane<W, S>(rom[i], l)), once
/// per ROM (again only if the kernel is called with another array).
template <int W, bool S, unsigned L, unsigned WORDS>
const typename native_int<W, S>::type* rom_table(const rom_word<L * W>* rom) {
  typedef typename native_int<W, S>::type lane_t;
  static lane_t tab[WORDS * L];
  static const void* src = 0;
  if (src != (const void*)rom) {
    const unsigned C = rom_word<L * W>::CHUNKS;
    for (unsigned i = 0; i < WORDS; ++i) {
      uint64_t c[C + 1];
      for (unsigned j = 0; j < C; ++j) c[j] = rom[i].c[j];  // bits [64j, 64j + 64) of the word
      c[C] = 0;
      for (unsigned l = 0; l < L; ++l) {
        const unsigned bit = l * W, lo = bit / 64, sh = bit % 64;
        uint64_t v = c[lo] >> sh;
        if (sh + W > 64) v |= c[lo + 1] << (64 - sh);
        v &= (W == 64) ? ~0ULL : ((1ULL << (W % 64)) - 1);
        const int64_t sv =
            S && W < 64 && ((v >> (W - 1)) & 1) ? (int64_t)v - (int64_t)(1ULL << (W % 64))
                                                 : (int64_t)v;
        tab[i * L + l] = (lane_t)sv;
      }
    }
    src = rom;
  }
  return tab;
}
#endif

namespace detail {

/// One full-precision product, on a DSP48 or (CFG::MUL_FABRIC, chosen by hwgen's folding
/// optimiser when the DSPs run out) in LUTs.
template <typename A, typename B>
inline auto mul(const A& a, const B& b, mul_tag<false>) -> decltype(a * b) {
#pragma HLS INLINE
  const decltype(a * b) p = a * b;
#pragma HLS BIND_OP variable = p op = mul impl = dsp
  return p;
}
template <typename A, typename B>
inline auto mul(const A& a, const B& b, mul_tag<true>) -> decltype(a * b) {
#pragma HLS INLINE
  const decltype(a * b) p = a * b;
#pragma HLS BIND_OP variable = p op = mul impl = fabric
  return p;
}

/// Two PEs' products with one input x on ONE DSP48 multiplier (CFG::MUL_PACKED, chosen by
/// hwgen's folding optimiser when the DSPs run out; hwgen.design.cost.packs_two gives the
/// conditions, asserted in conv_traits): the operand a = w_hi * 2^K + w_lo, K = W + X bits (one
/// signed product's width), takes K + W + 1 bits (w_hi at its most negative and a negative w_lo
/// reach below -2^(K+W-1)), at most 25: the DSP48E1's pre-adder/A port; x, read as signed, at
/// most 18: its B port; so a * x is one 25 x 18 multiplication (UG479). Its bits [0, K), read
/// signed, are w_lo * x; the bits above are w_hi * x minus the borrow of a negative low product,
/// which its sign bit gives back. Exact for every operand value (tests/hls/test_dsp_packing.py).
/// FINN packs two PEs into a DSP48E1 the same way (finn-rtllib/mvu/mvu_8sx8u_dsp48.sv: 8-bit
/// weights Wa + Ww bits apart on the 25-bit pre-adder port); Xilinx WP486 describes it for the
/// DSP48E2. Here each product leaves the DSP at once, so no guard bits are needed.
template <class TR>
struct mul2_traits {
  static const int K = TR::W_BITS + TR::IN_BITS;
  typedef ap_int<K + TR::W_BITS + 1> a_t;            // the packed operand (25-bit port)
  typedef ap_int<TR::IN_BITS + !TR::IN_SIGNED> b_t;  // the input, signed (18-bit port)
  // a_t * b_t's own width (as `mul` keeps the product's type): BIND_OP binds the multiply itself
  typedef ap_int<K + TR::W_BITS + 1 + TR::IN_BITS + !TR::IN_SIGNED> m_t;
  typedef ap_int<K> p_t;                             // one product, exact
};
template <class TR, typename W, typename X>
inline void mul2(const W& w_lo, const W& w_hi, const X& x, typename mul2_traits<TR>::p_t& p_lo,
                 typename mul2_traits<TR>::p_t& p_hi) {
#pragma HLS INLINE
  typedef mul2_traits<TR> M;
  const typename M::a_t a = ((typename M::a_t)w_hi << M::K) + (typename M::a_t)w_lo;
  const typename M::m_t m = a * (typename M::b_t)x;
#pragma HLS BIND_OP variable = m op = mul impl = dsp
  p_lo = m(M::K - 1, 0);                      // bits [0, K): w_lo * x (two's complement)
  p_hi = (m >> M::K) + (ap_uint<1>)m[M::K - 1];  // w_hi * x: the low product's borrow back
}

/// acc register -> acc_t (overflow mode) -> ReLU -> out_t (rounding and overflow modes), for
/// a channel of MAX_SHIFT - `align` extra fraction bits (per-channel formats; align 0 otherwise)
template <class CFG>
inline typename CFG::out_t conv_output(const typename conv_traits<CFG>::reg_t& r,
                                       const ap_uint<conv_traits<CFG>::SHIFT_W>& align) {
#pragma HLS INLINE
  typedef conv_traits<CFG> TR;
  typename CFG::acc_t a;
  if (TR::EXACT_BITS <= TR::ACC_W && fixed_traits<typename CFG::acc_t>::is_signed) {
    set_raw(a, r);  // the exact sum fits: no overflow handling to do
  } else {
    typename TR::reg_fixed_t t;
    set_raw(t, r);
    a = t;
  }
  if (CFG::RELU && a < 0) a = 0;
  typename CFG::out_t y;
  if (TR::MAX_SHIFT == 0) {
    y = a;
  } else {
    // this channel's sum has MAX_SHIFT - align fraction bits more than acc_t says: read it on
    // the finest channel's fraction (an exact left shift by align, MAX_SHIFT bits wider), then
    // cast once
    typename TR::wide_t v;
#if HWGEN_CSIM_NATIVE
    // in unsigned arithmetic: a left shift of a negative signed integer is undefined in C++14
    set_raw(v, (int64_t)((uint64_t)(int64_t)raw_of(a) << align.to_uint()));
#else
    set_raw(v, (typename TR::wide_raw_t)raw_of(a) << align);
#endif
    y = v;
  }
  return y;
}

/// Matrix-vector unit: for every output pixel, NF*SF iterations of PE x SIMD MACs (see conv2d),
/// on an input buffer xbuf[SF][SIMD] declared (with its pragmas) by conv_mvau below.
template <class CFG>
void conv_mvau_body(hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
                    hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                    const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                    const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF],
                    typename conv_traits<CFG>::x_t xbuf[conv_traits<CFG>::SF][CFG::SIMD]) {
#pragma HLS INLINE
  typedef conv_traits<CFG> TR;
  typedef typename TR::reg_t reg_t;
  typedef typename TR::x_t x_t;
  const unsigned PE = CFG::PE, SIMD = CFG::SIMD, NF = TR::NF, SF = TR::SF;
  static_assert(fits_u32((unsigned long long)TR::PIXELS * NF * SF), "conv2d: 32-bit counters");
  const unsigned ITER = TR::PIXELS * NF * SF;

  reg_t acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1

#if HWGEN_CSIM_NATIVE
  const typename TR::w_store_t* wtab =
      rom_table<TR::W_BITS, TR::W_SIGNED, CFG::PE * CFG::SIMD, TR::WMEM>(weights);
  const typename TR::b_lane_t* btab =
      rom_table<TR::B_LANE, TR::B_LANE_SIGNED, CFG::PE, TR::NF>(bias);
#endif

  unsigned sf = 0, nf = 0;
  unsigned widx = 0;  // ROM word counter: nf*SF + sf, stepping by one (as finn-hlslib mvau.hpp)
mvau_loop:
  for (unsigned i = 0; i < ITER; ++i) {
#pragma HLS PIPELINE II = 1
#if HWGEN_CSIM_NATIVE
    const typename TR::w_store_t* wrow0 = wtab + widx * (PE * SIMD);  // the decoded word
#else
    const typename TR::w_word_t w = weights[widx];  // one ROM word (PE*SIMD weights) per cycle
#endif
    x_t x[SIMD];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 1
    if (nf == 0) {
      const Pack<typename CFG::in_t, CFG::SIMD> v = in.read();
      for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
        x[s] = (x_t)raw_of(v.data[s]);
        xbuf[sf][s] = x[s];
      }
    } else {
      for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
        x[s] = xbuf[sf][s];
      }
    }
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
        acc[pe] = (reg_t)native_bias<TR>(b[pe]);
#else
        acc[pe] = (reg_t)bias_lane<TR>(b, pe);
#endif
        acc[pe] <<= TR::B_SHIFT;
      }
    }
    HWGEN_CSIM_UNROLL
    for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
#if HWGEN_CSIM_NATIVE
      const reg_t xs = x[s];
      const typename TR::w_store_t* wrow = wrow0 + s * PE;
      HWGEN_CSIM_UNROLL
      for (unsigned pe = 0; pe < PE; ++pe) acc[pe] += (reg_t)wrow[pe] * xs;
#else
      for (unsigned pe = 0; pe < PE; pe += TR::PE_STEP) {
#pragma HLS UNROLL
        if (TR::PE_STEP == 2 && pe + 1 < PE) {  // two products on one DSP48 (mul2)
          typename mul2_traits<TR>::p_t lo, hi;
          mul2<TR>(rom_lane<TR::W_BITS, TR::W_SIGNED>(w, s * PE + pe),
                   rom_lane<TR::W_BITS, TR::W_SIGNED>(w, s * PE + pe + 1), x[s], lo, hi);
          acc[pe] += lo;
          acc[pe + 1] += hi;
        } else {
          acc[pe] += mul(rom_lane<TR::W_BITS, TR::W_SIGNED>(w, s * PE + pe), x[s],
                         mul_tag<CFG::MUL_FABRIC>());
        }
      }
#endif
    }
    if (sf == SF - 1) {
      Pack<typename CFG::out_t, CFG::PE> o;
      for (unsigned pe = 0; pe < PE; ++pe) {
#pragma HLS UNROLL
#if HWGEN_CSIM_NATIVE
        o.data[pe] = conv_output<CFG>(acc[pe], native_align<TR>(b[pe]));
#else
        o.data[pe] = conv_output<CFG>(acc[pe], align_lane<TR>(b, pe));
#endif
      }
      out.write(o);
    }
    if (++widx == TR::WMEM) widx = 0;
    if (++sf == SF) {
      sf = 0;
      if (++nf == NF) nf = 0;
    }
  }
}

/// The matrix-vector unit's input buffer (SIMD banks of SF words), in the memory cost.memory
/// chose: one specialisation per storage kind, each with its literal BIND_STORAGE.
template <class CFG, int S>
struct mvau_xbuf;

template <class CFG>
struct mvau_xbuf<CFG, STORE_LUTRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS INLINE
    typename conv_traits<CFG>::x_t xbuf[conv_traits<CFG>::SF][CFG::SIMD];
#pragma HLS ARRAY_PARTITION variable = xbuf complete dim = 2
// UG1399 "pragma HLS bind_storage": written on the first neuron fold, read on the others
#pragma HLS BIND_STORAGE variable = xbuf type = ram_2p impl = lutram
    conv_mvau_body<CFG>(in, out, weights, bias, xbuf);
  }
};

template <class CFG>
struct mvau_xbuf<CFG, STORE_BRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS INLINE
    typename conv_traits<CFG>::x_t xbuf[conv_traits<CFG>::SF][CFG::SIMD];
#pragma HLS ARRAY_PARTITION variable = xbuf complete dim = 2
// UG1399 "pragma HLS bind_storage": written on the first neuron fold, read on the others
#pragma HLS BIND_STORAGE variable = xbuf type = ram_2p impl = bram
    conv_mvau_body<CFG>(in, out, weights, bias, xbuf);
  }
};

template <class CFG>
void conv_mvau(hls::stream<Pack<typename CFG::in_t, CFG::SIMD> >& in,
               hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
               const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
               const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
  mvau_xbuf<CFG, CFG::XBUF_STORAGE>::run(in, out, weights, bias);
}

/// The window geometry of a conv2d config.
template <class CFG>
struct conv_window {
  typedef typename CFG::in_t T;
  static const unsigned IN_H = CFG::IN_H, IN_W = CFG::IN_W, C = CFG::IN_C;
  static const unsigned IN_LANES = CFG::IN_LANES, OUT_LANES = CFG::SIMD;
  static const unsigned K = CFG::K, STRIDE = CFG::STRIDE, PAD_T = CFG::PAD_T, PAD_L = CFG::PAD_L;
  static const unsigned OUT_H = CFG::OUT_H, OUT_W = CFG::OUT_W;
  static const bool PAD_LOWEST = false;  // zero padding
  static const int STORAGE = CFG::WIN_STORAGE;
};

enum conv_mode { CONV_DIRECT = 0, CONV_REGROUP = 1, CONV_WINDOW = 2 };

template <class CFG>
struct conv_mode_of {
  static const bool pointwise = CFG::K == 1 && CFG::STRIDE == 1 && CFG::PAD_T == 0 &&
                                CFG::PAD_L == 0 && CFG::PAD_B == 0 && CFG::PAD_R == 0;
  static const int value =
      !pointwise ? CONV_WINDOW : (CFG::IN_LANES == CFG::SIMD ? CONV_DIRECT : CONV_REGROUP);
};

/// The three structures, one specialisation each (no tag objects passed by value into a
/// dataflow region: UG1399 canonical dataflow).
template <class CFG, int M>
struct conv_impl;

template <class CFG>
struct conv_impl<CFG, CONV_DIRECT> {
  // IN_LANES == SIMD: the input stream already has the matrix-vector unit's word type
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
    conv_mvau<CFG>(in, out, weights, bias);
  }
};

template <class CFG>
struct conv_impl<CFG, CONV_REGROUP> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS DATAFLOW
    hls::stream<Pack<typename CFG::in_t, CFG::SIMD> > vec("conv_regroup");
#pragma HLS STREAM variable = vec depth = 2
    regroup_impl<typename CFG::in_t, CFG::IN_LANES, CFG::SIMD,
                 CFG::IN_H * CFG::IN_W * CFG::IN_C>(in, vec);
    conv_mvau<CFG>(vec, out, weights, bias);
  }
};

template <class CFG>
struct conv_impl<CFG, CONV_WINDOW> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS DATAFLOW
    hls::stream<Pack<typename CFG::in_t, CFG::SIMD> > win("conv_window");
#pragma HLS STREAM variable = win depth = 2
    sliding_window<conv_window<CFG> >(in, win);
    conv_mvau<CFG>(win, out, weights, bias);
  }
};

/// The weight ROM's storage: one specialisation per kind, each with its literal BIND_STORAGE on
/// the kernel's weight and bias arguments, the global ROMs (see "Weight layout": scalar ap_uint
/// words, so no AGGREGATE).
template <class CFG, int S>
struct conv_rom;

template <class CFG>
struct conv_rom<CFG, STORE_LUTRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS INLINE
// UG1399 "pragma HLS bind_storage" (a variable: array or function argument): one ROM word =
// one ap_uint<PE*SIMD*W> = the PE*SIMD weights of one (nf, sf) step
#pragma HLS BIND_STORAGE variable = weights type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
    conv_impl<CFG, conv_mode_of<CFG>::value>::run(in, out, weights, bias);
  }
};

template <class CFG>
struct conv_rom<CFG, STORE_BRAM> {
  static void run(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
                  hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
                  const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
                  const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
#pragma HLS INLINE
// UG1399 "pragma HLS bind_storage" (a variable: array or function argument): one ROM word =
// one ap_uint<PE*SIMD*W> = the PE*SIMD weights of one (nf, sf) step
#pragma HLS BIND_STORAGE variable = weights type = rom_1p impl = bram
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
    conv_impl<CFG, conv_mode_of<CFG>::value>::run(in, out, weights, bias);
  }
};

}  // namespace detail

template <class CFG>
void conv2d(hls::stream<Pack<typename CFG::in_t, CFG::IN_LANES> >& in,
            hls::stream<Pack<typename CFG::out_t, CFG::PE> >& out,
            const typename conv_traits<CFG>::w_rom_t weights[conv_traits<CFG>::WMEM],
            const typename conv_traits<CFG>::b_rom_t bias[conv_traits<CFG>::NF]) {
  typedef conv_traits<CFG> TR;
  static_assert(CFG::OUT_C % CFG::PE == 0, "conv2d: PE must divide OUT_C");
  static_assert(CFG::IN_C % CFG::SIMD == 0, "conv2d: SIMD must divide IN_C");
  static_assert(CFG::IN_C % CFG::IN_LANES == 0, "conv2d: IN_LANES must divide IN_C");
  static_assert(CFG::IN_LANES % CFG::SIMD == 0 || CFG::SIMD % CFG::IN_LANES == 0,
                "conv2d: one of IN_LANES, SIMD must divide the other");
  static_assert(CFG::OUT_H == (CFG::IN_H + CFG::PAD_T + CFG::PAD_B - CFG::K) / CFG::STRIDE + 1 &&
                    CFG::OUT_W == (CFG::IN_W + CFG::PAD_L + CFG::PAD_R - CFG::K) / CFG::STRIDE + 1,
                "conv2d: OUT_H / OUT_W do not match the geometry");
  static_assert(TR::ACC_FRAC == TR::IN_FRAC + TR::W_FRAC,
                "conv2d: acc_t must have the fraction bits of in_t plus those of weight_t");
  static_assert(TR::B_SHIFT >= 0, "conv2d: bias_t must not be finer than acc_t");
  static_assert(TR::SHIFT_BITS >= 0 && TR::MAX_SHIFT >= 0 &&
                    (TR::MAX_SHIFT == 0) == (TR::SHIFT_BITS == 0) &&
                    TR::MAX_SHIFT < (1 << TR::SHIFT_BITS),
                "conv2d: SHIFT_BITS must hold 0..MAX_SHIFT (both 0: one format per tensor)");
#if HWGEN_CSIM_NATIVE
  static_assert(TR::WIDE_W <= 64, "conv2d: per-channel sums need more than 64 bits; compile "
                                  "with -DHWGEN_CSIM_NATIVE=0");
#endif
  static_assert(fits_u32((unsigned long long)CFG::IN_H * CFG::IN_W * CFG::IN_C),
                "conv2d: 32-bit counters");
  static_assert(CFG::PE * CFG::SIMD * TR::W_BITS <= AP_INT_MAX_W &&
                    CFG::PE * TR::B_LANE <= AP_INT_MAX_W,
                "conv2d: a ROM word is wider than AP_INT_MAX_W bits (define it larger)");
  static_assert(CFG::W_STORAGE == STORE_LUTRAM || CFG::W_STORAGE == STORE_BRAM,
                "conv2d: the weight ROM is LUTRAM or BRAM");
  detail::conv_rom<CFG, CFG::W_STORAGE>::run(in, out, weights, bias);
}

}  // namespace hwgen

#endif  // HWGEN_CONV2D_H
