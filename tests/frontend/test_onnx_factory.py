"""The test models themselves: valid ONNX, runnable in onnxruntime, numerically what they claim."""
from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, numpy_helper

import onnx_factory as F
from hwgen.frontend.torch_squeezenet import SqueezeNet, builtin_model, export_onnx

slow = pytest.mark.slow


def _ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _run(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # IR>=4 models with initializers as inputs warn; expected here
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _image(size: int = 224, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, 3, size, size)).astype(np.float32)


def _check_matches_torch(model, version, size=224, nonzero_bias=False, reference=None):
    x = _image(size)
    (logits,) = _run(model, {"input": x})
    expected = F.torch_logits(version, x, nonzero_bias) if reference is None else reference(x)
    assert logits.shape == (1, 1000)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def _check_torch_export(model, opset, size=224):
    onnx.checker.check_model(model, full_check=True)
    assert _opset(model) == opset
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["logits"]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, size, size]
    assert not model.functions
    # self-contained: every weight inside the proto
    assert all(t.data_location == TensorProto.DEFAULT for t in model.graph.initializer)
    ops = _ops(model)
    assert "Dropout" not in ops  # exported in eval mode
    assert ops.count("Conv") == 26 and ops.count("Concat") == 8
    pools = [n for n in model.graph.node if n.op_type == "MaxPool"]
    assert len(pools) == 3
    assert all(F._attrs(n).get("ceil_mode") == 1 for n in pools)


# ---- torch exports ------------------------------------------------------------------------------
@pytest.mark.parametrize("version,opset", [("1_1", 13), ("1_0", 13), ("1_1", 20),
                                           pytest.param("1_0", 20, marks=slow)])
def test_torchscript_export(version, opset):
    model = F.torch_export(version, opset, dynamo=False)
    _check_torch_export(model, opset)
    ops = _ops(model)
    assert ops[-2:] == ["GlobalAveragePool", "Flatten"]
    # torchvision's all-zero biases get de-duplicated by constant folding: Identity -> Conv bias
    assert "Identity" in ops
    _check_matches_torch(model, version)


def test_torchscript_export_nonzero_bias_has_plain_initializers():
    model = F.torch_export("1_1", 13, dynamo=False, nonzero_bias=True)
    _check_torch_export(model, 13)
    assert "Identity" not in _ops(model)
    assert all(len(n.input) == 3 for n in model.graph.node if n.op_type == "Conv")
    _check_matches_torch(model, "1_1", nonzero_bias=True)


def test_torchscript_export_input_size():
    model = F.torch_export("1_0", 13, dynamo=False, input_size=227)
    _check_torch_export(model, 13, size=227)
    _check_matches_torch(model, "1_0", size=227)


DYNAMO_CASES = [("1_1", 18), ("1_1", 13),
                pytest.param("1_1", 20, marks=slow), pytest.param("1_0", 18, marks=slow),
                pytest.param("1_0", 20, marks=slow), pytest.param("1_0", 13, marks=slow)]


@pytest.mark.parametrize("version,opset", DYNAMO_CASES)
def test_dynamo_export(version, opset):
    model = F.torch_export(version, opset, dynamo=True)
    _check_torch_export(model, opset)
    nodes = list(model.graph.node)
    assert [n.op_type for n in nodes[-2:]] == ["ReduceMean", "Reshape"]
    mean = nodes[-2]
    if opset >= 18:
        assert len(mean.input) == 2  # axes as an input
    else:  # taken down from 18 by hand: axes back to an attribute
        assert len(mean.input) == 1 and sorted(F._attrs(mean)["axes"]) == [-2, -1]
    # the exporter's optimizer drops all-zero biases
    assert all(len(n.input) == 2 for n in nodes if n.op_type == "Conv")
    _check_matches_torch(model, version)


@slow
def test_dynamo_export_nonzero_bias_keeps_biases():
    model = F.torch_export("1_1", 18, dynamo=True, nonzero_bias=True)
    _check_torch_export(model, 18)
    assert all(len(n.input) == 3 for n in model.graph.node if n.op_type == "Conv")
    _check_matches_torch(model, "1_1", nonzero_bias=True)


def test_torch_export_returns_copies():
    a = F.torch_export("1_1", 13, dynamo=False)
    a.graph.ClearField("node")
    assert len(F.torch_export("1_1", 13, dynamo=False).graph.node) > 0


def test_export_onnx_to_path_keeps_training_mode(tmp_path):
    model = SqueezeNet("1_1").train()
    path = tmp_path / "m.onnx"
    export_onnx(model, path, opset=13)
    assert model.training
    _check_torch_export(onnx.load(str(path)), 13)


