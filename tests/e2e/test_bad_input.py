"""Bad input: one clear line on stderr naming what and where, exit status 2, no traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

import onnx_factory as F
from hwgen.cli import main

BAD = {
    "bad_grouped_conv": ("bad_conv", "Conv", "group=2"),
    "bad_dilated_conv": ("bad_conv", "Conv", "dilations"),
    "bad_concat_axis": ("bad_concat", "Concat", "axis=2"),
    "bad_dynamic_spatial": ("input", "dynamic", "fixed C, H and W"),
    "bad_rank3": ("input", "rank 3", "rank 4"),
    "bad_unknown_op": ("bad_op", "Erf", "supported: "),
    "empty_graph": ("no nodes", "", ""),
}


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("name", sorted(BAD))
def test_unsupported_graphs(tmp_path, capsys, name):
    path = F.write(F.BAD_MODELS[name](), tmp_path / f"{name}.onnx")
    code, err = run_cli(capsys, "inspect", path)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in BAD[name]:
        assert word in err, (word, err)


def test_missing_file(tmp_path, capsys):
    code, err = run_cli(capsys, "inspect", tmp_path / "nope.onnx")
    assert code == 2 and "no such model file" in err and "squeezenet1_1" in err


def test_truncated_file(tmp_path, capsys):
    data = F.torch_export("1_1", 13, dynamo=False).SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    code, err = run_cli(capsys, "inspect", path)
    assert code == 2 and str(path) in err and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"\x00\xff\x13garbage" * 100, b"name: not a model\n"])
def test_corrupt_or_not_onnx(tmp_path, capsys, content):
    path = tmp_path / "junk.onnx"
    path.write_bytes(content)
    code, err = run_cli(capsys, "inspect", path)
    assert code == 2 and str(path) in err and err.count("\n") == 1


def test_no_traceback_from_installed_cli(tmp_path):
    """End to end through a real process: the module entry point, as the console script runs."""
    path = F.write(F.bad_grouped_conv(), tmp_path / "g.onnx")
    proc = subprocess.run([sys.executable, "-m", "hwgen.cli", "inspect", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hwgen inspect: error: node 'bad_conv' (Conv)")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
