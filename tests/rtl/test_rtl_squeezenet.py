"""End to end: a reduced SqueezeNet 1.1 (same topology, a quarter of the channels, 40x40 input)
generated with --backend rtl, linted, and simulated bit-exactly under random gaps and
backpressure, its measured cycles per frame within 10% of the analytic estimate. Slow: single
full-width Fire modules of SqueezeNet 1.1, and the whole of it at 224x224, the same way."""
from __future__ import annotations

import json

import numpy as np
import pytest

import nets
from hwgen.cli import main
from hwgen.project import VECTOR_DIR
from hwgen.rtl.generate import HDL_DIR, LIBRARY, RTL_DIR, TOP
from hwgen.rtl.sim import lint, run_rtlsim

TOLERANCE = 0.10  # measured vs estimated cycles per frame


def _generate_linted(model, out) -> str:
    """``hwgen generate --backend rtl`` of ``model`` with 2 vectors; the top, lint-clean."""
    assert main(["generate", str(model), "--backend", "rtl", "-o", str(out),
                 "--vectors", "2"]) == 0
    top = (out / RTL_DIR / f"{TOP}.sv").read_text()
    assert lint([HDL_DIR / f for f in LIBRARY] + [out / RTL_DIR / f"{TOP}.sv"], TOP) == ""
    return top


