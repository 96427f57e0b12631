"""Two products per DSP48 end to end: a reduced SqueezeNet 1.1 whose every conv is folded with
``multipliers: dsp2`` (two of its layers' weights in DDR), generated for each backend and
simulated bit-exactly -- the HLS project's synthesis-typed C-simulation (``make csim-ap``, the
code path that packs; the fast path computes the same products natively) and the RTL top under
gaps and backpressure. Slow: whole-network builds."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
import nets  # noqa: E402
from helpers import rtlsim_bit_exact  # noqa: E402
from hwgen import toolchain  # noqa: E402
from hwgen.cli import main  # noqa: E402
from hwgen.project import Project  # noqa: E402

pytestmark = pytest.mark.slow

CONFIG = ("folding:\n  features.0: {multipliers: dsp2}\n  'fire*/*1x1': {multipliers: dsp2}\n"
          "  'fire*/*3x3': {multipliers: dsp2}\n  classifier.1: {multipliers: dsp2}\n"
          "  fire9/expand3x3: {weights: ddr}\n  fire4/squeeze1x1: {weights: ddr}\n")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    cfg = root / "cfg.yaml"
    cfg.write_text(CONFIG)
    return nets.export(nets.reduced_squeezenet(4), (3, 40, 40), root / "sq.onnx"), cfg


def test_packed_hls_project_csim_ap_bit_exact(tmp_path, model, capsys):
    onnx, cfg = model
    out = tmp_path / "p"
    assert main(["generate", str(onnx), "-o", str(out), "--config", str(cfg),
                 "--vectors", "1"]) == 0
    rows = json.loads((out / "report.json").read_text())["layers"]
    kinds = {r["name"]: r["multipliers"] for r in rows if r["multipliers"]}
    assert set(kinds.values()) == {"dsp2"}, kinds
    params = (out / "firmware" / "parameters.h").read_text()
    assert len(re.findall(r"MUL_PACKED = true;", params)) == len(kinds)
    graph = Project.open(out).graph()
    assert len(kinds) == sum(1 for n in graph.nodes if n.kind == "conv")
    run = subprocess.run(["make", "-C", str(out), "csim-ap",
                          f"AP_TYPES={toolchain.ap_types_include()}"],
                         capture_output=True, text=True, timeout=1800)
    print(run.stdout[-1500:], run.stderr[-1500:])
    assert run.returncode == 0
    assert re.search(r"^1 passed, 0 failed$", run.stdout, re.M), run.stdout[-800:]


def test_packed_rtl_top_rtlsim_bit_exact(tmp_path, model, capsys):
    onnx, cfg = model
    out = tmp_path / "r"
    assert main(["generate", str(onnx), "--backend", "rtl", "--config", str(cfg), "-o",
                 str(out), "--vectors", "2"]) == 0
    top = (out / "rtl" / "hwgen_top.sv").read_text()
    convs = top.count("hwgen_conv #(") + top.count("hwgen_conv_ddr #(")
    assert convs == 26 and top.count(".MUL_PACKED(1'b1)") == convs
    rtlsim_bit_exact(out, capsys)
