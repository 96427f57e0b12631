"""Generated projects end to end: generate, C-simulate bit-exactly, trace, refuse, fail atomically,
and the Vitis HLS Tcl under stubbed vendor commands."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import onnx_factory as F
from helpers import IMAGES, REAL_MODEL
from hwgen.cli import main
from hwgen.hls.csim import run_csim

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 (every kind of layer, small), generated once per module."""
    root = tmp_path_factory.mktemp("proj")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True),
                    root / "sq64.onnx")
    out = root / "p"
    assert main(["generate", str(model), "-o", str(out), "--vectors", "2"]) == 0
    return out


def test_project_layout(small_project):
    p = small_project
    for rel in ("firmware/hwgen_top.cpp", "firmware/hwgen_top.h", "firmware/parameters.h",
                "firmware/hwgen/conv2d.h", "tb/tb_hwgen_top.cpp", "tb/tb_data/input_0.bin",
                "tb/tb_data/expected_1.bin", "build_prj.tcl", "Makefile", "README.md",
                "report.txt", "report.json", "config.yaml", "model.onnx"):
        assert (p / rel).is_file(), rel
    top = (p / "firmware/hwgen_top.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in top and "mode = axis port = in" in top
    assert "s_axilite port = return" in top
    # the optimiser folds for the PYNQ-Z2: its 9.9 Mbit of weights do not all fit in BRAM
    n_ddr = top.count("hwgen::conv2d_ddr<")
    assert n_ddr >= 1 and top.count("hwgen::conv2d<") + n_ddr == 26
    assert top.count("hwgen::duplicate<") == 8
    meta = json.loads((p / "hwgen_project.json").read_text())
    assert len(meta["ddr"]["layers"]) == n_ddr and (p / "ddr_weights.bin").stat().st_size == \
        meta["ddr"]["bytes"]
    assert top.count("mode = m_axi") == n_ddr
    rep = json.loads((p / "report.json").read_text())
    assert len(rep["layers"]) == 38 and rep["cycles_per_frame"] == max(
        r["cycles"] for r in rep["layers"])


def test_csim_bit_exact_and_trace(small_project):
    res = run_csim(small_project, images=3, trace=True)  # one more than generated: made on demand
    assert res.images == 3 and res.mismatches == 0 and res.diverging_layer is None
    assert (small_project / "tb/tb_data/expected_2.bin").is_file()


def test_csim_with_a_relative_path(small_project, monkeypatch):
    monkeypatch.chdir(small_project.parent)
    assert run_csim(small_project.name, images=1).mismatches == 0


def test_csim_detects_a_wrong_weight(small_project, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(small_project, bad)
    header = bad / "firmware/weights/fire3_expand3x3.h"
    text = header.read_text()
    # flip the lowest bit of word 0 (lane 0 of the ROM's first word: one weight off by one)
    m = re.search(r'rom_word<(\d+)>\("0x([0-9a-f]+)", 16\)', text)
    word = int(m.group(2), 16) ^ 1
    text = text[:m.start(2)] + f"{word:0{len(m.group(2))}x}" + text[m.end(2):]
    header.write_text(text)
    res = run_csim(bad, images=2, trace=True)
    assert res.mismatches > 0 and res.first_mismatch
    assert res.diverging_layer == "fire3/expand3x3"


def test_csim_cli_json_and_exit_status(small_project, capsys, tmp_path):
    assert main(["csim", str(small_project), "--images", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("images", "mismatches", "seconds_per_image", "compile_seconds"):
        assert key in d
    # a wrong expected vector makes the C-simulation fail with a non-zero status
    bad = tmp_path / "bad"
    shutil.copytree(small_project, bad)
    e = np.fromfile(bad / "tb/tb_data/expected_0.bin", dtype=np.int32)
    e[5] += 1
    e.tofile(bad / "tb/tb_data/expected_0.bin")
    assert main(["csim", str(bad), "--images", "1"]) == 1
    assert "first mismatch: image 0, output 5" in capsys.readouterr().out


def test_generate_refuses_existing_dir_and_is_atomic(small_project, tmp_path, capsys):
    assert main(["generate", "squeezenet1_1", "-o", str(small_project)]) == 2
    assert "--force" in capsys.readouterr().err
    # a failure part-way (a bad folding override) leaves no folder behind
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("folding:\n  conv1: {pe: 7}\n")
    out = tmp_path / "never"
    assert main(["generate", "squeezenet1_1", "--config", str(cfg), "-o", str(out)]) == 2
    assert "matches no layer" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_not_a_project(tmp_path, capsys):
    assert main(["csim", str(tmp_path)]) == 2
    assert "not an hwgen project" in capsys.readouterr().err


TCL_STUBS = r"""
set calls {}
foreach cmd {open_project set_top add_files open_solution set_part create_clock config_compile
             config_export config_interface csim_design csynth_design cosim_design
             export_design} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]} $cmd]
}
rename exit _exit
proc exit {{code 0}} { foreach c $::calls { puts $c }; _exit $code }
set argv $::env(STEPS)
set argc [llength $argv]
if {[catch {source [lindex $::env(SCRIPT) 0]} err]} { puts stderr $err; _exit 1 }
"""


@pytest.mark.parametrize("steps,expected", [
    ("", ["csim_design", "csynth_design", "export_design"]),  # cosim only on request
    ("csim synth", ["csim_design", "csynth_design"])])
def test_vitis_tcl_runs_under_stubs(small_project, tmp_path, steps, expected):
    tclsh = shutil.which("tclsh")
    if tclsh is None:
        pytest.fail("tclsh is needed to check the generated Tcl (apt-get install tcl)")
    stub = tmp_path / "stub.tcl"
    stub.write_text(TCL_STUBS)
    proc = subprocess.run([tclsh, str(stub)], capture_output=True, text=True,
                          env={"STEPS": steps, "SCRIPT": str(small_project / "build_prj.tcl"),
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    calls = [line.split()[0] for line in proc.stdout.splitlines()]
    assert [c for c in calls if c.endswith("_design")] == expected
    assert calls[:2] == ["open_project", "set_top"]
    assert "set_part xc7z020clg400-1" in proc.stdout and "create_clock -period 10.0" in proc.stdout
    # weights in DDR: 32-bit master addresses on the Zynq-7000, the image beside the testbench
    assert "config_interface -m_axi_addr64=false" in proc.stdout
    assert "add_files -tb ddr_weights.bin" in proc.stdout


def test_vitis_tcl_rejects_unknown_step(small_project, tmp_path):
    stub = tmp_path / "stub.tcl"
    stub.write_text(TCL_STUBS)
    proc = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True,
                          env={"STEPS": "bogus", "SCRIPT": str(small_project / "build_prj.tcl"),
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and "unknown step 'bogus'" in proc.stderr


@slow
@pytest.mark.parametrize("model", ["squeezenet1_0", "squeezenet1_1", "real"])
def test_whole_squeezenet_bit_exact(model, tmp_path):
    args = ["generate", model, "-o", str(tmp_path / "p")]
    if model == "real":
        if not REAL_MODEL.is_file():
            pytest.fail(f"needs {REAL_MODEL}")
        args = ["generate", str(REAL_MODEL), "--calib", str(IMAGES / "calib"), "-o",
                str(tmp_path / "p")]
    assert main(args) == 0
    res = run_csim(tmp_path / "p", images=5)
    assert res.images == 5 and res.mismatches == 0
