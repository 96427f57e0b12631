"""Quantisation configuration: YAML defaults and per-layer overrides, resolved into concrete
fixed-point formats on the graph.

A resolved configuration lists every layer with its full types, so a user can edit one and pass it
back with ``--config``. Keys of ``layers:`` are layer names or shell-style patterns
(``fire*/expand3x3``); an exact name wins over patterns, later patterns over earlier ones.

What calibration decides beyond types is written out too, so the file reproduces the design
without images: each Conv's ``bias_correction`` values and, when its weights were not simply rounded
to nearest, their ``weight_offsets`` (see rounding.py; remove it after editing that layer's weight
type).
"""
from __future__ import annotations

import copy
import fnmatch
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from ..errors import HwgenError
from ..fixed import FixedType
from ..ir import Graph, Preprocess
from ..ops import Concat, Conv
from ..passes import equalize_channels, fold_preprocessing
from ..schema import read_yaml, validate_config
from .bias_correction import CalibrationRun
from .calibrate import TensorStats, choose_format, weight_format
from .rounding import decode_offsets, encode_offsets, gptq_round, input_moments

DEFAULTS: dict[str, Any] = {
    "weight_bits": 8,
    "bias_bits": 16,
    "activation_bits": 8,
    "output_bits": 16,  # the network's output (logits): 8 bits made top classes tie
    "rounding": "AP_RND",  # activations: round half up (one adder in hardware)
    "overflow": "AP_SAT",
    "calibration": "mse",  # activations: max | percentile | mse
    "percentile": 99.99,
    "weight_calibration": "max",  # weights: max | mse (measured: max keeps more top-1 agreement)
    "weight_granularity": "tensor",  # weights: one format per tensor | per output channel
    "weight_rounding": "gptq",  # weights: nearest | gptq (error-compensating, see rounding.py)
    "bias_correction": True,  # empirical bias correction on calibration images
    "bias_correction_images": 64,  # images run in fixed point, for bias correction and weight
    # rounding (64 rather than 32: +1.4 dB logit SNR on held-out calibration images)
    "fold_preprocessing": True,  # the accelerator takes raw RGB pixels (see passes.py)
    "equalize": True,  # cross-layer channel range equalisation (see passes.py)
}
#: an 8-bit pixel, exactly
PIXEL_FORMAT = FixedType(8, 8, False, "AP_RND", "AP_SAT")
INPUT = "input"  # the name under which the network input's format is configured


def load_config(path: str | Path | None) -> dict:
    """A configuration file, every key and value checked against its schema (schema.CONFIG)."""
    if path is None:
        return {}
    p = Path(path)
    return validate_config(read_yaml(p, "configuration"), str(p))


def apply_preprocess(graph: Graph, cfg: dict) -> None:
    """The configuration's preprocessing (validated: channel order, mean [3], std [3] > 0)."""
    pp = cfg.get("preprocess")
    if pp:
        graph.preprocess = Preprocess(str(pp.get("channel_order", "RGB")).upper(),
                                      tuple(float(v) for v in pp.get("mean", (0, 0, 0))),
                                      tuple(float(v) for v in pp.get("std", (1, 1, 1))))


class Resolver:
    """Per-layer settings: defaults, then matching patterns, then the exact name."""

    def __init__(self, graph: Graph, cfg: dict):
        validate_config(cfg, "configuration")  # also when a caller passes a mapping directly
        self.defaults = {**DEFAULTS, **(cfg.get("defaults") or {})}
        self.layers: dict[str, dict] = cfg.get("layers") or {}
        names = {INPUT} | {n.name for n in graph.nodes}
        for key in self.layers:
            if not any(fnmatch.fnmatchcase(n, key) for n in names):
                raise HwgenError(f"configuration: layer {key!r} matches no layer; layers are: "
                                 + ", ".join(sorted(names)))
        owner = decision_tensors(graph)
        for node in graph.nodes:
            if node.name not in owner.values() and "output" in self.settings(node.name):
                raise HwgenError(f"layer {node.name!r}: its output format is that of layer "
                                 f"{owner[node.outputs[0]]!r}; set 'output' there")

    def settings(self, name: str) -> dict:
        s = dict(self.defaults)
        for key, entry in self.layers.items():
            if key != name and fnmatch.fnmatchcase(name, key):
                s.update(entry)
        s.update(self.layers.get(name, {}))
        return s

    def explicit_type(self, name: str, key: str) -> FixedType | None:
        value = self.settings(name).get(key)
        return FixedType.parse(value) if value is not None else None


