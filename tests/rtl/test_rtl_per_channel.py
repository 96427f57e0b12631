"""Per-channel weight formats (weight_granularity: channel) in the RTL backend: every conv mode
(direct 1x1, regroup, 3x3 window with stride and padding, weights in DDR), with and without
ReLU, PE > 1 so that the lanes of one output word carry different channel shifts, bit-exact with
the golden model under random gaps and backpressure (one Verilator build, the bench of
test_rtl_conv_ddr.py). The layers come from the quantiser: a small network whose conv channels
are scaled by powers of two, so that their weight formats really differ. One hand-made layer
adds an accumulator that overflows (hwgen_requant's ACC_CAST) under explicit shifts. A tensor-
granularity conv keeps exactly the parameters it had before per-channel formats. Slow: a reduced
SqueezeNet 1.1 generated with per-channel formats, simulated end to end (hwgen rtlsim).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

import nets
from helpers import rtlsim_bit_exact
from test_rtl_conv_ddr import STRESS, TIMING, Dut, Model, make_layer, run_bench, words
from hwgen.cli import main
from hwgen.design.folding import Folding
from hwgen.fixed import FixedType
from hwgen.frontend import load
from hwgen.golden import GoldenModel
from hwgen.ir import Graph, Node, Tensor
from hwgen.ops import Conv
from hwgen.pynq_driver import to_stream
from hwgen.quant import collect_stats, quantize
from hwgen.rtl import cost as rtl_cost
from hwgen.rtl.generate import HDL_DIR, LIBRARY, RTL_DIR, TOP
from hwgen.rtl.modules import conv_kernel, rtl_kernel
from hwgen.rtl.sim import lint

CHANNEL = {"defaults": {"weight_granularity": "channel", "equalize": False}}
#: output channel c of every conv is scaled by 2**-PATTERN[c % 5] before quantising: its weights'
#: format has PATTERN[c % 5] more fraction bits than the widest channel's (the 'max' policy)
PATTERN = [0, 3, 1, 4, 2]


class ChannelNet(nn.Module):
    """A strided padded 3x3 conv (ReLU), a 1x1 conv without ReLU, a padded 3x3 conv (ReLU), a 1x1
    conv without ReLU."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.c1 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(6, 8, 1)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)
        self.c4 = nn.Conv2d(8, 8, 1)
        nets._seeded_biases(self, seed + 1)

    def forward(self, x):
        return self.c4(torch.relu(self.c3(self.c2(torch.relu(self.c1(x))))))


def spread(graph: Graph) -> Graph:
    """Each conv's output channels scaled by powers of two (PATTERN), weights and bias alike."""
    for n in graph.nodes:
        if isinstance(n.op, Conv):
            s = np.ldexp(1.0, -np.resize(PATTERN, n.op.out_channels))
            n.op.weight = (n.op.weight * s[:, None, None, None]).astype(np.float32)
            n.op.bias = (n.op.bias * s).astype(np.float32)
    return graph


@pytest.fixture(scope="module")
def channel_graph(tmp_path_factory) -> Graph:
    model = nets.export(ChannelNet(), (4, 11, 11), tmp_path_factory.mktemp("pc") / "net.onnx")
    rng = np.random.default_rng(0)
    images = [rng.uniform(-1, 1, (4, 11, 11)).astype(np.float32) for _ in range(4)]
    stats = collect_stats(spread(load(model)), images)
    return quantize(spread(load(model)), CHANNEL, stats, images)


def alone(graph: Graph, name: str, as_name: str) -> Graph:
    """The conv ``name`` of ``graph`` as a one-node graph (its input and output formats kept),
    named ``as_name`` (each bench instance its own memory files)."""
    node = next(n for n in graph.nodes if n.name == name)
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    g = Graph(name=as_name, input="x", output="y",
              tensors={"x": Tensor("x", x.shape, fmt=x.fmt), "y": Tensor("y", y.shape, fmt=y.fmt)})
    g.nodes.append(Node(as_name, node.op, ["x"], ["y"]))
    return g


