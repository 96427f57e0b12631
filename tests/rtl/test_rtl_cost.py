"""The RTL backend's resource model (hwgen.rtl.cost): module models against hand-computed figures
(and the Yosys counts of the same instances they were fitted on), the costing hook of the estimate
and the optimiser, and the RTL project's report carrying that estimate. No Yosys needed."""
from __future__ import annotations

import json

import pytest
import yaml

from hwgen.boards import load_board
from hwgen.design.cost import Resources
from hwgen.design.dataflow import build_design
from hwgen.design.estimate import RESOURCES, TOP_CONTROL, Costs, estimate_for
from hwgen.project import Project
from hwgen.rtl import cost
from hwgen.rtl.generate import build_netlist
from hwgen.rtl.synth import SynthResult, synth_text

#: two instances of the trained SqueezeNet 1.1 PYNQ-Z2 design, as the netlist gives them, and
#: what Yosys made of each alone (LUT, FF, DSP, BRAM36)
FIRE3_SQUEEZE = {"MODE": "0", "IN_H": "55", "IN_W": "55", "IN_C": "128", "IN_LANES": "1",
                 "K": "1", "STRIDE": "1", "OUT_W": "55", "WIN_FIFO": "130", "XW": "8",
                 "WW": "8", "BW": "16", "ACCW": "22", "PE": "1", "SIMD": "1", "NF": "16",
                 "SF": "128", "OW": "8", "MUL_FABRIC": "1'b0", "W_STORAGE": '"auto"'}
POOL3 = {"W": "8", "SIGNED": "1'b0", "IN_H": "55", "IN_W": "55", "C": "128", "LANES": "1",
         "K": "3", "STRIDE": "2", "PAD_T": "0", "PAD_L": "0", "OUT_H": "27", "OUT_W": "27",
         "OW": "8", "WIN_STORAGE": '"block"'}


def _bounds(res: Resources, yosys: tuple, slack: float = 1.15) -> None:
    """An upper bound on Yosys' counts, within ``slack`` on LUT and FF, exact on DSP."""
    got = res.as_dict()
    for k, y in zip(("lut", "ff", "dsp", "bram36"), yosys):
        assert y <= got[k] <= max(y * slack, y + 2), (k, got, yosys)
    assert got["dsp"] == yosys[2]


def test_literals():
    assert cost._int("16'hc1e5") == 0xC1E5 and cost._int("1'b1") == 1 and cost._int("24") == 24
    assert cost._str('"block"') == "block"


def test_fifo_by_hand():
    # 2 x 8 bits: registers (16 data + 6 state FFs), a LUT per bit and the handshakes
    assert cost.fifo(2, 8) == Resources(lut=17, ff=22)
    # 200 x 8 bits: 12 RAM64M (3 bits x 64 words each, 4 LUT sites) cost less than a BRAM18 at
    # memory_libmap's rates (8 x 12 < 129); pointers 4 x clog2(201) = 32 FFs; logic 14 + 32 +
    # half a LUT per bit for the 4-bank read mux
    assert cost.fifo(200, 8) == Resources(lut=48 + 14 + 32 + 12, ff=32)
    _bounds(cost.fifo(200, 8), (97, 32, 0, 0.0))
    # 1000 x 64 bits: 4 BRAM18 (1024 x 18 side by side), no mux; W + 7a LUT, W + 3a + 3 + 2 FF
    assert cost.fifo(1000, 64) == Resources(bram36=2.0, lut=64 + 70, ff=64 + 30 + 3 + 2)
    _bounds(cost.fifo(1000, 64), (132, 95, 0, 2.0))


def test_add_by_hand():
    """A bypass sum of 4 lanes into 12-bit sums: 6 + 4 x (12 + 3) LUT, 4 x 8 + 1 FF; Yosys made
    58 / 33 of fire3/bypass in a reduced complex-bypass SqueezeNet 1.1."""
    r = cost.instance("hwgen_add", {"LANES": "4", "AW": "8", "BW": "8", "SW": "12", "OW": "8",
                                    "SHIFT": "3"})
    assert r == Resources(lut=66, ff=33)
    _bounds(r, (58, 33, 0, 0.0))
    _bounds(cost.instance("hwgen_add", {"LANES": "1", "SW": "12", "OW": "8"}), (19, 9, 0, 0.0))


