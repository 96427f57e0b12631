"""Shared test helpers: float references from onnxruntime, random inputs, the shared data."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

SHARED = Path(os.environ.get("HWGEN_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REAL_MODEL = SHARED / "models" / "squeezenet1.1-caffe2-fp16.onnx"
IMAGES = SHARED / "data" / "imagenet-sample"

# Outside CI a checkout without the shared data skips these; in CI (CI=true) missing data fails.
needs_shared = pytest.mark.skipif(not REAL_MODEL.is_file() and not os.environ.get("CI"),
                                  reason=f"shared data not found at {SHARED}")


def ort_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    s = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x[None].astype(np.float32)})[0]


def random_input(shape, seed=0, scale=1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def vivado_workspace(project: Path, work: Path) -> Path:
    """``work`` laid out as vivado.tcl finds it after the vendor tools ran (the HLS IP's zip, the
    implementation run's bitstream, the block design's .hwh), for running the Tcl under stubs;
    returns the run folder."""
    work.mkdir()
    shutil.copy(project / "vivado.tcl", work / "vivado.tcl")
    meta = json.loads((project / "hwgen_project.json").read_text())
    name = Path(meta["stream"]["overlay"]).stem
    (work / "ip").mkdir()
    (work / "ip" / f"{name}.zip").write_bytes(b"PK")
    rundir = work / "vivado_prj" / f"{name}_vivado.runs" / "impl_1"
    rundir.mkdir(parents=True)
    (rundir / "hwgen_bd_wrapper.bit").write_bytes(b"bit")
    hh = work / "vivado_prj" / f"{name}_vivado.gen/sources_1/bd/hwgen_bd/hw_handoff"
    hh.mkdir(parents=True)
    (hh / "hwgen_bd.hwh").write_text("<hwh/>")
    return rundir


def rtlsim_bit_exact(out: Path, capsys, images: int = 2, tolerance: float = 0.10) -> dict:
    """``hwgen rtlsim OUT --json`` on ``images`` images: bit-exact (gaps and backpressure
    included) and its cycles per frame within ``tolerance`` of the estimate; returns its JSON."""
    from hwgen.cli import main  # noqa: PLC0415

    capsys.readouterr()
    assert main(["rtlsim", str(out), "--images", str(images), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    print("rtlsim:", json.dumps(d))
    assert d["images"] == images and d["mismatches"] == 0 and d["stress_frames"] == 2
    est = d["estimated_cycles_per_frame"]
    assert abs(d["cycles_per_frame"] - est) <= tolerance * est, d
    return d
