"""SqueezeNet with the paper's bypasses: the built-ins and torch exports of them (both exporters,
with and without a ReLU after the sum and a bias on the bypass conv) load, their bypasses are
recognised, and the IR computes what onnxruntime computes; anything else with an Add is refused
with one line."""
from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from helpers import ort_run, random_input
from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.frontend import load
from hwgen.frontend.torch_squeezenet import SqueezeNet, _quiet, export_onnx
from hwgen.golden import run_float
from hwgen.ops import Add, Relu
from hwgen.report import inspect_dict

KINDS = {"simple": ["none", "simple"] * 4, "complex": ["complex", "simple"] * 4}


def _check(graph, bypass: str, relu: bool = False) -> None:
    assert [f.bypass_kind for f in graph.fires] == KINDS[bypass]
    adds = [n for n in graph.nodes if isinstance(n.op, Add)]
    assert len(adds) == 4 * (1 + (bypass == "complex"))
    assert all(n.name.endswith("/bypass") and n.op.relu == relu for n in adds)
    assert not any(isinstance(n.op, Relu) for n in graph.nodes)
    for f in graph.fires:
        if f.bypass_conv:  # the 1x1 conv reads the module's input
            conv = graph.node(f.bypass_conv)
            assert conv.inputs == graph.node(f.squeeze).inputs and not conv.op.relu
    x = random_input(graph.shape(graph.input))
    np.testing.assert_allclose(run_float(graph, x), ort_run(graph.onnx_model, x).reshape(-1),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("version", ["1_0", "1_1"])
@pytest.mark.parametrize("bypass", ["simple", "complex"])
def test_builtin_bypass_models(version, bypass):
    name = f"squeezenet{version}_{bypass}_bypass"
    g = load(name)
    _check(g, bypass)
    fires = {f["name"]: f for f in inspect_dict(g)["fires"]}
    assert fires["fire3"]["bypass"] == "simple" and fires["fire3"]["bypass_add"] == "fire3/bypass"


def _export(bypass: str, dynamo: bool, opset: int, **kw) -> onnx.ModelProto:
    torch.manual_seed(1)
    model = SqueezeNet("1_1", num_classes=10, bypass=bypass, **kw)
    buf = io.BytesIO()
    export_onnx(model, buf, opset=opset, dynamo=dynamo, input_size=64)
    return onnx.load_from_string(buf.getvalue())


@pytest.mark.parametrize("dynamo,opset", [(False, 13), (True, 18)])
@pytest.mark.parametrize("bypass,bias,relu", [("simple", True, False), ("complex", True, False),
                                              ("complex", False, True)])
def test_torch_exports(dynamo, opset, bypass, bias, relu):
    _check(load(_export(bypass, dynamo, opset, bypass_bias=bias, bypass_relu=relu)), bypass,
           relu)


def test_inspect_shows_the_bypass(capsys):
    assert main(["inspect", "squeezenet1_1_complex_bypass"]) == 0
    out = capsys.readouterr().out
    assert "fire2 + 1x1 conv of input" in out and "fire3 + input" in out
    assert "fire2/bypass_conv" in out and "fire9/bypass " in out


class _SumOfBranches(nn.Module):
    """Adds two convs of one input: an Add that bypasses no Fire module."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.a(x) + self.b(x), 1), 1)


class _AddConstant(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.c(x) + 1.5, 1), 1)


class _Broadcast(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        y = self.c(x)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(
            y + nn.functional.adaptive_avg_pool2d(y, 1), 1), 1)


@pytest.mark.parametrize("module,words", [
    (_SumOfBranches, ["(Add)", "not a Fire module's bypass", "supported"]),
    (_AddConstant, ["(Add)", "constant input", "supported"]),
    (_Broadcast, ["(Add)", "broadcasting", "supported"])])
def test_other_adds_are_refused_with_one_line(module, words, tmp_path, capsys):
    buf = io.BytesIO()
    with torch.no_grad(), _quiet():
        torch.onnx.export(module().eval(), (torch.zeros(1, 3, 8, 8),), buf, dynamo=False,
                          opset_version=13, input_names=["input"], output_names=["logits"])
    path = tmp_path / "m.onnx"
    path.write_bytes(buf.getvalue())
    with pytest.raises(HwgenError):
        load(str(path))
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
