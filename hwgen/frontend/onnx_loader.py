"""ONNX -> hwgen IR.

Two stages: ``normalise_onnx`` makes any supported export look the same at the ONNX level (fp32,
constants folded into initializers, initializers not listed as inputs, batch fixed to 1, shapes
inferred), so onnxruntime can run it as the float reference; ``to_ir`` then reads each node through
the op registry. Graph-level rewrites (Dropout removal, BN folding, ...) are IR passes.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from ..errors import HwgenError
from ..ir import Graph, Node, Tensor
from ..ops import ONNX_OPS
from .onnx_context import OnnxNode

#: the built-in models (torch_squeezenet.BUILTIN; named here so that reading a file needs no torch)
BUILTIN_MODELS = ("squeezenet1_0", "squeezenet1_1", "squeezenet1_0_simple_bypass",
                  "squeezenet1_0_complex_bypass", "squeezenet1_1_simple_bypass",
                  "squeezenet1_1_complex_bypass")


def read_model(source: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """A model from a path, a built-in name or a ModelProto; bad files fail with one clear line."""
    if isinstance(source, onnx.ModelProto):
        return source
    if str(source) in BUILTIN_MODELS:
        from .torch_squeezenet import builtin_model  # noqa: PLC0415  (imports torch: slow)

        return builtin_model(str(source))
    path = Path(source)
    if not path.is_file():
        raise HwgenError(f"{path}: no such model file; give an .onnx file or a built-in model "
                         f"({', '.join(BUILTIN_MODELS)})")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several unrelated types
        raise HwgenError(f"{path}: not a readable ONNX model ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'corrupt or truncated'})") from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.input):
        raise HwgenError(f"{path}: not an ONNX model (no graph)")
    return model


def opset_of(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 1


def origin_of(model: onnx.ModelProto) -> str:
    """'caffe2' for Caffe2/ONNX-zoo exports (their preprocessing differs), else 'torch'."""
    return "caffe2" if "caffe2" in model.producer_name.lower() else "torch"


# ---- ONNX-level normalisation --------------------------------------------------------------------
def normalise_onnx(model: onnx.ModelProto, where: str = "model") -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(model.SerializeToString())  # never touch the caller's copy
    g = model.graph
    if not g.node:
        raise HwgenError(f"{where}: the graph has no nodes; nothing to build")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise HwgenError(f"{where}: invalid ONNX ({str(exc).splitlines()[0]})") from None

    inits = {t.name for t in g.initializer}
    data_inputs = [i for i in g.input if i.name not in inits]
    if len(data_inputs) != 1:
        raise HwgenError(f"{where}: {len(data_inputs)} graph inputs "
                         f"({[i.name for i in data_inputs]}); supported: exactly one image input")
    del g.input[:]
    g.input.extend(data_inputs)
    model.ir_version = max(model.ir_version, 4)  # IR 4 lets initializers stay out of the inputs
    _fix_input_shape(data_inputs[0], where)
    if len(g.output) != 1:
        raise HwgenError(f"{where}: {len(g.output)} graph outputs; supported: exactly one")

    _to_float32(model)
    _fold_constants(model)
    del g.value_info[:]
    for o in g.output:  # let shape inference redo the output shape with batch 1
        o.type.tensor_type.ClearField("shape")
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:
        raise HwgenError(f"{where}: shape inference failed ({str(exc).splitlines()[0]})") from None
    return model


def _fix_input_shape(inp: onnx.ValueInfoProto, where: str) -> None:
    dims = inp.type.tensor_type.shape.dim
    if len(dims) != 4:
        raise HwgenError(f"{where}: input {inp.name!r} has rank {len(dims)}; supported: "
                         "rank 4 (N x C x H x W)")
    if dims[0].HasField("dim_param") or dims[0].dim_value in (0, 1):
        dims[0].Clear()
        dims[0].dim_value = 1
    else:
        raise HwgenError(f"{where}: input {inp.name!r} has batch {dims[0].dim_value}; "
                         "supported: batch 1 (or a symbolic batch)")
    for i, d in enumerate(dims[1:], start=1):
        if not d.HasField("dim_value"):
            raise HwgenError(f"{where}: input {inp.name!r} has a dynamic dimension {i} "
                             f"({d.dim_param or '?'}); supported: fixed C, H and W")
        if d.dim_value <= 0:  # a zero-size (or negative) dimension, not a dynamic one
            raise HwgenError(f"{where}: input {inp.name!r} dimension {i} is {d.dim_value}; "
                             "supported: positive C, H and W")


def _to_float32(model: onnx.ModelProto) -> None:
    """fp16 weights, inputs and outputs become fp32 (exact); Casts to fp16 become casts to fp32."""
    g = model.graph
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    for n in g.node:
        for a in n.attribute:
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT16:
                a.i = TensorProto.FLOAT
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float32)))


def _fold_constants(model: onnx.ModelProto) -> None:
    """Nodes whose inputs are all constant (Constant, ConstantOfShape, Reshape of weights, ...)
    are evaluated once with ONNX's reference runtime and become initializers."""
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415

    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    keep = []
    for n in g.node:
        if all((not i) or i in consts for i in n.input) and n.op_type not in ("Dropout",):
            single = onnx.helper.make_model(
                onnx.helper.make_graph([n], "fold", [], [onnx.helper.make_tensor_value_info(
                    o, TensorProto.UNDEFINED, None) for o in n.output],
                    [numpy_helper.from_array(consts[i], i) for i in n.input if i]),
                opset_imports=model.opset_import)
            try:
                values = ReferenceEvaluator(single).run(None, {})
            except Exception as exc:
                raise HwgenError(f"node {n.name or n.output[0]!r} ({n.op_type}): cannot fold "
                                 f"constant ({str(exc).splitlines()[0]})") from None
            for o, v in zip(n.output, values):
                consts[o] = np.asarray(v)
                g.initializer.append(numpy_helper.from_array(np.asarray(v), o))
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in g.node for i in n.input}
    live = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(live)


