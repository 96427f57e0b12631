"""hwgen synth: Yosys (synth_xilinx) on a whole RTL project, counted against the board's budget.

The default suite synthesises a reduced SqueezeNet 1.1 (a sixteenth of the channels, 32x32 input,
two or fewer multipliers per conv) and checks the counts against what its folding implies: the
DSP48s made from the MVAU's products are exactly the multipliers, sum of PE*SIMD over the convs
(from the project's report.json; any other DSP48 is named by its source line), LUT, FF, LUTRAM
and carry chains present, the counts added up from the cells, `fits` as the budget says. Bad
input gives one line and exit status 2, a design Yosys rejects exit status 1. Slow: the whole
reduced network at a quarter of the channels and default folding (1,312 multipliers, minutes).
The built-in SqueezeNet 1.1 at full size takes more than 40 minutes under WebAssembly and is not
a test.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

import nets
from hwgen.boards import load_board
from hwgen.cli import main
from hwgen.design.estimate import budget
from hwgen.rtl.generate import RTL_DIR, TOP
from hwgen.rtl.synth import FAMILIES, SynthResult, count, synth_text

#: at most two multipliers per conv, some PE, some SIMD: 52 DSP48s in all
SMALL_FOLDING = """folding:
  features.0: {pe: 2, simd: 1}
  "fire*/squeeze1x1": {pe: 1, simd: 2}
  "fire*/expand*": {pe: 2, simd: 1}
  classifier.1: {pe: 1, simd: 2}
