"""rtlsim and generate --backend rtl on bad input: one line, exit status 2, no folder left."""
from __future__ import annotations

import json

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


def test_weights_in_ddr_are_the_hls_backends_bytes(tiny_both):
    """Both backends render one design: the RTL project's DDR image and pointer registers are
    the HLS project's, byte for byte."""
    rtl, hls = (json.loads((tiny_both / b / "hwgen_project.json").read_text())["ddr"]
                for b in ("rtl", "hls"))
    assert [d["layer"] for d in rtl["layers"]] == ["c3"]
    assert [(d["port"], d["offset"], d["register"]) for d in rtl["layers"]] == \
        [(d["port"], d["offset"], d["register"]) for d in hls["layers"]]
    image = (tiny_both / "rtl" / rtl["file"]).read_bytes()
    assert image and image == (tiny_both / "hls" / hls["file"]).read_bytes()
    top = (tiny_both / "rtl" / "rtl" / "hwgen_top.sv").read_text()
    assert "hwgen_conv_ddr #(" in top and "m_axi_gmem_w_c3_ARADDR" in top


