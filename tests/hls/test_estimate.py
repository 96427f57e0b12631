"""Resource and throughput model, folding optimiser, `hwgen estimate` and board files: hand-computed
small cases, and optimiser results that always stay within the budget."""
from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
import yaml

import onnx_factory as F
from hwgen.api import ESTIMATE_QUICK, quantized_for_hardware
from hwgen.boards import load_board
from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.design import cost
from hwgen.design.estimate import RESOURCES, budget, estimate
from hwgen.design.schedule import MVAU_DEPTH
from hwgen.design.optimise import optimise, plan_for


@pytest.fixture(scope="module")
def sq64(tmp_path_factory):
    root = tmp_path_factory.mktemp("est")
    path = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64), root / "sq64.onnx")
    graph = quantized_for_hardware(str(path), {"defaults": dict(ESTIMATE_QUICK)})
    return path, graph


def _board(**resources) -> dict:
    b = copy.deepcopy(load_board("pynq-z2"))
    b["resources"].update(resources)
    return b


# ---- primitives, by hand ----------------------------------------------------------------------
@pytest.mark.parametrize("depth,width,want", [
    (512, 72, 2),     # two 512 x 36
    (1024, 8, 1),     # one 2048 x 9
    (4096, 8, 2),     # 4096 x 4 twice, or 2048 x 9 twice
    (100, 1000, 28),  # ceil(1000 / 36) of 512 x 36
    (20000, 1, 2),    # 16K x 1 twice
    (0, 8, 0)])
def test_bram18_count(depth, width, want):
    assert cost.bram18_count(depth, width) == want


def test_memory_choice():
    assert cost.memory(64, 16)[1] == "lutram"  # 1 Kbit: always LUTRAM
    res, kind = cost.memory(144, 512)  # wide and shallow: 512 LUTs x 3 beat 15 BRAM18
    assert kind == "lutram" and res.lut == 512 * 3 and res.bram36 == 0
    res, kind = cost.memory(8192, 64)  # deep: 16 BRAM36 beat 8,192 LUTs
    assert kind == "bram" and res.bram36 == 16
    assert cost.memory(8192, 64, prefer_lutram=True)[0].lut == 64 * 128


def test_mac_array_dsp_or_fabric():
    dsp = cost.mac_array(3, 4, 8, 8, 20, 8, fabric=False)
    lut = cost.mac_array(3, 4, 8, 8, 20, 8, fabric=True)
    assert dsp.dsp == 12 and lut.dsp == 0
    assert lut.lut - dsp.lut == 12 * 80  # (2*ceil(16/6) - 1) * 16 LUTs per 8x8 product
    assert cost.fabric_mult_luts(8, 8) == 80 and cost.fabric_mult_luts(4, 4) == 24
    # two products per DSP48: PE 3 = one pair + one alone, per lane; 2*8 + 8 LUTs per pair
    packed = cost.mac_array(3, 4, 8, 8, 20, 8, fabric=False, packed=True)
    assert packed.dsp == 8 and packed.lut - dsp.lut == 4 * 24 and packed.ff == dsp.ff


