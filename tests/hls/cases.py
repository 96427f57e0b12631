"""Test cases for the HLS kernel library: quantised graphs, their golden outputs and the C++ that
runs them in C simulation (the design's stages rendered by hwgen.hls.kernels, as the HLS generator
does).

A case is a namespace in one generated C++ file holding the config structs and arrays its
KernelCalls return, a ``top`` function with ``#pragma HLS DATAFLOW`` wiring the kernels by streams,
and a ``run`` function that feeds ``top`` from a file and writes its outputs (harness.h).
"""
from __future__ import annotations

import dataclasses
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from hwgen.design import stages as S
from hwgen.design.depths import fire_fifo_depths
from hwgen.design.folding import Folding, divisors
from hwgen.design.names import cpp_ident
from hwgen.design.streams import axi_bits, from_stream, pack_axi, unpack_axi
from hwgen.fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType
from hwgen.golden import GoldenModel
from hwgen.hls import kernels as K
from hwgen.ir import Fire, Graph, Node, Tensor
from hwgen.ops import Add, Concat, Conv, GlobalAvgPool, MaxPool
from hwgen.ops.pool import pooled_size
from hwgen.pynq_driver import to_stream
from hwgen.quant.config import _accum_format

HERE = Path(__file__).resolve().parent


# ---- streams and cases -----------------------------------------------------------------------
@dataclass
class In:
    var: str
    ctype: str
    values: np.ndarray  # int64, flat: raw values in stream order, or AXI bytes word by word
    words: int
    axi_bits: int = 0


@dataclass
class Out:
    var: str
    ctype: str
    lanes: int  # 0: an AXI4-Stream
    fmt: FixedType
    expected: np.ndarray  # raw integers, (C, H, W) or (C,)
    axi_bits: int = 0
    axi_lanes: int = 0


@dataclass
class Case:
    name: str
    desc: str
    decls: str  # config structs, arrays, the top function
    inputs: list[In]
    outputs: list[Out]
    macs: int = 0

    def cpp(self) -> str:
        lines = [f"// ---- {self.name}: {self.desc}", f"namespace {self.name} {{", self.decls,
                 "void run(hwgen_test::Reader& rd, hwgen_test::Writer& wr) {"]
        for s in self.inputs:
            lines.append(f'  hls::stream<{s.ctype} > {s.var}("{s.var}");')
            if s.axi_bits:
                lines.append(f"  hwgen_test::feed_axis<{s.axi_bits}>(rd, {s.var}, {s.words});")
            else:
                lines.append(f"  hwgen_test::feed(rd, {s.var}, {s.words});")
        for s in self.outputs:
            lines.append(f'  hls::stream<{s.ctype} > {s.var}("{s.var}");')
        args = ", ".join([s.var for s in self.inputs] + [s.var for s in self.outputs])
        lines.append(f"  top({args});")
        for s in self.outputs:
            if s.axi_bits:
                lines.append(f"  hwgen_test::drain_axis<{s.axi_bits}>(wr, {s.var});")
            else:
                lines.append(f"  hwgen_test::drain(wr, {s.var});")
        for s in self.inputs:
            lines.append(f"  hwgen_test::leftover(wr, {s.var});")
        lines += ["}", f"}}  // namespace {self.name}", ""]
        return "\n".join(lines)

    def input_blob(self) -> bytes:
        return b"".join(np.asarray(s.values, dtype=np.int64).tobytes() for s in self.inputs)

    def check(self, out_path: Path) -> None:
        """Compare the C-simulation output file with the golden values; assert with a message
        naming the first mismatching element."""
        data = np.fromfile(out_path, dtype=np.int64)
        pos = 0
        for s in self.outputs:
            words = int(data[pos])
            pos += 1
            if s.axi_bits:
                nb = s.axi_bits // 8
                per = nb + 2
                got = data[pos:pos + words * per].reshape(words, per)
                pos += words * per
                want = pack_axi(s.expected, s.fmt, s.axi_lanes).astype(np.int64)
                assert words == want.shape[0], (f"{self.name}: {s.var}: {words} AXI words, "
                                                f"expected {want.shape[0]}")
                last = got[:, nb]
                assert np.array_equal(last, (np.arange(words) == words - 1).astype(np.int64)), \
                    f"{self.name}: {s.var}: TLAST at words {np.flatnonzero(last).tolist()}, " \
                    f"expected only on word {words - 1}"
                assert np.all(got[:, nb + 1] == 1), \
                    f"{self.name}: {s.var}: TKEEP/TSTRB not all ones"
                values = unpack_axi(got[:, :nb], s.fmt, s.axi_lanes, s.expected.shape)
                _compare(self.name, s.var, values, s.expected)
                bad = np.flatnonzero(np.any(got[:, :nb] != want, axis=1))
                assert bad.size == 0, f"{self.name}: {s.var}: AXI word {bad[0]} bytes " \
                    f"{got[bad[0], :nb].tolist()}, expected {want[bad[0]].tolist()}"
            else:
                n = words * s.lanes
                flat = s.fmt.from_bits(data[pos:pos + n])
                pos += n
                expected_words = s.expected.size // s.lanes
                assert words == expected_words, (f"{self.name}: {s.var}: {words} words, expected "
                                                 f"{expected_words}")
                _compare(self.name, s.var, from_stream(flat, s.expected.shape), s.expected)
        for s in self.inputs:
            left = int(data[pos])
            pos += 1
            assert left == 0, f"{self.name}: {left} words of input {s.var} left unread"
        assert pos == data.size, f"{self.name}: output file has {data.size - pos} extra values"


