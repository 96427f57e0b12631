"""Bypassed SqueezeNets end to end in the HLS backend: reduced networks (a quarter of the
channels, 40x40) generated and C-simulated bit-exactly, with the bypass streams the design
rule sizes; slow: the four built-ins at 224x224 on several images."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
import nets  # noqa: E402
from hwgen.cli import main  # noqa: E402
from hwgen.design.dataflow import build_design  # noqa: E402
from hwgen.design.depths import DEFAULT_FIFO_DEPTH, bypass_depths, bypass_min_depth  # noqa: E402
from hwgen.project import Project  # noqa: E402


def _design(project: Path):
    graph = Project.open(project).graph()
    folding = (yaml.safe_load((project / "config.yaml").read_text()) or {}).get("folding")
    return graph, build_design(graph, folding)


def _csim(project: Path, images: int, capsys) -> dict:
    capsys.readouterr()
    assert main(["csim", str(project), "--images", str(images), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("bypass,bias,relu", [("simple", True, True), ("complex", False, False)])
def test_reduced_bypass_squeezenet_csim_bit_exact(bypass, bias, relu, tmp_path, capsys):
    model = nets.export(nets.reduced_squeezenet(4, bypass=bypass, bypass_bias=bias,
                                                bypass_relu=relu), (3, 40, 40),
                        tmp_path / "sq.onnx")
    out = tmp_path / "p"
    assert main(["generate", str(model), "-o", str(out), "--vectors", "3"]) == 0
    top = (out / "firmware" / "hwgen_top.cpp").read_text()
    n = 4 if bypass == "simple" else 8
    assert top.count("hwgen::add_streams<") == n
    graph, design = _design(out)
    depth = {m[0]: int(m[1]) for m in re.findall(r"STREAM variable = (\w+) depth = (\d+)", top)}
    for fire in graph.fires:
        if not fire.bypass:
            continue
        want = bypass_depths(graph, fire, design.folding)
        least = bypass_min_depth(graph, fire, design.folding)
        # the stream into the sum (or the bypass conv's output) holds the module's lead
        held = depth[f"s_{fire.name}_bypass"] if fire.bypass_conv is None else depth[
            design.layer(fire.bypass_conv).outputs[0]]
        assert held == want.get("bypass_conv", want["bypass"]) >= least > DEFAULT_FIFO_DEPTH
    assert _csim(out, 3, capsys)["mismatches"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["squeezenet1_0_simple_bypass", "squeezenet1_0_complex_bypass",
                                  "squeezenet1_1_simple_bypass", "squeezenet1_1_complex_bypass"])
def test_full_size_bypass_builtins_csim_bit_exact(name, tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["generate", name, "-o", str(out), "--vectors", "3"]) == 0
    d = _csim(out, 3, capsys)
    assert d["images"] == 3 and d["mismatches"] == 0, d
