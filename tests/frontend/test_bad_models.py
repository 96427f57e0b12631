"""Malformed but loadable models, non-classifiers, bad labels and non-finite inputs: each is one
clear line (what, where, the value, what is supported) and exit status 2, never an internal error
or a silently wrong number."""
from __future__ import annotations

import numpy as np
import pytest

import onnx_factory as F
from helpers import random_input
from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.frontend import load
from hwgen.golden import GoldenModel
from hwgen.quant import collect_stats, quantize

#: factory -> words the one error line must contain (the layer, the value, what is supported)
MALFORMED = {
    "malformed_nan_weight": ("bad_conv", "'bad_conv.weight'", "2 non-finite", "1 NaN, 1 Inf",
                             "finite"),
    "malformed_fp16_inf_bias": ("bad_conv", "'bad_conv.bias'", "1 non-finite", "0 NaN, 1 Inf"),
    "malformed_zero_out_channels": ("bad_conv", "[0, 4, 3, 3]", "zero-size"),
    "malformed_zero_input_dim": ("input", "dimension 2 is 0", "positive C, H and W"),
    "malformed_kernel_too_big": ("bad_conv", "11x11", "8x8", "no larger than"),
    "malformed_conv_in_channels": ("bad_conv", "[4, 5, 3, 3]", "[1, 4, 8, 8]", "input channels"),
    "malformed_bias_length": ("bad_conv", "bias shape [3]", "4 output channels"),
    "malformed_pool_kernel_too_big": ("bad_pool", "MaxPool", "9x9", "8x8"),
    "malformed_pool_pads": ("bad_pool", "pads [3, 3, 3, 3]", "smaller than the kernel"),
    "malformed_batchnorm_variance": ("bad_bn", "variance", "channel 2", "> 0"),
    "malformed_batchnorm_shape": ("bad_bn", "scale shape [2]", "one value per channel"),
    "malformed_constant_dropout": ("bad_dropout", "Dropout", "no non-constant input"),
    "malformed_conv_after_pool": ("bad_conv", "'pool'", "[4]", "C x H x W"),
}


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "internal error" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize("name", sorted(F.MALFORMED_MODELS))  # each needs its MALFORMED words
def test_malformed_model_is_one_line(tmp_path, capsys, name):
    path = F.write(F.MALFORMED_MODELS[name](), tmp_path / f"{name}.onnx")
    code, err = run_cli(capsys, "inspect", path)
    assert_one_line(code, err, *MALFORMED[name])


# ---- hwgen eval: classifiers and labels ---------------------------------------------------------
@pytest.fixture()
def images(tmp_path):
    """Three 8 x 8 RGB images (the tiny models' input size: taken as they are)."""
    from PIL import Image

    d = tmp_path / "images"
    d.mkdir()
    for i in range(3):
        pixels = np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(d / f"img{i}.png")
    return d


@pytest.fixture()
def no_evaluation(monkeypatch):
    """Evaluating any image fails the test: bad input must be refused before."""
    import hwgen.evaluate as ev

    def refuse(*args, **kwargs):
        pytest.fail("images were evaluated before the bad input was refused")

    monkeypatch.setattr(ev, "onnx_session", refuse)
    monkeypatch.setattr(ev, "load_rgb", refuse)


def tiny_classifier():
    """conv1 -> Relu -> GlobalAveragePool -> Flatten: 4 class scores, 3 x 8 x 8 input."""
    return F._tiny_cnn(*F._relu_body(), name="tiny_classifier")


def run_eval(capsys, tmp_path, model, images, labels: str) -> tuple[int, str, str]:
    path = F.write(model, tmp_path / "model.onnx")
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("file\tlabel\n" + labels)
    code, err = run_cli(capsys, "eval", path, "--images", images, "--labels", tsv,
                        "--calib", images, "--calib-limit", "2")
    return code, err, str(tsv)


GOOD_LABELS = "img0.png\t1\nimg1.png\t3\nimg2.png\t0\n"


@pytest.mark.parametrize("bad", ["5000", "4", "-1"])
def test_eval_label_out_of_range(tmp_path, capsys, images, no_evaluation, bad):
    labels = GOOD_LABELS.replace("img1.png\t3", f"img1.png\t{bad}")
    code, err, tsv = run_eval(capsys, tmp_path, tiny_classifier(), images, labels)
    assert_one_line(code, err, tsv, "line 3", "img1.png", f"label {bad} ", "0..3")


def test_eval_label_not_an_integer(tmp_path, capsys, images, no_evaluation):
    labels = GOOD_LABELS.replace("img2.png\t0", "img2.png\tcat")
    code, err, tsv = run_eval(capsys, tmp_path, tiny_classifier(), images, labels)
    assert_one_line(code, err, tsv, "line 4", "img2.png", "'cat'")


def test_eval_duplicate_file(tmp_path, capsys, images, no_evaluation):
    code, err, tsv = run_eval(capsys, tmp_path, tiny_classifier(), images,
                              GOOD_LABELS + "img1.png\t2\n")
    assert_one_line(code, err, tsv, "line 5", "img1.png", "line 3", "once")


@pytest.mark.parametrize("name,shape", [("not_classifier_feature_map", "[4, 8, 8]"),
                                        ("not_classifier_one_score", "[1]")])
def test_eval_refuses_non_classifier(tmp_path, capsys, images, no_evaluation, name, shape):
    code, err, _ = run_eval(capsys, tmp_path, F.NOT_CLASSIFIERS[name](), images, GOOD_LABELS)
    assert_one_line(code, err, f"has shape {shape}", "class scores", "(N,) or (N, 1, 1)")


# ---- the golden model's inputs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def golden():
    graph = load(tiny_classifier())
    inputs = [random_input((3, 8, 8), seed=s) for s in range(2)]
    return GoldenModel(quantize(graph, {}, collect_stats(graph, inputs), inputs))


@pytest.mark.parametrize("value,words", [(np.nan, ("2 NaN", "0 Inf")),
                                         (np.inf, ("0 NaN", "2 Inf"))])
@pytest.mark.parametrize("method", ["logits", "quantize_input"])
def test_golden_refuses_non_finite_input(golden, method, value, words):
    x = random_input((3, 8, 8), seed=5)
    assert np.isfinite(golden.logits(x)).all()  # the same input, finite, is fine
    x[0, 1, 2] = x[2, 3, 4] = value
    with pytest.raises(HwgenError) as exc:
        getattr(golden, method)(x)
    assert all(w in str(exc.value) for w in words), str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("shape", [(3, 9, 9), (1, 3, 8, 8), (8, 8, 3)])
def test_golden_refuses_wrong_input_shape(golden, shape):
    with pytest.raises(HwgenError) as exc:
        golden.logits(random_input(shape))
    assert str(list(shape)) in str(exc.value) and "[3, 8, 8]" in str(exc.value)