def decision_tensors(graph: Graph) -> dict[str, str]:
    """tensor -> name of the layer whose configuration decides its format.

    Pooling and reshapes follow their input; both inputs of a Fire concat take the concat's
    format, so they agree by construction.
    """
    owner = {graph.input: INPUT}
    for node in graph.nodes:
        out = node.outputs[0]
        if isinstance(node.op, Concat):
            owner[out] = node.name
            for t in node.inputs:
                owner[t] = node.name
        elif node.op.output_follows_input():
            owner[out] = owner[node.inputs[0]]
        else:
            owner.setdefault(out, node.name)
    return owner


def planned_width(graph: Graph, res: Resolver, tensor: str) -> int:
    """The width ``tensor``'s format will have, from the configuration alone (before
    calibration): its owner's explicit output type, the pixels' 8 bits when preprocessing is
    folded, else the owner's activation bits (as _activation_format decides)."""
    owner = decision_tensors(graph)[tensor]
    explicit = res.explicit_type(owner, "output")
    if explicit is not None:
        return explicit.width
    if owner == INPUT and (graph.pixel_input or res.defaults["fold_preprocessing"]):
        return PIXEL_FORMAT.width
    s = res.settings(owner)
    if tensor == graph.output and "activation_bits" not in res.layers.get(owner, {}):
        return int(s["output_bits"])
    return int(s["activation_bits"])


def _nonnegative(graph: Graph, tensor: str, stats: TensorStats | None) -> bool:
    node = graph.producer(tensor)
    if node is None:
        return stats is not None and stats.min_value >= 0
    return node.op.output_nonnegative(
        lambda: all(_nonnegative(graph, t, stats) for t in node.inputs))


def _activation_format(graph: Graph, res: Resolver, owner: str, tensors: list[str],
                       stats: dict[str, TensorStats] | None) -> FixedType:
    s = res.settings(owner)
    bits = int(s["activation_bits"])
    if graph.output in tensors and "activation_bits" not in res.layers.get(owner, {}):
        bits = int(s["output_bits"])
    explicit = res.explicit_type(owner, "output")
    if explicit is not None:
        return explicit
    if owner == INPUT and graph.pixel_input:
        return PIXEL_FORMAT
    if stats is None:
        raise HwgenError(f"layer {owner!r}: no output format configured and no calibration "
                         "images given; pass --calib DIR or set its 'output' in --config")
    merged = TensorStats()
    for t in tensors:
        st = stats[t]
        merged.max_abs = max(merged.max_abs, st.max_abs)
        merged.min_value = min(merged.min_value, st.min_value)
        merged.samples += st.samples
    signed = not all(_nonnegative(graph, t, stats[t]) for t in tensors)
    return choose_format(merged.values(), merged.max_abs, bits, signed,
                         s["calibration"], float(s["percentile"]), s["rounding"], s["overflow"])


#: the most extra fraction bits a channel's weights get over the layer's widest channel (the
#: kernels' requantiser aligns each channel by a shift of up to this many bits)
MAX_WEIGHT_SHIFT = 8


def _weight_formats(name: str, conv: Conv, res: Resolver) -> tuple[FixedType, np.ndarray | None]:
    """A conv's weight format and, per output channel, how many fraction bits more its own
    weights have (None: one format for the whole tensor)."""
    s = res.settings(name)
    bits, policy = int(s["weight_bits"]), s["weight_calibration"]
    explicit = res.explicit_type(name, "weight")
    given = s.get("weight_shift")
    if given is not None:
        shifts = np.asarray(given, np.int64)
        if shifts.shape != (conv.out_channels,):
            raise HwgenError(f"layer {name!r}: weight_shift has {shifts.size} values for "
                             f"{conv.out_channels} output channels")
        if explicit is None:
            raise HwgenError(f"layer {name!r}: weight_shift needs the 'weight' format it is "
                             "relative to")
        return explicit, (shifts if shifts.any() else None)
    if s["weight_granularity"] == "tensor":
        return explicit or weight_format(conv.weight, bits, policy), None
    fracs = np.array([weight_format(wc, bits, policy).frac for wc in conv.weight])
    base = explicit or FixedType(bits, bits - int(fracs.min()), True, "AP_RND_CONV", "AP_SAT")
    shifts = np.clip(fracs - base.frac, 0, MAX_WEIGHT_SHIFT)
    return base, (shifts if shifts.any() else None)


