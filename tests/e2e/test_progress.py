"""Progress bars (hwgen/progress.py): on a terminal's stderr, not under --json nor when stderr
is not a terminal, always with HWGEN_PROGRESS=1; a meaningless HWGEN_PROGRESS is refused."""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
import nets  # noqa: E402
from hwgen import progress  # noqa: E402
from hwgen.cli import main  # noqa: E402

CALIB_BARS = ("calibration statistics", "bias correction, weight rounding")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress")
    (root / "calib").mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
            root / "calib" / f"{i}.png")
    return nets.export(nets.reduced_squeezenet(16), (3, 32, 32), root / "sq.onnx"), root / "calib"


def _run(monkeypatch, argv, stderr: io.StringIO, env: str | None = None) -> tuple[int, str]:
    if env is None:
        monkeypatch.delenv(progress.ENV, raising=False)
    else:
        monkeypatch.setenv(progress.ENV, env)
    monkeypatch.setattr(sys, "stderr", stderr)
    return main(argv), stderr.getvalue()


def test_calibration_progress_on_a_terminal(model, monkeypatch, tmp_path):
    onnx, calib = model
    code, err = _run(monkeypatch, ["config", str(onnx), "--calib", str(calib), "-o",
                                   str(tmp_path / "c.yaml")], Terminal())
    assert code == 0
    for bar in CALIB_BARS:
        assert bar in err
    assert "layer/s" in err  # bias correction and weight rounding go layer by layer


@pytest.mark.parametrize("stderr,env,shown", [
    (Terminal, None, False),  # --json: quiet on a terminal too
    (io.StringIO, None, False),  # not a terminal
    (io.StringIO, "1", True),  # asked for
    (Terminal, "0", False),
])
def test_progress_policy(model, monkeypatch, capsys, stderr, env, shown):
    onnx, calib = model
    capsys.readouterr()
    code, err = _run(monkeypatch, ["estimate", str(onnx), "--calib", str(calib), "--json"],
                     stderr(), env)
    assert code == 0 and capsys.readouterr().out.lstrip().startswith("{")  # the JSON, unmixed
    assert (CALIB_BARS[0] in err) == shown


def test_bad_progress_setting(monkeypatch, capsys):
    code, err = _run(monkeypatch, ["inspect", "squeezenet1_1"], io.StringIO(), "yes")
    assert code == 2 and err.count("\n") == 1 and "HWGEN_PROGRESS='yes'" in err


def test_watch_shows_what_the_child_reports(monkeypatch):
    """csim, rtlsim and synth draw their bar from files their child process writes."""
    monkeypatch.setenv(progress.ENV, "1")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress.watch("Yosys", "pass", poll=lambda: (7, "ABC9 pass"), every=0.01):
        time.sleep(0.3)
    assert "Yosys" in err.getvalue() and "7pass" in err.getvalue().replace(" ", "")
    assert "ABC9 pass" in err.getvalue()
