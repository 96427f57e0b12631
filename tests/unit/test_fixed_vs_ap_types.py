"""``hwgen.fixed`` against the real Xilinx ap_types headers, bit for bit.

A small C++ harness is generated for the exact list of types under test (ap_fixed's W, I, Q and O are
template parameters, so every type needs its own instantiation), compiled once per session with the
headers that ``hwgen.toolchain.ap_types_include()`` finds, and fed binary records on stdin:

    int64 op, int64 type index, int64 n, then n 64-bit payloads      (answer: n uint64 raw bit patterns)

op 0 converts doubles (``T y = x;``), op 1 + s assigns an exact fixed value of ``SOURCES[s]`` given as
raw bits (``S s; s.setBits(raw); T y; y = s;``). Each answer is ``y.bits_to_uint64()`` (the raw
value, sign-extended to 64 bits; only its low W bits are used).
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from hwgen import toolchain
from hwgen.errors import HwgenError
from hwgen.fixed import MAX_WIDTH, OVERFLOW_MODES, ROUNDING_MODES, FixedType

SEED = 20240611
MODE_PAIRS = [(q, o) for q in ROUNDING_MODES for o in OVERFLOW_MODES]
SOURCES = (FixedType(40, 20), FixedType(24, 4))  # fixed-to-fixed sources (both 20 fraction bits)
N_DOUBLE, N_CAST = 3000, 1500  # values per type: from double, and from each source


def _types_under_test() -> list[FixedType]:
    # Each instantiation costs ~0.15 s of compile time, so types are picked to cover a lot each.
    types = []
    # Every quantisation x overflow mode, signed and unsigned, on one ordinary shape.
    for signed in (True, False):
        types += [FixedType(5, 2, signed, q, o) for q, o in MODE_PAIRS]
    # A sweep of widths 1..18 with assorted I (negative, inside, beyond W), wide and extreme shapes,
    # cycling through the mode pairs so that every pair meets several shapes.
    rng = np.random.default_rng(SEED)
    shapes = [(w, int(rng.integers(-6, w + 7))) for w in range(1, 19)]
    shapes += [(1, 1), (1, -2), (2, 0), (32, 0), (32, -12), (40, 20), (40, -6), (40, 44), (24, 4),
               (3, -40), (6, 60), (62, 30)]
    k = 0
    for w, i in shapes:
        for signed in (True, False):
            q, o = MODE_PAIRS[k % len(MODE_PAIRS)]
            types.append(FixedType(w, i, signed, q, o))
            k += 11  # coprime with 28: neighbouring shapes get unrelated (Q, O) pairs
    # one-bit signed types saturate symmetrically to an empty range: pin that case down explicitly
    types += [FixedType(1, i, True, q, "AP_SAT_SYM") for i, q in [(1, "AP_TRN"), (0, "AP_RND")]]
    return types


TYPES = _types_under_test()

# ---- the C++ harness -------------------------------------------------------------------------------
_PRELUDE = r"""
#include <ap_fixed.h>
#include <cstdint>
#include <cstring>
typedef void (*Conv)(const uint64_t*, long, uint64_t*);
struct Entry { Conv conv[%(n_ops)d]; };
template <class T> void from_double(const uint64_t* in, long n, uint64_t* out) {
  for (long i = 0; i < n; ++i) {
    double x;
    std::memcpy(&x, &in[i], sizeof x);
    T y = x;
    out[i] = y.bits_to_uint64();
  }
}
template <class T, class S> void from_fixed(const uint64_t* in, long n, uint64_t* out) {
  for (long i = 0; i < n; ++i) {
    S s;
    s.setBits(in[i]);
    T y;
    y = s;
    out[i] = y.bits_to_uint64();
  }
}
"""

_MAIN = r"""
#include <cstdint>
#include <cstdio>
#include <vector>
typedef void (*Conv)(const uint64_t*, long, uint64_t*);
struct Entry { Conv conv[%(n_ops)d]; };
%(decls)s
int main() {
  static Entry table[%(n_types)d];
  %(fills)s
  int64_t head[3];
  while (std::fread(head, sizeof(int64_t), 3, stdin) == 3) {
    if (head[0] < 0 || head[0] >= %(n_ops)d || head[1] < 0 || head[1] >= %(n_types)d) return 2;
    std::vector<uint64_t> in(head[2] + 1), out(head[2] + 1);
    if (std::fread(in.data(), 8, head[2], stdin) != (size_t)head[2]) return 3;
    table[head[1]].conv[head[0]](in.data(), head[2], out.data());
    std::fwrite(out.data(), 8, head[2], stdout);
  }
  return 0;
}
"""


def _harness_sources(n_units: int) -> dict[str, str]:
    n_ops = 1 + len(SOURCES)
    src_names = [f"Src{s}" for s in range(len(SOURCES))]
    prelude = _PRELUDE % {"n_ops": n_ops} + "".join(
        f"typedef {src.cpp()} {name};\n" for src, name in zip(SOURCES, src_names))
    files = {}
    for u in range(n_units):
        lines = [prelude, f"void fill_{u}(Entry* t) {{"]
        for idx in range(u, len(TYPES), n_units):
            t = TYPES[idx].cpp() + " "  # the space keeps '> >' apart
            convs = [f"&from_double<{t}>"] + [f"&from_fixed<{t}, {name} >" for name in src_names]
            lines.append(f"  t[{idx}] = Entry{{{{{', '.join(convs)}}}}};")
        files[f"unit_{u}.cpp"] = "\n".join(lines + ["}\n"])
    files["main.cpp"] = _MAIN % {
        "n_ops": n_ops, "n_types": len(TYPES),
        "decls": "".join(f"void fill_{u}(Entry*);\n" for u in range(n_units)),
        "fills": " ".join(f"fill_{u}(table);" for u in range(n_units))}
    return files


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """Compile the harness once; return ``run(requests) -> [raw bits]`` for (op, type index, payload)."""
    try:
        cxx, include = toolchain.cxx(), toolchain.ap_types_include()
    except HwgenError as exc:  # the proof needs g++ and the headers: their absence is a failure
        pytest.fail(str(exc))
    folder = tmp_path_factory.mktemp("ap_types_harness")
    # Instantiations dominate the compile time: spread them over one translation unit per core.
    # -O0 compiles them twice as fast as -O1 and is what Vitis C simulation uses by default.
    # NDEBUG: ap_fixed's operator= reads the rounding bit with get_bit() before checking that it lies
    # inside the source (it then ignores it), which trips an assertion in ap_private.h whenever a
    # cast with a rounding mode drops more fraction bits than the source is wide.
    n_units = max(1, min(os.cpu_count() or 1, 8))
    procs, objects = [], []
    for name, text in _harness_sources(n_units).items():
        (folder / name).write_text(text)
        obj = folder / (name[:-4] + ".o")
        objects.append(str(obj))
        command = [cxx, "-O0", "-DNDEBUG", "-w", f"-I{include}", "-c", str(folder / name), "-o", str(obj)]
        procs.append(subprocess.Popen(command, stderr=subprocess.PIPE, text=True))
    errors = [err for p in procs for err in [p.communicate()[1]] if p.returncode != 0]
    assert not errors, "harness does not compile:\n" + "\n".join(e[:4000] for e in errors)
    exe = folder / "ap_cast"
    subprocess.run([cxx, *objects, "-o", str(exe)], check=True)

    def run(requests):
        chunks = []
        for op, idx, payload in requests:
            chunks.append(np.array([op, idx, payload.size], dtype=np.int64).tobytes())
            chunks.append(np.ascontiguousarray(payload).tobytes())
        done = subprocess.run([str(exe)], input=b"".join(chunks), capture_output=True, check=True)
        out = np.frombuffer(done.stdout, dtype=np.uint64)
        assert out.size == sum(p.size for _, _, p in requests), "harness answered short"
        bounds = np.cumsum([0] + [p.size for _, _, p in requests])
        return [out[a:b].view(np.int64) for a, b in zip(bounds[:-1], bounds[1:])]

    return run


# ---- inputs ---------------------------------------------------------------------------------------
def _near_range(t: FixedType, rng, n: int) -> np.ndarray:
    """Raw integers (int64) around and beyond the type's range, and its edges and zero."""
    span = max(8, min(t.max_raw - t.min_raw + 1, 1 << 40))
    lo, hi = t.min_raw - span, t.max_raw + span
    edges = [e + d for e in (t.min_raw, t.max_raw, 0, -t.max_raw) for d in range(-3, 4)]
    return np.concatenate([np.array(edges, dtype=np.int64), rng.integers(lo, hi + 1, n)])