def conv_names(graph: Graph) -> list[str]:
    return [n.name for n in graph.nodes if isinstance(n.op, Conv)]


def with_shifts(g: Graph, shift: np.ndarray) -> Graph:
    """The one conv of ``g`` with the same raw weights and biases read at per-channel shifts."""
    op = g.nodes[0].op
    w, b = op.weight_raw().copy(), op.bias_raw().copy()
    op.weight_shift, op.weight_rounded = np.asarray(shift), w
    op.bias = np.ldexp(op.bias_fmt.dequantize(b), -op.weight_shift).astype(np.float32)
    assert np.array_equal(op.bias_raw(), b)
    return g


def overflowing_layer(name: str, seed: int) -> Graph:
    """A 3x3 conv whose accumulator format overflows (ACC_CAST), with ReLU, its six channels'
    raw weights and biases as test_rtl_conv_ddr makes them but read at explicit shifts 0..3."""
    g = with_shifts(make_layer(name, seed, 4, 6, (5, 5), 3, 1, 1,
                               FixedType(8, 3, True, "AP_RND", "AP_SAT"), 8, relu=True,
                               narrow_acc=True), np.array([3, 0, 2, 1, 3, 0]))
    op = g.nodes[0].op
    # an output format for the aligned values (at accum frac + 3), saturating the largest
    x = g.tensors["x"]
    raw = np.random.default_rng(seed).integers(x.fmt.min_raw, x.fmt.max_raw + 1, size=x.shape)
    acc, frac = op.exact([raw], [x.fmt])
    top = float(np.abs(acc).max()) * 2.0 ** -frac * 0.5
    g.tensors["y"].fmt = FixedType(10, int(np.ceil(np.log2(top))) + 1, True, "AP_RND_CONV",
                                   "AP_SAT")
    return g


# ---- parameters ------------------------------------------------------------------------------
def decode(mem: str, lanes: int, width: int, signed: bool) -> np.ndarray:
    """A $readmemh image back to (words, lanes) integers (lane l at bits [l*width, ...))."""
    rows = []
    for line in mem.split():
        v = int(line, 16)
        row = [(v >> (lane * width)) & ((1 << width) - 1) for lane in range(lanes)]
        rows.append([x - (x >> (width - 1) << width) if signed else x for x in row])
    return np.array(rows, np.int64)


def test_per_channel_conv_parameters_and_shift_rom(channel_graph):
    g = channel_graph
    for name in conv_names(g):
        node = next(n for n in g.nodes if n.name == name)
        op = node.op
        x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
        # the quantiser gave each channel the format of its own range
        s = op.channel_shift
        assert np.array_equal(s, np.resize(PATTERN, op.out_channels)), (name, s)
        pe = 2
        for ddr in (False, True):
            k = conv_kernel(g, node, Folding(pe=pe, simd=2, ddr=ddr), "u_t")
            p = {n: v.value for n, v in k.params.items()}
            assert p["ALIGN"] == 4 and p["S_FILE"] == "mem/u_t_s.mem"
            assert p["SHIFT"] == op.accum_fmt.frac + 4 - y.fmt.frac
            assert p["B_SHIFT"] == op.accum_fmt.frac - op.bias_fmt.frac
            # shift ROM: word nf, lane pe holds channel nf*PE + pe's shift in 3 bits
            sh = decode(k.mems["mem/u_t_s.mem"], pe, 3, False)
            assert np.array_equal(sh.reshape(-1), s), name
            # bias ROM: each channel's bias at its own fraction (bias_frac + shift), rounded
            bias = decode(k.mems["mem/u_t_b.mem"], pe, p["BW"], True).reshape(-1)
            real = op.fixed_bias.astype(np.float64) * 2.0 ** (op.bias_fmt.frac + s)
            assert np.all(np.abs(bias - real) <= 0.5 + 1e-9), name
            assert np.array_equal(bias, op.bias_raw())
        # not the tensor format's biases (what the ROM held before): they differ somewhere
        assert not np.array_equal(op.bias_raw(), op.bias_fmt.quantize(op.fixed_bias)), name