def test_conv_by_hand():
    """fire3/squeeze1x1: 1x1, PE = SIMD = 1, its 2048 x 8 weight ROM in block RAM."""
    r = cost.instance("hwgen_conv", FIRE3_SQUEEZE)
    # one DSP48; LUTs: the 16 x 16 bias ROM (one LUT a bit), 10 + clog2(2048) counters +
    # ACCW/2 + OW per PE + XW per SIMD lane, the 128 x 8 input buffer in RAM128X1S (2 sites a
    # bit); FFs: 3.5 a counter bit + ACCW + OW per PE + XW per lane - 12
    assert r.dsp == 1 and r.bram36 == 0.5
    assert r.lut == 16 + (10 + 11 + 11 + 8 + 8) + 16
    assert r.ff == pytest.approx(3.5 * 11 + 30 + 8 - 12)
    _bounds(r, (71, 61, 1, 0.5), slack=1.2)


def test_packed_products_by_hand():
    """MUL_PACKED at PE x SIMD = 8 x 4, 8 x 8 bits: 16 DSP48s instead of 32; per pair and lane
    2*8 + 8 LUTs, plus a third of the cascade's adds (8 x 3 x 20 / 6); Yosys: 32 -> 16 DSP48E1,
    +512 LUT (hwgen_conv) and +412 (hwgen_conv_ddr) on a 3x3 conv (test_rtl_yosys.py)."""
    geo = {**FIRE3_SQUEEZE, "PE": "8", "SIMD": "4", "NF": "2", "SF": "32"}
    plain = cost.instance("hwgen_conv", geo)
    packed = cost.instance("hwgen_conv", {**geo, "MUL_PACKED": "1'b1"})
    assert plain.dsp == 32 and packed.dsp == 16
    assert packed.lut - plain.lut == pytest.approx(16 * 24 + 8 * 3 * 20 / 6)
    assert 412 * 0.85 <= packed.lut - plain.lut <= 512 * 1.15
    assert packed.ff == plain.ff and packed.bram36 == plain.bram36


def test_maxpool_by_hand():
    """pool3: 3x3 stride 2 over 55 x 55 x 128, one lane, its window buffer in block RAM."""
    r = cost.instance("hwgen_maxpool", POOL3)
    # window: 5 rows x 55 x 128 words of 8 bits = 18 BRAM18 (2048 x 9) stacked in depth, their
    # mux 0.3 x 8 x 17; counters clog2(387200) + clog2(31104) = 34 bits: 100 + 68 + 8 LUT,
    # 58 + 68 FF. Then a 2-word FIFO in registers, 128 running maxima in 6 RAM64M and their
    # 2-bank mux, and the compare, mux and cast of the lane.
    assert r.bram36 == 9.0
    assert r.lut == pytest.approx(0.3 * 8 * 17 + 176 + 17 + (24 + 7.2) + 44)
    assert r.ff == 126 + 22 + 18
    _bounds(r, (281, 165, 0, 9.0))


def test_ddr_conv_counts_its_lutram_exactly():
    """conv10 of the trained design (weights in DDR, PE 5): Yosys made 588 RAM64M, 20 RAM32M
    (and 12 SRL16E): the 2600 x 40 output buffer, the 13 x 115 accumulators, the used 40 bits
    of the 64-beat read FIFO."""
    assert cost.lutram_sites(2600, 40) == 4 * 574
    assert cost.lutram_sites(13, 115) == 4 * 20 and cost.lutram_sites(64, 40) == 4 * 14
    p = {"MODE": "0", "IN_H": "13", "IN_W": "13", "IN_C": "512", "IN_LANES": "1", "K": "1",
         "STRIDE": "1", "OUT_W": "13", "WIN_FIFO": "2", "XW": "8", "W_BITS": "8", "BW": "16",
         "ACCW": "23", "PE": "5", "SIMD": "1", "NF": "200", "SF": "512", "BLOCK": "13",
         "BEATS": "1", "OW": "8", "MUL_FABRIC": "1'b0", "XBUF_STORAGE": '"block"',
         "OBUF_STORAGE": '"distributed"'}
    _bounds(cost.instance("hwgen_conv_ddr", p), (4139, 446, 5, 2.0))


@pytest.fixture(scope="module")
def tiny(tiny_both):
    """TinyCnn as both backends write it (conftest.py), and its design."""
    project = Project.open(tiny_both / "rtl")
    folding = yaml.safe_load((tiny_both / "rtl" / "config.yaml").read_text())["folding"]
    return tiny_both, build_design(project.graph(), folding)


