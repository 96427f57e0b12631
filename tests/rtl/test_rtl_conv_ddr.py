"""hwgen_conv_ddr (weights in DDR, read by hwgen_axi_read from hwgen_ddr_model) against the golden
model, in one Verilator build with several instances running at once (conv_ddr_bench.sv.j2):

  d0  3x3 padded conv, window front, PE*SIMD*W = 32 bits (half a beat), ample bandwidth, two
      products per DSP48 (MUL_PACKED)
  d1  1x1 conv, regroup front, unsigned 6-bit weights: 96 bits = 2 beats, MUL_FABRIC=1, ample
  d2  3x3 stride-2 conv, 11-bit weights: 132 bits = 3 beats, narrow accumulator;  \\ one DDR,
  d3  1x1 conv, direct front, 2 beats, image straddling a 4 KiB boundary;         / slow and late
  d4  d0's layer on chip (hwgen_conv), MUL_FABRIC=1, weight ROM in block RAM
  d5  d3's layer on chip, weight ROM "distributed"
  d6  d0's layer on chip, PE=3 packed: one pair of PEs per DSP48 and one PE alone

Each instance gets three frames back to back (timing: cycles per frame from the ends of
consecutive frames) and two with random input gaps and output backpressure; every output word is
compared with hwgen.golden. The instance parameters, memory images and DDR images are what
hwgen.rtl.modules.conv_kernel returns (the DDR image: hwgen.design.ddr, the HLS backend's bytes).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np
from cocotb_tools.runner import get_results

from hwgen.fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType
from hwgen.golden import GoldenModel
from hwgen.design.ddr import ALIGN, pack_ddr_weights
from hwgen.design.folding import Folding
from hwgen.design.stages import layer_stage, pack_conv_weights
from hwgen.ir import Graph, Node, Tensor
from hwgen.ops import Conv
from hwgen.pynq_driver import to_stream
from hwgen.quant.config import _accum_format
from hwgen.rtl.generate import HDL_DIR
from hwgen.rtl.modules import Kernel, conv_kernel, rtl_kernel
from hwgen.rtl.sim import cocotb_run

HERE = Path(__file__).resolve().parent
SIM_HDL = HDL_DIR.parent / "sim_hdl"
SOURCES = ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv", "hwgen_fifo.sv",
           "hwgen_regroup.sv", "hwgen_ram.sv", "hwgen_window.sv", "hwgen_fabric_mul.sv",
           "hwgen_fabric_dot.sv", "hwgen_dot.sv", "hwgen_mvau.sv", "hwgen_conv_front.sv",
           "hwgen_conv.sv",
           "hwgen_axi_read.sv", "hwgen_mvau_ddr.sv", "hwgen_conv_ddr.sv"]
TIMING, STRESS = 3, 2  # frames
GAP = BACKPRESSURE = 0.3


# ---- layers ----------------------------------------------------------------------------------
def make_layer(name: str, seed: int, cin: int, cout: int, hw: tuple[int, int], k: int,
               stride: int, pad: int, in_fmt: FixedType, wbits: int, w_signed: bool = True,
               relu: bool = False, narrow_acc: bool = False) -> Graph:
    """A quantised one-conv graph with random weights, bias and output format."""
    rng = np.random.default_rng(seed)
    wf = FixedType(wbits, int(rng.integers(-1, 3)), w_signed, "AP_RND", "AP_SAT")
    w_raw = rng.integers(wf.min_raw, wf.max_raw + 1, size=(cout, cin, k, k))
    w_raw[0, 0, 0, 0], w_raw[-1, -1, -1, -1] = wf.min_raw, wf.max_raw  # the extremes
    op = Conv(weight=wf.dequantize(w_raw).astype(np.float32), bias=np.zeros(cout, np.float32),
              stride=stride, pad=(pad,) * 4, relu=relu)
    op.weight_fmt = wf
    acc_frac = in_fmt.frac + wf.frac
    op.bias_fmt = FixedType(10, 10 - (acc_frac - 2), True, "AP_RND", "AP_SAT")
    b_raw = rng.integers(op.bias_fmt.min_raw, op.bias_fmt.max_raw + 1, size=cout)
    op.bias = op.bias_fmt.dequantize(b_raw).astype(np.float32)
    acc = _accum_format(op, in_fmt)
    if narrow_acc:  # one that can overflow: hwgen_requant's accumulator cast
        acc = FixedType(acc.width - 4, acc.width - 4 - acc_frac, True, "AP_TRN", "AP_SAT")
    op.accum_fmt = acc
    h, w = hw
    g = Graph(name=name, input="x", output="y", tensors={"x": Tensor("x", (cin, h, w), fmt=in_fmt)})
    shape = tuple(op.output_shape([(cin, h, w)]))
    # an output format that saturates some values, random rounding
    x = rng.integers(in_fmt.min_raw, in_fmt.max_raw + 1, size=(cin, h, w))
    mag = float(np.abs(op.exact([x], [in_fmt])[0]).max(initial=1)) * 2.0 ** -acc_frac * 0.7
    integer = int(np.ceil(np.log2(max(mag, 2.0 ** -8)))) + 1
    out = FixedType(8, integer, True, str(rng.choice(ROUNDING_MODES)),
                    str(rng.choice(OVERFLOW_MODES)))
    g.tensors["y"] = Tensor("y", shape, fmt=out)
    g.nodes.append(Node(name, op, ["x"], ["y"]))
    return g


def words(flat: np.ndarray, lanes: int, width: int) -> list[int]:
    """Stream-order raw values -> stream words (lane l at bits [l*width, (l+1)*width))."""
    v = np.asarray(flat, dtype=np.int64).reshape(-1, lanes) & ((1 << width) - 1)
    return [sum(int(x) << (i * width) for i, x in enumerate(row)) for row in v]


@dataclass
class Dut:
    i: int
    graph: Graph
    fold: Folding
    kernel: Kernel = None
    inputs: list[list[int]] = field(default_factory=list)
    outputs: list[list[int]] = field(default_factory=list)
    base: int = 0

    @property
    def node(self) -> Node:
        return self.graph.nodes[0]

    @property
    def ddr(self) -> bool:
        return self.kernel.ddr is not None

    def param(self, name: str) -> int:
        return int(self.kernel.params[name].value)

    def rtl_cycles(self) -> int:
        """hwgen_conv_ddr's cycles per frame with its weights on time (hwgen_mvau_ddr's formula)."""
        p = self.param
        block, sf, nf = p("BLOCK"), p("SF"), p("NF")
        return p("OUT_H") * p("OUT_W") // block * (block * sf + nf * sf * block + 4 + block * nf)

    def hls_cycles(self) -> int:
        """The design's model of the same layer and folding (hwgen.design.stages.conv_stage)."""
        return layer_stage(self.graph, self.node, self.fold).cycles

    def frame_beats(self) -> int:
        """Weight beats read per frame: the image once per block."""
        return self.kernel.ddr.beats * self.param("OUT_H") * self.param("OUT_W") \
            // self.param("BLOCK")


