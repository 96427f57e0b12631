"""``hwgen eval --workers N``: the images sharded over Ray give exactly what one process prints,
bar the timings; without Ray the option says how to install it."""
from __future__ import annotations

import json
import sys

import pytest

from helpers import IMAGES, REAL_MODEL, needs_shared
from hwgen.cli import main
from hwgen.distributed import shards

LIMIT = "10"
TIMINGS = ("seconds_per_image_float", "seconds_per_image_fixed")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def resolved_config(tmp_path_factory):
    """The real model's formats, calibrated once: the evaluations then calibrate nothing."""
    cfg = tmp_path_factory.mktemp("cfg") / "cfg.yaml"
    assert main(["config", str(REAL_MODEL), "--calib", str(IMAGES / "calib"), "--calib-limit",
                 "1", "-o", str(cfg)]) == 0
    return cfg


def eval_argv(cfg, *extra):
    return ["eval", REAL_MODEL, "--config", cfg, "--images", IMAGES / "eval", "--labels",
            IMAGES / "eval" / "labels.tsv", "--limit", LIMIT, *extra]


def without_timings(text: str) -> list[str]:
    """The text report bar its two s/image figures (the last column of the speed table)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("float (onnxruntime)", "fixed (golden)")):
            lines[i] = line.rsplit(maxsplit=1)[0]
    return lines


@needs_shared
# the JSON form in the default suite (time); the text form under -m slow
@pytest.mark.parametrize("form", ["json", pytest.param("text", marks=pytest.mark.slow)])
def test_two_workers_print_what_one_process_prints(capsys, resolved_config, form):
    import ray

    flags = ["--json"] if form == "json" else []
    code, single, err = run(capsys, *eval_argv(resolved_config, *flags))
    assert code == 0, err
    code, sharded, err = run(capsys, *eval_argv(resolved_config, *flags, "--workers", "2"))
    assert code == 0, err
    assert not ray.is_initialized()  # the runtime it started is shut down
    if form == "json":
        one, two = json.loads(single), json.loads(sharded)
        assert one["images"] == int(LIMIT) and all(t in one for t in TIMINGS)
        for t in TIMINGS:
            del one[t], two[t]
        assert two == one
    else:
        assert without_timings(sharded) == without_timings(single)
        assert f"images      {LIMIT}" in single.splitlines()


@pytest.fixture
def one_image(tmp_path):
    """A folder with one labelled image, and its labels file: input that passes every check."""
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("file\tlabel\na.png\t3\n")
    return ["--images", tmp_path, "--labels", tmp_path / "labels.tsv"]


def test_workers_without_ray_says_how_to_install(capsys, monkeypatch, one_image):
    import hwgen.api

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError

    def refuse(*a, **k):
        raise AssertionError("calibration started before the missing Ray was reported")

    monkeypatch.setattr(hwgen.api, "collect_stats", refuse)
    monkeypatch.setattr(hwgen.api, "quantize", refuse)
    code, out, err = run(capsys, "eval", "squeezenet1_1", *one_image, "--calib",
                         one_image[1], "--workers", "2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install 'hwgen[ray]'" in err, err


@pytest.mark.parametrize("env, words", [({"RAY_ADDRESS": "head"}, ("RAY_ADDRESS", "'head'")),
                                        ({}, ("127.0.0.1:1", "cannot connect"))])
def test_bad_or_unreachable_cluster_is_one_line(capsys, monkeypatch, one_image, env, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    extra = [] if env else ["--ray-address", "127.0.0.1:1"]  # port 1: nothing listens there
    code, out, err = run(capsys, "eval", "squeezenet1_1", *one_image, *extra)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("n, k", [(10, 2), (7, 3), (2, 5), (0, 1)])
def test_shards_are_contiguous_and_even(n, k):
    parts = shards(n, k)
    assert len(parts) == k and [i for p in parts for i in p] == list(range(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_an_image_a_worker_cannot_read_is_one_line(capsys, tmp_path):
    """Bad input found in a worker reaches the user as it would from one process."""
    import numpy as np
    from PIL import Image

    import onnx_factory as F

    model = F.write(F.tiny_classifier(), tmp_path / "tiny.onnx")
    for folder in ("img", "calib"):
        (tmp_path / folder).mkdir()
        for i in range(3):
            pixels = np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / folder / f"img{i}.png")
    (tmp_path / "img" / "img3.png").write_text("not an image")  # in the second shard
    (tmp_path / "labels.tsv").write_text("file\tlabel\n" + "".join(
        f"img{i}.png\t{i}\n" for i in range(4)))
    code, out, err = run(capsys, "eval", model, "--images", tmp_path / "img", "--labels",
                         tmp_path / "labels.tsv", "--calib", tmp_path / "calib", "--workers", "2")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "img3.png: cannot read image" in err, err