#: hwgen_conv's and hwgen_conv_ddr's parameters with one weight format per tensor (before
#: per-channel formats existed; MUL_PACKED came later, with two products per DSP48), in order
CONV_PARAMS = ["MODE", "IN_H", "IN_W", "IN_C", "IN_LANES", "K", "STRIDE", "PAD_T", "PAD_L",
               "OUT_H", "OUT_W", "WIN_FIFO", "XW", "X_SIGNED", "WW", "BW", "B_SHIFT", "ACCW",
               "PE", "SIMD", "NF", "SF", "W_FILE", "B_FILE", "ACC_CAST", "ACC_W", "ACC_SIGNED",
               "ACC_OVF", "RELU", "MUL_FABRIC", "MUL_PACKED", "SHIFT", "RND", "OW", "OSIGNED",
               "OVF"]
DDR_ONLY = ["XBUF_STORAGE", "OBUF_STORAGE", "W_BITS", "W_SIGNED", "BLOCK", "BEATS", "ADDR_W"]


def test_tensor_granularity_conv_keeps_its_parameters():
    """One format per tensor: no shift ROM, no ALIGN, the cast's shift accum - output fraction,
    the bias ROM the tensor format's biases; zero shifts given explicitly change nothing."""
    g = make_layer("t", 5, 6, 8, (5, 5), 3, 2, 1, FixedType(8, 3, True), 8, relu=True)
    node, op = g.nodes[0], g.nodes[0].op
    assert op.weight_shift is None
    for fold in (Folding(pe=4, simd=3), Folding(pe=4, simd=3, ddr=True)):
        k = conv_kernel(g, node, fold, "u_t")
        want = CONV_PARAMS + ["WIN_STORAGE"]
        if fold.ddr:
            want = [n for n in want if n not in ("W_FILE", "WW")] + DDR_ONLY
        else:
            want.append("W_STORAGE")
        assert list(k.params) == want
        assert k.params["SHIFT"].value == op.accum_fmt.frac - g.tensors["y"].fmt.frac
        assert sorted(k.mems) == ["mem/u_t_b.mem"] + ([] if fold.ddr else ["mem/u_t_w.mem"])
        bias = decode(k.mems["mem/u_t_b.mem"], 4, k.params["BW"].value, True).reshape(-1)
        assert np.array_equal(bias, op.bias_fmt.quantize(op.fixed_bias))
        op.weight_shift = np.zeros(op.out_channels, np.int64)
        try:
            again = conv_kernel(g, node, fold, "u_t")
        finally:
            op.weight_shift = None
        assert {n: v.sv() for n, v in again.params.items()} == \
            {n: v.sv() for n, v in k.params.items()} and again.mems == k.mems


# ---- resources -------------------------------------------------------------------------------
#: what per-channel formats added to single convs under Yosys (hwgen synth's flow, each instance
#: alone, against the same conv with ALIGN 0; scripts/fit_cost_yosys.py --parts align):
#: (Cin, Cout, K, PE, SIMD, ALIGN, DDR) -> (LUT, FF)
YOSYS_ALIGN = {(16, 64, 3, 4, 4, 4, False): (74, 36), (16, 64, 3, 4, 4, 4, True): (87, 12),
               (16, 64, 3, 8, 4, 8, False): (161, 67), (16, 64, 3, 8, 4, 1, False): (6, 24),
               (64, 64, 1, 4, 8, 2, False): (74, 24)}


def align_layer(case: tuple, shifts: bool = True) -> Graph:
    """The conv of a YOSYS_ALIGN case (scripts/fit_cost_yosys.py --parts align synthesises it),
    with random channel shifts 0..ALIGN (the first channel ALIGN, the second 0) or without."""
    cin, cout, k, _, _, top, _ = case
    g = make_layer("L", 3, cin, cout, (13, 13), k, 1, k // 2, FixedType(8, 3, False), 8,
                   relu=True)
    if not shifts:
        return g
    shift = np.random.default_rng(3).integers(0, top + 1, cout)
    shift[:2] = top, 0
    return with_shifts(g, shift)