def test_costing_books_every_instance(tiny):
    """The RTL costing gives every stage and stream the model of the module the RTL top builds
    for it; the estimate's accelerator is their sum with the control block's."""
    _, design = tiny
    costs = cost.RtlCosting()(design)
    assert set(costs.stages) == {st.name for st in design.stages}
    assert set(costs.streams) == set(design.streams)
    total = cost.CONTROL
    for inst in build_netlist(design).instances:
        if inst.module in cost.MODELS:
            total = total + cost.instance(inst.module, inst.params)
    est = estimate_for(design, load_board("pynq-z2"), costing=cost.RtlCosting())
    assert est["accelerator"] == total.as_dict()
    assert est["resource_model"] == cost.RtlCosting.model
    # the conv with weights in DDR is the DDR module's model, the others the on-chip one's
    rows = {r["name"]: r for r in est["layers"]}
    inst = {i.source[1]: i for i in build_netlist(design).instances if i.source}
    for st in design.layer_stages:
        want = cost.instance(inst[st.name].module, inst[st.name].params).as_dict()
        assert {k: rows[st.layer][k] for k in RESOURCES} == want
    assert inst["c3"].module == "hwgen_conv_ddr"


def test_costing_changes_only_what_it_books(tiny):
    """Without a costing the estimate is the design's own (the HLS backend's); a costing that
    books nothing changes nothing; the RTL costing changes the resources, never the cycles."""
    _, design = tiny
    board = load_board("pynq-z2")
    own = estimate_for(design, board)
    assert "resource_model" not in own
    empty = estimate_for(design, board, costing=lambda d: Costs({}, {}, TOP_CONTROL, "none"))
    assert {k: v for k, v in empty.items() if k != "resource_model"} == own
    rtl = estimate_for(design, board, costing=cost.RtlCosting())
    assert rtl["accelerator"] != own["accelerator"]
    assert rtl["accelerator"]["dsp"] == own["accelerator"]["dsp"]  # one DSP48 a product
    for k in ("fps", "cycles_per_frame", "latency_cycles", "ddr", "platform"):
        assert rtl[k] == own[k]


def test_projects_report_their_backends_estimate(tiny):
    """report.json: the HLS project's estimate is the design's own, the RTL project's the RTL
    costing's, per layer (with the layer's attributes and inputs) and in total, with `fits`."""
    root, design = tiny
    board = load_board("pynq-z2")
    hls = json.loads((root / "hls" / "report.json").read_text())
    rtl = json.loads((root / "rtl" / "report.json").read_text())
    assert hls["accelerator"] == estimate_for(design, board)["accelerator"]
    assert "resource_model" not in hls
    want = estimate_for(design, board, costing=cost.RtlCosting())
    assert rtl["accelerator"] == want["accelerator"] and rtl["fits"] == want["fits"]
    assert rtl["resource_model"] == cost.RtlCosting.model
    assert [r["lut"] for r in rtl["layers"]] == [r["lut"] for r in want["layers"]]
    assert all("attrs" in r and "input" in r for r in rtl["layers"])
    assert rtl["cycles_per_frame"] == hls["cycles_per_frame"] and rtl["latency_ms"] > 0


def test_optimiser_takes_the_costing(tiny):
    """The optimiser's estimate is the costing's, and its design fits by that estimate."""
    from hwgen.design.optimise import optimise

    _, design = tiny
    board = load_board("pynq-z2")
    folding, est = optimise(design.graph, board, costing=cost.RtlCosting())
    assert est["resource_model"] == cost.RtlCosting.model and est["fits"]
    again = estimate_for(build_design(design.graph, folding), board, costing=cost.RtlCosting())
    assert again["accelerator"] == est["accelerator"]


def test_synth_text_shows_estimate_and_ratio():
    counts = {"lut": 20000, "ff": 8000, "dsp": 42, "bram36": 108.0}
    est = {"lut": 23000, "ff": 8400, "dsp": 42, "bram36": 111.0}
    r = SynthResult(project="p", board="pynq-z2", part="xc7z020clg400-1", family="xc7",
                    lut_logic=15000, lutram=5000, carry=0, uram=0,
                    budget={k: 1e6 for k in counts}, available={k: 1e6 for k in counts},
                    cap=0.85, fits=True, over=[], yosys_version="0.70", yosys_package=None,
                    seconds=1.0, log="l", stat="s", script="y", **counts, estimate=est,
                    estimate_ratio={k: round(est[k] / counts[k], 3) for k in counts})
    text = synth_text(r)
    assert "23,000" in text and "1.15" in text and "1.05" in text and "1.00" in text
