"""ONNX models for the tests, all built in-process (no downloads).

* ``torch_export``: our SqueezeNet through either torch exporter, any opset;
* variants of it (``with_flatten``, ``with_global_avgpool``, ``with_avgpool_as_averagepool``,
  ``with_batchnorm``, ``with_identity``);
* ``caffe2_style``: a graph shaped like the Caffe2 / ONNX-zoo SqueezeNet exports (old IR, fp16);
* ``bad_*`` / ``empty_graph``: small valid ONNX graphs that hwgen must reject.

Every function returns a fresh ``onnx.ModelProto`` that the caller may modify.

What the exporters emit (torch 2.13) for SqueezeNet, besides Conv/Relu/Concat/MaxPool(ceil_mode=1):
TorchScript: GlobalAveragePool -> Flatten(axis=1); no Dropout (eval); with all-zero biases (the
torchvision init) constant folding de-duplicates them into one initializer per shape plus Identity
nodes feeding the Conv bias inputs. dynamo: ReduceMean(axes [-1, -2], keepdims=1) -> Reshape([1, C],
allowzero=1); all-zero biases are dropped (two-input Conv).
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from hwgen.frontend.torch_squeezenet import Fire, SqueezeNet, export_onnx


def _fresh(data: bytes) -> onnx.ModelProto:
    return onnx.load_from_string(data)


def _clone(model: onnx.ModelProto) -> onnx.ModelProto:
    return onnx.load_from_string(model.SerializeToString())


def write(model: onnx.ModelProto, path: str | Path) -> Path:
    onnx.save_model(model, str(path))
    return Path(path)


# ---- torch exports ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def torch_model(version: str, nonzero_bias: bool = False) -> SqueezeNet:
    """The seeded (torch.manual_seed(0)) SqueezeNet in eval mode. Shared: do not modify it.

    ``nonzero_bias`` replaces torchvision's zero biases by small seeded random ones, so exports
    look like those of trained weights (no bias de-duplication, no dropped biases).
    """
    torch.manual_seed(0)
    model = SqueezeNet(version).eval()
    if nonzero_bias:
        gen = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Conv2d):
                    m.bias.copy_((torch.rand(m.bias.shape, generator=gen) - 0.5) * 0.2)
    return model


@functools.lru_cache(maxsize=None)
def _torch_export_bytes(version, opset, dynamo, input_size, nonzero_bias) -> bytes:
    buf = io.BytesIO()
    export_onnx(torch_model(version, nonzero_bias), buf, opset=opset, dynamo=dynamo,
                input_size=input_size)
    return buf.getvalue()


def torch_export(version: str, opset: int, dynamo: bool, input_size: int = 224, *,
                 nonzero_bias: bool = False) -> onnx.ModelProto:
    """``torch_model(version, nonzero_bias)`` exported; input "input", output "logits"."""
    return _fresh(_torch_export_bytes(version, opset, dynamo, input_size, nonzero_bias))


def torch_logits(version: str, x: np.ndarray, nonzero_bias: bool = False) -> np.ndarray:
    with torch.no_grad():
        return torch_model(version, nonzero_bias)(torch.from_numpy(x)).numpy()


# ---- rewrites -----------------------------------------------------------------------------------
def _consts(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    g = inferred.graph
    return {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(g.input) + list(g.value_info) + list(g.output)}


def _replace_node(model: onnx.ModelProto, old: onnx.NodeProto, new: onnx.NodeProto) -> None:
    nodes = model.graph.node
    index = list(nodes).index(old)
    nodes.remove(old)
    nodes.insert(index, new)
    _drop_unused_initializers(model)


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    g = model.graph
    used = {i for n in g.node for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)


def _spatial_mean(node: onnx.NodeProto, consts: dict, rank: int = 4) -> bool:
    """Is ``node`` a ReduceMean over H and W keeping dims (what dynamo emits for the avgpool)?"""
    if node.op_type != "ReduceMean":
        return False
    attrs = _attrs(node)
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        axes = consts[node.input[1]].tolist()
    return attrs.get("keepdims", 1) == 1 and sorted(a % rank for a in (axes or [])) == [2, 3]


def with_flatten(model: onnx.ModelProto) -> onnx.ModelProto:
    """The final Reshape to [N, C] (dynamo's ``torch.flatten``) as Flatten(axis=1)."""
    model = _clone(model)
    consts = _consts(model)
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.output[0] == model.graph.output[0].name:
            assert len(consts[node.input[1]]) == 2, "expected a Reshape to [N, C]"
            _replace_node(model, node, helper.make_node(
                "Flatten", [node.input[0]], list(node.output), name=node.name or "flatten", axis=1))
            break
    return model


def with_global_avgpool(model: onnx.ModelProto) -> onnx.ModelProto:
    """dynamo's ReduceMean over H, W as the GlobalAveragePool the TorchScript exporter emits."""
    model = _clone(model)
    consts = _consts(model)
    for node in list(model.graph.node):
        if _spatial_mean(node, consts):
            _replace_node(model, node, helper.make_node(
                "GlobalAveragePool", node.input[:1], list(node.output), name=node.name))
    return model


def torchscript_tail(model: onnx.ModelProto) -> onnx.ModelProto:
    """A dynamo export ending like a TorchScript one: GlobalAveragePool -> Flatten."""
    return with_flatten(with_global_avgpool(model))


def with_avgpool_as_averagepool(model: onnx.ModelProto) -> onnx.ModelProto:
    """GlobalAveragePool (or dynamo's spatial ReduceMean) as AveragePool over the whole map."""
    model = _clone(model)
    consts, shapes = _consts(model), _shapes(model)
    for node in list(model.graph.node):
        if node.op_type == "GlobalAveragePool" or _spatial_mean(node, consts):
            h, w = shapes[node.input[0]][2:]
            _replace_node(model, node, helper.make_node(
                "AveragePool", node.input[:1], list(node.output), name=node.name or "avgpool",
                kernel_shape=[h, w], strides=[1, 1], pads=[0, 0, 0, 0]))
    return model


def _first(model: onnx.ModelProto, op_type: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op_type)


def _insert_after(model: onnx.ModelProto, node: onnx.NodeProto, op_type: str, name: str,
                  extra_inputs=(), **attrs) -> None:
    """``node`` -> new node -> old consumers: the new node takes over ``node``'s output name."""
    out = node.output[0]
    node.output[0] = f"{out}_before_{name}"
    new = helper.make_node(op_type, [node.output[0], *extra_inputs], [out], name=name, **attrs)
    model.graph.node.insert(list(model.graph.node).index(node) + 1, new)


def batchnorm_params(channels: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Non-trivial BatchNormalization parameters (what ``with_batchnorm`` inserts)."""
    rng = np.random.default_rng(seed)
    return {"scale": rng.uniform(0.5, 1.5, channels), "bias": rng.uniform(-0.2, 0.2, channels),
            "mean": rng.uniform(-0.1, 0.1, channels), "var": rng.uniform(0.5, 2.0, channels)}


def with_batchnorm(model: onnx.ModelProto, seed: int = 0, epsilon: float = 1e-5) -> onnx.ModelProto:
    """A BatchNormalization named "inserted_bn" right after the first Conv."""
    model = _clone(model)
    conv = _first(model, "Conv")
    weight = _consts(model)[conv.input[1]]
    names = []
    for key, value in batchnorm_params(weight.shape[0], seed).items():
        names.append(f"inserted_bn.{key}")
        model.graph.initializer.append(
            numpy_helper.from_array(value.astype(weight.dtype), names[-1]))
    _insert_after(model, conv, "BatchNormalization", "inserted_bn", names, epsilon=epsilon)
    return model


def with_identity(model: onnx.ModelProto) -> onnx.ModelProto:
    """An Identity named "inserted_identity" on the activations after the first Relu."""
    model = _clone(model)
    _insert_after(model, _first(model, "Relu"), "Identity", "inserted_identity")
    return model


# ---- Caffe2 / ONNX-zoo style -------------------------------------------------------------------
CAFFE2_INPUT_SIZE = {"1_0": 227, "1_1": 224}  # 1.0 at 227: floor-mode pools give 13x13 at fire9
CAFFE2_IR_VERSION = {7: 3, 9: 4}  # the IR that the onnx releases introducing these opsets wrote


@functools.lru_cache(maxsize=None)
def caffe2_torch_model(version: str) -> SqueezeNet:
    """The torch network ``caffe2_style`` carries: nonzero biases except fire2/squeeze1x1's (that
    one comes from a ConstantOfShape), weights rounded to fp16. Shared: do not modify it."""
    model = SqueezeNet(version).eval()
    model.load_state_dict(torch_model(version, nonzero_bias=True).state_dict())
    with torch.no_grad():
        model.features[3].squeeze.bias.zero_()
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


def _caffe2_layers(model: SqueezeNet):
    """(caffe2 name, module) in order: conv1, pool1, fire2, ..., fire9 (ReLUs are implied)."""
    fire = 1
    for m in model.features:
        if isinstance(m, nn.Conv2d):
            yield "conv1", m
        elif isinstance(m, nn.MaxPool2d):
            yield f"pool{fire}", m  # Caffe names a pool after the layer before it
        elif isinstance(m, Fire):
            fire += 1
            yield f"fire{fire}", m


class _Caffe2Graph:
    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray, how: str = "initializer") -> None:
        value = value.astype(np.float16)
        if how == "initializer":
            self.inits.append(numpy_helper.from_array(value, name))
        elif how == "Constant":
            self.nodes.append(helper.make_node("Constant", [], [name],
                                               value=numpy_helper.from_array(value, name)))
        elif self.opset >= 9:  # ConstantOfShape (opset 9+): a zero bias from its length
            assert not value.any()
            self.nodes.append(helper.make_node("Constant", [], [f"{name}_shape"], value=(
                numpy_helper.from_array(np.array(value.shape, np.int64), f"{name}_shape"))))
            zero = numpy_helper.from_array(np.zeros(1, np.float16))
            self.nodes.append(helper.make_node("ConstantOfShape", [f"{name}_shape"], [name],
                                               value=zero))
        else:  # opset 7 has no ConstantOfShape: the zero bias is a Constant instead
            self.const(name, value, "Constant")

    def conv_relu(self, x: str, name: str, conv: nn.Conv2d, weight="initializer",
                  bias="initializer") -> str:
        self.const(f"{name}_w_0", conv.weight.detach().numpy(), weight)
        self.const(f"{name}_b_0", conv.bias.detach().numpy(), bias)
        p = conv.padding[0]
        self.nodes.append(helper.make_node(
            "Conv", [x, f"{name}_w_0", f"{name}_b_0"], [f"{name}_1"],
            strides=list(conv.stride), pads=[p] * 4, kernel_shape=list(conv.kernel_size)))
        self.nodes.append(helper.make_node("Relu", [f"{name}_1"], [f"{name}_2"]))
        return f"{name}_2"


def caffe2_style(version: str, opset: int = 7) -> onnx.ModelProto:
    """SqueezeNet shaped like the Caffe2 exports in the ONNX model zoo, carrying the weights of
    ``caffe2_torch_model(version)``.

    fp16 throughout (input "data_0", weights, output "softmaxout_1" [1,1000,1,1]); old IR with the
    initializers also listed as graph inputs; unnamed nodes; producer "onnx-caffe2"; MaxPool
    without ceil_mode (so 1.0 takes 227x227); Dropout after fire9; GlobalAveragePool -> Softmax.
    conv10's weight comes from a Constant node, fire2/squeeze1x1's zero bias from ConstantOfShape
    (opset 9; a Constant at opset 7, which has no ConstantOfShape).
    """
    if opset not in CAFFE2_IR_VERSION:
        raise ValueError(f"caffe2_style supports opsets {sorted(CAFFE2_IR_VERSION)}")
    model = caffe2_torch_model(version)
    g = _Caffe2Graph(opset)
    x = "data_0"
    for name, m in _caffe2_layers(model):
        if name == "conv1":
            x = g.conv_relu(x, name, m)
        elif name.startswith("pool"):
            g.nodes.append(helper.make_node("MaxPool", [x], [f"{name}_1"], kernel_shape=[3, 3],
                                            strides=[2, 2], pads=[0, 0, 0, 0]))
            x = f"{name}_1"
        else:
            s = g.conv_relu(x, f"{name}/squeeze1x1", m.squeeze,
                            bias="ConstantOfShape" if name == "fire2" else "initializer")
            e1 = g.conv_relu(s, f"{name}/expand1x1", m.expand1x1)
            e3 = g.conv_relu(s, f"{name}/expand3x3", m.expand3x3)
            g.nodes.append(helper.make_node("Concat", [e1, e3], [f"{name}/concat_1"], axis=1))
            x = f"{name}/concat_1"
    # Dropout-7 is the definition at both opsets; the opset-7 export also names the mask output
    mask = ["_fire9/concat_mask_1"] if opset == 7 else []
    g.nodes.append(helper.make_node("Dropout", [x], ["fire9/concat_2", *mask], ratio=0.5))
    x = g.conv_relu("fire9/concat_2", "conv10", model.classifier[1], weight="Constant")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool10_1"]))
    g.nodes.append(helper.make_node("Softmax", ["pool10_1"], ["softmaxout_1"]))

    size = CAFFE2_INPUT_SIZE[version]
    inputs = [helper.make_tensor_value_info("data_0", TensorProto.FLOAT16, [1, 3, size, size])]
    inputs += [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in g.inits]
    output = helper.make_tensor_value_info("softmaxout_1", TensorProto.FLOAT16, [1, 1000, 1, 1])
    graph = helper.make_graph(g.nodes, f"squeezenet{version.replace('_', '.')}", inputs, [output],
                              g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=CAFFE2_IR_VERSION[opset], producer_name="onnx-caffe2")


# ---- graphs hwgen must reject ------------------------------------------------------------------
def _weight(name: str, *shape: int, seed: int = 0) -> onnx.TensorProto:
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), name)


def _tiny_cnn(body, inits, input_shape=(1, 3, 8, 8), name="tiny") -> onnx.ModelProto:
    """input -> Conv "conv1" (3->4, 3x3) -> Relu -> ``body`` -> GlobalAveragePool -> Flatten.

    ``body`` nodes read "relu1" and write "body_out"; their weights are ``inits``."""
    rank = len(input_shape)
    k = [3] * (rank - 2)
    nodes = [helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"],
                              name="conv1", kernel_shape=k, pads=[1] * 2 * len(k)),
             helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
             *body,
             helper.make_node("GlobalAveragePool", ["body_out"], ["pool"], name="pool"),
             helper.make_node("Flatten", ["pool"], ["logits"], name="flatten", axis=1)]
    inits = [_weight("conv1.weight", 4, 3, *k),
             _weight("conv1.bias", 4, seed=4), *inits]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def tiny_classifier() -> onnx.ModelProto:
    """conv1 (3->4) + ReLU, a 1x1 conv "c2" (4->4) + ReLU, global average pool: a valid
    4-class model that loads, calibrates and generates in about a second."""
    body = [helper.make_node("Conv", ["relu1", "c2.weight"], ["c2"], name="c2", kernel_shape=[1, 1]),
            helper.make_node("Relu", ["c2"], ["body_out"], name="relu2")]
    return _tiny_cnn(body, [_weight("c2.weight", 4, 4, 1, 1, seed=1)], name="tiny_ok")


def _bad_conv(**attrs) -> tuple[list, list]:
    group = attrs.get("group", 1)
    body = [helper.make_node("Conv", ["relu1", "bad_conv.weight"], ["bad_conv"], name="bad_conv",
                             kernel_shape=[3, 3], **attrs),
            helper.make_node("Relu", ["bad_conv"], ["body_out"], name="relu2")]
    return body, [_weight("bad_conv.weight", 4, 4 // group, 3, 3, seed=1)]


def bad_grouped_conv() -> onnx.ModelProto:
    return _tiny_cnn(*_bad_conv(group=2, pads=[1, 1, 1, 1]), name="bad_grouped_conv")


def bad_dilated_conv() -> onnx.ModelProto:
    return _tiny_cnn(*_bad_conv(dilations=[2, 2], pads=[2, 2, 2, 2]), name="bad_dilated_conv")


def bad_concat_axis() -> onnx.ModelProto:
    """A Fire module whose expand outputs are concatenated along H (axis 2), not channels."""
    body = [helper.make_node("Conv", ["relu1", "squeeze.weight"], ["squeeze"], name="squeeze",
                             kernel_shape=[1, 1]),
            helper.make_node("Relu", ["squeeze"], ["squeeze_relu"], name="squeeze_relu"),
            helper.make_node("Conv", ["squeeze_relu", "expand1x1.weight"], ["e1"], name="expand1x1",
                             kernel_shape=[1, 1]),
            helper.make_node("Relu", ["e1"], ["e1_relu"], name="expand1x1_relu"),
            helper.make_node("Conv", ["squeeze_relu", "expand3x3.weight"], ["e3"], name="expand3x3",
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["e3"], ["e3_relu"], name="expand3x3_relu"),
            helper.make_node("Concat", ["e1_relu", "e3_relu"], ["body_out"], name="bad_concat",
                             axis=2)]
    inits = [_weight("squeeze.weight", 2, 4, 1, 1, seed=1),
             _weight("expand1x1.weight", 4, 2, 1, 1, seed=2),
             _weight("expand3x3.weight", 4, 2, 3, 3, seed=3)]
    return _tiny_cnn(body, inits, name="bad_concat_axis")


def _relu_body() -> tuple[list, list]:
    return [helper.make_node("Relu", ["relu1"], ["body_out"], name="relu2")], []


def bad_dynamic_spatial() -> onnx.ModelProto:
    """Input [1, 3, "H", "W"]."""
    return _tiny_cnn(*_relu_body(), input_shape=(1, 3, "H", "W"), name="bad_dynamic_spatial")


def bad_rank3() -> onnx.ModelProto:
    """A Conv1d network: input [1, 3, 32]."""
    return _tiny_cnn(*_relu_body(), input_shape=(1, 3, 32), name="bad_rank3")


def bad_unknown_op() -> onnx.ModelProto:
    """An Erf node named "bad_op" between the Relu and the pool."""
    body = [helper.make_node("Erf", ["relu1"], ["body_out"], name="bad_op")]
    return _tiny_cnn(body, [], name="bad_unknown_op")


def empty_graph() -> onnx.ModelProto:
    """No nodes: the graph output is the input itself (valid ONNX, runs in onnxruntime)."""
    vi = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([], "empty_graph", [vi], [vi])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)


BAD_MODELS = {f.__name__: f for f in (bad_grouped_conv, bad_dilated_conv, bad_concat_axis,
                                      bad_dynamic_spatial, bad_rank3, bad_unknown_op, empty_graph)}


# ---- malformed graphs: loadable ONNX that hwgen must refuse with one line ------------------------
# (kept apart from BAD_MODELS, whose every entry tests/frontend/test_onnx_factory.py checks to be
# a valid ONNX graph that onnxruntime runs to finite outputs: these need not be)
def _loose_cnn(body, inits, input_shape=(1, 3, 8, 8), name="malformed",
               tail=("pool", "flatten")) -> onnx.ModelProto:
    """``_tiny_cnn`` without its strict shape inference, the output's shape left symbolic, so
    that graphs ONNX would reject later (zero-size tensors, non-finite weights, ...) still build.
    ``tail`` picks the GlobalAveragePool / Flatten ending; without it, "body_out" is the output."""
    nodes = [helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"],
                              name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"), *body]
    out, rank = "body_out", 4
    if "pool" in tail:
        nodes.append(helper.make_node("GlobalAveragePool", [out], ["pool"], name="pool"))
        out = "pool"
    if "flatten" in tail:
        nodes.append(helper.make_node("Flatten", [out], ["logits"], name="flatten", axis=1))
        out, rank = "logits", 2
    inits = [_weight("conv1.weight", 4, 3, 3, 3), _weight("conv1.bias", 4, seed=4), *inits]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1] + [f"d{i}" for i in
                                                                     range(1, rank)])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)


def _conv_body(weight_shape, bias=None, **attrs) -> tuple[list, list]:
    """A Conv "bad_conv" on "relu1" (its weight "bad_conv.weight", optionally "bad_conv.bias")."""
    inputs = ["relu1", "bad_conv.weight"] + (["bad_conv.bias"] if bias is not None else [])
    body = [helper.make_node("Conv", inputs, ["bad_conv"], name="bad_conv", **attrs),
            helper.make_node("Relu", ["bad_conv"], ["body_out"], name="relu2")]
    inits = [_weight("bad_conv.weight", *weight_shape, seed=1)]
    if bias is not None:
        inits.append(numpy_helper.from_array(np.asarray(bias), "bad_conv.bias"))
    return body, inits


def malformed_nan_weight() -> onnx.ModelProto:
    """bad_conv's weight holds one NaN and one +Inf."""
    body, inits = _conv_body((4, 4, 3, 3), kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    w = numpy_helper.to_array(inits[0]).copy()
    w[0, 0, 0, 0], w[1, 2, 1, 1] = np.nan, np.inf
    inits[0] = numpy_helper.from_array(w, "bad_conv.weight")
    return _loose_cnn(body, inits, name="malformed_nan_weight")


def malformed_fp16_inf_bias() -> onnx.ModelProto:
    """bad_conv's bias is fp16 and one of its values is -Inf (an fp16 overflow)."""
    bias = np.array([0.1, -np.inf, 0.2, 0.3], np.float16)
    return _loose_cnn(*_conv_body((4, 4, 3, 3), bias, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                      name="malformed_fp16_inf_bias")


def malformed_zero_out_channels() -> onnx.ModelProto:
    """bad_conv has weight shape [0, 4, 3, 3]: no output channels."""
    return _loose_cnn(*_conv_body((0, 4, 3, 3), kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                      name="malformed_zero_out_channels")


def malformed_zero_input_dim() -> onnx.ModelProto:
    """Input [1, 3, 0, 8]: a zero-size (not a dynamic) dimension."""
    return _loose_cnn(*_relu_body(), input_shape=(1, 3, 0, 8), name="malformed_zero_input_dim")


def malformed_kernel_too_big() -> onnx.ModelProto:
    """bad_conv has an 11x11 kernel, unpadded, on an 8x8 input."""
    return _loose_cnn(*_conv_body((4, 4, 11, 11), kernel_shape=[11, 11]),
                      name="malformed_kernel_too_big")


def malformed_conv_in_channels() -> onnx.ModelProto:
    """bad_conv's weight expects 5 input channels; its input has 4."""
    return _loose_cnn(*_conv_body((4, 5, 3, 3), kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                      name="malformed_conv_in_channels")


def malformed_bias_length() -> onnx.ModelProto:
    """bad_conv has 4 output channels but 3 biases."""
    bias = np.array([0.1, 0.2, 0.3], np.float32)
    return _loose_cnn(*_conv_body((4, 4, 3, 3), bias, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                      name="malformed_bias_length")


def malformed_pool_kernel_too_big() -> onnx.ModelProto:
    """MaxPool "bad_pool" with a 9x9 kernel on an 8x8 input."""
    body = [helper.make_node("MaxPool", ["relu1"], ["body_out"], name="bad_pool",
                             kernel_shape=[9, 9])]
    return _loose_cnn(body, [], name="malformed_pool_kernel_too_big")


def malformed_pool_pads() -> onnx.ModelProto:
    """MaxPool "bad_pool": 2x2 kernel, pads 3, so whole windows lie in the padding."""
    body = [helper.make_node("MaxPool", ["relu1"], ["body_out"], name="bad_pool",
                             kernel_shape=[2, 2], pads=[3, 3, 3, 3])]
    return _loose_cnn(body, [], name="malformed_pool_pads")


def _conv_bn_body(scale, bias, mean, var) -> tuple[list, list]:
    """Conv "conv2" (4->4, 1x1) then BatchNormalization "bad_bn"."""
    names = ["bad_bn.scale", "bad_bn.bias", "bad_bn.mean", "bad_bn.var"]
    body = [helper.make_node("Conv", ["relu1", "conv2.weight"], ["conv2"], name="conv2",
                             kernel_shape=[1, 1]),
            helper.make_node("BatchNormalization", ["conv2", *names], ["body_out"], name="bad_bn")]
    inits = [_weight("conv2.weight", 4, 4, 1, 1, seed=2)]
    inits += [numpy_helper.from_array(np.asarray(v, np.float32), n)
              for n, v in zip(names, (scale, bias, mean, var))]
    return body, inits


def malformed_batchnorm_variance() -> onnx.ModelProto:
    """bad_bn's variance is -1 at channel 2 (its square root is NaN)."""
    return _loose_cnn(*_conv_bn_body(np.ones(4), np.zeros(4), np.zeros(4), [1, 1, -1, 1]),
                      name="malformed_batchnorm_variance")


def malformed_batchnorm_shape() -> onnx.ModelProto:
    """bad_bn has 2 values per parameter for a 4-channel input."""
    return _loose_cnn(*_conv_bn_body(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)),
                      name="malformed_batchnorm_shape")


def malformed_constant_dropout() -> onnx.ModelProto:
    """A Dropout "bad_dropout" of a constant (Dropout is never constant-folded)."""
    body = [helper.make_node("Dropout", ["bad_const"], ["dropped"], name="bad_dropout"),
            helper.make_node("Concat", ["relu1", "dropped"], ["body_out"], name="concat", axis=1)]
    const = numpy_helper.from_array(np.ones((1, 4, 8, 8), np.float32), "bad_const")
    return _loose_cnn(body, [const], name="malformed_constant_dropout")


def malformed_conv_after_pool() -> onnx.ModelProto:
    """A 1x1 Conv "bad_conv" as a classifier after the global average pool (on a vector)."""
    nodes = [helper.make_node("Conv", ["input", "conv1.weight"], ["conv1"], name="conv1",
                              kernel_shape=[3, 3]),
             helper.make_node("GlobalAveragePool", ["conv1"], ["pool"], name="pool"),
             helper.make_node("Conv", ["pool", "bad_conv.weight"], ["bad_conv"], name="bad_conv",
                              kernel_shape=[1, 1]),
             helper.make_node("Flatten", ["bad_conv"], ["logits"], name="flatten", axis=1)]
    graph = helper.make_graph(
        nodes, "malformed_conv_after_pool",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        [_weight("conv1.weight", 4, 3, 3, 3), _weight("bad_conv.weight", 10, 4, 1, 1, seed=1)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)


MALFORMED_MODELS = {f.__name__: f for f in (
    malformed_nan_weight, malformed_fp16_inf_bias, malformed_zero_out_channels,
    malformed_zero_input_dim, malformed_kernel_too_big, malformed_conv_in_channels,
    malformed_bias_length, malformed_pool_kernel_too_big, malformed_pool_pads,
    malformed_batchnorm_variance, malformed_batchnorm_shape, malformed_constant_dropout,
    malformed_conv_after_pool)}


# ---- valid models that are not classifiers (``hwgen eval`` refuses them) -------------------------
def not_classifier_feature_map() -> onnx.ModelProto:
    """conv1 -> Relu: the output is a 4 x 8 x 8 feature map, not class scores."""
    return _loose_cnn(*_relu_body(), name="not_classifier_feature_map", tail=())


def not_classifier_one_score() -> onnx.ModelProto:
    """A single output value: conv1's channels averaged, then one 1x1 Conv to 1 channel."""
    body = [helper.make_node("Conv", ["relu1", "score.weight"], ["body_out"], name="score",
                             kernel_shape=[1, 1])]
    return _loose_cnn(body, [_weight("score.weight", 1, 4, 1, 1, seed=5)],
                      name="not_classifier_one_score")


NOT_CLASSIFIERS = {f.__name__: f for f in (not_classifier_feature_map, not_classifier_one_score)}