def _double_inputs(idx: int) -> np.ndarray:
    t = TYPES[idx]
    rng = np.random.default_rng([SEED, idx, 0])
    k = _near_range(t, rng, N_DOUBLE // 2).astype(np.float64)
    # exact ties (k + 1/2), quarter steps, ties missed by a hair on either side, arbitrary fractions
    offsets = np.array([0.0, 0.5, -0.5, 0.25, 0.75, 0.5 - 2.0 ** -30, 0.5 + 2.0 ** -30])
    off = np.where(rng.random(k.size) < 0.8, rng.choice(offsets, k.size), rng.random(k.size))
    near = np.ldexp(k + off, -t.frac)
    # zeros, subnormals, huge values and infinities (scaled out of float64's range), values a hair
    # off a tie where ``s - floor(s)`` rounds in float64
    step = 2.0 ** -t.frac
    special = np.array([0.0, -0.0, 5e-324, -5e-324, 2.0 ** -1022, -(2.0 ** -1022), 1e300, -1e300,
                        np.inf, -np.inf, 2.0 ** 70, -(2.0 ** 70), step, -step,
                        (0.5 - 2.0 ** -54) * step, (-0.5 + 2.0 ** -54) * step,
                        (1.5 - 2.0 ** -52) * step, -(1.5 - 2.0 ** -52) * step])
    # magnitudes from far below one step to far above the range, both signs
    n_log = N_DOUBLE - near.size - special.size
    mag = np.exp2(rng.uniform(-t.frac - 70, t.integer + 70, n_log))
    wide = np.where(rng.random(n_log) < 0.5, -mag, mag)
    return np.concatenate([near, wide, special])


def _cast_inputs(idx: int, s: int) -> np.ndarray:
    """Raw values of ``SOURCES[s]`` (int64 within the source width)."""
    t, src = TYPES[idx], SOURCES[s]
    rng = np.random.default_rng([SEED, idx, 1 + s])
    shift = src.frac - t.frac  # source LSBs that the target drops (negative: target has more)
    k = _near_range(t, rng, N_CAST // 2).astype(object)
    if shift > 0:  # land on exact ties, next to them, on the grid, or anywhere in between
        half = 1 << (shift - 1)
        choices = np.array([0, half, half - 1, half + 1, (1 << shift) - 1], dtype=object)
        off = rng.choice(choices, k.size)
        anywhere = rng.random(k.size) < 0.2
        off[anywhere] = [int(v) for v in rng.integers(0, 1 << min(shift, 62), int(anywhere.sum()))]
        raw = (k << shift) + off
    else:
        raw = k >> -shift
    raw = np.array([int(v) & ((1 << src.width) - 1) for v in raw], dtype=np.int64)
    n_log = N_CAST - raw.size
    mag = np.floor(np.exp2(rng.uniform(0, src.width - 1, n_log))).astype(np.int64)
    full = rng.integers(src.min_raw, src.max_raw + 1, 8)
    edges = np.array([src.min_raw, src.max_raw, 0, -1, 1, src.min_raw + 1], dtype=np.int64)
    return src.from_bits(np.concatenate([raw, np.where(rng.random(n_log) < 0.5, -mag, mag),
                                         full, edges]))


# ---- comparison -----------------------------------------------------------------------------------
def _mismatch_report(rows: list[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]]) -> list[str]:
    """One line per type whose header result differs: the first differing input and both results."""
    lines = []
    for idx, source, inputs, want, got in rows:
        bad = np.flatnonzero(want != got)
        if bad.size:
            t, j = TYPES[idx], bad[0]
            x = inputs[j]
            shown = (f"{float(x)!r} ({float(x).hex()})" if source == "double" else
                     f"raw {int(x)} = {float(x) * 2.0 ** -SOURCES[int(source[-1])].frac!r} of "
                     f"{SOURCES[int(source[-1])].cpp()}")
            lines.append(f"{t.cpp()} from {shown}: headers raw {int(want[j])} "
                         f"(= {float(t.dequantize(want[j]))!r}), hwgen.fixed raw {int(got[j])} "
                         f"(= {float(t.dequantize(got[j]))!r}); {bad.size}/{inputs.size} differ")
    return lines


def _check(harness, op: int, overflow: str) -> None:
    indices = [i for i, t in enumerate(TYPES) if t.overflow == overflow]
    if op == 0:
        inputs = [_double_inputs(i) for i in indices]
        payloads = [x.view(np.uint64) for x in inputs]
    else:
        inputs = [_cast_inputs(i, op - 1) for i in indices]
        payloads = [SOURCES[op - 1].to_bits(x).view(np.uint64) for x in inputs]
    answers = harness([(op, i, p) for i, p in zip(indices, payloads)])
    rows = []
    for i, x, bits in zip(indices, inputs, answers):
        t = TYPES[i]
        want = t.from_bits(bits)
        if op == 0:
            rows.append((i, "double", x, want, np.asarray(t.quantize(x))))
            continue
        frac = SOURCES[op - 1].frac
        # both casts of the golden model: the plain one and the one counting saturations
        rows.append((i, f"src{op - 1}", x, want, np.asarray(t.cast(x, from_frac=frac))))
        rows.append((i, f"src{op - 1} (counting)", x, want,
                     np.asarray(t.cast_counting(x, from_frac=frac)[0])))
    lines = _mismatch_report(rows)
    n_pairs = sum(x.size for x in inputs)
    assert not lines, (f"{len(lines)} of {len(indices)} types differ from ap_types "
                       f"({n_pairs} values checked); first mismatch per type:\n" + "\n".join(lines[:25]))


@pytest.mark.parametrize("overflow", OVERFLOW_MODES)
def test_quantize_matches_ap_fixed_from_double(harness, overflow):
    _check(harness, 0, overflow)


@pytest.mark.parametrize("source", range(len(SOURCES)), ids=[s.cpp() for s in SOURCES])
@pytest.mark.parametrize("overflow", OVERFLOW_MODES)
def test_cast_matches_ap_fixed_assignment(harness, overflow, source):
    _check(harness, 1 + source, overflow)


def test_types_under_test_cover_every_mode():
    for signed in (True, False):
        pairs = {(t.rounding, t.overflow) for t in TYPES if t.signed == signed}
        assert pairs == set(MODE_PAIRS)
    assert {t.width for t in TYPES} >= set(range(1, 19)) | {32, 40}
    assert any(t.integer < 0 for t in TYPES) and any(t.integer > t.width for t in TYPES)


# ---- parse / cpp ----------------------------------------------------------------------------------
def test_parse_cpp_round_trip():
    for t in TYPES:
        assert FixedType.parse(t.cpp()) == t
        assert FixedType.parse(str(t)) == t
    assert FixedType.parse("ap_fixed<8,3>") == FixedType(8, 3, True, "AP_TRN", "AP_WRAP")
    assert FixedType.parse(" ufixed < 6 , -2 , AP_RND > ") == FixedType(6, -2, False, "AP_RND")
    assert FixedType.parse("fixed<16,20,AP_RND_CONV,AP_SAT_SYM>") == \
        FixedType(16, 20, True, "AP_RND_CONV", "AP_SAT_SYM")
    assert FixedType.parse("ap_ufixed<8,4,AP_RND,AP_SAT>").cpp() == "ap_ufixed<8,4,AP_RND,AP_SAT>"


@pytest.mark.parametrize("text", [
    "ap_fixed<0,0>", f"ap_fixed<{MAX_WIDTH + 1},4>", "ap_fixed<-3,1>", "ap_fixed<8>", "ap_int<8>",
    "ap_fixed<8,3,AP_ROUND>", "ap_fixed<8,3,AP_RND,AP_SATURATE>", "ap_fixed<8,3,AP_SAT,AP_RND>",
    "ap_fixed<8,3,AP_RND,AP_SAT,0>", "ap_fixed<8.5,3>", "", "float"])
def test_parse_rejects_invalid_types(text):
    with pytest.raises(HwgenError):
        FixedType.parse(text)


def test_constructor_rejects_invalid_types():
    for kwargs in [dict(width=0, integer=0), dict(width=MAX_WIDTH + 1, integer=1),
                   dict(width=8, integer=3, rounding="AP_FLOOR"),
                   dict(width=8, integer=3, overflow="AP_WRAP_SM")]:
        with pytest.raises(HwgenError):
            FixedType(**kwargs)


def test_counting_cast_equals_cast_value_by_value():
    """The golden model casts whole tensors with cast_counting, which skips the overflow step
    when every value is in range: one value at a time, it must still give what the proven
    ``cast`` gives (AP_SAT_SYM, for one, never yields the most negative code)."""
    bad = []
    for i, t in enumerate(TYPES):
        for s, src in enumerate(SOURCES):
            x = _cast_inputs(i, s)[:60]
            x = np.concatenate([x, src.quantize(t.min_raw * 2.0 ** -t.frac)[None]])
            want = t.cast(x, from_frac=src.frac)
            got = np.array([t.cast_counting(v[None], from_frac=src.frac)[0][0] for v in x])
            if not np.array_equal(got, want):
                k = int(np.flatnonzero(got != want)[0])
                bad.append(f"{t.cpp()} from {src.cpp()}: raw {x[k]} -> {got[k]}, cast {want[k]}")
    assert not bad, "\n".join(bad[:10])