def make_duts(seed: int = 7) -> list[Dut]:
    s8, u7 = FixedType(8, 3, True, "AP_RND", "AP_SAT"), FixedType(7, 2, False)
    g0 = make_layer("c0", seed, 4, 6, (7, 6), 3, 1, 1, s8, 8, relu=True)
    g1 = make_layer("c1", seed + 1, 32, 24, (6, 6), 1, 1, 0, u7, 6, w_signed=False)
    g2 = make_layer("c2", seed + 2, 3, 8, (9, 9), 3, 2, 1, FixedType(10, 4, True), 11,
                    narrow_acc=True)
    g3 = make_layer("c3", seed + 3, 4, 6, (4, 5), 1, 1, 0, FixedType(5, 1, True), 16, relu=True)
    # d0's and d3's layers again, on chip
    g4 = Graph(name="c4", input="x", output="y", tensors=dict(g0.tensors))
    g4.nodes.append(Node("c4", g0.nodes[0].op, ["x"], ["y"]))
    g5 = Graph(name="c5", input="x", output="y", tensors=dict(g3.tensors))
    g5.nodes.append(Node("c5", g3.nodes[0].op, ["x"], ["y"]))
    g6 = Graph(name="c6", input="x", output="y", tensors=dict(g0.tensors))
    g6.nodes.append(Node("c6", g0.nodes[0].op, ["x"], ["y"]))
    duts = [Dut(0, g0, Folding(pe=2, simd=2, in_lanes=4, ddr=True, mul_packed=True)),
            Dut(1, g1, Folding(pe=4, simd=4, in_lanes=8, ddr=True, mul_fabric=True)),
            Dut(2, g2, Folding(pe=4, simd=3, in_lanes=3, ddr=True)),
            Dut(3, g3, Folding(pe=3, simd=2, in_lanes=2, ddr=True)),
            Dut(4, g4, Folding(pe=2, simd=2, in_lanes=4, mul_fabric=True, storage="bram")),
            Dut(5, g5, Folding(pe=3, simd=2, in_lanes=2, storage="lutram")),
            Dut(6, g6, Folding(pe=3, simd=2, in_lanes=4, mul_packed=True))]
    rng = np.random.default_rng(seed)
    for d in duts:
        d.kernel = rtl_kernel(d.graph, d.node, d.fold)
        x, y = d.graph.tensors["x"], d.graph.tensors["y"]
        golden = GoldenModel(d.graph)
        for _ in range(TIMING + STRESS):
            raw = rng.integers(x.fmt.min_raw, x.fmt.max_raw + 1, size=x.shape)
            d.inputs.append(words(to_stream(raw), d.fold.in_lanes, x.fmt.width))
            d.outputs.append(words(to_stream(golden.run(raw)), d.fold.pe, y.fmt.width))
    return duts


