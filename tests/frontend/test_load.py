"""Every supported export loads into the IR, and the IR computes what onnxruntime computes."""
from __future__ import annotations

import numpy as np
import pytest

import onnx_factory as F
from helpers import REAL_MODEL, needs_shared, ort_run, random_input
from hwgen.frontend import load
from hwgen.golden import run_float
from hwgen.ops import BatchNorm, Conv, Passthrough, Relu
from hwgen.ops.simple import softmax

slow = pytest.mark.slow


def _check(graph, *, fires=8, classes=1000, softmax_on_host=False, atol=1e-3):
    assert len(graph.fires) == fires
    assert [f.name for f in graph.fires] == [f"fire{i}" for i in range(2, 2 + fires)]
    assert graph.shape(graph.output) == (classes,)
    assert graph.host_softmax == softmax_on_host
    assert not any(isinstance(n.op, (Relu, Passthrough, BatchNorm)) for n in graph.nodes)
    assert all(n.op.relu for n in graph.nodes if isinstance(n.op, Conv))
    x = random_input(graph.shape(graph.input), scale=50.0 if softmax_on_host else 1.0)
    ours = run_float(graph, x)
    ref = ort_run(graph.onnx_model, x).reshape(-1)
    if softmax_on_host:
        ours = softmax(ours)
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=atol)


@pytest.mark.parametrize("version", ["1_0", "1_1"])
@pytest.mark.parametrize("opset", [13, 17, 20])
def test_torchscript_export(version, opset):
    _check(load(F.torch_export(version, opset, dynamo=False)))


@pytest.mark.parametrize("version,opset", [("1_1", 18), ("1_1", 13),
                                           pytest.param("1_0", 18, marks=slow),
                                           pytest.param("1_0", 20, marks=slow),
                                           pytest.param("1_1", 20, marks=slow),
                                           pytest.param("1_0", 13, marks=slow)])
def test_dynamo_export(version, opset):
    model = F.torch_export(version, opset, dynamo=True)
    assert "ReduceMean" in [n.op_type for n in model.graph.node]
    _check(load(model))


def test_squeezenet_1_0_ceil_mode_shapes():
    g = load(F.torch_export("1_0", 13, dynamo=False))
    pools = [g.shape(n.outputs[0]) for n in g.nodes if n.kind == "maxpool"]
    # conv1 7x7/2 gives 109x109; ceil mode pools to 54, 27, 13 (floor mode: 54, 26, 12)
    assert [p[1:] for p in pools] == [(54, 54), (27, 27), (13, 13)]


@pytest.mark.parametrize("variant", [F.with_avgpool_as_averagepool, F.with_flatten,
                                     F.torchscript_tail])
def test_export_variants(variant):
    base = F.torch_export("1_1", 18, dynamo=True) if variant is not F.with_avgpool_as_averagepool \
        else F.torch_export("1_1", 13, dynamo=False)
    _check(load(variant(base)))


@pytest.mark.parametrize("version", ["1_0", "1_1"])
@pytest.mark.parametrize("opset", [7, 9])
def test_caffe2_style(version, opset):
    model = F.caffe2_style(version, opset)
    graph = load(model)
    assert graph.origin == "caffe2"
    assert graph.preprocess.channel_order == "BGR"
    _check(graph, softmax_on_host=True, atol=1e-4)


@needs_shared
def test_real_caffe2_model():
    graph = load(REAL_MODEL)
    assert graph.nodes[0].name == "conv1" and graph.nodes[-2].name == "conv10"
    assert sum(n.op.n_params() for n in graph.nodes) == 1_235_496
    _check(graph, softmax_on_host=True, atol=1e-5)


def test_batchnorm_folded_into_conv():
    model = F.with_batchnorm(F.torch_export("1_1", 13, dynamo=False, nonzero_bias=True))
    assert "BatchNormalization" in [n.op_type for n in model.graph.node]
    _check(load(model))


def test_identity_removed():
    model = F.with_identity(F.torch_export("1_1", 13, dynamo=False))
    _check(load(model))


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_builtin_models(name):
    g = load(name)
    assert g.name == name and g.origin == "torch"
    _check(g)


def test_dump_after_every_pass():
    seen = []
    load("squeezenet1_1", dump=lambda step, graph: seen.append((step, len(graph.nodes))))
    steps = [s for s, _ in seen]
    assert steps[:3] == ["remove_passthrough", "fold_batchnorm", "attach_relu"]
    assert seen[-1][1] < 70  # ReLUs folded: 26 convs + pools + concats + avgpool
