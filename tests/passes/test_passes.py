"""Normalisation passes, each on small graphs."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnx_factory as F
from hwgen.errors import HwgenError
from hwgen.frontend import DEFAULT_PREPROCESS, load
from hwgen.golden import run_float
from hwgen.images import network_input, preprocess
from hwgen.ir import Preprocess
from hwgen.passes import fold_preprocessing


def _rgb(seed=0, size=64):
    return np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("pp", [DEFAULT_PREPROCESS["caffe2"], DEFAULT_PREPROCESS["torch"],
                                Preprocess("BGR", (10.0, 20.0, 30.0), (2.0, 4.0, 8.0))])
def test_fold_preprocessing_is_exact(pp):
    model = F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True)
    plain, folded = load(model), load(model)
    plain.preprocess = folded.preprocess = pp
    fold_preprocessing(folded)
    assert folded.pixel_input and not plain.pixel_input
    rgb = _rgb()
    ref = run_float(plain, preprocess(rgb, pp))
    got = run_float(folded, network_input(rgb, folded))
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_fold_preprocessing_skips_padded_first_conv():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    g = load(helper.make_model(helper.make_graph([node], "t", [x], [y], [w]),
                               opset_imports=[helper.make_opsetid("", 13)]))
    assert not fold_preprocessing(g).pixel_input  # zero padding != padding with the mean


def test_fire_recognition_and_names():
    g = load(F.torch_export("1_0", 13, dynamo=False))
    fire = g.fires[0]
    assert (fire.squeeze, fire.expand1x1, fire.expand3x3, fire.concat) == (
        "fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3", "fire2/concat")
    assert g.node("fire2/expand3x3").op.kernel == 3 and g.node("fire2/expand3x3").fire == "fire2"


def test_concat_outside_fire_is_rejected():
    """Two 3x3 convs on the same input, concatenated: neither a chain nor a Fire module."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])
    inits = [numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), n) for n in ("wa", "wb")]
    nodes = [helper.make_node("Conv", ["x", "wa"], ["a"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Conv", ["x", "wb"], ["b"], kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Concat", ["a", "b"], ["y"], axis=1, name="join")]
    model = helper.make_model(helper.make_graph(nodes, "t", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(HwgenError, match="not the join of a Fire module|outside a Fire module"):
        load(model)


def test_equalize_channels_is_exact_and_balances_ranges():
    from hwgen.ops import Conv
    from hwgen.passes import equalize_channels

    model = F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True)
    g = load(model)
    # make one channel of the first squeeze tiny, as trained nets often have
    sq = g.node("fire2/squeeze1x1").op
    sq.weight[3] *= 1e-3
    sq.bias[3] *= 1e-3
    x = np.random.default_rng(1).standard_normal((3, 64, 64)).astype(np.float32)
    before = run_float(g, x)
    spread = lambda op: (lambda r: r.max() / r.min())(  # noqa: E731
        np.abs(op.weight).reshape(op.out_channels, -1).max(axis=1))
    s0 = spread(sq)
    equalize_channels(g)
    np.testing.assert_allclose(run_float(g, x), before, rtol=1e-4, atol=1e-5 * np.abs(before).max())
    assert spread(g.node("fire2/squeeze1x1").op) < s0 / 10
    # the logits' producer keeps its output scale (the average pool would carry it to the logits):
    # its bias is untouched, while an inner producer's bias was rescaled
    last = [n for n in g.nodes if isinstance(n.op, Conv)][-1].name
    fresh = load(model)
    np.testing.assert_array_equal(g.node(last).op.bias, fresh.node(last).op.bias)
    assert not np.array_equal(g.node("fire2/expand1x1").op.bias, fresh.node("fire2/expand1x1").op.bias)