# ---- the bench ---------------------------------------------------------------------------------
@dataclass
class Model:
    i: int
    duts: list[Dut]
    latency: int
    num: int  # bytes per cycle = num / den
    den: int
    skew: int = 0  # bytes before a 4 KiB boundary where the second image starts

    def layout(self, mem: Path) -> dict:
        """Place the images (4 KiB-aligned, or the second one ``skew`` bytes short of a boundary)
        and write the $readmemh file of the whole memory."""
        blob = b""
        for n, d in enumerate(self.duts):
            blob += bytes(-len(blob) % ALIGN)
            if n == 1 and self.skew:
                blob += bytes(ALIGN - self.skew)
            d.base = len(blob)
            blob += np.asarray(d.kernel.ddr.image, dtype="<u8").tobytes()
        blob += bytes(-len(blob) % 8)
        image = np.frombuffer(blob, dtype="<u8")
        name = f"mem/ddr{self.i}.mem"
        (mem.parent / name).write_text("".join(f"{int(v):016x}\n" for v in image))
        return {"i": self.i, "ports": [d.i for d in self.duts], "words": int(image.size),
                "file": name, "latency": self.latency, "num": self.num, "den": self.den}


def run_bench(tmp: Path, duts: list[Dut], models: list[Model], seed: int = 3) -> dict:
    run, build = tmp / "run", tmp / "build"
    (run / "mem").mkdir(parents=True)
    build.mkdir()
    for d in duts:
        for name, text in d.kernel.mems.items():
            (run / name).write_text(text)
    mods = [m.layout(run / "mem") for m in models]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "hdl")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    bench = env.get_template("conv_ddr_bench.sv.j2").render(
        duts=[{"i": d.i, "module": d.kernel.module, "ddr": d.ddr, "base": d.base,
               "in_bits": d.kernel.in_widths[0], "out_bits": d.kernel.out_width,
               "params": [(k, v.sv()) for k, v in d.kernel.params.items()]} for d in duts],
        models=mods)
    (build / "conv_ddr_bench.sv").write_text(bench)
    cfg = {"seed": seed, "timing": TIMING, "gap": GAP, "backpressure": BACKPRESSURE,
           "max_cycles": 200_000, "result": str(tmp / "result.json"), "models": [
               {"i": m["i"], "ports": len(m["ports"])} for m in mods],
           "duts": [{"i": d.i, "inputs": d.inputs, "outputs": d.outputs} for d in duts]}
    (tmp / "config.json").write_text(json.dumps(cfg))
    files = [HDL_DIR / f for f in SOURCES] + [SIM_HDL / "hwgen_ddr_model.sv",
                                              build / "conv_ddr_bench.sv"]
    path = os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])
    cocotb_run(files, "conv_ddr_bench", build, run, "conv_ddr_tb",
               {"PYTHONPATH": path, "CONV_DDR_CONFIG": str(tmp / "config.json")}, seed)
    tests, failed = get_results(build / "results.xml")
    assert tests == 1 and failed == 0, (build / "sim.log").read_text()[-3000:]
    return json.loads((tmp / "result.json").read_text())