def _rtlsim_on_estimate(out, capsys) -> dict:
    """``hwgen rtlsim`` on 2 images: bit-exact under gaps and backpressure, within TOLERANCE of
    the estimated cycles per frame."""
    capsys.readouterr()
    assert main(["rtlsim", str(out), "--images", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["images"] == 2 and d["mismatches"] == 0 and d["stress_frames"] == 2
    est = d["estimated_cycles_per_frame"]
    assert abs(d["cycles_per_frame"] - est) <= TOLERANCE * est, d
    return d


def test_reduced_squeezenet_bit_exact_and_on_estimate(tmp_path, capsys):
    model = nets.export(nets.reduced_squeezenet(4), (3, 40, 40), tmp_path / "sq.onnx")
    out = tmp_path / "p"
    top = _generate_linted(model, out)
    meta = json.loads((out / "hwgen_project.json").read_text())
    assert meta["backend"] == "rtl" and meta["stream"]["in"]["lanes"] == 3
    assert top.count("hwgen_conv #(") == 26 and top.count("hwgen_duplicate #(") == 8
    assert top.count("hwgen_maxpool #(") == 3 and top.count("hwgen_gap #(") == 1
    d = _rtlsim_on_estimate(out, capsys)
    assert d["estimated_cycles_per_frame"] == json.loads(
        (out / "report.json").read_text())["cycles_per_frame"]

    # a wrong expected value fails the run (vectors are read at simulation time: no rebuild)
    f = out / VECTOR_DIR / "expected_1.bin"
    e = np.fromfile(f, dtype=np.int32)
    e[3] += 1
    e.tofile(f)
    assert main(["rtlsim", str(out), "--images", "2"]) == 1
    assert "image 1, output 3" in capsys.readouterr().out


@pytest.mark.slow  # time: the default suite C-simulates a reduced complex bypass (HLS)
def test_reduced_complex_bypass_squeezenet_bit_exact_and_on_estimate(tmp_path, capsys):
    """The paper's complex bypass (a 1x1 conv around Fire2, 4, 6 and 8, the input itself around
    Fire3, 5, 7 and 9): bit-exact under gaps and backpressure, on the estimate's pace (the
    bypass streams sized by hwgen.design.depths.bypass_depths)."""
    model = nets.export(nets.reduced_squeezenet(4, bypass="complex"), (3, 40, 40),
                        tmp_path / "sq.onnx")
    out = tmp_path / "p"
    top = _generate_linted(model, out)
    assert top.count("hwgen_add #(") == 8 and top.count("hwgen_conv #(") == 30
    assert top.count("hwgen_duplicate #(") == 16
    _rtlsim_on_estimate(out, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("fire", ["fire2", "fire4", "fire6", "fire9"])
def test_full_width_fire_module_on_estimate(fire, tmp_path):
    module, shape = nets.fire_module(fire)
    model = nets.export(module, shape, tmp_path / f"{fire}.onnx")
    out = tmp_path / "p"
    assert main(["generate", str(model), "--backend", "rtl", "-o", str(out),
                 "--vectors", "1"]) == 0
    res = run_rtlsim(out, images=1)
    assert res.mismatches == 0
    assert abs(res.model_error) <= TOLERANCE, res.as_dict()


@pytest.mark.slow
def test_squeezenet_1_1_full_size_bit_exact_and_on_estimate(tmp_path):
    """The built-in SqueezeNet 1.1 at 224x224, 1000 classes: every layer at full width."""
    out = tmp_path / "p"
    assert main(["generate", "squeezenet1_1", "--backend", "rtl", "-o", str(out),
                 "--vectors", "1"]) == 0
    res = run_rtlsim(out, images=1)
    assert res.mismatches == 0 and res.stress_frames == 1
    assert abs(res.model_error) <= TOLERANCE, res.as_dict()


#: weights in DDR (one with LUT multipliers), LUT multipliers and LUT-held weights on chip
DDR_FOLDING = """folding:
  fire9/expand3x3: {weights: ddr}
  classifier.1: {weights: ddr, multipliers: lut}
  fire2/expand3x3: {multipliers: lut, weights: lutram}
"""


def test_reduced_squeezenet_with_ddr_weights_in_the_system_simulation(tmp_path, capsys):
    """The whole top with two AXI4 weight masters against the DDR model: bit-exact under gaps and
    backpressure, the driver's register protocol, the DDR traffic each frame must make."""
    model = nets.export(nets.reduced_squeezenet(4), (3, 40, 40), tmp_path / "sq.onnx")
    cfg = tmp_path / "ddr.yaml"
    cfg.write_text(DDR_FOLDING)
    out = tmp_path / "p"
    assert main(["generate", str(model), "--backend", "rtl", "--config", str(cfg), "-o",
                 str(out), "--vectors", "2"]) == 0
    top = (out / RTL_DIR / f"{TOP}.sv").read_text()
    assert top.count("hwgen_conv_ddr #(") == 2
    assert "m_axi_gmem_w_classifier_1_ARADDR" in top
    sim = [out / RTL_DIR / "sim" / f for f in ("hwgen_ddr_model.sv", "hwgen_sim_top.sv")]
    assert lint([HDL_DIR / f for f in LIBRARY] + [out / RTL_DIR / f"{TOP}.sv"], TOP) == ""
    meta = json.loads((out / "hwgen_project.json").read_text())
    assert [d["layer"] for d in meta["ddr"]["layers"]] == ["fire9/expand3x3", "classifier.1"]
    assert all(p.is_file() for p in sim)
    capsys.readouterr()

    assert main(["rtlsim", str(out), "--images", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mismatches"] == 0 and d["stress_frames"] == 2
    assert d["ddr"]["protocol_errors"] == 0
    # each DDR layer reads its whole image once per output row: PE*SIMD weights of 8 bits per
    # word, rounded up to 64-bit beats, NF*SF words
    rep = {r["name"]: r for r in json.loads((out / "report.json").read_text())["layers"]}
    want = 0
    for name, k in (("fire9/expand3x3", 3), ("classifier.1", 1)):
        r = rep[name]
        cin, cout, rows = r["input"][0][0], r["output"][0], r["output"][1]
        words = (cout // r["pe"]) * (k * k * cin // r["simd"])
        want += words * -(-r["pe"] * r["simd"] * 8 // 64) * 8 * rows
    # measured between two frame ends: each master's read-ahead FIFO (64 beats) may hold a
    # different amount at either end
    assert abs(d["ddr"]["bytes_per_frame"] - want) <= 2 * 64 * 8, (want, d["ddr"])
    est = d["estimated_cycles_per_frame"]
    assert abs(d["cycles_per_frame"] - est) <= TOLERANCE * est, d
    assert d["fps"] == pytest.approx(100e6 / d["cycles_per_frame"])