def _accum_format(conv: Conv, in_fmt: FixedType) -> FixedType:
    """Signed accumulator that no sum of products plus bias can overflow, for any input (the
    raw sums of every channel, whatever its format)."""
    w = np.abs(conv.weight_raw().reshape(conv.out_channels, -1)).sum(axis=1)
    x_max = max(abs(in_fmt.min_raw), in_fmt.max_raw)
    frac = in_fmt.frac + conv.weight_fmt.frac
    bias = np.abs(conv.bias_raw()) << max(frac - conv.bias_fmt.frac, 0)
    bound = int((w.astype(np.int64) * x_max + bias).max(initial=1))
    width = max(int(math.ceil(math.log2(bound + 1))), 1) + 1
    return FixedType(width, width - frac, True)


def _bias_format(conv: Conv, width: int, accum_frac: int) -> FixedType:
    """Power-of-two format from the bias values (each scaled by its channel's shift), never finer
    than the accumulator (so adding it is an exact shift)."""
    f = weight_format(conv._per_channel(conv.fixed_bias), width, "max")
    if f.frac > accum_frac:
        f = FixedType(width, width - accum_frac, True, f.rounding, f.overflow)
    return f


def prepare(graph: Graph, cfg: dict) -> Graph:
    """Before calibration: the configuration's preprocessing, folded into the first conv unless
    the configuration says ``fold_preprocessing: false``."""
    if graph.pixel_input:
        return graph
    apply_preprocess(graph, cfg)
    defaults = {**DEFAULTS, **(cfg.get("defaults") or {})}
    if defaults["fold_preprocessing"]:
        fold_preprocessing(graph)
    if defaults["equalize"]:
        equalize_channels(graph)
    return graph


def quantize(graph: Graph, cfg: dict | None = None, stats: dict[str, TensorStats] | None = None,
             calib_inputs: list[np.ndarray] | None = None) -> Graph:
    """Give every tensor and every Conv's weights, bias and accumulator a fixed-point format.

    Formats given in ``cfg`` win; the rest come from ``stats`` (activations) and the weights
    themselves. With ``calib_inputs``, Conv biases get an empirical correction (see
    bias_correction.py) unless the configuration gives one or turns it off.
    """
    cfg = cfg or {}
    prepare(graph, cfg)
    res = Resolver(graph, cfg)
    owner = decision_tensors(graph)
    by_owner: dict[str, list[str]] = {}
    for t, o in owner.items():
        by_owner.setdefault(o, []).append(t)
    decided: dict[str, FixedType] = {}

    def fmt_of(tensor: str) -> FixedType:
        o = owner[tensor]
        if o not in decided:
            decided[o] = _activation_format(graph, res, o, by_owner[o], stats)
        return decided[o]

    run = None
    if calib_inputs and (res.defaults["bias_correction"] or any(
            res.settings(n.name)["weight_rounding"] != "nearest" for n in graph.nodes)):
        run = CalibrationRun(graph, calib_inputs[:int(res.defaults["bias_correction_images"])])
    graph.tensors[graph.input].fmt = fmt_of(graph.input)
    if run:
        run.start()
    for node in graph.nodes:
        if isinstance(node.op, Conv):
            _quantize_conv(node, graph.tensors[node.inputs[0]].fmt, res, run)
        graph.tensors[node.outputs[0]].fmt = fmt_of(node.outputs[0])
        if run:
            run.advance(node)
    _check_concats(graph)
    return graph


def _quantize_conv(node, in_fmt: FixedType, res: Resolver, run: CalibrationRun | None) -> None:
    conv, s = node.op, res.settings(node.name)
    conv.weight_fmt, conv.weight_shift = _weight_formats(node.name, conv, res)
    conv.weight_rounded = _rounded_weights(node, s, run)
    explicit = s.get("bias_correction")
    if isinstance(explicit, list):
        if len(explicit) != conv.out_channels:
            raise HwgenError(f"layer {node.name!r}: bias_correction has {len(explicit)} values for "
                             f"{conv.out_channels} output channels")
        conv.bias_correction = np.asarray(explicit, dtype=np.float64)
    elif run is not None and explicit is not False and res.defaults["bias_correction"]:
        conv.bias_correction = run.correction(node)
    else:
        conv.bias_correction = None
    natural_frac = in_fmt.frac + conv.weight_fmt.frac
    conv.bias_fmt = res.explicit_type(node.name, "bias") or \
        _bias_format(conv, int(s["bias_bits"]), natural_frac)
    if conv.bias_fmt.frac > natural_frac:
        raise HwgenError(f"layer {node.name!r}: bias {conv.bias_fmt} is finer than the "
                         f"accumulator (fraction {natural_frac} bits); use fewer fraction bits")
    conv.accum_fmt = res.explicit_type(node.name, "accum") or _accum_format(conv, in_fmt)
    if conv.accum_fmt.frac != natural_frac:
        raise HwgenError(f"layer {node.name!r}: accumulator {conv.accum_fmt} must have "
                         f"{natural_frac} fraction bits (input + weight)")