"""


def _generate(tmp_path, div: int, size: int, folding: str | None) -> tuple:
    model = nets.export(nets.reduced_squeezenet(div), (3, size, size), tmp_path / "sq.onnx")
    out = tmp_path / "p"
    args = ["generate", str(model), "--backend", "rtl", "-o", str(out), "--vectors", "1"]
    if folding:
        (tmp_path / "cfg.yaml").write_text(folding)
        args += ["--config", str(tmp_path / "cfg.yaml")]
    assert main(args) == 0
    return out, json.loads((out / "report.json").read_text())


def _synth_json(out, capsys, *extra) -> dict:
    capsys.readouterr()
    assert main(["synth", str(out), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _check_counts(d: dict, rep: dict, board: str = "pynq-z2") -> None:
    convs = [lay for lay in rep["layers"] if lay["op"] == "conv"]
    mults = sum(lay["pe"] * lay["simd"] for lay in convs)
    by_file = Counter()
    for src, n in d["dsp_by_source"].items():
        by_file[src.split(":")[0]] += n
    assert sum(by_file.values()) == d["dsp"] == d["cells"].get("DSP48E1", 0)
    # every product of every conv is one DSP48, exactly: those of the MVAUs' dot products
    assert by_file["hwgen_dot.sv"] == mults, d["dsp_by_source"]
    # the rest are address arithmetic of line buffers (a constant multiply) and the average's
    # reciprocal: at most one each
    windowed = sum(lay["op"] in ("maxpool", "global_avgpool") or
                   (lay["op"] == "conv" and "3x3" in lay["attrs"]) for lay in rep["layers"])
    assert set(by_file) <= {"hwgen_dot.sv", "hwgen_window.sv", "hwgen_gap.sv"}, by_file
    assert d["dsp"] - mults <= windowed
    # the counts add up from the cells, Vivado's way
    assert {k: d[k] for k in ("lut", "lutram", "ff", "dsp", "bram36")} == \
        {k: v for k, v in count(d["cells"]).items() if k in ("lut", "lutram", "ff", "dsp", "bram36")}
    assert d["lut"] == d["lut_logic"] + d["lutram"] and d["lut_logic"] > 0
    # registers: at least every multiplier's product and every stream's valid bit
    assert d["ff"] > mults * 8 and d["lutram"] > 0 and d["carry"] > 0
    # the budget is the estimator's, and `fits` says whether every count is within it
    b = load_board(board)
    assert d["budget"] == budget(b) and d["cap"] == 0.85
    assert d["family"] == FAMILIES[b["family"]] and d["board"] == b["name"]
    within = {k: d[k] <= d["budget"][k] for k in ("lut", "ff", "dsp", "bram36")}
    assert d["fits"] == all(within.values()) and d["over"] == [k for k, ok in within.items()
                                                               if not ok]
    assert d["yosys_version"].startswith("0.") and d["seconds"] > 0


@pytest.mark.slow  # 2.5 minutes of Yosys; hwgen synth's bad-input lines stay in the default suite
def test_synth_reduced_network(tmp_path, capsys):
    out, rep = _generate(tmp_path, 16, 32, SMALL_FOLDING)
    assert sum(lay["pe"] * lay["simd"] for lay in rep["layers"] if lay["op"] == "conv") == 52
    d = _synth_json(out, capsys)
    _check_counts(d, rep)
    assert d["fits"] and d["lut"] < 20_000 and d["bram36"] < 20
    build = out / "build" / "synth"
    assert d["log"] == str(build / "yosys.log") and "SYNTH_XILINX" in (build / "yosys.log").read_text().upper()
    assert json.loads((build / "stat.json").read_text())["modules"]
    assert json.loads((build / "result.json").read_text()) == d
    assert json.loads((out / "results" / "synth.json").read_text()) == d  # for hwgen report
    # beside the counts: the project's estimate (the RTL backend's model) and estimate / Yosys
    assert d["estimate"] == {k: rep["accelerator"][k] for k in ("lut", "ff", "dsp", "bram36")}
    assert d["estimate_ratio"] == {k: round(e / d[k], 3) if d[k] else None
                                   for k, e in d["estimate"].items()}

    # the human table says the same
    text = synth_text(SynthResult(**d))
    assert f"{d['lut']:,}" in text and "fits pynq-z2" in text and str(build / "yosys.log") in text

    # a budget the design exceeds: does not fit, and says where (counts from the same synthesis)
    small = SynthResult(**{**d, "budget": {k: 1 for k in d["budget"]}, "fits": False,
                           "over": ["lut", "ff", "dsp", "bram36"]})
    assert "DOES NOT FIT" in synth_text(small)

    # Yosys rejects a design: exit status 1, one line naming Yosys' error and the log
    (out / RTL_DIR / "broken.sv").write_text("module broken(input a; endmodule\n")
    with open(out / RTL_DIR / "sources.f", "a") as f:
        f.write("broken.sv\n")
    assert main(["synth", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Yosys failed" in err and "broken.sv" in err
    assert "yosys.log" in err
    assert not (build / "result.json").exists()


def test_synth_refuses_bad_input(tmp_path, capsys, monkeypatch):
    def one_line(argv, code=2) -> str:
        assert main(argv) == code
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        return err

    assert "no such folder" in one_line(["synth", str(tmp_path / "nowhere")])
    assert "not an hwgen project" in one_line(["synth", str(tmp_path)])
    meta = {"hwgen": "0.1.0", "top": "hwgen_top", "model": "m", "board": "pynq-z2"}
    (tmp_path / "hwgen_project.json").write_text(json.dumps({**meta, "backend": "hls"}))
    assert "--backend rtl" in one_line(["synth", str(tmp_path), "--json"])
    (tmp_path / "hwgen_project.json").write_text(json.dumps({**meta, "backend": "rtl"}))
    assert f"no {RTL_DIR}/{TOP}.sv" in one_line(["synth", str(tmp_path)])
    rtl = tmp_path / RTL_DIR
    rtl.mkdir()
    (rtl / f"{TOP}.sv").write_text(f"module {TOP}; endmodule\n")
    (rtl / "sources.f").write_text(f"hdl/gone.sv\n{TOP}.sv\n")
    assert "sources.f:1: hdl/gone.sv: no such file" in one_line(["synth", str(tmp_path)])
    (rtl / "sources.f").write_text(f"{TOP}.sv\n")
    assert "unknown board" in one_line(["synth", str(tmp_path), "--board", "nosuch"])
    # no Yosys: one line that says how to get it
    monkeypatch.setenv("HWGEN_YOSYS", str(tmp_path / "no-yosys"))
    assert "no such executable" in one_line(["synth", str(tmp_path)])
    monkeypatch.delenv("HWGEN_YOSYS")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    assert "pip install pyosys" in one_line(["synth", str(tmp_path)])


@pytest.mark.slow
def test_synth_reduced_network_default_folding(tmp_path, capsys):
    """A quarter of SqueezeNet 1.1's channels, 40x40, the default folding (1,312 multipliers)."""
    out, rep = _generate(tmp_path, 4, 40, None)
    d = _synth_json(out, capsys)
    _check_counts(d, rep)