@pytest.mark.parametrize("case", list(YOSYS_ALIGN), ids=str)
def test_cost_model_books_what_yosys_adds_for_alignment(case):
    _, _, _, pe, simd, top, ddr = case
    fold = Folding(pe=pe, simd=simd, ddr=ddr)
    g = align_layer(case, shifts=False)
    before = rtl_cost.instance(*kernel_params(conv_kernel(g, g.nodes[0], fold, "u_x")))
    g = align_layer(case)
    after_k = conv_kernel(g, g.nodes[0], fold, "u_x")
    assert after_k.params["ALIGN"].value == top
    after = rtl_cost.instance(*kernel_params(after_k))
    lut, ff = YOSYS_ALIGN[case]
    assert abs((after.lut - before.lut) - lut) <= 4, (after.lut - before.lut, lut)
    assert ff <= after.ff - before.ff <= ff + 32, (after.ff - before.ff, ff)
    assert (after.dsp, after.bram36) == (before.dsp, before.bram36)


def kernel_params(k) -> tuple[str, dict]:
    return k.module, {n: v.sv() for n, v in k.params.items()}


# ---- lint ------------------------------------------------------------------------------------
ROM = {"W_FILE": '"w.mem"', "B_FILE": '"b.mem"', "S_FILE": '"s.mem"'}
LINT = [
    ("hwgen_requant", {"ALIGN": 5, "SHIFT": 9, "XW": 20}),
    ("hwgen_requant", {"ALIGN": 1, "ACC_CAST": 1, "RELU": 1, "SHIFT": -2, "XW": 12, "OW": 16}),
    ("hwgen_conv", {"MODE": 0, "ALIGN": 3, **ROM}),
    ("hwgen_conv", {"MODE": 2, "PE": 4, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "NF": 2, "SF": 18,
                    "ALIGN": 8, "MUL_FABRIC": 1, **ROM}),
    ("hwgen_conv_ddr", {"ALIGN": 2, "B_FILE": '"b.mem"', "S_FILE": '"s.mem"'}),
    ("hwgen_conv_ddr", {"PE": 4, "SIMD": 4, "IN_C": 4, "IN_LANES": 4, "SF": 36, "NF": 2,
                        "W_BITS": 6, "BEATS": 2, "ALIGN": 7, "B_FILE": '"b.mem"',
                        "S_FILE": '"s.mem"'}),
]


@pytest.mark.parametrize("top,params", LINT, ids=[f"{t}-{i}" for i, (t, _) in enumerate(LINT)])
def test_per_channel_modules_lint_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    assert lint([HDL_DIR / f for f in LIBRARY], top, args) == ""


# ---- simulation ------------------------------------------------------------------------------
def bench_duts(g: Graph, seed: int = 11) -> list[Dut]:
    c1, c2, c3, c4 = conv_names(g)
    layers = [(alone(g, c1, "w3s2"), Folding(pe=3, simd=2, in_lanes=4)),  # window, stride 2
              (alone(g, c2, "rg"), Folding(pe=4, simd=3, in_lanes=6)),  # regroup, no ReLU
              (alone(g, c4, "dir"), Folding(pe=4, simd=4, in_lanes=4)),  # direct, no ReLU
              (alone(g, c3, "ddr3"), Folding(pe=2, simd=4, in_lanes=4, ddr=True)),  # DDR window
              (alone(g, c4, "ddr1"), Folding(pe=2, simd=8, in_lanes=8, ddr=True)),  # DDR direct
              (overflowing_layer("ovf", seed), Folding(pe=3, simd=2, in_lanes=4))]
    rng = np.random.default_rng(seed)
    duts = []
    for i, (graph, fold) in enumerate(layers):
        d = Dut(i, graph, fold)
        d.kernel = rtl_kernel(graph, d.node, fold)
        x, y = graph.tensors["x"], graph.tensors["y"]
        golden = GoldenModel(graph)
        for _ in range(TIMING + STRESS):
            raw = rng.integers(x.fmt.min_raw, x.fmt.max_raw + 1, size=x.shape)
            d.inputs.append(words(to_stream(raw), fold.in_lanes, x.fmt.width))
            d.outputs.append(words(to_stream(golden.run(raw)), fold.pe, y.fmt.width))
        duts.append(d)
    return duts


