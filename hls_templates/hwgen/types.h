// hwgen kernel library: stream word types, raw-integer helpers and compile-time arithmetic.
//
// Conventions shared by every kernel in namespace hwgen
// ------------------------------------------------------
// * A tensor (C, H, W) travels on an hls::stream as its pixels in raster order (row by row, left
//   to right); each pixel is C / N consecutive words of type Pack<T, N>, word i carrying channels
//   i*N .. i*N+N-1 in ascending order (data[0] = lowest channel). N is the stream's "lanes".
//   A (C,) vector is one pixel.
// * Kernels are templates on a config struct (hls4ml style): Python (hwgen/hls/kernels.py) emits
//   only the struct -- typedefs and `static const` numbers -- and all logic lives in these headers.
// * Weights and biases are stored as RAW two's-complement integers of their fixed-point format
//   (value = raw * 2^-FRAC), in the types int_t<W> / uint_t<W> below, so that a weight header is
//   a plain integer initialiser list.
//
// C-simulation fast path (HWGEN_CSIM_NATIVE)
// ------------------------------------------
// The arithmetic of the kernels runs on raw integers. Under synthesis those are ap_int<W> /
// ap_uint<W>; in C simulation (g++, no __SYNTHESIS__) they are by default the smallest native C++
// integer that holds them (int8_t .. int64_t), which is ~20x faster than ap_int. The loop structure
// and every value computed are the same in both cases. Compile with -DHWGEN_CSIM_NATIVE=0 to run
// the synthesis types in C simulation (the tests do both).
//
// C simulation with the ap_types headers needs -DNDEBUG: ap_private.h asserts on some legal casts
// that drop more fraction bits than the source is wide (see tests/unit/test_fixed_vs_ap_types.py).
#ifndef HWGEN_TYPES_H
#define HWGEN_TYPES_H

// A ROM word holds PE*SIMD weights (conv2d.h): wider than ap_[u]int's default limit of 1024 bits
// for wide foldings. AP_INT_MAX_W, defined before the ap_types headers are first included,
// raises it (UG1399, arbitrary precision integer types); kernels.py MAX_ROM_WORD_BITS matches.
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif
#include <ap_fixed.h>
#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

#ifndef HWGEN_CSIM_NATIVE
#ifdef __SYNTHESIS__
#define HWGEN_CSIM_NATIVE 0
#else
#define HWGEN_CSIM_NATIVE 1
#endif
#endif
#if defined(__SYNTHESIS__) && HWGEN_CSIM_NATIVE
#error "HWGEN_CSIM_NATIVE is a C-simulation speed-up: leave it unset (or 0) for synthesis"
#endif

// In fast C simulation, ask g++ to unroll the (HLS-unrolled) PE x SIMD loops so that it can
// vectorise them; HLS never sees this pragma.
#if HWGEN_CSIM_NATIVE && defined(__GNUC__) && !defined(__clang__)
#define HWGEN_CSIM_UNROLL _Pragma("GCC unroll 64")
#else
#define HWGEN_CSIM_UNROLL
#endif

// AXI4-Stream word: Vitis' own type when its header is there, else an equivalent struct.
#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define HWGEN_HAVE_AXI_SDATA 1
#endif
#endif
#ifndef HWGEN_HAVE_AXI_SDATA
#define HWGEN_HAVE_AXI_SDATA 0
#endif

