"""SqueezeNet 1.0 / 1.1 in plain torch, with the SqueezeNet paper's bypass variants, and its ONNX
export.

The network is a copy of torchvision's ``squeezenet1_0`` / ``squeezenet1_1`` (same module names, so
torchvision state dicts load as-is) because torchvision itself is not a dependency. The bypass
variants (Iandola et al. 2016, section 6) add each bypassed Fire module's input to its output:
"simple" around Fire3, Fire5, Fire7 and Fire9 (equal channel counts), "complex" also around Fire2,
Fire4, Fire6 and Fire8 through a 1x1 convolution (``bypass_conv``) to the output's channels.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import warnings
from typing import IO

import onnx
import torch
from onnx import numpy_helper
from torch import nn

VERSIONS = ("1_0", "1_1")
BYPASSES = ("none", "simple", "complex")
#: built-in model name -> (version, bypass)
BUILTIN = {f"squeezenet{v}{'' if b == 'none' else f'_{b}_bypass'}": (v, b)
           for v in VERSIONS for b in BYPASSES}
#: Fire modules (SqueezeNet numbers them 2..9) that each bypass kind goes around
BYPASSED_FIRES = {"none": (), "simple": (3, 5, 7, 9), "complex": (2, 3, 4, 5, 6, 7, 8, 9)}


class Fire(nn.Module):
    """A Fire module; with ``bypass`` its input (or, when the channel counts differ, a 1x1
    convolution of it) is added to its output, then a ReLU if ``bypass_relu``."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int, bypass: bool = False, bypass_bias: bool = True,
                 bypass_relu: bool = False) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.bypass, self.bypass_relu = bypass, bypass_relu
        out = expand1x1_planes + expand3x3_planes
        if bypass and out != inplanes:
            self.bypass_conv = nn.Conv2d(inplanes, out, kernel_size=1, bias=bypass_bias)
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_activation(self.squeeze(x))
        y = torch.cat([self.expand1x1_activation(self.expand1x1(s)),
                       self.expand3x3_activation(self.expand3x3(s))], 1)
        if not self.bypass:
            return y
        y = y + (self.bypass_conv(x) if hasattr(self, "bypass_conv") else x)
        return torch.relu(y) if self.bypass_relu else y


class SqueezeNet(nn.Module):
    def __init__(self, version: str = "1_0", num_classes: int = 1000, bypass: str = "none",
                 bypass_bias: bool = True, bypass_relu: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        if bypass not in BYPASSES:
            raise ValueError(f"unsupported bypass {bypass!r}: expected one of {BYPASSES}")
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        fires = iter(range(2, 10))

        def fire(*planes: int) -> Fire:  # the next Fire module, numbered 2..9
            return Fire(*planes, bypass=next(fires) in BYPASSED_FIRES[bypass],
                         bypass_bias=bypass_bias, bypass_relu=bypass_relu)

        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                fire(96, 16, 64, 64), fire(128, 16, 64, 64), fire(128, 32, 128, 128), pool(),
                fire(256, 32, 128, 128), fire(256, 48, 192, 192), fire(384, 48, 192, 192),
                fire(384, 64, 256, 256), pool(),
                fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                fire(64, 16, 64, 64), fire(128, 16, 64, 64), pool(),
                fire(128, 32, 128, 128), fire(256, 32, 128, 128), pool(),
                fire(256, 48, 192, 192), fire(384, 48, 192, 192),
                fire(384, 64, 256, 256), fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"unsupported SqueezeNet version {version!r}: "
                             f"expected one of {VERSIONS}")

        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

        # torchvision's init, in the same module order so a seed gives torchvision's weights
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.classifier(x)
        return torch.flatten(x, 1)


@contextlib.contextmanager
def _quiet():
    """Both exporters print progress, log through ``logging`` and raise warnings; none of it is
    actionable for a fixed, known network, and it would drown hwgen's own output."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_onnx(model: nn.Module, f: str | os.PathLike | IO[bytes], *, opset: int = 13,
                dynamo: bool = False, input_size: int = 224) -> None:
    """Export ``model`` (in eval mode) with input "input" [1,3,H,W] and output "logits".

    ``dynamo=False`` uses the TorchScript exporter, ``dynamo=True`` the torch.export-based one.
    Either way the result is one self-contained ModelProto (weights inside) at exactly ``opset``.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, input_size, input_size)
    try:
        with torch.no_grad(), _quiet():
            if dynamo:
                proto = _export_dynamo(model, x, opset)
            else:
                buf = io.BytesIO()
                torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=opset,
                                  input_names=["input"], output_names=["logits"])
                proto = onnx.load_from_string(buf.getvalue())
    finally:
        model.train(was_training)
    if isinstance(f, (str, os.PathLike)):
        onnx.save_model(proto, f)
    else:
        f.write(proto.SerializeToString())


