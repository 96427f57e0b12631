"""Per-channel weight formats (weight_granularity: channel): each output channel's weights get
their own power-of-two format; the bias, the accumulator and the requantising shift follow."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

import onnx_factory as F
from helpers import random_input
from hwgen.errors import HwgenError
from hwgen.frontend import load
from hwgen.golden import GoldenModel
from hwgen.ops import Conv
from hwgen.quant import collect_stats, dump_config, quantize, resolved_config
from hwgen.quant.config import MAX_WEIGHT_SHIFT

CHANNEL = {"defaults": {"weight_granularity": "channel"}}


def spread(graph):
    """The graph with each conv's output channels scaled by 1, 1/2, .. 1/16 (seeded), as trained
    networks' channels differ (the seeded ones barely do); equalisation is turned off below."""
    rng = np.random.default_rng(0)
    for n in graph.nodes:
        if isinstance(n.op, Conv):
            s = np.ldexp(1.0, -rng.integers(0, 5, n.op.out_channels))
            n.op.weight = (n.op.weight * s[:, None, None, None]).astype(np.float32)
            n.op.bias = (n.op.bias * s).astype(np.float32)
    return graph


@pytest.fixture(scope="module")
def calibrated():
    """A small SqueezeNet 1.1 with nonzero biases and channel ranges far apart."""
    model = F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True)
    inputs = [random_input((3, 64, 64), seed=s) for s in range(4)]
    return model, inputs, collect_stats(spread(load(model)), inputs)


def unequalized(cfg):
    return {**cfg, "defaults": {"equalize": False, **(cfg.get("defaults") or {})}}


def quantized(calibrated, cfg):
    model, inputs, stats = calibrated
    return quantize(spread(load(model)), unequalized(cfg), stats, inputs)


@pytest.fixture(scope="module")
def channel_graph(calibrated):
    """Per-channel formats with the default weight rounding (GPTQ) and bias correction."""
    return quantized(calibrated, CHANNEL)


def convs(graph):
    return [n for n in graph.nodes if isinstance(n.op, Conv)]


def test_each_channel_gets_the_format_of_its_own_range(channel_graph):
    g = channel_graph
    shifted = 0
    for n in convs(g):
        conv = n.op
        top = np.abs(conv.weight).reshape(conv.out_channels, -1).max(axis=1)
        s = conv.channel_shift
        assert s.min() == 0 and s.max() <= MAX_WEIGHT_SHIFT
        # channel c's format: the fewest integer bits that hold its largest weight (the 'max'
        # policy), i.e. 2**(I-1) >= max |w| > 2**(I-2), unless the shift cap stops it
        integer = conv.weight_fmt.integer - s
        fits = top <= 2.0 ** (integer - 1)
        tight = (top > 2.0 ** (integer - 2)) | (s == MAX_WEIGHT_SHIFT) | (top == 0)
        assert fits.all() and tight.all(), n.name
        shifted += int(s.any())
    assert shifted == len(convs(g))  # every layer's channels differ in range


def test_per_channel_weights_are_closer_to_float(calibrated):
    nearest = {"weight_rounding": "nearest", "bias_correction": False}
    tensor = quantized(calibrated, {"defaults": nearest})
    channel = quantized(calibrated, {"defaults": {**CHANNEL["defaults"], **nearest}})
    for nt, nc in zip(convs(tensor), convs(channel)):
        w = nt.op.weight.astype(np.float64)
        et = np.abs(nt.op.weight_values() - w).reshape(w.shape[0], -1).max(axis=1)
        ec = np.abs(nc.op.weight_values() - w).reshape(w.shape[0], -1).max(axis=1)
        # within half a step of each channel's own grid (a step for the top value, which the
        # 'max' policy may clip by less than one)
        step = np.ldexp(1.0, -(nc.op.weight_fmt.frac + nc.op.channel_shift))
        assert (ec <= step).all() and (ec <= et + 1e-15).all(), nt.name
        assert ec.sum() < et.sum(), nt.name


def test_golden_conv_is_the_correctly_rounded_real_sum(channel_graph):
    """The golden model's per-channel arithmetic (integer sums, then an exact alignment shift per
    channel before the output cast) equals the real-valued conv of the quantised weights, inputs
    and biases, cast once -- computed here in float64, where these sums are exact."""
    g = channel_graph
    gm = GoldenModel(g)
    x = gm.quantize_input(random_input((3, 64, 64), seed=9))
    values = gm.run(x, trace=True)
    checked = 0
    for n in convs(g):
        conv = n.op
        if not conv.channel_shift.any():
            continue
        xf = g.tensors[n.inputs[0]].fmt
        out = g.tensors[n.outputs[0]].fmt
        s = conv.channel_shift
        bias = np.ldexp(conv.bias_raw().astype(np.float64), -(conv.bias_fmt.frac + s))
        real = _exact_linear(conv, xf.dequantize(values[n.inputs[0]])) + bias[:, None, None]
        if conv.relu:
            real = np.maximum(real, 0)
        np.testing.assert_array_equal(values[n.outputs[0]], out.quantize(real), err_msg=n.name)
        checked += 1
    assert checked >= 3


def _exact_linear(conv: Conv, x: np.ndarray) -> np.ndarray:
    """conv(x) of the quantised weights in float64 (exact: few products of short mantissas)."""
    cols, ho, wo = conv._columns(x.astype(np.float64))
    w = conv.weight_values().reshape(conv.out_channels, -1)
    return (w @ cols).reshape(conv.out_channels, ho, wo)


def test_tensor_granularity_is_unchanged(calibrated):
    """weight_granularity: tensor (the default) sets no shifts: the design of before."""
    g = quantized(calibrated, {"defaults": {"weight_granularity": "tensor",
                                            "weight_rounding": "nearest"}})
    assert all(n.op.weight_shift is None for n in convs(g))


def test_resolved_configuration_reproduces_per_channel_formats(calibrated, channel_graph):
    model, inputs, _ = calibrated
    g = channel_graph
    text = dump_config(resolved_config(g, unequalized(CHANNEL)))
    cfg = yaml.safe_load(text)
    assert any("weight_shift" in e for e in cfg["layers"].values())
    again = quantize(spread(load(model)), cfg)  # no images: everything from the file
    x = random_input((3, 64, 64), seed=3)
    a, b = GoldenModel(g), GoldenModel(again)
    np.testing.assert_array_equal(a.run(a.quantize_input(x)), b.run(b.quantize_input(x)))
    for n1, n2 in zip(convs(g), convs(again)):
        np.testing.assert_array_equal(n1.op.channel_shift, n2.op.channel_shift)


def test_bad_weight_shift_is_refused(calibrated):
    model, inputs, stats = calibrated
    g = load(model)
    name = convs(g)[0].name
    with pytest.raises(HwgenError, match="weight_shift has 2 values for 64 output channels"):
        quantize(g, {"layers": {name: {"weight": "ap_fixed<8,1>", "weight_shift": [0, 1]}}},
                 stats)
    with pytest.raises(HwgenError, match="needs the 'weight' format"):
        quantize(load(model), {"layers": {name: {"weight_shift": [1] * 64}}}, stats)
    with pytest.raises(HwgenError, match="weight_shift"):
        quantize(load(model), {"layers": {name: {"weight": "ap_fixed<8,1>",
                                                 "weight_shift": [9] * 64}}}, stats)