def test_bad_version():
    with pytest.raises(ValueError, match="1_2"):
        SqueezeNet("1_2")
    with pytest.raises(ValueError, match="squeezenet2"):
        builtin_model("squeezenet2")


@pytest.mark.parametrize("name", ["squeezenet1_0", "squeezenet1_1"])
def test_builtin_model(name):
    version = name[-3:]
    a, b = builtin_model(name), builtin_model(name)
    assert a is not b and a.SerializeToString() == b.SerializeToString()
    _check_torch_export(a, 13)
    assert a.SerializeToString() == F.torch_export(version, 13, dynamo=False).SerializeToString()
    _check_matches_torch(a, version)


# ---- variants ----------------------------------------------------------------------------------
def test_dynamo_with_torchscript_tail():
    model = F.torchscript_tail(F.torch_export("1_1", 18, dynamo=True))
    onnx.checker.check_model(model, full_check=True)
    assert _ops(model)[-2:] == ["GlobalAveragePool", "Flatten"]
    assert {t.name for t in model.graph.initializer} <= {i for n in model.graph.node
                                                        for i in n.input}
    _check_matches_torch(model, "1_1")


def test_with_flatten_leaves_torchscript_graph_alone():
    model = F.torch_export("1_1", 13, dynamo=False)
    assert F.with_flatten(model).SerializeToString() == model.SerializeToString()


@pytest.mark.parametrize("dynamo,opset", [(False, 13), (True, 18)])
def test_with_avgpool_as_averagepool(dynamo, opset):
    model = F.with_avgpool_as_averagepool(F.torch_export("1_1", opset, dynamo=dynamo))
    onnx.checker.check_model(model, full_check=True)
    ops = _ops(model)
    assert "GlobalAveragePool" not in ops and "ReduceMean" not in ops
    (pool,) = [n for n in model.graph.node if n.op_type == "AveragePool"]
    assert F._attrs(pool)["kernel_shape"] == [13, 13]
    _check_matches_torch(model, "1_1")


def test_with_batchnorm():
    model = F.with_batchnorm(F.torch_export("1_1", 13, dynamo=False))
    onnx.checker.check_model(model, full_check=True)
    nodes = list(model.graph.node)
    (bn,) = [n for n in nodes if n.op_type == "BatchNormalization"]
    conv = next(n for n in nodes if n.op_type == "Conv")
    assert bn.name == "inserted_bn" and bn.input[0] == conv.output[0]
    assert nodes.index(bn) == nodes.index(conv) + 1

    params = F.batchnorm_params(64)
    assert not np.allclose(params["scale"], 1) and not np.allclose(params["mean"], 0)
    reference = copy.deepcopy(F.torch_model("1_1"))
    norm = torch.nn.BatchNorm2d(64, eps=1e-5).eval()
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(params["scale"]))
        norm.bias.copy_(torch.from_numpy(params["bias"]))
        norm.running_mean.copy_(torch.from_numpy(params["mean"]))
        norm.running_var.copy_(torch.from_numpy(params["var"]))
    reference.features[0] = torch.nn.Sequential(reference.features[0], norm)

    def run(x):
        with torch.no_grad():
            return reference(torch.from_numpy(x)).numpy()

    x = _image()
    assert not np.allclose(run(x), F.torch_logits("1_1", x), atol=1e-4)
    _check_matches_torch(model, "1_1", reference=run)


def test_with_identity():
    model = F.with_identity(F.torch_export("1_1", 13, dynamo=False))
    onnx.checker.check_model(model, full_check=True)
    (ident,) = [n for n in model.graph.node if n.name == "inserted_identity"]
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    assert ident.op_type == "Identity" and ident.input[0] == relu.output[0]
    _check_matches_torch(model, "1_1")


