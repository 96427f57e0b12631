"""Each layer module in a small network, bit-exact with the golden model under random gaps and
backpressure, in every lane conversion: a strided padded 3x3 conv whose window splits 3-channel
pixels into single channels (3 -> 1 lanes), a padded ceil-mode max pool, a 1x1 conv whose input
lanes merge (3 -> 6, regroup), a 3x3 conv whose window merges lanes (2 -> 4), a 1x1 conv whose
input lanes split (4 -> 2, regroup), global average pooling. And a wrong weight is caught."""
from __future__ import annotations

import json

import nets
from hwgen.cli import main
from hwgen.rtl.generate import HDL_DIR, LIBRARY, RTL_DIR, TOP
from hwgen.rtl.sim import lint

FOLDING = """folding:
  c1: {pe: 3, simd: 1}
  c2: {pe: 2, simd: 6}
  c3: {pe: 4, simd: 4}
  c4: {pe: 3, simd: 2}
"""


def test_layers_bit_exact_and_a_wrong_weight_is_caught(tmp_path, capsys):
    model = nets.export(nets.TinyCnn().eval(), (3, 17, 17), tmp_path / "tiny.onnx")
    (tmp_path / "cfg.yaml").write_text(FOLDING)
    out = tmp_path / "p"
    assert main(["generate", str(model), "--backend", "rtl", "--config",
                 str(tmp_path / "cfg.yaml"), "-o", str(out), "--vectors", "3"]) == 0
    top = (out / RTL_DIR / f"{TOP}.sv").read_text()
    assert top.count(".MODE(2)") == 2 and top.count(".MODE(1)") == 2
    assert "hwgen_maxpool" in top and "hwgen_gap" in top
    files = [HDL_DIR / f for f in LIBRARY] + [out / RTL_DIR / f"{TOP}.sv"]
    assert lint(files, TOP) == ""
    capsys.readouterr()

    assert main(["rtlsim", str(out), "--images", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["images"] == 3 and d["mismatches"] == 0 and d["stress_frames"] == 3
    assert d["timed_frames"] == 3 and d["cycles_per_frame"] > 0 and d["latency_cycles"] > 0
    # kept in the project for hwgen report: what --json printed
    assert json.loads((out / "results" / "rtlsim.json").read_text()) == {**d, "sources": None}

    # c3's first weight word inverted (w -> -w-1): weights are read when the simulation starts,
    # so this needs no rebuild
    mem = out / RTL_DIR / "mem" / "u_c3_w.mem"
    lines = mem.read_text().splitlines()
    lines[0] = f"{int(lines[0], 16) ^ ((1 << 4 * len(lines[0])) - 1):0{len(lines[0])}x}"
    mem.write_text("\n".join(lines) + "\n")
    assert main(["rtlsim", str(out), "--images", "1"]) == 1
    text = capsys.readouterr().out
    assert "MISMATCHES" in text and "first mismatch: timing pass, image 0" in text