def _compare(case: str, var: str, got: np.ndarray, want: np.ndarray) -> None:
    bad = np.argwhere(got != want)
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        names = ("channel", "y", "x")[:len(idx)]
        where = ", ".join(f"{n} {i}" for n, i in zip(names, idx))
        raise AssertionError(f"{case}: {var}: {len(bad)} of {want.size} elements differ; first at "
                             f"{where}: got raw {got[idx]}, expected {want[idx]}")


# ---- building graphs -------------------------------------------------------------------------
class GraphBuilder:
    def __init__(self, in_shape: tuple[int, ...], in_fmt: FixedType):
        self.g = Graph(name="t", input="x", output="x",
                       tensors={"x": Tensor("x", tuple(in_shape), fmt=in_fmt)})

    def add(self, name: str, op, inputs: Sequence[str], out_fmt: FixedType | None,
            fire: str | None = None) -> str:
        shapes = [self.g.tensors[t].shape for t in inputs]
        out = f"{name}:out"
        self.g.tensors[out] = Tensor(out, tuple(op.output_shape(shapes)), fmt=out_fmt)
        self.g.nodes.append(Node(name, op, list(inputs), [out], fire=fire))
        self.g.output = out
        return out

    def set_fmt(self, tensor: str, fmt: FixedType) -> None:
        self.g.tensors[tensor].fmt = fmt