# ---- Caffe2 / ONNX-zoo style --------------------------------------------------------------------
@pytest.mark.parametrize("opset", [7, 9])
@pytest.mark.parametrize("version", ["1_0", "1_1"])
def test_caffe2_style(version, opset):
    model = F.caffe2_style(version, opset)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    assert _opset(model) == opset and model.ir_version == F.CAFFE2_IR_VERSION[opset]
    assert model.producer_name == "onnx-caffe2"
    size = F.CAFFE2_INPUT_SIZE[version]
    inputs = {i.name: i for i in g.input}
    assert g.input[0].name == "data_0"
    assert [d.dim_value for d in g.input[0].type.tensor_type.shape.dim] == [1, 3, size, size]
    assert {t.name for t in g.initializer} == set(inputs) - {"data_0"}  # old IR
    assert all(i.type.tensor_type.elem_type == TensorProto.FLOAT16 for i in g.input)
    assert all(t.data_type == TensorProto.FLOAT16 for t in g.initializer)
    assert {"conv1_w_0", "conv1_b_0", "fire2/squeeze1x1_w_0", "fire9/expand3x3_b_0",
            "conv10_b_0"} <= set(inputs)
    (out,) = g.output
    assert out.name == "softmaxout_1"
    assert out.type.tensor_type.elem_type == TensorProto.FLOAT16
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == [1, 1000, 1, 1]

    ops = _ops(model)
    assert ops[-2:] == ["GlobalAveragePool", "Softmax"]
    assert ops.count("Conv") == 26 and ops.count("Concat") == 8 and ops.count("MaxPool") == 3
    assert all("ceil_mode" not in F._attrs(n) for n in g.node if n.op_type == "MaxPool")
    (drop,) = [n for n in g.node if n.op_type == "Dropout"]
    assert list(drop.input) == ["fire9/concat_1"] and F._attrs(drop)["ratio"] == 0.5
    assert len(drop.output) == (2 if opset == 7 else 1)
    producers = {o: n.op_type for n in g.node for o in n.output}
    assert producers["conv10_w_0"] == "Constant"
    assert producers["fire2/squeeze1x1_b_0"] == ("ConstantOfShape" if opset >= 9 else "Constant")

    # run it, also exposing the pooled scores, against the torch network it carries
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.helper.make_tensor_value_info(
        "pool10_1", TensorProto.FLOAT16, [1, 1000, 1, 1]))
    x = _image(size)
    probs, pooled = _run(probe, {"data_0": x.astype(np.float16)})
    assert probs.dtype == np.float16 and probs.shape == (1, 1000, 1, 1)
    with torch.no_grad():
        expected = F.caffe2_torch_model(version)(torch.from_numpy(x)).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(pooled.reshape(1, 1000).astype(np.float32), expected, rtol=0,
                               atol=4e-3 * scale)  # fp16 activations in onnxruntime
    np.testing.assert_allclose(probs.reshape(1, 1000).astype(np.float32),
                               torch.softmax(torch.from_numpy(expected), 1).numpy(),
                               rtol=2e-2, atol=1e-5)


# ---- graphs hwgen must reject -------------------------------------------------------------------
def _attr_of(model, name, attr):
    node = next(n for n in model.graph.node if n.name == name)
    return F._attrs(node).get(attr)


BAD_CHECKS = {
    "bad_grouped_conv": lambda m: _attr_of(m, "bad_conv", "group") == 2,
    "bad_dilated_conv": lambda m: _attr_of(m, "bad_conv", "dilations") == [2, 2],
    "bad_concat_axis": lambda m: _attr_of(m, "bad_concat", "axis") == 2,
    "bad_dynamic_spatial": lambda m: [d.dim_param for d in m.graph.input[0].type.tensor_type
                                      .shape.dim][2:] == ["H", "W"],
    "bad_rank3": lambda m: len(m.graph.input[0].type.tensor_type.shape.dim) == 3,
    "bad_unknown_op": lambda m: _ops(m)[2] == "Erf" and m.graph.node[2].name == "bad_op",
    "empty_graph": lambda m: len(m.graph.node) == 0,
}


@pytest.mark.parametrize("name", sorted(F.BAD_MODELS))
def test_bad_models_are_valid_onnx(name):
    model = F.BAD_MODELS[name]()
    onnx.checker.check_model(model, full_check=True)
    assert BAD_CHECKS[name](model)
    if name != "empty_graph":
        assert _ops(model)[:2] == ["Conv", "Relu"]  # otherwise a plausible tiny CNN
    dims = [d.dim_value or 5 for d in model.graph.input[0].type.tensor_type.shape.dim]
    (y,) = _run(model, {"input": np.ones(dims, np.float32)})
    assert np.isfinite(y).all()


def test_write(tmp_path):
    model = F.bad_unknown_op()
    path = F.write(model, tmp_path / "bad.onnx")
    assert onnx.load(str(path)).SerializeToString() == model.SerializeToString()


def test_factory_is_deterministic():
    a, b = F.caffe2_style("1_1", 9), F.caffe2_style("1_1", 9)
    assert a.SerializeToString() == b.SerializeToString()
    assert numpy_helper.to_array(F.bad_grouped_conv().graph.initializer[0]).tolist() == \
        numpy_helper.to_array(F.bad_grouped_conv().graph.initializer[0]).tolist()
