"""The mixed-precision search (quant/search.py) on a tiny network, with a stand-in for the
board's frames/s, and ``hwgen config --search-precision`` end to end."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

import onnx_factory as F
from hwgen.cli import main
from hwgen.frontend import load
from hwgen.ops import Conv
from hwgen.quant import collect_stats
from hwgen.quant.config import prepare
from hwgen.quant.search import WEIGHT_STEPS, search_precision, split_calibration


def _inputs(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (3, 8, 8)).astype(np.float32) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny():
    graph = prepare(load(F.tiny_classifier()), {})
    calib, held = _inputs(12, 0), _inputs(10, 1)
    return graph, calib, held, collect_stats(graph, calib)


def narrow_pays(g):
    """Frames/s that grow with every weight bit removed (activations buy nothing)."""
    return 1.0 + sum(8 - n.op.weight_fmt.width for n in g.nodes if isinstance(n.op, Conv)), True


def test_search_takes_what_pays_and_drops_what_does_not(tiny):
    graph, calib, held, stats = tiny
    found = search_precision(graph, {}, stats, calib, held, narrow_pays, min_agreement=0.0)
    # with no accuracy bar every weight step is taken; output steps buy nothing and are undone
    assert found.layers == {"conv1": {"weight_bits": 4}, "c2": {"weight_bits": 4}}
    assert found.searched["fps"] == 9.0 and found.baseline["fps"] == 1.0
    widths = {n.name: n.op.weight_fmt.width for n in found.searched["graph"].nodes
              if isinstance(n.op, Conv)}
    assert widths == {"conv1": 4, "c2": 4}


def test_search_keeps_the_agreement_asked_for(tiny):
    graph, calib, held, stats = tiny
    found = search_precision(graph, {}, stats, calib, held, narrow_pays, min_agreement=1.0)
    assert found.searched["agreement"] == 1.0 or not found.steps
    for t in found.tried:  # every prefix the bisection judged reports what it measured
        assert 0 <= t["agreement"] <= 1 and t["fps"] >= 1.0


def test_steps_are_ranked_and_a_layer_narrows_in_order(tiny):
    graph, calib, held, stats = tiny
    found = search_precision(graph, {}, stats, calib, held, narrow_pays, min_agreement=0.0)
    order = [(s.layer, s.bits) for s in found.steps if s.key == "weight_bits"]
    for layer in ("conv1", "c2"):
        mine = [b for name, b in order if name == layer]
        assert mine == sorted(mine, reverse=True) and mine[0] == WEIGHT_STEPS[0]


def test_split_holds_out_two_in_five():
    calib, held = split_calibration([f"{i}.jpg" for i in range(10)])
    assert held == ["2.jpg", "4.jpg", "7.jpg", "9.jpg"] and len(calib) == 6
    with pytest.raises(Exception, match="at least 5"):
        split_calibration(["a.jpg", "b.jpg", "c.jpg"])


def _image_folder(path, n):
    path.mkdir()
    rng = np.random.default_rng(5)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path / f"{i}.png")
    return path


def test_config_search_precision_cli(tmp_path, capsys):
    model = F.write(F.tiny_classifier(), tmp_path / "tiny.onnx")
    images = _image_folder(tmp_path / "calib", 10)
    out = tmp_path / "searched.yaml"
    assert main(["config", str(model), "--calib", str(images), "--search-precision",
                 "--min-agreement", "0.5", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "precision search for pynq-z2: 6 images calibrate, 4 held out" in err
    cfg = yaml.safe_load(out.read_text())
    assert {"conv1", "c2"} <= set(cfg["layers"])  # a resolved configuration, every layer typed
    # the file reproduces a design without images
    assert main(["generate", str(model), "--config", str(out), "-o", str(tmp_path / "p")]) == 0


@pytest.mark.parametrize("args,message", [
    (["--search-precision"], "--search-precision needs --calib DIR"),
    (["--search-precision", "--calib", "CALIB", "--min-agreement", "1.5"],
     "min_agreement (--min-agreement): 1.5; supported: a fraction in (0, 1]"),
    (["--search-precision", "--calib", "CALIB", "--min-agreement", "0"],
     "min_agreement (--min-agreement): 0.0; supported: a fraction in (0, 1]"),
    (["--min-agreement", "0.9"], "--min-agreement applies to --search-precision only"),
])
def test_config_search_bad_input(tmp_path, capsys, args, message):
    model = F.write(F.tiny_classifier(), tmp_path / "tiny.onnx")
    images = _image_folder(tmp_path / "calib", 5)
    args = [str(images) if a == "CALIB" else a for a in args]
    assert main(["config", str(model), *args, "-o", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "c.yaml").exists()


def test_a_layer_configured_narrower_is_only_narrowed_further(tiny):
    graph, calib, held, stats = tiny
    cfg = {"layers": {"c2": {"weight_bits": 5}}}
    found = search_precision(graph, cfg, stats, calib, held, narrow_pays, min_agreement=0.0)
    assert [s.bits for s in found.steps if s.layer == "c2" and s.key == "weight_bits"] == [4]
    assert found.baseline["fps"] == 4.0  # the configuration's 5 bits, before the search