def _rounded_weights(node, s: dict, run: CalibrationRun | None) -> np.ndarray | None:
    """Raw weights other than the nearest grid values: from the configuration, or optimised on
    the calibration inputs (see rounding.py); None for nearest rounding."""
    conv = node.op
    if s.get("weight_offsets") is not None:
        try:
            return decode_offsets(s["weight_offsets"], conv.nearest_weights(), conv.weight_fmt)
        except HwgenError as exc:
            raise HwgenError(f"layer {node.name!r}: {exc}") from None
    if run is None or s["weight_rounding"] == "nearest":
        return None
    return gptq_round(conv.weight, conv.weight_fmt, *input_moments(run.columns(node)),
                      shift=conv.channel_shift)


def _check_concats(graph: Graph) -> None:
    for node in graph.nodes:
        if isinstance(node.op, Concat):
            fmts = {graph.tensors[t].fmt for t in node.inputs}
            if len(fmts) != 1:
                raise HwgenError(f"layer {node.name!r}: concat inputs have different formats "
                                 f"{sorted(map(str, fmts))}; they must share one")


def resolved_config(graph: Graph, cfg: dict | None = None) -> dict:
    """The fully resolved configuration of a quantised graph, as written by ``hwgen config``."""
    cfg = copy.deepcopy(cfg or {})
    layers: dict[str, dict] = {INPUT: {"output": graph.tensors[graph.input].fmt.cpp()}}
    owners = set(decision_tensors(graph).values())
    for node in graph.nodes:
        entry: dict[str, str] = {}
        if isinstance(node.op, Conv):
            entry.update(weight=node.op.weight_fmt.cpp(), bias=node.op.bias_fmt.cpp(),
                         accum=node.op.accum_fmt.cpp())
            if node.op.weight_shift is not None:
                entry["weight_shift"] = [int(v) for v in node.op.weight_shift]
            if node.op.weight_rounded is not None:
                entry["weight_offsets"] = encode_offsets(node.op.weight_rounded,
                                                         node.op.nearest_weights())
            if node.op.bias_correction is not None:
                entry["bias_correction"] = [float(v) for v in node.op.bias_correction]
        if node.name in owners:
            entry["output"] = graph.tensors[node.outputs[0]].fmt.cpp()
        if entry:
            layers[node.name] = entry
    pp = graph.preprocess
    out = {"hwgen": 1, "model": graph.name,
           "preprocess": {"channel_order": pp.channel_order, "mean": list(pp.mean),
                          "std": list(pp.std)},
           "defaults": {**DEFAULTS, **(cfg.get("defaults") or {})},
           "layers": layers}
    if cfg.get("folding"):
        out["folding"] = cfg["folding"]
    return out


def dump_config(resolved: dict) -> str:
    head = ("# hwgen configuration, fully resolved. Edit any type and pass this file back with\n"
            "# --config. Types follow Vitis HLS: ap_fixed<W,I,Q,O> / ap_ufixed<W,I,Q,O>.\n")
    return head + yaml.safe_dump(resolved, sort_keys=False, width=100, default_flow_style=None)


def collect_stats(graph: Graph, images: Iterable[np.ndarray], seed: int = 0
                  ) -> dict[str, TensorStats]:
    """Float inference on each (preprocessed, CHW) image, keeping statistics of every tensor."""
    from ..golden import run_float  # noqa: PLC0415  (golden imports quant)

    rng = np.random.default_rng(seed)
    stats: dict[str, TensorStats] = {t: TensorStats() for t in graph.tensors}
    count = 0
    for x in images:
        for name, value in run_float(graph, x, trace=True).items():
            stats[name].add(value, rng)
        count += 1
    if count == 0:
        raise HwgenError("calibration: no images found")
    return stats