def test_packed_multipliers_in_a_design(sq64, capsys):
    """multipliers: dsp2 halves a conv's DSPs (even PE); refused with one line where the widths
    do not allow it; the optimiser packs before it moves products to LUTs."""
    _, graph = sq64
    board = load_board("pynq-z2")
    fold = {"classifier.1": {"pe": 8, "simd": 4}}
    plain = {r["name"]: r for r in estimate(graph, board, fold)["layers"]}["classifier.1"]
    est = estimate(graph, board, {"classifier.1": {"pe": 8, "simd": 4, "multipliers": "dsp2"}})
    row = {r["name"]: r for r in est["layers"]}["classifier.1"]
    assert row["dsp"] == 16 and plain["dsp"] == 32 and row["multipliers"] == "dsp2"
    assert row["lut"] - plain["lut"] == 16 * (2 * 8 + 8)
    wide = quantized_for_hardware(str(sq64[0]), {"defaults": {**ESTIMATE_QUICK,
                                                              "activation_bits": 10}})
    refused = (r"layer 'classifier.1': multipliers: dsp2 .* 2 x 8 weight bits \+ 10 input bits "
               r"\+ 1 <= 25")
    with pytest.raises(HwgenError, match=refused):
        estimate(wide, board, {"classifier.1": {"multipliers": "dsp2"}})
    # the CLI says it before any calibration: one line, exit status 2
    cfg = sq64[0].parent / "wide_dsp2.yaml"
    cfg.write_text("defaults: {activation_bits: 10}\nfolding: {classifier.1: {multipliers: dsp2}}\n")
    capsys.readouterr()
    assert main(["estimate", str(sq64[0]), "--board", "pynq-z2", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "calibrated" not in err
    assert re.search(refused, err), err
    # a board short of DSPs but with LUTs to spare: packing first, fewer products in LUTs
    _, few = optimise(graph, _board(dsp=60, lut=200000))
    kinds = [r["multipliers"] for r in few["layers"] if r["multipliers"]]
    assert few["fits"] and "dsp2" in kinds
    assert few["dsp"] <= few["budget"]["dsp"]


# ---- the estimate of a whole design -----------------------------------------------------------
def test_estimate_matches_hand_figures(sq64):
    _, graph = sq64
    board = load_board("pynq-z2")
    folding = {"classifier.1": {"pe": 8, "simd": 4}, "fire9/expand3x3": {"weights": "ddr"},
               "fire9/expand1x1": {"multipliers": "lut"}}
    est = estimate(graph, board, folding)
    rows = {r["name"]: r for r in est["layers"]}
    conv10 = rows["classifier.1"]
    cin, h, w = graph.shape(graph.node("classifier.1").inputs[0])
    cout = graph.node("classifier.1").op.out_channels
    assert conv10["cycles"] == h * w * (cout // 8) * (cin // 4) + MVAU_DEPTH
    assert conv10["dsp"] == 32 and conv10["pe"] == 8 and conv10["simd"] == 4
    assert rows["fire9/expand3x3"]["weights"] == "ddr" and rows["fire9/expand1x1"]["dsp"] == 0
    assert rows["fire9/expand1x1"]["multipliers"] == "lut"
    slowest = max(r["cycles"] for r in est["layers"])
    assert est["cycles_per_frame"] >= slowest
    assert est["fps"] == pytest.approx(100e6 / est["cycles_per_frame"])
    assert est["latency_ms"] * 1e5 >= est["cycles_per_frame"]  # at least one frame time
    # totals: every layer's share plus streams and control, never less than the layers
    for k in RESOURCES:
        assert est[k] >= sum(r[k] for r in est["layers"]) - 1
    assert est["dsp"] == sum(r["dsp"] for r in est["layers"])
    assert est["budget"] == budget(board) == {"dsp": 187.0, "bram36": 119.0, "lut": 45220.0,
                                              "ff": 90440.0}
    d = est["ddr"]
    assert d["layers"] == ["fire9/expand3x3"]
    node = graph.node("fire9/expand3x3")
    pe, simd = rows["fire9/expand3x3"]["pe"], rows["fire9/expand3x3"]["simd"]
    beats = -(-pe * simd * 8 // 64)
    words = node.op.weight.size // (pe * simd)
    assert d["bytes_per_frame"] == words * beats * 8 * graph.shape(node.outputs[0])[1]


def test_estimate_counts_the_platform(sq64):
    """The block design's IP around the accelerator share the chip: the DMA and its interconnect,
    the control path, the reset block, and an interconnect per high-performance port that weight
    masters use (masters dealt round-robin over the ports after the DMA's)."""
    from hwgen.design import platform

    _, graph = sq64
    board = load_board("pynq-z2")
    ddr = ["fire7/expand3x3", "fire8/expand3x3", "fire9/expand3x3", "fire9/squeeze1x1"]
    est = estimate(graph, board, {n: {"weights": "ddr"} for n in ddr})
    plat = est["platform"]
    assert plat["axi_dma"]["bram36"] == platform.AXI_DMA.bram36 > 0
    assert {"axi_dma", "dma_interconnect", "ctrl_interconnect", "reset"} <= set(plat)
    weights = sorted(k for k in plat if k.startswith("weight_interconnect_"))
    assert len(weights) == 3  # 4 masters over the 3 ports beside the DMA's: 2 + 1 + 1
    assert [plat[k]["lut"] for k in weights] == [
        platform.SMARTCONNECT_PER_SLAVE.lut * n for n in (2, 1, 1)]
    for k in RESOURCES:  # the totals are the accelerator plus the platform
        assert est[k] == pytest.approx(est["accelerator"][k] + sum(p[k] for p in plat.values()),
                                       abs=1)
    on_chip = estimate(graph, board, {})
    assert not any(k.startswith("weight_interconnect_") for k in on_chip["platform"])


# ---- the optimiser ----------------------------------------------------------------------------
# Budgets the network can fit at all: the platform (DMA, interconnects: platform.py) takes about
# 6 k LUT and 4 BRAM36, each layer with weights in DDR ~2.2 k LUT more, and the leanest folding
# still holds most of SqueezeNet's 9.9 Mbit of weights on chip
@pytest.mark.parametrize("resources", [
    {},                                                     # the PYNQ-Z2
    {"dsp": 110, "lut": 45000, "ff": 80000},                # half the DSPs, fewer LUTs
    {"dsp": 12},                                            # almost no DSPs
    {"bram36": 70},                                         # half the BRAM
    {"lut": 40000},                                         # three quarters of the LUTs
])
def test_optimiser_stays_within_budget(sq64, resources):
    _, graph = sq64
    board = _board(**resources)
    folding, est = optimise(graph, board)
    assert est["fits"], est
    for k in RESOURCES:
        assert est[k] <= est["budget"][k]
    again = estimate(graph, board, folding)  # the folding it returns is the design it measured
    assert again["fps"] == est["fps"] and again["dsp"] == est["dsp"]


def test_rom_words_stay_within_the_ap_uint_limit(sq64):
    """A ROM word holds PE*SIMD weights in one ap_uint (at most MAX_ROM_WORD_BITS, the
    AP_INT_MAX_W types.h sets): a folding past it is refused before calibration, and the
    optimiser never picks one, even on a board with DSPs to spare."""
    from hwgen.api import check_design_inputs
    from hwgen.design.folding import MAX_ROM_WORD_BITS

    _, graph = sq64
    with pytest.raises(HwgenError, match="5120-bit ROM word"):
        check_design_inputs(graph, {"folding": {"classifier.1": {"pe": 40, "simd": 16}}})
    folding, _ = optimise(graph, _board(dsp=4000, bram36=2000, lut=1_000_000, ff=2_000_000))
    widths = {n.name: n.op.weight_fmt.width for n in graph.nodes if n.kind == "conv"}
    assert max(f["pe"] * f["simd"] * widths[name] for name, f in folding.items()
               if name in widths) <= MAX_ROM_WORD_BITS


def test_a_board_too_small_is_reported_as_not_fitting(sq64):
    """Half the BRAM and LUTs: even the leanest folding, weights in DDR where LUTs allow, does
    not fit; the optimiser says so instead of returning a design over budget as fitting."""
    _, graph = sq64
    _, est = optimise(graph, _board(dsp=110, bram36=70, lut=30000, ff=53200))
    assert est["fits"] is False
    assert any(est[k] > est["budget"][k] for k in RESOURCES)


def test_optimiser_trades_speed_for_budget(sq64):
    _, graph = sq64
    big = optimise(graph, _board())[1]
    small = optimise(graph, _board(dsp=110, bram36=70, lut=30000, ff=53200))[1]
    assert small["fps"] < big["fps"]
    nodsp = optimise(graph, _board(dsp=12))[1]
    assert nodsp["dsp"] <= 10 and any(r["multipliers"] == "lut" for r in nodsp["layers"])
    nobram = optimise(graph, _board(bram36=40))[1]
    assert nobram["ddr"]["layers"]  # weights moved out to DDR


def test_a_board_too_small_is_reported(sq64):
    _, graph = sq64
    _, est = optimise(graph, _board(dsp=20, bram36=10, lut=5000, ff=10000))
    assert est["fits"] is False
    assert any(est[k] > est["budget"][k] for k in RESOURCES)


def test_target_fps_uses_fewer_resources(sq64):
    _, graph = sq64
    fastest = optimise(graph, _board())[1]
    target = fastest["fps"] / 4
    _, est = optimise(graph, _board(), target_fps=target)
    assert est["fps"] >= target and est["dsp"] < fastest["dsp"]
    with pytest.raises(HwgenError, match="no folding reaches"):
        optimise(graph, _board(), target_fps=1e9)


def test_user_folding_wins(sq64):
    _, graph = sq64
    user = {"fire2/expand3x3": {"pe": 2, "simd": 16}, "fire2/expand1x1": {"pe": 2},
            "classifier.1": {"weights": "ddr", "multipliers": "lut"}}
    folding, est = optimise(graph, _board(), user)
    rows = {r["name"]: r for r in est["layers"]}
    assert (rows["fire2/expand3x3"]["pe"], rows["fire2/expand3x3"]["simd"]) == (2, 16)
    assert rows["fire2/expand1x1"]["pe"] == 2
    assert rows["classifier.1"]["weights"] == "ddr"
    assert rows["classifier.1"]["multipliers"] == "lut"


def test_plan_meets_its_cycle_target(sq64):
    _, graph = sq64
    for T in (20_000, 100_000, 1_000_000):
        est = estimate(graph, _board(), plan_for(graph, T))
        assert est["cycles_per_frame"] <= T, (T, est["bottleneck"])


# ---- the command ------------------------------------------------------------------------------
def test_estimate_cli_json(sq64, capsys):
    path, _ = sq64
    assert main(["estimate", str(path), "--board", "pynq-z2", "--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    for key in ("fps", "latency_ms", "clock_mhz", "dsp", "bram36", "lut", "ff", "budget",
                "fits", "layers"):
        assert key in est
    assert set(est["budget"]) == {"dsp", "bram36", "lut", "ff"} and est["fits"] is True
    assert est["clock_mhz"] == 100 and len(est["layers"]) == len(F_layers(path))


def F_layers(path) -> list:
    from hwgen.api import load_model

    return load_model(str(path)).nodes


def test_estimate_cli_text_and_bad_input(sq64, tmp_path, capsys):
    path, _ = sq64
    assert main(["estimate", str(path), "--target-fps", "100"]) == 0
    out = capsys.readouterr().out
    assert "frames/s" in out and "budget 85%" in out and "fits" in out
    bad = tmp_path / "b.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "part": "p", "clock_mhz": 100, "family": "zynq7",
                                   "ps": "processing_system7", "resources": {"dsp": -1}}))
    assert main(["estimate", str(path), "--board", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "resources" in err and len(err.strip().splitlines()) == 1
    assert main(["estimate", str(path), "--board", "nosuchboard"]) == 2
    assert "built-in boards: kv260, pynq-z2, ultra96v2, zcu104" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["estimate", str(path), "--cap", "1.5"])


def test_windowed_kernels_get_a_phase_of_input(sq64):
    """A window fed by a slow producer gets a stream holding one phase's reads (and a Fire
    module's expand1x1 side as much more), a fast producer keeps the default depth; a concat's
    inputs hold a pixel."""
    from hwgen.design.dataflow import build_design
    from hwgen.design.depths import DEFAULT_FIFO_DEPTH, fire_fifo_depths
    from hwgen.design.schedule import window_phases

    _, graph = sq64
    folding = plan_for(graph, 400_000)
    design = build_design(graph, folding)
    pool = graph.nodes[1]
    assert pool.kind == "maxpool"
    conv1 = design.layer(graph.nodes[0].name)
    words = int(np.prod(graph.shape(graph.nodes[0].outputs[0]))) // conv1.folding.pe
    assert conv1.cycles / words >= 2  # conv1 is slow: pool1's input must hold a phase
    c, h, w = graph.shape(pool.inputs[0])
    _, oh, ow = graph.shape(pool.outputs[0])
    lanes = conv1.folding.pe
    reads = max(r for r, _ in window_phases(h, w, c, lanes, lanes, 3, 2, 0, oh, ow))
    (pool_in,) = design.layer(pool.name).inputs
    assert design.streams[pool_in].depth == DEFAULT_FIFO_DEPTH + reads
    fire = graph.fires[0]
    base = fire_fifo_depths(graph, fire, design.folding)  # a squeeze of a word per cycle
    a = design.streams[f"s_{fire.name}_to_expand1x1"]
    b = design.streams[f"s_{fire.name}_to_expand3x3"]
    assert design.layer(fire.expand3x3).inputs == [b.name]
    assert b.depth >= DEFAULT_FIFO_DEPTH
    # duplicate writes both branches: expand1x1's holds the window's lead and all of expand3x3's
    assert a.depth == base["expand1x1_in"] - DEFAULT_FIFO_DEPTH + b.depth
    # concat takes a pixel of one branch, then of the other: each input holds a pixel
    for t in graph.node(fire.concat).inputs:
        (s,) = [s for s in design.streams.values() if s.tensor == t]
        assert s.depth == DEFAULT_FIFO_DEPTH + graph.shape(t)[0] // s.lanes
    # the network input (one pixel a cycle) never needs more than the default
    (inp,) = design.stages[0].outputs
    assert design.streams[inp].depth == DEFAULT_FIFO_DEPTH or graph.nodes[0].op.kernel == 1

def test_a_pool_output_holds_the_burst_its_consumer_cannot_take(sq64):
    """A stride-2 pool emits a row of outputs in the time of one input row; the stream to a
    slower consumer holds what the consumer cannot take meanwhile, but only where blocking the
    pool would cost frames (the slowest stage upstream plus the blocked time over the period)."""
    from hwgen.design.depths import DEFAULT_FIFO_DEPTH, pool_burst_depth

    _, graph = sq64
    pool = graph.nodes[1]
    assert pool.kind == "maxpool" and pool.op.stride == 2
    c, out_h, out_w = graph.shape(pool.outputs[0])
    in_w = graph.shape(pool.inputs[0])[2]
    lanes = 4
    words = c // lanes
    # in_w * words cycles for the input row (a word per cycle); a consumer of 4 cycles a word
    # takes a quarter of the out_w * words burst meanwhile
    want = DEFAULT_FIFO_DEPTH + out_w * words - in_w * words // 4
    assert want > DEFAULT_FIFO_DEPTH
    tight = 10 ** 6  # the upstream already takes the whole period
    assert pool_burst_depth(graph, pool, lanes, 1.0, 4.0, tight, tight) == want
    # with slack for the blocked time, no buffer
    blocked = out_h * (want - DEFAULT_FIFO_DEPTH) * 4.0
    assert pool_burst_depth(graph, pool, lanes, 1.0, 4.0, tight - blocked, tight) == \
        DEFAULT_FIFO_DEPTH
    # a consumer that keeps up with the burst needs nothing
    fast = in_w / out_w
    assert pool_burst_depth(graph, pool, lanes, 1.0, fast, tight, tight) == DEFAULT_FIFO_DEPTH
    # a stride-1 node (the conv before it) never gets one
    assert pool_burst_depth(graph, graph.nodes[0], lanes, 1.0, 4.0, tight, tight) == \
        DEFAULT_FIFO_DEPTH


def test_a_bypass_is_a_folded_conv_and_its_streams_are_booked(tmp_path):
    """Complex bypass: the optimiser folds each bypass conv with its Fire module's expands (one
    PE: the sum joins equal lanes) and keeps its weights on chip; the estimate books the bypass
    streams at the depth the design gives them."""
    import dataclasses
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
    import nets
    from hwgen.design.dataflow import build_design
    from hwgen.design.estimate import estimate_for
    from hwgen.design.optimise import optimise

    model = nets.export(nets.reduced_squeezenet(4, bypass="complex"), (3, 40, 40),
                        tmp_path / "sq.onnx")
    graph = quantized_for_hardware(str(model), {"defaults": dict(ESTIMATE_QUICK)})
    board = _board()
    folding, est = optimise(graph, board)
    assert est["fits"]
    design = build_design(graph, folding)
    convs = [f for f in graph.fires if f.bypass_conv]
    assert len(convs) == 4
    for f in convs:
        bc, e1 = design.layer(f.bypass_conv).folding, design.layer(f.expand1x1).folding
        assert bc.pe == e1.pe and not bc.ddr
    rows = {r["name"]: r for r in est["layers"]}
    assert all(rows[f.bypass_conv]["weights"] in ("bram", "lutram") for f in convs)
    # an export may order a bypass conv before its module's squeeze: the same folding
    from hwgen.design.optimise import plan_for
    T = est["cycles_per_frame"]
    want_plan = plan_for(graph, T)
    moved = copy.copy(graph)
    moved.nodes = list(graph.nodes)
    for f in convs:
        conv = moved.node(f.bypass_conv)
        moved.nodes.remove(conv)
        moved.nodes.insert(moved.nodes.index(moved.node(f.squeeze)), conv)
    assert plan_for(moved, T) == want_plan
    assert build_design(moved, folding).streams.keys() == design.streams.keys()
    # the same design with every bypass stream at the default depth books exactly the
    # difference of their FIFOs
    held = [design.layer(f.bypass_conv).outputs[0] for f in convs] + [
        f"s_{f.name}_bypass" for f in graph.fires if f.bypass]
    shallow = dataclasses.replace(design, streams={
        k: dataclasses.replace(s, depth=2) if k in held else s for k, s in design.streams.items()})
    full, lean = estimate_for(design, board), estimate_for(shallow, board)
    want = sum(cost.fifo(design.streams[k].depth, design.streams[k].bits).bram36
               - cost.fifo(2, design.streams[k].bits).bram36 for k in held)
    assert want > 0
    assert full["accelerator"]["bram36"] - lean["accelerator"]["bram36"] == pytest.approx(want,
                                                                                          abs=0.1)