def per_frame(ends: list[int]) -> float:
    """Mean cycles between the ends of consecutive timing frames."""
    return (ends[TIMING - 1] - ends[0]) / (TIMING - 1)


# ---- tests -----------------------------------------------------------------------------------
def test_conv_ddr_bit_exact_and_on_time(tmp_path, monkeypatch):
    # the C++ unoptimised: it builds in about half the time and the simulation is short anyway
    monkeypatch.setenv("MAKEFLAGS", " ".join(
        x for x in (os.environ.get("MAKEFLAGS", ""), "OPT_FAST=-O0 OPT_GLOBAL=-O0") if x))
    duts = make_duts()
    fast0, fast1 = Model(0, [duts[0]], 64, 8, 1), Model(1, [duts[1]], 64, 8, 1)
    slow = Model(2, [duts[2], duts[3]], 300, 1, 1, skew=24)  # one beat per 8 cycles for both
    res = run_bench(tmp_path, duts, [fast0, fast1, slow])
    # the layouts put what they were asked to: d3's image straddles a 4 KiB boundary
    assert duts[3].base % ALIGN == ALIGN - 24
    assert duts[3].kernel.ddr.beats * 8 > 24

    for d in duts:
        r = res["duts"][str(d.i)]
        assert r["mismatches"] == 0, f"d{d.i} ({d.node.name}): {r['first']}"
        assert r["frames_done"] == TIMING + STRESS and r["inputs_left"] == 0, (d.i, r)
    for m in res["models"].values():
        assert m["errors"] == 0  # bursts <= 16 beats, none across 4 KiB, sizes, ranges

    cycles = {d.i: per_frame(res["duts"][str(d.i)]["ends"]) for d in duts}
    report = {d.i: (cycles[d.i], d.rtl_cycles() if d.ddr else None, d.hls_cycles())
              for d in duts}
    print("cycles per frame (measured, RTL formula, HLS model):", report)
    for d in duts[:2]:  # ample bandwidth: the cycle model holds
        assert abs(cycles[d.i] - d.hls_cycles()) <= 0.05 * d.hls_cycles(), report[d.i]
        assert abs(cycles[d.i] - d.rtl_cycles()) <= 2, report[d.i]
    for m in ("0", "1"):  # ample bandwidth: never held back
        assert res["models"][m]["stall_bw"] == [0]

    # shared, slow DDR: slower, by what it can deliver; every beat accounted for
    m2 = res["models"]["2"]
    total = res["cycles"]
    assert sum(m2["beats"]) * 8 <= total * slow.num / slow.den + 8 * 2  # + the bucket
    for p, d in enumerate(slow.duts):
        assert cycles[d.i] > 1.5 * d.rtl_cycles(), report[d.i]
        assert cycles[d.i] >= d.frame_beats() * 8 * slow.den / slow.num * 0.98, report[d.i]
        assert m2["stall_bw"][p] > 0 and m2["stall_lat"][p] >= slow.latency // 2
        # every frame's beats were read, and at most the read master's FIFO more
        need = (TIMING + STRESS) * d.frame_beats()
        assert need <= m2["beats"][p] <= need + 64 + 16, (m2["beats"][p], need)


