"""The HLS kernel library (hls_templates/hwgen) in C simulation, element by element against the
golden model, plus the Python side (hwgen.hls.kernels and the design's stages, hwgen.design):
layouts, folding, cycles, FIFO depths.

Every case (tests/hls/cases.py) is a small quantised graph -- one kernel, or a Fire module, or a
whole chain between AXI adapters -- rendered through ``kernel_call`` as a dataflow generator would.
All cases go into one C++ file, compiled twice: with the fast C-simulation arithmetic (native
integers, HWGEN_CSIM_NATIVE=1) and with the synthesis types (ap_int, HWGEN_CSIM_NATIVE=0, a
subset of the cases), both at -O0 (compile time dominates; test_csim_speed_smoke and the slow
tests compile the fast path optimised). The two compiles run in parallel.
Shapes, strides, paddings, kernel sizes, ceil modes, widths, signedness, rounding and overflow
modes and PE/SIMD/lanes are drawn at random from fixed seeds.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import cases as C
import fifo_sim
from hwgen import toolchain
from hwgen.design import stages as S
from hwgen.design.depths import DEFAULT_FIFO_DEPTH, fifo_depths, fire_fifo_depths
from hwgen.design.folding import Folding
from hwgen.design.names import cpp_ident
from hwgen.design.schedule import MVAU_DEPTH, SIMPLE_DEPTH, window_iterations, window_phases
from hwgen.design.stages import legal_folding, pack_conv_weights
from hwgen.design.streams import axi_bits, pack_axi, unpack_axi
from hwgen.errors import HwgenError
from hwgen.fixed import FixedType
from hwgen.hls import kernels as K
from hwgen.ir import Graph, Node, Tensor
from hwgen.ops import Add, Concat, Conv, GlobalAvgPool, MaxPool, Relu
from hwgen.resources import data_dir


# ---- the cases -------------------------------------------------------------------------------
def _native_specs():
    specs = {
        # the three conv structures: direct MVAU, regroup + MVAU, window + MVAU
        "conv_direct": (C.conv_case, 11, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=8, cout=6,
                                              fold=Folding(pe=3, simd=4, in_lanes=4))),
        "conv_regroup_split": (C.conv_case, 12, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=8,
                                                     cout=4, fold=Folding(2, 2, in_lanes=8))),
        "conv_regroup_merge": (C.conv_case, 13, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=12,
                                                     cout=4, fold=Folding(4, 6, in_lanes=2))),
        "conv_1x1_stride2": (C.conv_case, 14, dict(k=1, stride=2, pad=(0, 0, 0, 0))),
        "conv_3x3_same": (C.conv_case, 15, dict(k=3, stride=1, pad=(1, 1, 1, 1), cin=4, cout=8,
                                                fold=Folding(8, 4, in_lanes=4))),
        "conv_5x5_stride2": (C.conv_case, 16, dict(k=5, stride=2)),
        "conv_3x3_stride3": (C.conv_case, 17, dict(k=3, stride=3)),
        "conv_narrow_acc": (C.conv_case, 18, dict(narrow_acc=True)),
        "conv_pe1_simd1": (C.conv_case, 19, dict(k=3, fold=Folding(1, 1, in_lanes=1), cin=3,
                                                 cout=5)),
    }
    for i in range(10):
        specs[f"conv_random{i:02d}"] = (C.conv_case, 1000 + i, {})
    # weights in DDR (conv2d_ddr): the three front ends, then random geometry and formats
    specs["conv_ddr_direct"] = (C.conv_case, 31, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=8,
                                                      cout=6, fold=Folding(3, 4, in_lanes=4),
                                                      ddr=True))
    specs["conv_ddr_regroup"] = (C.conv_case, 32, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=12,
                                                       cout=10, fold=Folding(5, 6, in_lanes=2),
                                                       ddr=True))
    specs["conv_ddr_window"] = (C.conv_case, 33, dict(k=3, stride=1, pad=(1, 1, 1, 1), cin=8,
                                                      cout=16, fold=Folding(8, 4, in_lanes=4),
                                                      ddr=True))
    for i in range(4):
        specs[f"conv_ddr_random{i}"] = (C.conv_case, 1100 + i, dict(ddr=True))
    # per-channel weight formats (conv2d.h "Per-channel formats"): shifts 0..S across the PE
    # lanes, in the three front ends and with weights in DDR
    specs["conv_channel_direct"] = (C.conv_case, 71, dict(k=1, stride=1, pad=(0, 0, 0, 0), cin=8,
                                                          cout=12, fold=Folding(4, 4, in_lanes=4),
                                                          max_shift=8))
    specs["conv_channel_window"] = (C.conv_case, 72, dict(k=3, stride=1, pad=(1, 1, 1, 1), cin=4,
                                                          cout=8, fold=Folding(2, 4, in_lanes=2),
                                                          relu=True, max_shift=3))
    specs["conv_channel_pe1"] = (C.conv_case, 73, dict(k=3, stride=2, cin=3, cout=5,
                                                       fold=Folding(1, 1, in_lanes=1),
                                                       max_shift=5))
    specs["conv_channel_narrow_acc"] = (C.conv_case, 74, dict(narrow_acc=True, max_shift=2))
    specs["conv_channel_ddr"] = (C.conv_case, 75, dict(k=3, stride=1, pad=(1, 1, 1, 1), cin=8,
                                                       cout=16, fold=Folding(8, 4, in_lanes=4),
                                                       ddr=True, max_shift=6))
    for i in range(3):
        specs[f"conv_channel_random{i}"] = (C.conv_case, 1200 + i, dict(max_shift=1 + 3 * i))
    # two products per DSP48 (conv2d.h mul2): widths at the packing limit 2*W + X + 1 = 25, an odd
    # PE (its last lane alone), signed and unsigned inputs, per-channel formats, DDR weights
    u8, s8 = FixedType(8, 3, False, "AP_RND", "AP_SAT"), FixedType(8, 2, True, "AP_TRN", "AP_WRAP")
    specs["conv_packed_window"] = (C.conv_case, 81, dict(
        k=3, stride=1, pad=(1, 1, 1, 1), cin=4, cout=8, fold=Folding(4, 2, in_lanes=2,
                                                                     mul_packed=True),
        in_fmt=u8, weight_bits=8))
    specs["conv_packed_odd_pe"] = (C.conv_case, 82, dict(
        k=1, stride=1, pad=(0, 0, 0, 0), cin=6, cout=10, fold=Folding(5, 3, in_lanes=3,
                                                                      mul_packed=True),
        in_fmt=s8, weight_bits=8, relu=True))
    specs["conv_packed_channel_ddr"] = (C.conv_case, 83, dict(
        k=3, stride=2, pad=(1, 1, 1, 1), cin=4, cout=12, fold=Folding(6, 4, in_lanes=4,
                                                                      mul_packed=True),
        in_fmt=FixedType(16, 4, False, "AP_RND", "AP_SAT"), weight_bits=4, ddr=True,
        max_shift=3))
    specs["pool_3x3_s2_ceil"] = (C.maxpool_case, 20, dict(k=3, stride=2, ceil=True))
    specs["pool_2x2_s2"] = (C.maxpool_case, 21, dict(k=2, stride=2, ceil=False))
    specs["pool_other_out_fmt"] = (C.maxpool_case, 22, dict(same_fmt=False))
    for i in range(4):
        specs[f"pool_random{i}"] = (C.maxpool_case, 2000 + i, {})
    for i in range(3):
        specs[f"gap_random{i}"] = (C.gap_case, 3000 + i, {})
    for i in range(6):
        specs[f"add_random{i}"] = (C.add_case, 4000 + i, {})
    specs["fire_a"] = (C.fire_case, 40, {})
    specs["fire_b"] = (C.fire_case, 41, dict(cin=6, hw=(5, 9), cs=6, c1=4, c3=12))
    specs["chain_axi"] = (C.chain_case, 50, {})
    specs["plumbing"] = (C.plumbing_case, 60, {})
    return specs


NATIVE = _native_specs()
#: the synthesis-typed path (ap_int arithmetic) on a subset: it compiles ~3x slower. chain_axi
#: alone covers windowed, direct and regrouped convs, max pooling, a Fire module, global average
#: pooling and both AXI adapters.
AP = ["conv_regroup_merge", "conv_5x5_stride2", "conv_narrow_acc", "conv_random00",
      "conv_ddr_window", "conv_ddr_random0", "conv_channel_window", "conv_channel_ddr",
      "conv_packed_window", "conv_packed_odd_pe", "conv_packed_channel_ddr",
      "pool_3x3_s2_ceil", "gap_random0", "add_random0", "add_random1", "chain_axi", "plumbing"]

def _build(specs: dict, names) -> list[C.Case]:
    out = []
    for name in names:
        fn, seed, kw = specs[name]
        out.append(fn(name, seed, **kw))
    return out


def _compile_and_run(folder: Path, builds: dict[str, tuple[list[C.Case], bool, str]]
                     ) -> dict[str, Path]:
    """Compile every binary in parallel, run each on its cases; returns mode -> output folder."""
    try:
        cxx, include = toolchain.cxx(), toolchain.ap_types_include()
    except HwgenError as exc:  # the proof needs g++ and the headers: their absence is a failure
        pytest.fail(str(exc))
    templates = data_dir("hls_templates")
    procs = {}
    for mode, (cases, native, opt) in builds.items():
        d = folder / mode
        d.mkdir()
        (d / "cases.cpp").write_text(C.render(cases))
        cmd = C.compile_command(cxx, include, templates, d / "cases.cpp", d / "cases", native, opt)
        procs[mode] = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    errors = {m: p.communicate()[1] for m, p in procs.items()}
    for mode, p in procs.items():
        assert p.returncode == 0, f"{mode} cases do not compile:\n{errors[mode][:6000]}"
    for mode, (cases, _, _) in builds.items():
        C.run_cases(folder / mode / "cases", folder / mode, cases)
    return {m: folder / m for m in builds}


@pytest.fixture(scope="module")
def csim(tmp_path_factory):
    cases = {"native": _build(NATIVE, NATIVE), "ap": _build(NATIVE, AP)}
    folders = _compile_and_run(tmp_path_factory.mktemp("hls_kernels"),
                               {"native": (cases["native"], True, "-O0"),
                                "ap": (cases["ap"], False, "-O0")})
    return {m: ({c.name: c for c in cases[m]}, folders[m]) for m in cases}


@pytest.mark.parametrize("name", list(NATIVE))
def test_kernel_fast_csim(csim, name):
    cases, folder = csim["native"]
    cases[name].check(folder / f"{name}.out")


@pytest.mark.parametrize("name", AP)
def test_kernel_synthesis_types(csim, name):
    cases, folder = csim["ap"]
    cases[name].check(folder / f"{name}.out")


@pytest.mark.slow
def test_kernels_many_random(tmp_path):
    """A wider random sweep, both arithmetic paths (several minutes)."""
    specs = {}
    for i in range(60):
        specs[f"conv{i:02d}"] = (C.conv_case, 5000 + i, {})
    for i in range(20):
        specs[f"pool{i:02d}"] = (C.maxpool_case, 6000 + i, {})
    for i in range(10):
        specs[f"gap{i:02d}"] = (C.gap_case, 7000 + i, {})
    for i in range(6):
        specs[f"fire{i}"] = (C.fire_case, 8000 + i, dict(hw=(int(4 + i), int(9 - i))))
    specs["chain"] = (C.chain_case, 8100, {})
    names = list(specs)
    ap_names = names[::3]
    native, ap = _build(specs, names), _build(specs, ap_names)
    folders = _compile_and_run(tmp_path, {"native": (native, True, "-O2"),
                                          "ap": (ap, False, "-O0")})
    failures = []
    for mode, cs in (("native", native), ("ap", ap)):
        for c in cs:
            try:
                c.check(folders[mode] / f"{c.name}.out")
            except AssertionError as exc:
                failures.append(f"[{mode}] {c.desc}\n    {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_squeezenet_sized_fire(tmp_path):
    """fire2 of SqueezeNet 1.1 at full size (55x55, 64 -> 16 -> 64 + 64), both paths."""
    case = C.fire_case("fire2", 77, cin=64, hw=(55, 55), cs=16, c1=64, c3=64)
    folders = _compile_and_run(tmp_path, {"native": ([case], True, "-O2"),
                                          "ap": ([case], False, "-O1")})
    for m in folders:
        case.check(folders[m] / "fire2.out")


# ---- FIFO depths (no C++) --------------------------------------------------------------------
FIRE_SHAPES = [  # h, w, squeeze channels, lanes, c1, pe, simd1, c3, simd3
    (6, 5, 4, 2, 8, 2, 2, 8, 2), (8, 8, 4, 4, 8, 4, 4, 8, 1), (9, 7, 8, 2, 4, 1, 2, 4, 8),
    (5, 5, 2, 1, 4, 4, 1, 4, 2), (10, 12, 4, 1, 8, 2, 1, 8, 4), (13, 13, 8, 8, 16, 8, 8, 16, 8)]


@pytest.mark.parametrize("shape", FIRE_SHAPES)
def test_fire_fifo_depths_prevent_deadlock(shape):
    h, w, cs, lanes, c1, pe, s1, c3, s3 = shape
    d = fifo_depths(h, w, cs, lanes, s3)
    assert d["expand3x3_in"] == DEFAULT_FIFO_DEPTH
    assert fifo_sim.fire_runs(h, w, cs, lanes, c1, pe, s1, c3, pe, s3, d["expand1x1_in"])
    # the rule is needed and not wasteful: the least depth that works is more than the default
    # and within a factor 1.6 of the rule's (the rest is the pipeline slack)
    lo, hi = 1, d["expand1x1_in"]
    while lo < hi:
        mid = (lo + hi) // 2
        if fifo_sim.fire_runs(h, w, cs, lanes, c1, pe, s1, c3, pe, s3, mid):
            hi = mid
        else:
            lo = mid + 1
    assert DEFAULT_FIFO_DEPTH < lo <= d["expand1x1_in"] < 1.6 * lo + 4
    # about (K - PAD_T) rows plus a few pixels of the squeeze output
    assert 2 * w * cs // lanes <= d["expand1x1_in"] <= (3 * w + 12) * cs // lanes


def test_fire_fifo_depths_from_graph():
    rng = np.random.default_rng(3)
    gb, _ = C.fire_graph(rng, 8, (7, 6), 4, 8, 8)
    fire = gb.g.fires[0]
    fold = {fire.squeeze: Folding(pe=2, simd=4), fire.expand1x1: Folding(4, 2, in_lanes=2),
            fire.expand3x3: Folding(4, 1, in_lanes=2)}
    assert fire_fifo_depths(gb.g, fire, fold) == fifo_depths(7, 6, 4, 2, 1)
    fold[fire.expand3x3] = Folding(4, 1, in_lanes=1)
    with pytest.raises(HwgenError, match="squeeze's PE"):
        fire_fifo_depths(gb.g, fire, fold)


# ---- the Python side -------------------------------------------------------------------------
def test_cpp_ident():
    assert cpp_ident("fire2/expand3x3") == "fire2_expand3x3"
    assert cpp_ident("features.features.2.MaxPool") == "features_features_2_MaxPool"
    assert cpp_ident("/classifier/1//Conv") == "classifier_1_Conv"
    assert cpp_ident("3x3") == "l3x3"
    assert cpp_ident("int") == "int_"


def test_conv_weight_layout():
    cout, cin, k, pe, simd = 4, 6, 3, 2, 3
    w = np.arange(cout * cin * k * k).reshape(cout, cin, k, k)
    flat = pack_conv_weights(w, pe, simd)
    nf, sf = cout // pe, k * k * cin // simd
    for co in range(cout):
        for ci in range(cin):
            for ky in range(k):
                for kx in range(k):
                    j = (ky * k + kx) * cin + ci
                    n, p, s_, s = co // pe, co % pe, j // simd, j % simd
                    assert flat[((n * sf + s_) * simd + s) * pe + p] == w[co, ci, ky, kx]
    assert flat.size == w.size and nf * sf * pe * simd == w.size


def _single(op, in_shape, in_fmt, out_fmt, name="layer"):
    g = Graph("t", "x", "y", tensors={"x": Tensor("x", in_shape, fmt=in_fmt)})
    g.tensors["y"] = Tensor("y", tuple(op.output_shape([in_shape])), fmt=out_fmt)
    g.nodes.append(Node(name, op, ["x"], ["y"]))
    return g


def _conv(cin=8, cout=6, k=3, stride=1, pad=(1, 1, 1, 1), relu=True):
    rng = np.random.default_rng(0)
    return C.make_conv(rng, cin, cout, k, stride, pad, FixedType(8, 4, False), relu, False)


def test_conv_call_text_and_cycles():
    op = _conv()
    g = _single(op, (8, 10, 9), FixedType(8, 4, False), FixedType(8, 3, False, "AP_RND", "AP_SAT"),
                "fire2/expand3x3")
    kc = K.kernel_call(g, g.nodes[0], Folding(pe=3, simd=4, in_lanes=2))
    assert kc.name == "fire2_expand3x3" and kc.config_name == "fire2_expand3x3_config"
    assert "struct fire2_expand3x3_config {" in kc.config
    for line in ("typedef ap_ufixed<8,4,AP_TRN,AP_WRAP> in_t;", "static const unsigned PE = 3;",
                 "static const unsigned SIMD = 4;", "static const unsigned IN_LANES = 2;",
                 "static const bool RELU = true;", "static const unsigned PAD_T = 1;"):
        assert line in kc.config
    assert kc.call(["a"], ["b"]) == ("hwgen::conv2d<fire2_expand3x3_config>(a, b, "
                                     "fire2_expand3x3_w, fire2_expand3x3_b);")
    assert kc.in_lanes == [2] and kc.out_lanes == [3]
    (wn, wt, wv, wl), (bn, bt, bv, bl) = kc.arrays
    assert (wn, wt, bn) == ("fire2_expand3x3_w", f"hwgen::int_t<{op.weight_fmt.width}>",
                            "fire2_expand3x3_b")
    np.testing.assert_array_equal(wv, pack_conv_weights(op.weight_raw(), 3, 4))
    np.testing.assert_array_equal(bv << (op.accum_fmt.frac - op.bias_fmt.frac),
                                  op.bias_raw_in_accum())
    # ROM words: NF*SF words of PE*SIMD weights, NF words of PE biases (conv2d.h)
    assert (wl, bl) == (12, 3)
    head = (f"static const hwgen::rom_word<{12 * op.weight_fmt.width}> "
            f"fire2_expand3x3_w[{wv.size // 12}] = {{")
    assert kc.arrays[0].definition().startswith(head)
    assert kc.arrays[1].definition().startswith(
        f"static const hwgen::rom_word<{3 * op.bias_fmt.width}> fire2_expand3x3_b[2] = {{")
    # the kernel owns its arrays' pragmas: nothing for the top; the storage is in the config
    assert kc.pragmas == []
    assert set(kc.stage.storage) == {"weights", "bias", "xbuf", "window"}
    assert f"static const int W_STORAGE = hwgen::STORE_{kc.stage.storage['weights'].upper()};" \
        in kc.config
    mvau = 10 * 9 * (6 // 3) * (9 * 8 // 4)
    assert mvau < kc.stage.cycles <= mvau + MVAU_DEPTH + 1
    # a 1x1 conv is a plain matrix-vector unit
    op1 = _conv(k=1, pad=(0, 0, 0, 0))
    g1 = _single(op1, (8, 10, 9), FixedType(8, 4, False), FixedType(8, 3, False))
    kc1 = K.kernel_call(g1, g1.nodes[0], Folding(pe=2, simd=8))
    assert kc1.stage.cycles == 10 * 9 * 3 * 1 + MVAU_DEPTH


def test_kernel_call_checks_folding():
    g = _single(_conv(), (8, 10, 9), FixedType(8, 4, False), FixedType(8, 3, False))
    node = g.nodes[0]
    for bad, msg in [(Folding(pe=4), "PE=4"), (Folding(simd=3), "SIMD=3"),
                     (Folding(simd=4, in_lanes=8), None), (Folding(simd=2, in_lanes=8), None),
                     (Folding(simd=8, in_lanes=1), None)]:
        if msg is None:
            K.kernel_call(g, node, bad)  # legal
        else:
            with pytest.raises(HwgenError, match=msg):
                K.kernel_call(g, node, bad)
    g2 = _single(_conv(cin=12), (12, 5, 5), FixedType(8, 4, False), FixedType(8, 3, False))
    with pytest.raises(HwgenError, match="one must divide the other"):
        K.kernel_call(g2, g2.nodes[0], Folding(simd=4, in_lanes=6))
    relu = _single(Relu(), (8, 10, 9), FixedType(8, 4), FixedType(8, 4))
    with pytest.raises(HwgenError, match="no dataflow kernel"):
        K.kernel_call(relu, relu.nodes[0])
    g.tensors["y"].fmt = None
    with pytest.raises(HwgenError, match="quantise first"):
        K.kernel_call(g, node)


def test_registry_and_legal_folding():
    assert set(S.STAGES) == {Conv, MaxPool, GlobalAvgPool, Concat, Add}
    g = _single(_conv(cin=6, cout=12), (6, 7, 7), FixedType(8, 4, False), FixedType(8, 3, False))
    assert legal_folding(g.nodes[0]) == ([1, 2, 3, 4, 6, 12], [1, 2, 3, 6])
    gp = _single(MaxPool(kernel=3, stride=2, ceil_mode=True), (12, 9, 9), FixedType(8, 4),
                 FixedType(8, 4))
    assert legal_folding(gp.nodes[0], gp) == ([1, 2, 3, 4, 6, 12], [1])
    with pytest.raises(HwgenError, match="needs the graph"):
        legal_folding(gp.nodes[0])
    rng = np.random.default_rng(1)
    gb, _ = C.fire_graph(rng, 4, (5, 5), 2, 6, 4)
    cat = gb.g.node("fire/concat")
    assert legal_folding(cat, gb.g) == ([1, 2], [1])


def test_other_kernel_calls():
    fmt = FixedType(6, 2, True, "AP_RND", "AP_SAT")
    a = K.render(S.axis_in_stage("input", fmt, 3, 224 * 224, 3))
    assert "static const unsigned AXI_BITS = 24;" in a.config
    assert a.in_streams == ["hwgen::axis_t<24>"] and a.out_lanes == [3]
    assert a.call(["in"], ["s"]) == "hwgen::axis_to_stream<input_config>(in, s);"
    o = K.render(S.axis_out_stage("output", fmt, 10, 1, 5))
    assert "AXI_BITS = 32" in o.config and o.stage.cycles == 2 + SIMPLE_DEPTH
    d = K.render(S.duplicate_stage("fire2_dup", fmt, 16, 25, 4))
    assert d.call(["s"], ["a", "b"]) == "hwgen::duplicate<fire2_dup_config>(s, a, b);"
    with pytest.raises(HwgenError, match="takes 1 input"):
        d.call(["s", "t"], ["a", "b"])
    r = K.render(S.regroup_stage("rg", fmt, 12, 4, 6, 2))
    assert r.in_lanes == [6] and r.out_lanes == [2] and r.stage.cycles == 24 + SIMPLE_DEPTH
    with pytest.raises(HwgenError, match="divide the other"):
        K.render(S.regroup_stage("rg", fmt, 12, 4, 4, 6))


def test_axi_packing_round_trip():
    rng = np.random.default_rng(5)
    for fmt, lanes in [(FixedType(8, 3), 3), (FixedType(5, 2, False), 4), (FixedType(12, 1), 1)]:
        raw = C.rand_raw(rng, fmt, (lanes * 2, 3, 2))
        words = pack_axi(raw, fmt, lanes)
        assert words.shape == (raw.size // lanes, axi_bits(fmt, lanes) // 8)
        np.testing.assert_array_equal(unpack_axi(words, fmt, lanes, raw.shape), raw)
    # channel c of a word in bits [c*W, c*W + W)
    fmt = FixedType(4, 4, False)
    words = pack_axi(np.array([1, 2, 3]).reshape(3, 1, 1), fmt, 3)
    assert words.tolist() == [[0x21, 0x03]]


def test_window_schedule_counts():
    # every input word is read once and every window word emitted once
    for args in [(7, 9, 4, 2, 4, 3, 2, 1, 4, 5), (5, 5, 3, 3, 1, 3, 1, 0, 3, 3),
                 (6, 6, 2, 1, 2, 2, 2, 0, 3, 3)]:
        h, w, c, il, ol, k, s, pt, oh, ow = args
        phases = window_phases(*args)
        assert sum(r for r, _ in phases) == h * w * c // il
        assert sum(e for _, e in phases) == oh * ow * k * k * c // ol
        assert window_iterations(*args) >= max(h * w * c // il, oh * ow * k * k * c // ol)


def test_csim_speed_smoke(tmp_path):
    """The fast C-simulation path of a 3x3 conv: correct, and well under 15 ns per MAC (what plain
    ap_fixed arithmetic costs) even at -O1 on a busy machine. Prints the measured ns/MAC."""
    case = C.conv_case("speed", 9, k=3, stride=1, pad=(1, 1, 1, 1), cin=32, cout=32, hw=(28, 28),
                       fold=Folding(8, 8, in_lanes=8), narrow_acc=False)
    include, templates = toolchain.ap_types_include(), data_dir("hls_templates")
    src = tmp_path / "speed.cpp"
    src.write_text(C.render([case]))
    exe = tmp_path / "speed"
    subprocess.run(C.compile_command(toolchain.cxx(), include, templates, src, exe, True, "-O2"),
                   check=True, capture_output=True)
    (tmp_path / "speed.in").write_bytes(case.input_blob())
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(exe), str(tmp_path), "speed"], check=True)
        best = min(best, time.perf_counter() - t)
    case.check(tmp_path / "speed.out")
    ns = best / case.macs * 1e9
    print(f"fast C-sim: {ns:.2f} ns/MAC over {case.macs} MACs (including process start and I/O)")
    assert ns < 15
