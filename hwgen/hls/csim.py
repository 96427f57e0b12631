"""C-simulation of a generated project: compile the testbench with g++ against the ap_types headers,
run it on N test vectors, and compare every output element with the golden model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import HwgenError
from ..toolchain import ap_types_include, cxx
from .project import PROJECT_FILE, Project

CXXFLAGS = ["-std=c++14", "-O2", "-DNDEBUG"]


@dataclass
class CsimResult:
    images: int
    mismatches: int
    compile_seconds: float
    seconds_per_image: float
    first_mismatch: str | None = None
    diverging_layer: str | None = None
    per_image: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"images": self.images, "mismatches": self.mismatches,
                "seconds_per_image": self.seconds_per_image,
                "compile_seconds": self.compile_seconds, "first_mismatch": self.first_mismatch,
                "diverging_layer": self.diverging_layer, "mismatches_per_image": self.per_image}


def _compile(project: Project, trace: bool) -> tuple[Path, float]:
    build = project.dir / "build"
    build.mkdir(exist_ok=True)
    exe = build / ("tb_trace" if trace else "tb")
    sources = [project.dir / "tb" / f"tb_{project.top}.cpp",
               project.dir / "firmware" / f"{project.top}.cpp"]
    newest = max(p.stat().st_mtime for p in (project.dir / "firmware").rglob("*") if p.is_file())
    if exe.is_file() and exe.stat().st_mtime > max(newest, sources[0].stat().st_mtime):
        return exe, 0.0
    cmd = [cxx(), *CXXFLAGS, f"-I{project.dir / 'firmware'}", f"-I{ap_types_include()}",
           *(["-DHWGEN_TRACE"] if trace else []), *map(str, sources), "-o", str(exe)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line),
                     proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?")
        raise HwgenError(f"{project.dir}: C-simulation build failed: {first}")
    return exe, time.perf_counter() - t


def run_csim(project_dir: str | Path, images: int = 1, trace: bool = False) -> CsimResult:
    project = Project.open(project_dir)
    if images < 1:
        raise HwgenError("--images must be at least 1")
    project.ensure_vectors(images)
    exe, compile_s = _compile(project, trace)
    data = project.dir / "tb" / "tb_data"
    for i in range(images):
        (data / f"output_{i}.bin").unlink(missing_ok=True)
    env = dict(os.environ, HWGEN_TRACE_DIR=str(project.dir / "build" / "trace"))
    if trace:
        shutil.rmtree(project.dir / "build" / "trace", ignore_errors=True)
        (project.dir / "build" / "trace").mkdir(parents=True)
    t = time.perf_counter()
    proc = subprocess.run([str(exe), str(data), str(images)], capture_output=True, text=True,
                          env=env, cwd=project.dir)
    run_s = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise HwgenError(f"{project.dir}: C-simulation crashed (exit {proc.returncode}): "
                         + (proc.stderr.strip().splitlines() or ["no output"])[-1])
    # compare in Python too: the testbench's own check must agree with ours
    per_image, first = [], None
    for i in range(images):
        out = data / f"output_{i}.bin"
        if not out.is_file():
            raise HwgenError(f"{project.dir}: the testbench wrote no output for image {i}")
        got = np.fromfile(out, dtype=np.int32)
        want = np.fromfile(data / f"expected_{i}.bin", dtype=np.int32)
        bad = np.flatnonzero(got != want) if got.shape == want.shape else np.arange(want.size)
        per_image.append(int(bad.size))
        if bad.size and first is None:
            k = int(bad[0])
            first = (f"image {i}, output {k}: got {got[k] if k < got.size else 'nothing'}, "
                     f"expected {want[k]}")
    mismatches = sum(per_image)
    if (mismatches == 0) != (proc.returncode == 0):
        raise HwgenError(f"{project.dir}: testbench and hwgen disagree about the result "
                         f"(testbench exit {proc.returncode}, {mismatches} mismatches)")
    result = CsimResult(images, mismatches, compile_s, run_s / images, first, None, per_image)
    if trace:
        result.diverging_layer = project.first_diverging_layer(project.dir / "build" / "trace",
                                                                images)
    return result


def result_json(result: CsimResult) -> str:
    return json.dumps(result.as_dict(), indent=2)


__all__ = ["run_csim", "CsimResult", "PROJECT_FILE"]