# The torch.export-based exporter only implements opsets >= 18.
_DYNAMO_MIN_OPSET = 18


def _export_dynamo(model: nn.Module, x: torch.Tensor, opset: int) -> onnx.ModelProto:
    native = max(opset, _DYNAMO_MIN_OPSET)
    # external_data=False keeps the weights in the proto; optimize=True folds the exporter's
    # shape arithmetic into constants (and, note, drops Conv biases that are all zero).
    program = torch.onnx.export(model, (x,), dynamo=True, opset_version=native, optimize=True,
                                external_data=False, verbose=False,
                                input_names=["input"], output_names=["logits"])
    proto = program.model_proto
    return proto if opset == native else _downgrade(proto, opset)


# Ops whose definition at opsets 13..17 computes the same as at 18 for this network.
_SAME_BELOW_18 = {"Conv", "Relu", "Concat", "Add", "MaxPool", "Flatten", "GlobalAveragePool",
                  "Identity"}


def _downgrade(proto: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Take the dynamo exporter's opset-18 SqueezeNet down to ``opset`` (13..17).

    ``onnx.version_converter.convert_version`` cannot do it: it has no Relu 14->13 adapter and its
    ReduceMean 18->17 adapter keeps ``noop_with_empty_axes`` (the result fails the checker). The
    network uses few ops, so the rewrites are done here by hand and checked.
    """
    if not 13 <= opset < _DYNAMO_MIN_OPSET:
        raise ValueError(f"cannot take the dynamo export down to opset {opset}: supported 13..17")
    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "ReduceMean":  # opset 18 moved axes from an attribute to an input
            if len(node.input) < 2 or node.input[1] not in consts:
                raise ValueError(f"{node.name}: ReduceMean without constant axes")
            axes = consts[node.input[1]].tolist()
            if not axes:  # empty axes mean "all" or "none" depending on noop_with_empty_axes
                raise ValueError(f"{node.name}: ReduceMean with empty axes")
            del node.input[1]
            _set_attrs(node, {k: v for k, v in attrs.items() if k != "noop_with_empty_axes"},
                       axes=axes)
        elif node.op_type == "Reshape":  # allowzero (opset 14) only matters if the shape has 0s
            if opset < 14:
                if attrs.get("allowzero", 0) and 0 in consts[node.input[1]]:
                    raise ValueError(f"{node.name}: Reshape with allowzero=1 and a 0 in its shape")
                _set_attrs(node, {k: v for k, v in attrs.items() if k != "allowzero"})
        elif node.op_type not in _SAME_BELOW_18:
            raise ValueError(f"{node.name}: no rule to take {node.op_type} below opset 18")
    used = {i for n in proto.graph.node for i in n.input}
    kept = [t for t in proto.graph.initializer if t.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    for imp in proto.opset_import:
        if imp.domain in ("", "ai.onnx"):
            imp.version = opset
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _set_attrs(node: onnx.NodeProto, attrs: dict, **extra) -> None:
    del node.attribute[:]
    node.attribute.extend(onnx.helper.make_attribute(k, v) for k, v in {**attrs, **extra}.items())


@functools.lru_cache(maxsize=None)
def _builtin_bytes(name: str) -> bytes:
    buf = io.BytesIO()
    version, bypass = BUILTIN[name]
    with torch.random.fork_rng(devices=[]):  # seed 0 without disturbing the caller's RNG
        torch.manual_seed(0)
        export_onnx(SqueezeNet(version, bypass=bypass), buf, opset=13, dynamo=False)
    return buf.getvalue()


def builtin_model(name: str) -> onnx.ModelProto:
    """A random-weight (seed 0, torchvision init) SqueezeNet, TorchScript exporter, opset 13;
    the bypass variants' bypass convolutions have a bias and no ReLU follows the sums.

    The export is made once per process; every call returns a fresh, identical ModelProto.
    """
    if name not in BUILTIN:
        raise ValueError(f"unknown built-in model {name!r}: expected one of {sorted(BUILTIN)}")
    return onnx.load_from_string(_builtin_bytes(name))
