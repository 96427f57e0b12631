"""Weight rounding optimisation (GPTQ): on a small random layer, and in the quantisation flow."""
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
from hwgen.quant.rounding import decode_offsets, encode_offsets, gptq_round, input_moments

FMT = FixedType(4, 1, True, "AP_RND_CONV", "AP_SAT")  # coarse, so rounding choices matter


def correlated_inputs(d: int, n: int, seed: int) -> np.ndarray:
    """(d, n) inputs with strongly correlated rows, like neighbouring pixels and channels."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((d, 4)) @ rng.standard_normal((4, n))
    return np.maximum(shared / 2 + 0.3 * rng.standard_normal((d, n)) + 0.5, 0)


@pytest.fixture(scope="module")
def layer():
    rng = np.random.default_rng(1)
    w = rng.uniform(-0.9, 0.9, (12, 2, 3, 3))
    w[0, 0, 0, 0] = 3.0  # beyond the format's range: must saturate
    return w, correlated_inputs(18, 4000, seed=2)


def output_error(w, raw, x_float, x_fixed=None):
    x_fixed = x_float if x_fixed is None else x_fixed
    q = FMT.dequantize(raw).reshape(len(w), -1)
    return float(np.sum((w.reshape(len(w), -1) @ x_float - q @ x_fixed) ** 2))


def test_gptq_beats_nearest_rounding(layer):
    w, x = layer
    h, _ = input_moments([(x, x)])
    nearest, gptq = FMT.quantize(w), gptq_round(w, FMT, h)
    assert output_error(w, gptq, x) < 0.7 * output_error(w, nearest, x)
    assert np.any(gptq != nearest)


def test_gptq_compensates_input_error(layer):
    """With the fixed-point inputs' error known (C), the layer undoes part of it."""
    w, x = layer
    xq = np.round(x * 0.8 * 8) / 8  # coarse inputs with a gain error
    h, c = input_moments([(x, xq)])
    plain, compensating = gptq_round(w, FMT, h), gptq_round(w, FMT, h, c)
    assert output_error(w, compensating, x, xq) < 0.8 * output_error(w, plain, x, xq)


def test_gptq_weights_on_grid_in_range_and_deterministic(layer):
    w, x = layer
    h, c = input_moments([(x, x + 0.01)])
    raw = gptq_round(w, FMT, h, c)
    assert raw.shape == w.shape and np.issubdtype(raw.dtype, np.integer)
    assert raw.min() >= FMT.min_raw and raw.max() <= FMT.max_raw
    assert raw[0, 0, 0, 0] == FMT.max_raw  # the out-of-range weight saturates
    np.testing.assert_array_equal(raw, gptq_round(w, FMT, h, c))


def test_inputs_never_seen_keep_nearest_rounding(layer):
    w, x = layer
    x = x.copy()
    x[5] = 0
    raw = gptq_round(w, FMT, input_moments([(x, x)])[0])
    np.testing.assert_array_equal(raw.reshape(len(w), -1)[:, 5],
                                  FMT.quantize(w).reshape(len(w), -1)[:, 5])


def test_offsets_round_trip_and_reject_garbage(layer):
    w, x = layer
    raw, nearest = gptq_round(w, FMT, input_moments([(x, x)])[0]), FMT.quantize(w)
    np.testing.assert_array_equal(decode_offsets(encode_offsets(raw, nearest), nearest, FMT), raw)
    with pytest.raises(HwgenError, match="weight_offsets"):
        decode_offsets("not base64!", nearest, FMT)
    with pytest.raises(HwgenError, match="values for"):
        decode_offsets(encode_offsets(raw[:2], nearest[:2]), nearest, FMT)


# ---- in the quantisation flow -------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    """A small SqueezeNet 1.1 (32x32 input), calibration inputs and held-out inputs."""
    model = F.torch_export("1_1", 13, dynamo=False, input_size=32, nonzero_bias=True)
    calib = [random_input((3, 32, 32), seed=s) for s in range(6)]
    return model, calib, collect_stats(load(model), calib)


def quantized(tiny, rounding, cfg=None, with_inputs=True):
    model, calib, stats = tiny
    cfg = cfg or {"defaults": {"weight_rounding": rounding}}
    return quantize(load(model), cfg, stats, calib if with_inputs else None)


def test_flow_uses_optimised_weights_and_config_reproduces_them(tiny):
    g = quantized(tiny, "gptq")
    convs = [n.op for n in g.nodes if isinstance(n.op, Conv)]
    assert all(c.weight_rounded is not None for c in convs)
    assert any(np.any(c.weight_raw() != c.weight_fmt.quantize(c.weight)) for c in convs)
    assert all(n.op.weight_rounded is None for n in quantized(tiny, "nearest").nodes
               if isinstance(n.op, Conv))
    cfg = yaml.safe_load(dump_config(resolved_config(g)))
    again = quantized(tiny, None, cfg, with_inputs=False)
    x = random_input((3, 32, 32), seed=99)
    a, b = GoldenModel(g), GoldenModel(again)
    np.testing.assert_array_equal(a.run(a.quantize_input(x)), b.run(b.quantize_input(x)))


def test_unknown_rounding_method_is_rejected(tiny):
    with pytest.raises(HwgenError, match="weight_rounding"):
        quantized(tiny, "stochastic")