def test_per_channel_convs_bit_exact_under_gaps_and_backpressure(channel_graph, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("MAKEFLAGS", " ".join(
        x for x in (os.environ.get("MAKEFLAGS", ""), "OPT_FAST=-O0 OPT_GLOBAL=-O0") if x))
    duts = bench_duts(channel_graph)
    modes = [(d.kernel.module, d.param("MODE"), d.node.op.relu) for d in duts]
    assert modes == [("hwgen_conv", 2, True), ("hwgen_conv", 1, False), ("hwgen_conv", 0, False),
                     ("hwgen_conv_ddr", 2, True), ("hwgen_conv_ddr", 0, False),
                     ("hwgen_conv", 2, True)]
    assert duts[5].param("ACC_CAST") == 1 and duts[5].param("ALIGN") == 3
    for d in duts:
        s, pe = d.node.op.channel_shift, d.fold.pe
        top = int(s.max())
        assert d.param("ALIGN") == top > 0 and s.min() == 0
        # within one output word, lanes with different shifts, and some at the largest
        per_word = s.reshape(-1, pe)
        assert (per_word.min(axis=1) < per_word.max(axis=1)).all() and (s == top).any()
    res = run_bench(tmp_path, duts, [Model(0, duts[3:5], 64, 8, 1)])
    for d in duts:
        r = res["duts"][str(d.i)]
        assert r["mismatches"] == 0, f"d{d.i} ({d.node.name}): {r['first']}"
        assert r["frames_done"] == TIMING + STRESS and r["inputs_left"] == 0, (d.i, r)
    assert res["models"]["0"]["errors"] == 0


# ---- end to end ------------------------------------------------------------------------------
def spread_torch(model: nn.Module) -> nn.Module:
    """``spread`` on a torch model, before export."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                s = torch.tensor(np.ldexp(1.0, -np.resize(PATTERN, m.out_channels)),
                                 dtype=m.weight.dtype)
                m.weight.mul_(s[:, None, None, None])
                m.bias.mul_(s)
    return model


@pytest.mark.slow
def test_reduced_squeezenet_per_channel_rtlsim(tmp_path, capsys):
    """A reduced SqueezeNet 1.1 (a quarter of the channels, 40x40) whose channels' ranges differ,
    generated with per-channel weight formats and two layers' weights in DDR: every conv has a
    shift ROM, and the whole top is bit-exact under gaps and backpressure, on the estimate."""
    model = nets.export(spread_torch(nets.reduced_squeezenet(4)), (3, 40, 40),
                        tmp_path / "sq.onnx")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("defaults: {weight_granularity: channel, equalize: false}\n"
                   "folding:\n  fire9/expand3x3: {weights: ddr}\n  fire4/squeeze1x1: "
                   "{weights: ddr}\n")
    out = tmp_path / "p"
    assert main(["generate", str(model), "--backend", "rtl", "--config", str(cfg), "-o",
                 str(out), "--vectors", "2"]) == 0
    top = (out / RTL_DIR / f"{TOP}.sv").read_text()
    assert top.count("hwgen_conv_ddr #(") == 2
    assert lint([HDL_DIR / f for f in LIBRARY] + [out / RTL_DIR / f"{TOP}.sv"], TOP) == ""
    convs = top.count("hwgen_conv #(") + top.count("hwgen_conv_ddr #(")
    shift_roms = sorted((out / RTL_DIR / "mem").glob("*_s.mem"))
    assert convs == 26 and len(shift_roms) == convs and top.count(".ALIGN(") == convs
    rtlsim_bit_exact(out, capsys)