namespace hwgen {

// ---- stream words -----------------------------------------------------------------------------
/// One stream word: N consecutive channels of one pixel, data[0] the lowest channel.
template <typename T, unsigned N>
struct Pack {
  T data[N];
  T& operator[](unsigned i) { return data[i]; }
  const T& operator[](unsigned i) const { return data[i]; }
};

#if HWGEN_HAVE_AXI_SDATA
/// AXI4-Stream word of W data bits (a multiple of 8): data, keep, strb, last (no user/id/dest).
template <int W>
struct axis_word {
  typedef hls::axis<ap_uint<W>, 0, 0, 0> type;
};
#else
/// Stand-in for hls::axis<ap_uint<W>, 0, 0, 0> where ap_axi_sdata.h is not available (plain g++).
template <int W>
struct axis_plain {
  ap_uint<W> data;
  ap_uint<W / 8> keep;
  ap_uint<W / 8> strb;
  ap_uint<1> last;
};
template <int W>
struct axis_word {
  typedef axis_plain<W> type;
};
#endif
template <int W>
using axis_t = typename axis_word<W>::type;

// ---- ROM words ----------------------------------------------------------------------------------
/// One word of a weight or bias ROM: N bits, initialised from a hex string as FINN's data packing
/// writes ROMs (finn.util.data_packing.numpy_to_hls_code: ap_uint<N>("0x...", 16) per word). For
/// synthesis it IS ap_uint<N>. In C simulation (g++) it is a trivially destructible struct of
/// 64-bit chunks with a constexpr hex-string constructor that converts to ap_uint<N>: the ROM is
/// then constant-initialised by the compiler. (ap_uint<N> itself has a non-trivial destructor in
/// the ap_types headers, and g++ compiles a large brace-initialised array of it into per-element
/// construction and cleanup code: about 3 ms of compile time per word, 20x the whole build.)
#ifdef __SYNTHESIS__
template <int N>
using rom_word = ap_uint<N>;
#else
template <int N>
struct rom_word {
  static const int CHUNKS = (N + 63) / 64;
  uint64_t c[CHUNKS];  // c[j]: bits [64j, 64j + 64)
  static const int DIGITS = (N + 3) / 4;
  /// s = "0x" and exactly DIGITS hex digits, most significant first (as hwgen writes them; a
  /// shorter string stops at its end); radix: 16
  constexpr rom_word(const char* s, int radix) : c() {
    for (int f = 0; f < DIGITS && radix == 16; ++f) {
      const char ch = s[2 + f];
      if (!ch) break;
      const int k = DIGITS - 1 - f;  // digit k holds bits [4k, 4k + 4)
      const int d = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
      c[k / 16] |= uint64_t(d) << (4 * (k % 16));
    }
  }
  operator ap_uint<N>() const {
    ap_uint<N> r = 0;
    for (int j = CHUNKS - 1; j >= 0; --j) {
      r <<= (N > 64 ? 64 : 0);
      r |= ap_uint<N>(c[j]);
    }
    return r;
  }
};
#endif

// ---- compile-time arithmetic (evaluated by the compiler only) ----------------------------------
constexpr unsigned umin(unsigned a, unsigned b) { return a < b ? a : b; }
constexpr unsigned umax(unsigned a, unsigned b) { return a > b ? a : b; }
constexpr int imax(int a, int b) { return a > b ? a : b; }
/// ceil(log2(n)), 0 for n <= 1
constexpr int clog2(unsigned long long n) {
  int b = 0;
  while ((1ULL << b) < n) ++b;
  return b;
}

// ---- storage of on-chip arrays ------------------------------------------------------------------
/// Where an array lives, as hwgen.hls.cost chose it (emitted in each layer's config struct as a
/// *_STORAGE constant). A BIND_STORAGE pragma needs its impl as a literal, so every kernel selects
/// one of a few class-template specialisations, each declaring the array with its literal pragma
/// (UG1399 "pragma HLS bind_storage": placed in the function that defines the variable).
/// STORE_REG: a read-modify-write array of at most cost.RMW_REG_DEPTH words is kept in registers
/// (ARRAY_PARTITION complete), so that its update can complete within one iteration.
enum storage_kind { STORE_LUTRAM = 0, STORE_BRAM = 1, STORE_REG = 2 };

// ---- loop counters -------------------------------------------------------------------------------
// Loop counters and indices are `unsigned` (32 bits), as in finn-hlslib (mvau.hpp, slidingwindow.h):
// every trip count is checked against 2^32 at compile time (fits_u32), and HLS narrows a counter
// whose bound is a constant to the bits its range needs, so no 64-bit carry chains remain.
constexpr bool fits_u32(unsigned long long n) { return n < (1ULL << 32); }

template <bool C, typename A, typename B>
struct select_type {
  typedef A type;
};
template <typename A, typename B>
struct select_type<false, A, B> {
  typedef B type;
};

// ---- fixed-point traits -----------------------------------------------------------------------
/// width, integer bits, fraction bits and signedness of an ap_fixed / ap_ufixed type
template <typename T>
struct fixed_traits;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<ap_fixed<W, I, Q, O, N> > {
  static const int width = W;
  static const int iwidth = I;
  static const int frac = W - I;
  static const bool is_signed = true;
  /// bits of the largest magnitude: |raw| <= 2^mag_bits
  static const int mag_bits = W - 1;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<ap_ufixed<W, I, Q, O, N> > {
  static const int width = W;
  static const int iwidth = I;
  static const int frac = W - I;
  static const bool is_signed = false;
  static const int mag_bits = W;
};

// ---- raw integer types ------------------------------------------------------------------------
/// Native integer of at least W bits (W <= 64).
template <int W, bool S>
struct native_int {
  static_assert(W >= 1 && W <= 64, "native integers hold at most 64 bits");
  typedef typename select_type<
      (W <= 8), int8_t,
      typename select_type<(W <= 16), int16_t,
                           typename select_type<(W <= 32), int32_t, int64_t>::type>::type>::type
      stype;
  typedef typename select_type<
      (W <= 8), uint8_t,
      typename select_type<(W <= 16), uint16_t,
                           typename select_type<(W <= 32), uint32_t, uint64_t>::type>::type>::type
      utype;
  typedef typename select_type<S, stype, utype>::type type;
};

/// The integer type that holds a W-bit raw value (signed or not): ap_int<W> / ap_uint<W> for
/// synthesis, a native integer in fast C simulation.
template <int W, bool S>
struct raw_int {
#if HWGEN_CSIM_NATIVE
  typedef typename native_int<W, S>::type type;
#else
  typedef typename select_type<S, ap_int<W>, ap_uint<W> >::type type;
#endif
};
/// signed W-bit raw integer (weights, biases)
template <int W>
using int_t = typename raw_int<W, true>::type;
/// unsigned W-bit raw integer
template <int W>
using uint_t = typename raw_int<W, false>::type;

/// The raw integer type of a fixed-point type T.
template <typename T>
struct raw_of_type {
  typedef typename raw_int<fixed_traits<T>::width, fixed_traits<T>::is_signed>::type type;
};

/// Raw integer of a fixed-point value (its bits, read as a two's-complement or unsigned integer).
template <typename T>
inline typename raw_of_type<T>::type raw_of(const T& x) {
#pragma HLS INLINE
  const int W = fixed_traits<T>::width;
#if HWGEN_CSIM_NATIVE
  static_assert(W <= 64, "HWGEN_CSIM_NATIVE: fixed-point widths up to 64 bits");
  const uint64_t bits = x.bits_to_uint64();
  if (fixed_traits<T>::is_signed) {
    return (typename raw_of_type<T>::type)((int64_t)(bits << (64 - W)) >> (64 - W));
  }
  return (typename raw_of_type<T>::type)(W == 64 ? bits : bits & ((1ULL << (W % 64)) - 1));
#else
  typename raw_of_type<T>::type r = x.range(W - 1, 0);
  return r;
#endif
}

/// Set a fixed-point value from a raw integer (its low W bits).
template <typename T, typename R>
inline void set_raw(T& x, const R& r) {
#pragma HLS INLINE
  const int W = fixed_traits<T>::width;
#if HWGEN_CSIM_NATIVE
  static_assert(W <= 64, "HWGEN_CSIM_NATIVE: fixed-point widths up to 64 bits");
  const uint64_t bits = (uint64_t)(int64_t)r;
  x.setBits(W == 64 ? bits : bits & ((1ULL << (W % 64)) - 1));
#else
  x = 0;  // (a full-width range write still reads the old bits; HLS removes this store)
  x.range(W - 1, 0) = r;
#endif
}

/// The most negative value of a fixed-point type (0 for unsigned types).
template <typename T>
inline T lowest() {
#pragma HLS INLINE
  const int W = fixed_traits<T>::width;
  T v = 0;
  if (fixed_traits<T>::is_signed) {
    ap_uint<W> bits = 0;
    bits[W - 1] = 1;
    v.range(W - 1, 0) = bits;
  }
  return v;
}

}  // namespace hwgen

#endif  // HWGEN_TYPES_H