def test_conv_kernel_ddr_returns_the_hls_image():
    """conv_kernel for weights in DDR: hwgen_conv_ddr, the HLS backend's image byte for byte (as
    packed here from the layer's raw weights), a port named as the HLS top's argument."""
    g = make_layer("fire9/expand3x3", 1, 6, 10, (5, 4), 3, 1, 1, FixedType(8, 3, True), 7)
    node = g.nodes[0]
    fold = Folding(pe=5, simd=3, ddr=True)
    k = conv_kernel(g, node, fold, "u_x")
    assert k.module == "hwgen_conv_ddr" and k.ddr_port == "w_fire9_expand3x3"
    want = pack_ddr_weights(pack_conv_weights(node.op.weight_raw(), 5, 3), 5, 3, 7)
    assert k.ddr.image.tobytes() == want.tobytes()
    # the image decoded here, as hwgen_conv_ddr reads it: word (nf, sf) = beats 2i, 2i+1 as one
    # little-endian bit string, weight s*PE + pe at bits [7k, 7k+7) = weight (nf*PE + pe) of
    # input index sf*SIMD + s in (ky, kx, c) order
    w = node.op.weight_raw().transpose(0, 2, 3, 1).reshape(10, -1)
    for i in range(2 * 18):
        nf, sf = divmod(i, 18)
        bits = int(k.ddr.image[2 * i]) | int(k.ddr.image[2 * i + 1]) << 64
        for s_ in range(3):
            for pe in range(5):
                v = bits >> (7 * (s_ * 5 + pe)) & 0x7F
                assert v - (v >> 6 << 7) == w[nf * 5 + pe, sf * 3 + s_], (i, s_, pe)
        assert bits >> 105 == 0
    assert k.ddr.image.tobytes() == layer_stage(g, node, fold).ddr.image.tobytes()
    assert k.ddr.beats == want.size == 2 * 18 * 2  # NF=2 x SF=18 words of 105 bits
    assert k.params["BEATS"].value == 2 and k.params["BLOCK"].value == 4
    assert k.params["W_BITS"].value == 7 and "W_FILE" not in k.params
    assert list(k.mems) == ["mem/u_x_b.mem"]
    chip = conv_kernel(g, node, Folding(pe=5, simd=3, storage="lutram"), "u_x")
    assert chip.module == "hwgen_conv" and chip.ddr is None
    assert chip.params["W_STORAGE"].sv() == '"distributed"'
    assert chip.params["MUL_FABRIC"].sv() == "1'b0"
    assert conv_kernel(g, node, Folding(pe=5, simd=3, mul_fabric=True), "u_x"
                       ).params["MUL_FABRIC"].sv() == "1'b1"
    assert chip.params["MUL_PACKED"].sv() == "1'b0"
    assert conv_kernel(g, node, Folding(pe=5, simd=3, mul_packed=True), "u_x"
                       ).params["MUL_PACKED"].sv() == "1'b1"
    assert conv_kernel(g, node, Folding(pe=5, simd=3, storage="bram"), "u_x"
                       ).params["W_STORAGE"].sv() == '"block"'
    assert conv_kernel(g, node, Folding(pe=5, simd=3), "u_x").params["W_STORAGE"].sv() == '"auto"'
