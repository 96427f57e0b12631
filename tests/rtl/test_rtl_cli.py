"""rtlsim and generate --backend rtl on bad input: one line, exit status 2, no folder left."""
from __future__ import annotations

import nets
from hwgen.cli import main


def test_rtlsim_not_a_project(tmp_path, capsys):
    assert main(["rtlsim", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not an hwgen project" in err and len(err.strip().splitlines()) == 1


def test_rtlsim_no_rtl_and_no_sources(tmp_path, capsys):
    (tmp_path / "hwgen_project.json").write_text('{"hwgen": "0.1.0", "top": "hwgen_top", "model": "m", "stream": {}}')
    assert main(["rtlsim", str(tmp_path)]) == 2
    assert "--backend rtl" in capsys.readouterr().err


def test_rtlsim_sources_without_verilog(tmp_path, capsys):
    (tmp_path / "hwgen_project.json").write_text('{"hwgen": "0.1.0", "top": "hwgen_top", "model": "m", "stream": {"in": 1}}')
    (tmp_path / "empty").mkdir()
    assert main(["rtlsim", str(tmp_path), "--sources", str(tmp_path / "empty")]) == 2
    assert "no .v or .sv files" in capsys.readouterr().err


def test_generate_rtl_refuses_weights_in_ddr(tmp_path, capsys):
    model = nets.export(nets.TinyCnn().eval(), (3, 17, 17), tmp_path / "tiny.onnx")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("folding:\n  c3: {weights: ddr}\n")
    out = tmp_path / "never"
    assert main(["generate", str(model), "--backend", "rtl", "--config", str(cfg),
                 "-o", str(out)]) == 2
    assert "on chip" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".never*"))