def _pixels(shape) -> int:
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def graph_case(name: str, graph: Graph, folding: dict[str, Folding], x_raw: np.ndarray,
               in_lanes: int, desc: str, axi: bool = False, depths: dict[str, int] | None = None,
               out_lanes: int | None = None) -> Case:
    """A mini dataflow generator: every node through kernel_call, duplicate on fan-out, regroup
    where lanes differ, optional AXI adapters at both ends."""
    depths = depths or {}
    decls, body, streams = [], [], []
    consumers: dict[str, list[str]] = {}
    for node in graph.nodes:
        for t in node.inputs:
            consumers.setdefault(t, []).append(node.name)
    avail: dict[tuple[str, str], tuple[str, int]] = {}  # (tensor, consumer) -> (var, lanes)

    def stream(var: str, ctype: str) -> str:
        streams.append(f'  hls::stream<{ctype} > {var}("{var}");')
        if var in depths:
            streams.append(f"#pragma HLS STREAM variable={var} depth={depths[var]}")
        return var

    def publish(tensor: str, var: str, lanes: int, producer: str) -> None:
        users = consumers.get(tensor, [])
        if len(users) <= 1:
            for u in users:
                avail[(tensor, u)] = (var, lanes)
            return
        assert len(users) == 2, "the mini generator forks into two only"
        t = graph.tensors[tensor]
        dup = K.render(S.duplicate_stage(f"dup_{producer}", t.fmt, t.shape[0], _pixels(t.shape),
                                         lanes))
        decls.append(dup.config)
        outs = [stream(f"d_{producer}_{cpp_ident(u)}", dup.out_streams[0]) for u in users]
        body.append("  " + dup.call([var], outs))
        for u, o in zip(users, outs):
            avail[(tensor, u)] = (o, lanes)

    def take(tensor: str, user: str, need: int) -> str:
        var, lanes = avail[(tensor, user)]
        if lanes == need:
            return var
        t = graph.tensors[tensor]
        rg = K.render(S.regroup_stage(f"rg_{var}", t.fmt, t.shape[0], _pixels(t.shape), lanes,
                                      need))
        decls.append(rg.config)
        new = stream(f"{var}_rg{need}", rg.out_streams[0])
        body.append("  " + rg.call([var], [new]))
        return new

    consumers.setdefault(graph.output, []).append("__out__")
    x = graph.tensors[graph.input]
    params_in, params_out, ins, outs = [], [], [], []
    if axi:
        a = K.render(S.axis_in_stage("axi_in", x.fmt, x.shape[0], _pixels(x.shape), in_lanes))
        decls.append(a.config)
        bits = axi_bits(x.fmt, in_lanes)
        params_in.append(f"hls::stream<{a.in_streams[0]} >& in0")
        s = stream("s_input", a.out_streams[0])
        body.append("  " + a.call(["in0"], [s]))
        words = pack_axi(x_raw, x.fmt, in_lanes)
        ins.append(In("in0", a.in_streams[0], words.astype(np.int64).ravel(), words.shape[0],
                      bits))
        publish(graph.input, s, in_lanes, "input")
    else:
        ctype = f"hwgen::Pack<{x.fmt.cpp()}, {in_lanes}>"
        params_in.append(f"hls::stream<{ctype} >& in0")
        ins.append(In("in0", ctype, to_stream(x_raw), x_raw.size // in_lanes))
        publish(graph.input, "in0", in_lanes, "input")

    macs = 0
    for node in graph.nodes:
        kc = K.kernel_call(graph, node, folding.get(node.name))
        decls.append(kc.config)
        decls += [a.definition() for a in kc.arrays]
        in_vars = [take(t, node.name, need) for t, need in zip(node.inputs, kc.in_lanes)]
        out_t = node.outputs[0]
        var = stream(f"s_{kc.name}", kc.out_streams[0])
        port = None
        if kc.ddr is not None:  # weights in "DDR": a constant array behind the pointer
            port = f"ddr_{kc.name}"
            beats = ",".join(f"{int(v)}ULL" for v in kc.ddr.image)
            decls.append(f"static const hwgen::ddr_word_t {port}[{kc.ddr.beats}] = "
                         f"{{{beats}}};")
        body.append("  " + kc.call(in_vars, [var], ddr_port=port))
        publish(out_t, var, kc.out_lanes[0], kc.name)
        macs += node.op.macs([graph.shape(t) for t in node.inputs], graph.shape(out_t))

    y = graph.tensors[graph.output]
    expected = GoldenModel(graph).run(x_raw)
    var, lanes = avail[(graph.output, "__out__")]
    want = out_lanes or lanes
    if axi:
        final = take(graph.output, "__out__", want)
        a = K.render(S.axis_out_stage("axi_out", y.fmt, y.shape[0], _pixels(y.shape), want))
        decls.append(a.config)
        params_out.append(f"hls::stream<{a.out_streams[0]} >& out0")
        body.append("  " + a.call([final], ["out0"]))
        outs.append(Out("out0", a.out_streams[0], 0, y.fmt, expected,
                        axi_bits(y.fmt, want), want))
    else:
        final = take(graph.output, "__out__", want)
        ctype = f"hwgen::Pack<{y.fmt.cpp()}, {want}>"
        params_out.append(f"hls::stream<{ctype} >& out0")
        # copy into the output port (a real top would connect it directly)
        body.append(f"  for (long i = 0; i < {y.shape[0] // want * _pixels(y.shape)}; ++i) "
                    f"out0.write({final}.read());")
        outs.append(Out("out0", ctype, want, y.fmt, expected))
    top = [f"void top({', '.join(params_in + params_out)}) {{", "#pragma HLS DATAFLOW", *streams,
           *body, "}"]
    return Case(name, desc, "\n".join(decls + top), ins, outs, macs)


# ---- random formats and data -----------------------------------------------------------------
def rand_modes(rng) -> tuple[str, str]:
    return str(rng.choice(ROUNDING_MODES)), str(rng.choice(OVERFLOW_MODES))


def rand_input_fmt(rng, wmin=4, wmax=16, signed=None) -> FixedType:
    width = int(rng.integers(wmin, wmax + 1))
    signed = bool(rng.integers(2)) if signed is None else signed
    return FixedType(width, int(rng.integers(-2, width + 3)), signed, *rand_modes(rng))


def rand_raw(rng, fmt: FixedType, shape) -> np.ndarray:
    x = rng.integers(fmt.min_raw, fmt.max_raw + 1, size=shape, dtype=np.int64)
    # plenty of extremes and zeros
    pick = rng.random(shape)
    x = np.where(pick < 0.05, fmt.min_raw, np.where(pick > 0.95, fmt.max_raw, x))
    return np.where((pick > 0.45) & (pick < 0.5), 0, x)


def out_fmt_for(rng, raw: np.ndarray, frac: int, signed: bool | None = None) -> FixedType:
    """A random output format whose range covers about 40..160 % of the values' magnitude (so that
    some cases saturate or wrap), with random rounding and overflow modes."""
    mag = float(np.abs(raw).max(initial=1)) * 2.0 ** -frac * rng.uniform(0.4, 1.6)
    width = int(rng.integers(2, 17))
    signed = bool(rng.integers(2)) if signed is None else signed
    integer = max(math.ceil(math.log2(max(mag, 2.0 ** -20))) + int(signed), -4)
    return FixedType(width, integer, signed, *rand_modes(rng))


def make_conv(rng, cin: int, cout: int, k: int, stride: int, pad, in_fmt: FixedType, relu: bool,
              narrow_acc: bool | None = None, max_shift: int = 0,
              weight_bits: int | None = None) -> Conv:
    """A conv of random raw weights and biases; ``max_shift`` > 0: per-channel formats, the
    channels' shifts random in 0..max_shift, both ends present."""
    wf = FixedType(weight_bits or int(rng.integers(2, 17)), int(rng.integers(-1, 4)), True,
                   "AP_RND", "AP_SAT")
    w_raw = rng.integers(wf.min_raw, wf.max_raw + 1, size=(cout, cin, k, k))
    op = Conv(weight=np.zeros((cout, cin, k, k), np.float32), bias=np.zeros(cout, np.float32),
              stride=stride, pad=tuple(pad), relu=relu)
    if max_shift:
        shifts = rng.integers(0, max_shift + 1, cout)
        shifts[0], shifts[-1] = 0, max_shift
        op.weight_shift = shifts
    op.weight_fmt = wf
    # real values from the raw integers, each channel at its own format (exact in float32)
    op.weight = np.ldexp(w_raw, -(wf.frac + op.channel_shift)[:, None, None, None]).astype(
        np.float32)
    acc_frac = in_fmt.frac + wf.frac
    bw = int(rng.integers(4, 17))
    bfrac = acc_frac - int(rng.integers(0, 11))
    op.bias_fmt = FixedType(bw, bw - bfrac, True, "AP_RND", "AP_SAT")
    b_raw = rng.integers(op.bias_fmt.min_raw, op.bias_fmt.max_raw + 1, size=cout)
    op.bias = np.ldexp(b_raw, -(op.bias_fmt.frac + op.channel_shift)).astype(np.float32)
    acc = _accum_format(op, in_fmt)
    if narrow_acc is None:
        narrow_acc = rng.random() < 0.3
    if narrow_acc:  # an accumulator that can overflow, with any overflow mode
        # (signed: hwgen.ops.Conv.exact skips the cast when the upper bound cannot overflow,
        # which an unsigned accumulator's lower bound can)
        width = max(2, acc.width - int(rng.integers(1, 9)))
        acc = FixedType(width, width - acc_frac, True, "AP_TRN", str(rng.choice(OVERFLOW_MODES)))
    op.accum_fmt = acc
    return op


def folding_for_conv(rng, cin: int, cout: int) -> Folding:
    pe = int(rng.choice(divisors(cout)))
    simd = int(rng.choice(divisors(cin)))
    lanes = [d for d in divisors(cin) if d % simd == 0 or simd % d == 0]
    return Folding(pe=pe, simd=simd, in_lanes=int(rng.choice(lanes)))


# ---- case generators -------------------------------------------------------------------------
def conv_case(name: str, seed: int, *, k=None, stride=None, pad=None, cin=None, cout=None,
              hw=None, fold: Folding | None = None, relu=None, narrow_acc=None,
              ddr: bool = False, max_shift: int = 0, in_fmt: FixedType | None = None,
              weight_bits: int | None = None) -> Case:
    rng = np.random.default_rng(seed)
    k = k if k is not None else int(rng.choice([1, 1, 3, 3, 5]))
    stride = stride if stride is not None else int(rng.choice([1, 1, 2, 3]))
    pad = pad if pad is not None else tuple(int(rng.integers(0, k)) for _ in range(4))
    cin = cin or int(rng.choice([1, 2, 3, 4, 6, 8, 12, 16]))
    cout = cout or int(rng.choice([1, 2, 4, 5, 6, 8, 12, 16]))
    if hw is None:
        lo = max(1, k - min(pad[0] + pad[2], pad[1] + pad[3]))
        hw = (int(rng.integers(lo, 12)), int(rng.integers(lo, 12)))
    h, w = hw
    relu = bool(rng.integers(2)) if relu is None else relu
    in_fmt = in_fmt or rand_input_fmt(rng)
    op = make_conv(rng, cin, cout, k, stride, pad, in_fmt, relu, narrow_acc, max_shift,
                   weight_bits)
    gb = GraphBuilder((cin, h, w), in_fmt)
    x = rand_raw(rng, in_fmt, (cin, h, w))
    acc, frac = op.exact([x], [in_fmt])
    gb.add("conv", op, ["x"], out_fmt_for(rng, acc, frac))
    fold = dataclasses.replace(fold or folding_for_conv(rng, cin, cout), ddr=ddr)
    desc = (f"conv{' (DDR weights)' if ddr else ''} {cin}x{h}x{w} -> {cout} k{k} s{stride} pad{list(pad)} relu={relu} "
            f"PE={fold.pe} SIMD={fold.simd} in_lanes={fold.in_lanes} in {in_fmt} w "
            f"{op.weight_fmt} acc {op.accum_fmt} out {gb.g.tensors[gb.g.output].fmt}"
            + (f" shifts {list(op.channel_shift)}" if max_shift else ""))
    return graph_case(name, gb.g, {"conv": fold}, x, fold.in_lanes or fold.simd, desc)


def maxpool_case(name: str, seed: int, *, k=None, stride=None, ceil=None, same_fmt=None) -> Case:
    rng = np.random.default_rng(seed)
    while True:
        kk = k if k is not None else int(rng.choice([1, 2, 3, 3, 5]))
        s = stride if stride is not None else int(rng.integers(1, 4))
        pad = tuple(int(rng.integers(0, kk)) for _ in range(4))
        cm = bool(rng.integers(2)) if ceil is None else ceil
        h, w = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        if min(h + pad[0] + pad[2], w + pad[1] + pad[3]) < kk:
            continue
        oh = pooled_size(h, kk, s, pad[0], pad[2], cm)
        ow = pooled_size(w, kk, s, pad[1], pad[3], cm)
        if oh >= 1 and ow >= 1:
            break
    c = int(rng.choice([1, 2, 3, 4, 6, 8, 16]))
    lanes = int(rng.choice(divisors(c)))
    in_fmt = rand_input_fmt(rng)
    op = MaxPool(kernel=kk, stride=s, pad=pad, ceil_mode=cm)
    gb = GraphBuilder((c, h, w), in_fmt)
    same = rng.random() < 0.7 if same_fmt is None else same_fmt
    out_fmt = in_fmt if same else FixedType(max(2, in_fmt.width - 2), in_fmt.integer - 1,
                                            in_fmt.signed, *rand_modes(rng))
    gb.add("pool", op, ["x"], out_fmt)
    x = rand_raw(rng, in_fmt, (c, h, w))
    desc = (f"maxpool {c}x{h}x{w} k{kk} s{s} pad{list(pad)} ceil={cm} lanes={lanes} "
            f"in {in_fmt} out {out_fmt}")
    return graph_case(name, gb.g, {"pool": Folding(pe=lanes)}, x, lanes, desc)


def gap_case(name: str, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 14)), int(rng.integers(1, 14))
    c = int(rng.choice([1, 2, 3, 4, 8, 10, 16]))
    lanes = int(rng.choice(divisors(c)))
    in_fmt = rand_input_fmt(rng)
    op = GlobalAvgPool()
    x = rand_raw(rng, in_fmt, (c, h, w))
    acc, frac = op.exact([x], [in_fmt])
    gb = GraphBuilder((c, h, w), in_fmt)
    gb.add("gap", op, ["x"], out_fmt_for(rng, acc, frac))
    desc = (f"global_avgpool {c}x{h}x{w} lanes={lanes} in {in_fmt} "
            f"out {gb.g.tensors[gb.g.output].fmt}")
    return graph_case(name, gb.g, {"gap": Folding(pe=lanes)}, x, lanes, desc)


def add_case(name: str, seed: int, *, relu=None) -> Case:
    """x -> conv 1x1 -> a; add(a, x): two operands of unrelated random formats (signedness,
    width, fraction), a random output format and modes (some values saturate or wrap)."""
    rng = np.random.default_rng(seed)
    c = int(rng.choice([1, 2, 4, 6, 8, 12]))
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    lanes = int(rng.choice(divisors(c)))
    in_fmt = rand_input_fmt(rng)
    conv = make_conv(rng, c, c, 1, 1, (0, 0, 0, 0), in_fmt, bool(rng.integers(2)), False)
    x = rand_raw(rng, in_fmt, (c, h, w))
    gb = GraphBuilder((c, h, w), in_fmt)
    acc, frac = conv.exact([x], [in_fmt])
    a = gb.add("conv", conv, ["x"], out_fmt_for(rng, acc, frac))
    a_raw = gb.g.tensors[a].fmt.cast(acc, frac)
    op = Add(relu=bool(rng.integers(2)) if relu is None else relu)
    y, yfrac = op.exact([a_raw, x], [gb.g.tensors[a].fmt, in_fmt])
    gb.add("add", op, [a, "x"], out_fmt_for(rng, y, yfrac))
    fold = {"conv": Folding(pe=lanes, simd=lanes), "add": Folding(pe=lanes)}
    desc = (f"add {c}x{h}x{w} lanes={lanes} relu={op.relu}: {gb.g.tensors[a].fmt} + {in_fmt} "
            f"-> {gb.g.tensors[gb.g.output].fmt}")
    return graph_case(name, gb.g, fold, x, lanes, desc)


def fire_graph(rng, cin: int, hw: tuple[int, int], cs: int, c1: int, c3: int,
               in_fmt: FixedType | None = None) -> tuple[GraphBuilder, np.ndarray]:
    """input -> squeeze 1x1 (ReLU) -> expand1x1 || expand3x3 (pad 1, ReLU) -> concat."""
    in_fmt = in_fmt or rand_input_fmt(rng, 6, 10)
    gb = GraphBuilder((cin, *hw), in_fmt)
    x = rand_raw(rng, in_fmt, (cin, *hw))
    add_fire(rng, gb, "x", "fire", cs, c1, c3)
    return gb, x


def add_fire(rng, gb: GraphBuilder, src: str, name: str, cs: int, c1: int, c3: int) -> str:
    g = gb.g
    in_fmt = g.tensors[src].fmt
    cin = g.tensors[src].shape[0]
    sq = make_conv(rng, cin, cs, 1, 1, (0, 0, 0, 0), in_fmt, True, narrow_acc=False)
    s_fmt = FixedType(int(rng.integers(6, 11)), int(rng.integers(2, 6)), False, "AP_RND", "AP_SAT")
    s = gb.add(f"{name}/squeeze1x1", sq, [src], s_fmt, fire=name)
    e1 = make_conv(rng, cs, c1, 1, 1, (0, 0, 0, 0), s_fmt, True, narrow_acc=False)
    e3 = make_conv(rng, cs, c3, 3, 1, (1, 1, 1, 1), s_fmt, True, narrow_acc=False)
    o_fmt = FixedType(int(rng.integers(6, 11)), int(rng.integers(3, 7)), False, *rand_modes(rng))
    a = gb.add(f"{name}/expand1x1", e1, [s], o_fmt, fire=name)
    b = gb.add(f"{name}/expand3x3", e3, [s], o_fmt, fire=name)
    out = gb.add(f"{name}/concat", Concat(), [a, b], o_fmt, fire=name)
    g.fires.append(Fire(name, f"{name}/squeeze1x1", f"{name}/expand1x1", f"{name}/expand3x3",
                        f"{name}/concat"))
    return out


def fire_foldings(rng, gb: GraphBuilder, name: str, cs: int, c1: int, c3: int,
                  cin: int) -> dict[str, Folding]:
    sq_pe = int(rng.choice(divisors(cs)))
    simd1 = [d for d in divisors(cs) if d % sq_pe == 0 or sq_pe % d == 0]
    lanes = int(rng.choice([d for d in divisors(c1) if c3 % d == 0]))
    return {
        f"{name}/squeeze1x1": Folding(pe=sq_pe, simd=int(rng.choice(divisors(cin)))),
        f"{name}/expand1x1": Folding(pe=int(rng.choice(divisors(c1))),
                                       simd=int(rng.choice(simd1)), in_lanes=sq_pe),
        f"{name}/expand3x3": Folding(pe=int(rng.choice(divisors(c3))),
                                       simd=int(rng.choice(simd1)), in_lanes=sq_pe),
        f"{name}/concat": Folding(pe=lanes),
    }


def fire_depth_vars(gb: GraphBuilder, fire: Fire, folding) -> dict[str, int]:
    d = fire_fifo_depths(gb.g, fire, folding)
    sq = cpp_ident(fire.squeeze)
    return {f"d_{sq}_{cpp_ident(fire.expand1x1)}": d["expand1x1_in"],
            f"d_{sq}_{cpp_ident(fire.expand3x3)}": d["expand3x3_in"]}


def fire_case(name: str, seed: int, cin=8, hw=(7, 6), cs=4, c1=8, c3=8) -> Case:
    rng = np.random.default_rng(seed)
    gb, x = fire_graph(rng, cin, hw, cs, c1, c3)
    fold = fire_foldings(rng, gb, "fire", cs, c1, c3, cin)
    fire = gb.g.fires[0]
    # the squeeze's first input: feed it on SIMD lanes
    in_lanes = fold[fire.squeeze].simd
    depths = fire_depth_vars(gb, fire, fold)
    desc = (f"fire {cin}x{hw[0]}x{hw[1]} squeeze {cs} expand {c1}+{c3}; "
            + "; ".join(f"{k.split('/')[1]} PE={f.pe} SIMD={f.simd}" for k, f in fold.items())
            + f"; FIFO {depths}")
    return graph_case(name, gb.g, fold, x, in_lanes, desc, depths=depths)


def chain_case(name: str, seed: int, axi: bool = True) -> Case:
    """AXI in -> conv 3x3/2 -> maxpool 3/2 ceil -> fire -> conv 1x1 -> global avgpool -> AXI out."""
    rng = np.random.default_rng(seed)
    in_fmt = FixedType(8, 3, True, "AP_RND", "AP_SAT")
    gb = GraphBuilder((3, 19, 17), in_fmt)
    x = rand_raw(rng, in_fmt, (3, 19, 17))
    c1 = make_conv(rng, 3, 8, 3, 2, (0, 0, 0, 0), in_fmt, True, narrow_acc=False)
    t1 = gb.add("conv1", c1, ["x"], FixedType(8, 4, False, "AP_RND", "AP_SAT"))
    t2 = gb.add("pool1", MaxPool(kernel=3, stride=2, ceil_mode=True), [t1],
                gb.g.tensors[t1].fmt)
    t3 = add_fire(rng, gb, t2, "fire2", 4, 8, 8)
    c10 = make_conv(rng, 16, 10, 1, 1, (0, 0, 0, 0), gb.g.tensors[t3].fmt, True, narrow_acc=False)
    t4 = gb.add("conv10", c10, [t3], FixedType(8, 5, False, "AP_RND", "AP_SAT"))
    gb.add("gap", GlobalAvgPool(), [t4], FixedType(10, 5, False, "AP_RND", "AP_SAT"))
    fold = {"conv1": Folding(pe=4, simd=3, in_lanes=3), "pool1": Folding(pe=4)}
    fold.update(fire_foldings(rng, gb, "fire2", 4, 8, 8, 8))
    fold["conv10"] = Folding(pe=5, simd=4, in_lanes=fold["fire2/concat"].pe)
    fold["gap"] = Folding(pe=5)
    depths = fire_depth_vars(gb, gb.g.fires[0], fold)
    return graph_case(name, gb.g, fold, x, 3, "AXI -> conv -> maxpool -> fire -> conv -> gap -> "
                      "AXI", axi=axi, depths=depths, out_lanes=1)


def plumbing_case(name: str, seed: int) -> Case:
    """concat_channels, duplicate and regroup on their own: two inputs, three outputs."""
    rng = np.random.default_rng(seed)
    fmt = rand_input_fmt(rng)
    h, w = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    lanes = int(rng.choice([1, 2, 4]))
    c1, c2 = lanes * int(rng.integers(1, 4)), lanes * int(rng.integers(1, 4))
    a, b = rand_raw(rng, fmt, (c1, h, w)), rand_raw(rng, fmt, (c2, h, w))
    gb = GraphBuilder((c1, h, w), fmt)
    gb.g.tensors["b"] = Tensor("b", (c2, h, w), fmt=fmt)
    gb.add("cat", Concat(), ["x", "b"], fmt)
    cat = K.kernel_call(gb.g, gb.g.nodes[0], Folding(pe=lanes))
    c = c1 + c2
    dup = K.render(S.duplicate_stage("dup", fmt, c, h * w, lanes))
    big = lanes * 2 if c % (lanes * 2) == 0 else lanes
    up = K.render(S.regroup_stage("up", fmt, c, h * w, lanes, big))
    down = K.render(S.regroup_stage("down", fmt, c, h * w, big, 1))
    t_in = cat.in_streams[0]
    decls = "\n".join([cat.config, dup.config, up.config, down.config])
    top = f"""
void top(hls::stream<{t_in} >& in_a, hls::stream<{t_in} >& in_b,
         hls::stream<{t_in} >& out_cat, hls::stream<{down.out_streams[0]} >& out_one,
         hls::stream<{up.out_streams[0]} >& out_big) {{
#pragma HLS DATAFLOW
  hls::stream<{t_in} > cat("cat"), d1("d1"), d2("d2");
  hls::stream<{up.out_streams[0]} > wide("wide"), wide2("wide2");
  {cat.call(["in_a", "in_b"], ["cat"])}
  {dup.call(["cat"], ["d1", "d2"])}
  {up.call(["d2"], ["wide"])}
  for (int i = 0; i < {h * w * c // lanes}; ++i) out_cat.write(d1.read());
  hls::stream<{up.out_streams[0]} > wcopy("wcopy");
  {K.render(S.duplicate_stage("dup2", fmt, c, h * w, big)).call(["wide"], ["wide2", "wcopy"])}
  {down.call(["wide2"], ["out_one"])}
  for (int i = 0; i < {h * w * c // big}; ++i) out_big.write(wcopy.read());
}}
"""
    decls += "\n" + K.render(S.duplicate_stage("dup2", fmt, c, h * w, big)).config + top
    both = np.concatenate([a, b])
    ins = [In("in_a", t_in, to_stream(a), a.size // lanes),
           In("in_b", t_in, to_stream(b), b.size // lanes)]
    outs = [Out("out_cat", t_in, lanes, fmt, both),
            Out("out_one", down.out_streams[0], 1, fmt, both),
            Out("out_big", up.out_streams[0], big, fmt, both)]
    return Case(name, f"concat {c1}+{c2} x{h}x{w} lanes {lanes} -> dup -> regroup {big} -> 1",
                decls, ins, outs)


# ---- building and running --------------------------------------------------------------------
def render(cases: Sequence[Case]) -> str:
    head = ['#include "harness.h"', ""]
    table = ",\n".join(f'  {{"{c.name}", &{c.name}::run}}' for c in cases)
    tail = [f"static const hwgen_test::CaseEntry CASES[] = {{\n{table}\n}};",
            "int main(int argc, char** argv) {",
            f"  return hwgen_test::run_cases(argc, argv, CASES, {len(cases)});", "}", ""]
    return "\n".join(head + [c.cpp() for c in cases] + tail)


def compile_command(cxx: str, include: Path, templates: Path, src: Path, exe: Path,
                    native: bool, opt: str = "-O1") -> list[str]:
    cmd = [cxx, "-std=c++14", opt, "-DNDEBUG", "-w", f"-I{include}", f"-I{templates}", f"-I{HERE}",
           str(src), "-o", str(exe)]
    if not native:
        cmd.insert(3, "-DHWGEN_CSIM_NATIVE=0")
    return cmd


def run_cases(exe: Path, folder: Path, cases: Sequence[Case], timeout: float = 300) -> None:
    for c in cases:
        (folder / f"{c.name}.in").write_bytes(c.input_blob())
    done = subprocess.run([str(exe), str(folder), *[c.name for c in cases]], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{exe.name} failed ({done.returncode}):\n{done.stderr[-3000:]}"
