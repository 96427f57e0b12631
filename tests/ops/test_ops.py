"""Each op alone: float reference against onnxruntime, fixed-point reference against an
independent integer computation."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from helpers import ort_run
from hwgen.fixed import FixedType
from hwgen.frontend import load
from hwgen.ops import Conv, GlobalAvgPool, MaxPool
from hwgen.ops.pool import pooled_size


def single_node_model(node, in_shape, inits, opset=13):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *in_shape])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])
    g = helper.make_graph([node], "t", [x], [y], [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


CONV_CASES = [(c, k, s, p) for c, k, s, p in itertools.product((3, 8), (1, 3, 5), (1, 2), (0, 1, 2))
              if p < k]


@pytest.mark.parametrize("cin,k,stride,pad", CONV_CASES)
def test_conv_float_matches_onnxruntime(cin, k, stride, pad):
    rng = np.random.default_rng(k * 100 + stride * 10 + pad)
    w = rng.standard_normal((6, cin, k, k)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad] * 4)
    model = single_node_model(node, (cin, 11, 9), {"w": w, "b": b})
    graph = load(model)
    x = rng.standard_normal((cin, 11, 9)).astype(np.float32)
    conv = graph.nodes[0].op
    np.testing.assert_allclose(conv.run_float([x]), ort_run(graph.onnx_model, x)[0], rtol=1e-4,
                               atol=1e-4)


def naive_conv_int(x, w, b, stride, pad):
    """Direct nested-loop integer convolution: an independent check of the GEMM path."""
    cout, cin, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho = (xp.shape[1] - k) // stride + 1
    wo = (xp.shape[2] - k) // stride + 1
    out = np.zeros((cout, ho, wo), dtype=np.int64)
    for o in range(cout):
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, i * stride:i * stride + k, j * stride:j * stride + k]
                out[o, i, j] = int((patch.astype(np.int64) * w[o].astype(np.int64)).sum()) + int(b[o])
    return out


@pytest.mark.parametrize("k,stride,pad,wbits,xbits", [(3, 1, 1, 8, 8), (3, 2, 0, 6, 8),
                                                      (1, 1, 0, 8, 16), (5, 2, 2, 12, 10),
                                                      (3, 1, 1, 16, 16)])
def test_conv_accumulate_is_exact(k, stride, pad, wbits, xbits):
    rng = np.random.default_rng(k + wbits)
    conv = Conv(weight=rng.standard_normal((4, 5, k, k)).astype(np.float32),
                bias=rng.standard_normal(4).astype(np.float32), stride=stride, pad=(pad,) * 4)
    xf = FixedType(xbits, 3, True)
    conv.weight_fmt = FixedType(wbits, 1, True, "AP_RND_CONV", "AP_SAT")
    conv.bias_fmt = FixedType(16, 16 - min(12, xf.frac + conv.weight_fmt.frac), True)
    conv.accum_fmt = FixedType(48, 48 - xf.frac - conv.weight_fmt.frac, True)
    x = rng.integers(xf.min_raw, xf.max_raw + 1, size=(5, 9, 8))
    expect = naive_conv_int(x, conv.weight_raw(), conv.bias_raw_in_accum(), stride, pad)
    np.testing.assert_array_equal(conv.accumulate(x), expect)
    # the fixed value, read as a real number, is the convolution of the quantised operands
    got = conv.accum_fmt.dequantize(conv.accumulate(x))
    ref = Conv(weight=conv.weight_fmt.dequantize(conv.weight_raw()).astype(np.float64),
               bias=conv.bias_fmt.dequantize(conv.bias_fmt.quantize(conv.bias)), stride=stride,
               pad=(pad,) * 4).run_float([xf.dequantize(x)])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,stride,pad,ceil", [(3, 2, 0, True), (3, 2, 0, False), (2, 2, 0, True),
                                               (3, 1, 1, False), (3, 2, 1, True), (2, 3, 0, True)])
@pytest.mark.parametrize("size", [(7, 7), (8, 11), (13, 13), (55, 55)])
def test_maxpool_matches_onnxruntime(k, stride, pad, ceil, size):
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[k, k], strides=[stride] * 2,
                            pads=[pad] * 4, ceil_mode=int(ceil))
    model = single_node_model(node, (3, *size), {})
    x = np.random.default_rng(0).standard_normal((3, *size)).astype(np.float32)
    graph = load(model)
    ref = ort_run(graph.onnx_model, x)[0]
    op = graph.nodes[0].op
    assert op.output_shape([(3, *size)]) == ref.shape
    np.testing.assert_array_equal(op.run_float([x]), ref)
    # fixed point: the max of raw integers is the raw integer of the max
    fmt = FixedType(8, 4, True)
    raw = fmt.quantize(x)
    exact, frac = op.exact([raw], [fmt])
    np.testing.assert_array_equal(fmt.dequantize(exact), op.run_float([fmt.dequantize(raw)]))


def test_pooled_size_drops_window_starting_in_padding():
    # 6 inputs, k=2, s=2, pad 1 each side, ceil: 4 windows would start at 6 = in end padding
    assert pooled_size(6, 2, 2, 1, 1, ceil=True) == 4
    assert pooled_size(5, 2, 2, 0, 0, ceil=True) == 3
    assert pooled_size(5, 2, 2, 0, 0, ceil=False) == 2


@pytest.mark.parametrize("hw", [(13, 13), (4, 4), (7, 5), (1, 1)])
def test_global_avgpool_fixed_is_within_one_step(hw):
    rng = np.random.default_rng(hw[0])
    fin, fout = FixedType(8, 6, False), FixedType(8, 6, False, "AP_RND", "AP_SAT")
    raw = rng.integers(0, 256, size=(16, *hw))
    op = GlobalAvgPool()
    got = fout.dequantize(op.run_fixed([raw], [fin], fout))
    mean = fin.dequantize(raw).mean(axis=(1, 2))
    assert np.all(np.abs(got - mean) <= fout.step * 0.5 + mean * 2.0 ** -15 + 1e-12)
    r, rfrac = op.reciprocal(hw[0] * hw[1])
    assert 2 ** 15 <= r < 2 ** 16
    assert abs(r * 2.0 ** -rfrac - 1 / (hw[0] * hw[1])) <= 2.0 ** -(rfrac + 1)


def test_maxpool_reads_onnx_attributes():
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                            ceil_mode=1)
    op = load(single_node_model(node, (2, 9, 9), {})).nodes[0].op
    assert isinstance(op, MaxPool) and op.ceil_mode and op.kernel == 3 and op.stride == 2
