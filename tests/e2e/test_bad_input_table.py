"""Every bad input a user can give, as a table: exit status 2, exactly one line on stderr naming
the file, key or layer and the value, no "internal error", nothing on stdout, no output folder
written, and the refusal arrives before any calibration starts."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import onnx_factory as F
from helpers import IMAGES, REAL_MODEL, needs_shared
from hwgen.cli import main

#: (argv, files to lay out {relative path: text or bytes}, words the refusal must contain); argv
#: names the tiny model {model}, the run's folder {tmp}, its cfg.yaml {cfg} and board.yaml {board}
Case = tuple[list[str], dict, tuple[str, ...]]


def _cfg(text: str) -> dict:
    return {"cfg.yaml": textwrap.dedent(text)}


def _board(**change) -> dict:
    from hwgen.boards import load_board

    board = load_board("pynq-z2")
    for path, value in change.items():
        *keys, last = path.split("__")
        d = board
        for k in keys:
            d = d[k]
        if value is None:
            del d[last]
        else:
            d[last] = value
    return {"board.yaml": yaml.safe_dump(board)}


CONFIG = ["config", "{model}", "--config", "{cfg}"]
GENERATE = ["generate", "{model}", "-o", "{tmp}/out"]
ESTIMATE = ["estimate", "{model}", "--board", "{board}"]
EVAL = ["eval", "{model}", "--images", "{tmp}/img", "--labels", "{tmp}/l.tsv"]

CASES: dict[str, Case] = {
    # ---- configuration values: types, ranges, choices (schema) -------------------------------
    "bits_bool": (CONFIG, _cfg("defaults: {weight_bits: true}"), ("defaults.weight_bits", "True", "integer")),
    "bits_fraction": (CONFIG, _cfg("defaults: {weight_bits: 8.5}"), ("weight_bits", "8.5")),
    "bits_zero": (CONFIG, _cfg("defaults: {activation_bits: 0}"), ("activation_bits", "at least 2")),
    "bits_huge": (CONFIG, _cfg("defaults: {bias_bits: 99}"), ("bias_bits", "at most 32")),
    "percentile_negative": (CONFIG, _cfg("defaults: {percentile: -5}"), ("percentile", "-5")),
    "percentile_150": (CONFIG, _cfg("defaults: {percentile: 150}"), ("percentile", "at most 100")),
    "calibration_policy": (CONFIG, _cfg("defaults: {calibration: magic}"), ("calibration", "magic", "mse")),
    "rounding_mode": (CONFIG, _cfg("defaults: {rounding: AP_FOO}"), ("defaults.rounding", "AP_FOO", "AP_RND")),
    "overflow_mode": (CONFIG, _cfg("layers: {conv1: {overflow: AP_BAR}}"), ("layers.conv1.overflow", "AP_BAR", "AP_SAT")),
    "weight_rounding": (CONFIG, _cfg("defaults: {weight_rounding: stochastic}"), ("weight_rounding", "gptq")),
    "calib_images_zero": (CONFIG, _cfg("defaults: {bias_correction_images: 0}"), ("bias_correction_images",)),
    "bias_correction_string": (CONFIG, _cfg("layers: {conv1: {bias_correction: 'yes'}}"), ("bias_correction", "yes")),
    "equalize_string": (CONFIG, _cfg("defaults: {equalize: 'no'}"), ("equalize", "true or false")),
    "unknown_default": (CONFIG, _cfg("defaults: {weight_bitz: 8}"), ("weight_bitz", "weight_bits")),
    "unknown_top_key": (CONFIG, _cfg("layer: {}"), ("'layer'", "layers")),
    "unknown_layer_key": (CONFIG, _cfg("layers: {conv1: {pe: 2}}"), ("layers.conv1", "'pe'")),
    "layers_not_mapping": (CONFIG, _cfg("layers: 5"), ("layers", "5", "mapping")),
    "defaults_not_mapping": (CONFIG, _cfg("defaults: [1, 2]"), ("defaults", "mapping")),
    "config_is_list": (CONFIG, _cfg("- 1\n- 2"), ("cfg.yaml", "mapping")),
    "config_not_yaml": (CONFIG, _cfg("defaults: {a: [1, 2}"), ("cfg.yaml", "not valid YAML")),
    "config_not_utf8": (CONFIG, {"cfg.yaml": b"defaults: {rounding: \xff\xfe}\n"}, ("cfg.yaml", "UTF-8")),
    "config_missing": (["config", "{model}", "--config", "{tmp}/none.yaml"], {}, ("none.yaml", "no such")),
    "std_zero": (CONFIG, _cfg("preprocess: {std: [0, 0, 0]}"), ("preprocess.std", "above 0")),
    "mean_two_values": (CONFIG, _cfg("preprocess: {mean: [1, 2]}"), ("preprocess.mean", "exactly 3")),
    "channel_order": (CONFIG, _cfg("preprocess: {channel_order: XYZ}"), ("channel_order", "XYZ", "BGR")),
    # ---- types, layer names and folding that need the graph ----------------------------------
    "type_bad_mode": (CONFIG, _cfg("layers: {conv1: {output: 'ap_fixed<8,3,AP_FOO>'}}"), ("layers.conv1.output", "AP_FOO")),
    "type_too_wide": (CONFIG, _cfg("layers: {conv1: {weight: 'ap_fixed<70,3>'}}"), ("layers.conv1.weight", "70")),
    "type_unreadable": (CONFIG, _cfg("layers: {conv1: {output: int8}}"), ("layers.conv1.output", "int8", "ap_fixed")),
    "type_not_string": (CONFIG, _cfg("layers: {conv1: {output: 8}}"), ("layers.conv1.output", "string")),
    "layer_unknown": (CONFIG, _cfg("layers: {conv9: {weight_bits: 6}}"), ("conv9", "matches no layer", "conv1")),
    "pe_zero": (CONFIG, _cfg("folding: {conv1: {pe: 0}}"), ("folding.conv1.pe", "at least 1")),
    "pe_string": (CONFIG, _cfg("folding: {conv1: {pe: two}}"), ("folding.conv1.pe", "'two'", "integer")),
    "pe_not_divisor": (CONFIG, _cfg("folding: {conv1: {pe: 3}}"), ("conv1", "pe=3", "divide 4")),
    "simd_not_divisor": (CONFIG, _cfg("folding: {c2: {simd: 3}}"), ("c2", "simd=3")),
    "weights_place": (CONFIG, _cfg("folding: {conv1: {weights: flash}}"), ("weights", "flash", "ddr")),
    "multipliers": (CONFIG, _cfg("folding: {conv1: {multipliers: fpga}}"), ("multipliers", "fpga", "lut")),
    "folding_unknown_layer": (CONFIG, _cfg("folding: {conv7: {pe: 1}}"), ("conv7", "matches no layer")),
    "folding_on_pool": (CONFIG, _cfg("folding: {pool: {pe: 1}}"), ("pool", "lanes follow its input")),
    # ---- command-line options ----------------------------------------------------------------
    "calib_limit_negative": (["config", "{model}", "--calib-limit", "-1"], {}, ("--calib-limit", "-1", "positive")),
    "calib_limit_zero": (["config", "{model}", "--calib-limit", "0"], {}, ("--calib-limit", "'0'")),
    "calib_limit_text": (["config", "{model}", "--calib-limit", "all"], {}, ("--calib-limit", "'all'")),
    "target_fps_nan": (GENERATE + ["--target-fps", "nan"], {}, ("--target-fps", "nan", "finite")),
    "target_fps_inf": (["estimate", "{model}", "--target-fps", "inf"], {}, ("--target-fps", "inf")),
    "target_fps_negative": (["estimate", "{model}", "--target-fps", "-3"], {}, ("--target-fps", "-3")),
    "cap_zero": (["estimate", "{model}", "--cap", "0"], {}, ("--cap", "(0, 1]")),
    "cap_above_one": (["estimate", "{model}", "--cap", "1.5"], {}, ("--cap", "1.5")),
    "vectors_zero": (GENERATE + ["--vectors", "0"], {}, ("--vectors", "'0'")),
    "backend": (GENERATE + ["--backend", "vhdl"], {}, ("--backend", "vhdl", "rtl")),
    "images_zero": (["csim", "{tmp}", "--images", "0"], {}, ("--images", "'0'")),
    "unknown_command": (["frobnicate"], {}, ("frobnicate", "inspect")),
    "missing_argument": (["eval", "{model}"], {}, ("--images", "required")),
    "workers_zero": (EVAL + ["--workers", "0"], {}, ("--workers", "'0'", "positive")),
    "workers_text": (EVAL + ["--workers", "many"], {}, ("--workers", "'many'")),
    "ray_address_no_port": (EVAL + ["--ray-address", "head"], {}, ("--ray-address", "'head'", "HOST:PORT")),
    "ray_address_port_range": (EVAL + ["--ray-address", "head:70000"], {}, ("--ray-address", "head:70000")),
    "ray_address_client": (EVAL + ["--ray-address", "ray://head:10001"], {}, ("--ray-address", "ray://head:10001")),
    "calib_missing": (["config", "{model}", "--calib", "{tmp}/nope"], {}, ("nope", "no such image folder")),
    "calib_empty": (["config", "{model}", "--calib", "{tmp}"], {}, ("no images", ".png")),
    # ---- boards ------------------------------------------------------------------------------
    "board_unknown": (["estimate", "{model}", "--board", "zedboard"], {}, ("zedboard", "pynq-z2")),
    "board_file_missing": (["estimate", "{model}", "--board", "{tmp}/b.yaml"], {}, ("b.yaml", "no such board")),
    "board_no_hp_ports": (ESTIMATE, _board(memory__hp_ports=[]), ("memory.hp_ports", "at least 1")),
    "board_no_part": (ESTIMATE, _board(part=None), ("'part'", "required")),
    "board_clock_negative": (ESTIMATE, _board(clock_mhz=-100), ("clock_mhz", "-100")),
    "board_dsp_text": (ESTIMATE, _board(resources__dsp="many"), ("resources.dsp", "'many'")),
    "board_family": (ESTIMATE, _board(family="virtex"), ("family", "virtex", "zynq7")),
    "board_unknown_key": (ESTIMATE, _board(fabric="big"), ("'fabric'",)),
    "board_ddr_without_port": (["estimate", "{model}", "--board", "{board}", "--config", "{cfg}"],
                               {**_board(memory__hp_ports=["S_AXI_HP0"]),
                                **_cfg("folding: {c2: {weights: ddr}}")},
                               ("c2", "weights: ddr", "hp_ports")),
    # ---- output folders and files ------------------------------------------------------------
    "output_is_user_folder": (GENERATE + ["--force"], {"out/thesis.tex": "mine"}, ("out", "not an hwgen project")),
    "output_exists": (GENERATE, {"out/hwgen_project.json": '{"hwgen": "0"}'}, ("out", "--force")),
    "output_is_file": (GENERATE, {"out": "x"}, ("out", "not a folder")),
    "config_output_is_folder": (["config", "{model}", "-o", "{tmp}"], {}, ("is a folder",)),
    "config_output_no_parent": (["config", "{model}", "-o", "{tmp}/a/b/c.yaml"], {}, ("no such folder",)),
    # ---- projects ----------------------------------------------------------------------------
    "csim_not_project": (["csim", "{tmp}"], {}, ("not an hwgen project",)),
    "csim_corrupt_project_file": (["csim", "{tmp}"], {"hwgen_project.json": "{not json"}, ("hwgen_project.json", "unreadable")),
    "rtlsim_hls_project": (["rtlsim", "{tmp}"], {"hwgen_project.json": '{"hwgen": "0", "top": "t", "model": "m"}'}, ("--backend rtl",)),
    "csim_foreign_project_file": (["csim", "{tmp}"], {"hwgen_project.json": '{"hwgen": "0"}'}, ("hwgen_project.json", "'top'")),
    "csim_project_file_is_a_list": (["csim", "{tmp}"], {"hwgen_project.json": '[1, 2]'}, ("hwgen_project.json", "regenerate")),
    # ---- labelled images ---------------------------------------------------------------------
    "labels_missing": (EVAL + ["--calib", "{tmp}/img"], {}, ("l.tsv", "no such labels file")),
    "labels_no_header": (EVAL + ["--calib", "{tmp}/img"], {"l.tsv": "a.png\t1\n"}, ("l.tsv", "header")),
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return F.write(F.tiny_classifier(), tmp_path_factory.mktemp("m") / "tiny.onnx")


@pytest.fixture
def no_calibration(monkeypatch):
    """Any calibration started is a failure of fail-fast: the refusal must come first."""
    import hwgen.api

    def refuse(*a, **k):
        raise AssertionError("calibration started before the input was checked")

    monkeypatch.setattr(hwgen.api, "collect_stats", refuse)
    monkeypatch.setattr(hwgen.api, "quantize", refuse)


def _lay_out(tmp: Path, files: dict) -> None:
    (tmp / "img").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp / "img" / "a.png")
    for rel, content in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2(name, tmp_path, capsys, tiny_model, no_calibration):
    argv, files, words = CASES[name]
    _lay_out(tmp_path, files)
    subst = {"model": str(tiny_model), "tmp": str(tmp_path), "cfg": str(tmp_path / "cfg.yaml"),
             "board": str(tmp_path / "board.yaml")}
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    try:
        code = main([a.format(**subst) for a in argv])
    except SystemExit as e:  # argparse's own exit, one line (hwgen.cli._Parser)
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "internal error" not in err and "Traceback" not in err
    assert out == ""
    for w in words:
        assert w in err, (w, err)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("section", ["defaults", "layers.conv1", "folding.conv1"])
def test_schema_refuses_a_wrong_value_for_every_key(section):
    """Every key of the configuration's schema has a declared type: a value of no allowed type is
    refused, naming the key's full path and the value."""
    from hwgen.errors import HwgenError
    from hwgen.schema import FOLDING, LAYER, SETTINGS, validate_config

    keys = {"defaults": SETTINGS, "layers.conv1": LAYER, "folding.conv1": FOLDING}[section]
    for key in keys:
        cfg: dict = {}
        node = cfg
        for part in section.split("."):
            node = node.setdefault(part, {})
        node[key] = {"nested": "mapping"}  # a mapping is no allowed value of any key
        with pytest.raises(HwgenError) as e:
            validate_config(cfg, "cfg.yaml")
        assert f"cfg.yaml: {section}.{key}: " in str(e.value) and "nested" in str(e.value)


def test_defaults_and_built_in_boards_satisfy_their_schemas():
    from hwgen.boards import board_names, load_board
    from hwgen.quant.config import DEFAULTS
    from hwgen.schema import SETTINGS, validate_config

    assert set(DEFAULTS) == set(SETTINGS)
    validate_config({"defaults": DEFAULTS}, "defaults")
    assert len([load_board(b) for b in board_names()]) >= 4


@needs_shared
@pytest.mark.parametrize("problem", ["existing_output", "bad_key", "bad_folding"])
def test_real_model_refusals_come_before_calibration(problem, tmp_path, capsys, no_calibration):
    """With the trained model and its calibration images (a minute of work), each refusal still
    comes before any image is read."""
    out = tmp_path / "out"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text({"existing_output": "{}", "bad_key": "defaults: {weight_bits: 8.5}",
                    "bad_folding": "folding: {conv1: {pe: 5}}"}[problem])
    if problem == "existing_output":
        out.mkdir()
    code = main(["generate", str(REAL_MODEL), "--calib", str(IMAGES / "calib"), "--config",
                 str(cfg), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
