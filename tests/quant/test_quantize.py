"""Format assignment: configuration, calibration policies, concat sharing, accumulator sizing,
bias correction, and the resolved configuration's round trip."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

import onnx_factory as F
from helpers import random_input
from hwgen.errors import HwgenError
from hwgen.fixed import FixedType
from hwgen.frontend import load
from hwgen.golden import GoldenModel
from hwgen.ops import Conv
from hwgen.quant import collect_stats, dump_config, quantize, resolved_config
from hwgen.quant.calibrate import choose_format


@pytest.fixture(scope="module")
def calibrated():
    """A small SqueezeNet 1.1 (64x64 input, nonzero biases), its calibration inputs and stats."""
    model = F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True)
    graph = load(model)
    inputs = [random_input((3, 64, 64), seed=s) for s in range(4)]
    return model, inputs, collect_stats(graph, inputs)


def quantized(calibrated, cfg=None, with_inputs=True):
    model, inputs, stats = calibrated
    graph = load(model)
    return quantize(graph, cfg or {}, stats, inputs if with_inputs else None)


def test_every_tensor_and_conv_has_formats(calibrated):
    g = quantized(calibrated)
    assert all(t.fmt is not None for t in g.tensors.values())
    for n in g.nodes:
        if isinstance(n.op, Conv):
            assert n.op.weight_fmt.width == 8 and n.op.bias_fmt.width == 16
            assert g.tensors[n.outputs[0]].fmt.width == 8
            assert not g.tensors[n.outputs[0]].fmt.signed  # after ReLU


def test_fire_concat_inputs_share_one_format(calibrated):
    g = quantized(calibrated)
    for fire in g.fires:
        e1, e3, cat = (g.node(n) for n in (fire.expand1x1, fire.expand3x3, fire.concat))
        assert g.tensors[e1.outputs[0]].fmt == g.tensors[e3.outputs[0]].fmt \
            == g.tensors[cat.outputs[0]].fmt


def test_accumulator_cannot_overflow(calibrated):
    g = quantized(calibrated)
    for n in g.nodes:
        if isinstance(n.op, Conv):
            conv, xf = n.op, g.tensors[n.inputs[0]].fmt
            worst = (np.abs(conv.weight_raw()).reshape(conv.out_channels, -1).sum(axis=1)
                     * max(-xf.min_raw, xf.max_raw) + np.abs(conv.bias_raw_in_accum()))
            assert worst.max() <= conv.accum_fmt.max_raw
            assert conv.accum_fmt.frac == xf.frac + conv.weight_fmt.frac


def test_patterns_and_exact_names(calibrated):
    cfg = {"layers": {"fire*/expand3x3": {"weight_bits": 6},
                      "fire3/expand3x3": {"weight": "ap_fixed<5,1,AP_RND,AP_SAT>"}}}
    g = quantized(calibrated, cfg)
    widths = {n.name: n.op.weight_fmt.width for n in g.nodes if isinstance(n.op, Conv)}
    assert widths["fire2/expand3x3"] == 6 and widths["fire9/expand3x3"] == 6
    assert widths["fire3/expand3x3"] == 5
    assert widths["fire2/expand1x1"] == 8


def test_resolved_config_round_trip(calibrated, tmp_path):
    g1 = quantized(calibrated)
    text = dump_config(resolved_config(g1))
    cfg = yaml.safe_load(text)
    g2 = quantized(calibrated, cfg, with_inputs=False)  # no calibration at all this time
    for name, t in g1.tensors.items():
        assert g2.tensors[name].fmt == t.fmt
    x = random_input((3, 64, 64), seed=9)
    a, b = GoldenModel(g1), GoldenModel(g2)
    np.testing.assert_array_equal(a.run(a.quantize_input(x)), b.run(b.quantize_input(x)))


def test_bias_correction_is_configurable(calibrated):
    on = quantized(calibrated)
    off = quantized(calibrated, {"defaults": {"bias_correction": False}})
    convs_on = [n.op for n in on.nodes if isinstance(n.op, Conv)]
    assert all(c.bias_correction is not None for c in convs_on)
    assert any(np.abs(c.bias_correction).max() > 0 for c in convs_on)
    assert all(n.op.bias_correction is None for n in off.nodes if isinstance(n.op, Conv))


def test_bias_correction_reduces_mean_error(calibrated):
    """On the calibration inputs, the corrected network's last conv has a smaller mean bias."""
    _, inputs, _ = calibrated
    errs = {}
    for flag in (False, True):
        g = quantized(calibrated, {"defaults": {"bias_correction": flag}})
        golden = GoldenModel(g)
        from hwgen.golden import run_float
        last = [n for n in g.nodes if isinstance(n.op, Conv)][-1].outputs[0]
        d = []
        for x in inputs:
            fx = run_float(g, x, trace=True)[last]
            qx = g.tensors[last].fmt.dequantize(golden.run(golden.quantize_input(x), trace=True)[last])
            d.append((qx - fx).mean(axis=(1, 2)))
        errs[flag] = np.abs(np.mean(d, axis=0)).mean()
    assert errs[True] < errs[False]


def test_missing_calibration_is_a_clear_error(calibrated):
    model, _, _ = calibrated
    with pytest.raises(HwgenError, match="--calib"):
        quantize(load(model), {}, None)


def test_unknown_layer_and_conflicting_concat(calibrated):
    with pytest.raises(HwgenError, match="matches no layer"):
        quantized(calibrated, {"layers": {"fire99/*": {"weight_bits": 4}}})


def test_bias_finer_than_accumulator_rejected(calibrated):
    with pytest.raises(HwgenError, match="finer than the accumulator"):
        quantized(calibrated, {"layers": {"features.0": {"bias": "ap_fixed<16,-10>"}}})


@pytest.mark.parametrize("policy", ["max", "percentile", "mse"])
def test_policies(policy):
    rng = np.random.default_rng(0)
    v = np.abs(rng.standard_normal(10000)) * 3
    v[0] = 33.0  # one outlier, just past a power of two
    f = choose_format(v, float(v.max()), 8, False, policy, 99.9, "AP_RND", "AP_SAT")
    assert isinstance(f, FixedType) and not f.signed and f.width == 8
    if policy == "max":
        assert f.max_value >= 33.0 - f.step
    else:
        assert f.max_value < 33.0  # the outlier is clipped for resolution
