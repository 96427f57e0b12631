"""The CLI end to end: inspect, config, eval."""
from __future__ import annotations

import json
import re

import pytest
import yaml

from helpers import IMAGES, REAL_MODEL, needs_shared
from hwgen.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_json_builtin(capsys):
    code, out, _ = run(capsys, "inspect", "squeezenet1_1", "--json")
    assert code == 0
    d = json.loads(out)
    assert len(d["fires"]) == 8 and d["output"]["shape"] == [1000]
    assert d["total_macs"] == sum(layer["macs"] for layer in d["layers"])
    # SqueezeNet 1.1: 1,235,496 parameters (torchvision's count)
    assert d["total_params"] == 1_235_496
    conv1 = d["layers"][0]
    assert conv1["macs"] == 64 * 111 * 111 * 3 * 3 * 3
    assert "RGB" in d["preprocess"]


@needs_shared
def test_inspect_text_real_model(capsys):
    code, out, _ = run(capsys, "inspect", REAL_MODEL)
    assert code == 0
    assert "fire9/expand3x3" in out and "Fire modules: 8" in out and "BGR" in out
    assert re.search(r"total: 349,\d{3},\d{3} MACs, 1,235,496 parameters", out)  # 349 M MACs


@needs_shared
def test_config_then_eval_with_it(capsys, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    code, out, _ = run(capsys, "config", REAL_MODEL, "--calib", IMAGES / "calib", "--calib-limit",
                       "4", "-o", cfg)
    assert code == 0 and cfg.is_file()
    resolved = yaml.safe_load(cfg.read_text())
    assert resolved["layers"]["conv1"]["weight"].startswith("ap_fixed<8,")
    assert resolved["preprocess"]["channel_order"] == "BGR"
    code, out, err = run(capsys, "eval", REAL_MODEL, "--config", cfg, "--images",
                         IMAGES / "eval", "--labels", IMAGES / "eval" / "labels.tsv",
                         "--limit", "3", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("images", "float_top1", "fixed_top1", "agreement", "seconds_per_image_float",
                "seconds_per_image_fixed"):
        assert key in d
    assert d["images"] == 3
    # 26 convs, 3 max pools, 8 concats, 1 average pool
    assert len(d["layers"]) == 38 and all("snr_db" in layer for layer in d["layers"])


def test_bad_config_is_one_line(capsys, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("defaults: {weight_bitz: 8}\n")
    code, _, err = run(capsys, "config", "squeezenet1_1", "--config", cfg)
    assert code == 2 and "weight_bitz" in err and err.count("\n") == 1


def test_eval_without_labels_file(capsys, tmp_path):
    code, _, err = run(capsys, "eval", "squeezenet1_1", "--images", tmp_path, "--labels",
                       tmp_path / "none.tsv", "--calib", tmp_path)
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["eval", "squeezenet1_1"], ["frobnicate"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