# ---- ONNX -> IR ----------------------------------------------------------------------------------
def _shapes(model: onnx.ModelProto) -> dict[str, tuple]:
    out = {}
    for v in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = v.type.tensor_type.shape.dim
        if v.type.tensor_type.HasField("shape"):
            out[v.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return out


def _node_name(n: onnx.NodeProto, index: int, consts: dict) -> str:
    """A readable layer name: a Conv is named after its weight (Caffe2 'fire2/squeeze1x1_w_0',
    torch 'features.3.squeeze.weight'); other nodes keep their own name or output name."""
    if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in consts:
        return re.sub(r"(_w_0|_w|\.weight)$", "", n.input[1])
    if n.name:
        return n.name.strip("/").replace("/", ".")
    return re.sub(r"_\d+$", "", n.output[0]) or f"{n.op_type}_{index}"  # Caffe2: 'pool1_1'



def _check_constants(n: onnx.NodeProto, oname: str, consts: dict[str, np.ndarray]) -> None:
    """The float constants a node reads (weights, biases, BatchNorm parameters, after fp16 ->
    fp32 conversion and constant folding) are finite and not empty."""
    for name in dict.fromkeys(i for i in n.input if i in consts):
        v = consts[name]
        if v.dtype.kind != "f":
            continue
        if v.size == 0:
            raise HwgenError(f"node {oname!r} ({n.op_type}): initializer {name!r} has shape "
                             f"{list(v.shape)}, a zero-size tensor; supported: every dimension "
                             ">= 1")
        bad = v.size - int(np.isfinite(v).sum())
        if bad:
            nan = int(np.isnan(v).sum())
            raise HwgenError(f"node {oname!r} ({n.op_type}): initializer {name!r} has {bad} "
                             f"non-finite value(s) of {v.size} ({nan} NaN, {bad - nan} Inf); "
                             "supported: finite values")


def to_ir(model: onnx.ModelProto, name: str = "model") -> Graph:
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    shapes = _shapes(model)
    opset = opset_of(model)
    inp = g.input[0]
    graph = Graph(name=name, input=inp.name, output=g.output[0].name, onnx_model=model,
                  origin=origin_of(model))
    graph.tensors[inp.name] = Tensor(inp.name, tuple(shapes[inp.name][1:]), onnx_name=inp.name)
    used_names: set[str] = set()
    for index, n in enumerate(g.node):
        oname = _node_name(n, index, consts)
        cls = ONNX_OPS.get(n.op_type)
        if cls is None:
            raise HwgenError(f"node {oname!r} ({n.op_type}): op not supported; supported: "
                             + ", ".join(sorted(ONNX_OPS)))
        _check_constants(n, oname, consts)
        view = OnnxNode(n, oname, consts, shapes, opset)
        op = cls.from_onnx(view)
        data_in = [i for i in n.input if i and i not in consts]
        missing = [i for i in data_in if i not in graph.tensors]
        if missing:
            raise HwgenError(f"node {oname!r} ({n.op_type}): input {missing[0]!r} is not produced "
                             "by a supported node")
        in_shapes = [graph.tensors[i].shape for i in data_in]
        if not in_shapes:
            raise HwgenError(f"node {oname!r} ({n.op_type}): no non-constant input; supported: "
                             "nodes that read the image or another layer's output")
        for i, s in zip(data_in, in_shapes):
            if op.input_rank is not None and len(s) != op.input_rank:
                vector = " (a vector, after pooling or flattening)" if len(s) == 1 else ""
                raise HwgenError(f"node {oname!r} ({n.op_type}): input {i!r} has shape {list(s)}"
                                 f"{vector}; supported: a C x H x W input")
        shape = tuple(op.output_shape(in_shapes))
        if not shape or any(d <= 0 for d in shape):
            what = f"{op.describe()} on input " if op.describe() else "input "
            raise HwgenError(f"node {oname!r} ({n.op_type}): {what}"
                             f"{' + '.join(str(list(s)) for s in in_shapes)} gives output shape "
                             f"{list(shape)}, a zero-size tensor; supported: every dimension >= 1")
        onnx_shape = shapes.get(n.output[0])
        if onnx_shape and None not in onnx_shape and int(np.prod(onnx_shape)) != int(np.prod(shape)):
            raise HwgenError(f"node {oname!r} ({n.op_type}): hwgen computes shape {list(shape)} but "
                             f"ONNX infers {list(onnx_shape)}")
        while oname in used_names:
            oname += "_"
        used_names.add(oname)
        out = n.output[0]
        graph.tensors[out] = Tensor(out, shape, onnx_name=out)
        graph.nodes.append(Node(oname, op, data_in, [out]))
    if graph.output not in graph.tensors:
        raise HwgenError(f"{name}: graph output {graph.output!r} is not computed by any node")
    return graph
