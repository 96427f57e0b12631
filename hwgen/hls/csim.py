"""C-simulation of a generated project: compile the testbench with g++ against the ap_types headers,
run it on N test vectors, and compare every output element with the golden model."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import progress
from ..errors import HwgenError
from ..results import save as save_result
from ..toolchain import ap_types_include, cxx
from ..project import PROJECT_FILE, Project

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


def _digest_tree(h, root: Path, files) -> None:
    """Feed each file's path relative to ``root`` and its contents into ``h``, in sorted order."""
    for p in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        data = p.read_bytes()
        h.update(f"{p.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _compiler_id(compiler: str) -> list[str]:
    """The compiler as resolved on PATH and its --version line: a different g++ is a rebuild."""
    path = shutil.which(compiler) or compiler
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    except OSError as exc:
        raise HwgenError(f"{path}: cannot run the C++ compiler ({exc.strerror or exc})") from None
    return [path, (out.splitlines() or [""])[0]]


def _build_key(project: Project, cmd: list[str], sources: list[Path], ap_types: Path) -> str:
    """sha256 over everything that goes into the binary. Modification times are not trusted:
    git checkout, cp -p, rsync -t and unpacked archives restore old ones on new contents."""
    h = hashlib.sha256(json.dumps([*_compiler_id(cmd[0]), *cmd[1:]]).encode())
    _digest_tree(h, project.dir, [sources[0]] + [p for p in (project.dir / "firmware").rglob("*")
                                                 if p.is_file()])
    _digest_tree(h, ap_types, [p for p in ap_types.rglob("*") if p.is_file()])
    return h.hexdigest()


def _cached(exe: Path, sidecar: Path, key: str) -> bool:
    """Is ``exe`` a binary built from ``key``, intact (a 0-byte binary from an interrupted link, a
    replaced or truncated one is not) and executable?"""
    try:
        meta = json.loads(sidecar.read_text())
        return (meta.get("key") == key and exe.is_file() and os.access(exe, os.X_OK)
                and meta.get("sha256") == _sha256_file(exe))
    except (OSError, ValueError, AttributeError):
        return False


def _compile(project: Project, trace: bool) -> tuple[Path, float]:
    sources = [Path("tb") / f"tb_{project.top}.cpp", Path("firmware") / f"{project.top}.cpp"]
    for rel in (*sources, Path("firmware") / f"{project.top}.h"):
        if not (project.dir / rel).is_file():
            raise HwgenError(f"{project.dir / rel}: missing; broken project, regenerate it with "
                             "`hwgen generate`")
    build = project.dir / "build"
    build.mkdir(exist_ok=True)
    exe = build / ("tb_trace" if trace else "tb")
    sidecar = exe.with_name(exe.name + ".json")
    ap_types = ap_types_include()
    # relative paths, run inside the project: a copied or moved project keeps its key
    cmd = [cxx(), *CXXFLAGS, "-Ifirmware", f"-I{ap_types}",
           *(["-DHWGEN_TRACE"] if trace else []), *map(str, sources)]
    try:
        key = _build_key(project, cmd, [project.dir / s for s in sources], ap_types)
    except OSError as exc:
        raise HwgenError(f"{exc.filename}: unreadable ({exc.strerror})") from None
    if _cached(exe, sidecar, key):
        return exe, 0.0
    # link to a temporary name and move it into place: an interrupted build leaves no binary
    tmp = build / f".{exe.name}.{os.getpid()}.tmp"
    tmp_meta = build / f".{sidecar.name}.{os.getpid()}.tmp"
    t = time.perf_counter()
    try:
        try:  # its own process group, so that an interrupt can stop cc1plus and ld as well
            proc = subprocess.Popen([*cmd, "-o", str(tmp)], cwd=project.dir, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as exc:
            raise HwgenError(f"{cmd[0]}: cannot run the C++ compiler ({exc.strerror})") from None
        with proc:
            try:
                stderr = proc.communicate()[1]
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        if proc.returncode != 0:
            first = next((line for line in stderr.splitlines() if "error" in line),
                         stderr.strip().splitlines()[-1] if stderr.strip() else "?")
            raise HwgenError(f"{project.dir}: C-simulation build failed: {first}")
        os.replace(tmp, exe)
        # the sidecar last: interrupted before, the old sidecar's sha256 no longer matches
        tmp_meta.write_text(json.dumps({"key": key, "sha256": _sha256_file(exe)}))
        os.replace(tmp_meta, sidecar)
    except BaseException:  # a failed build, Ctrl-C, or SIGTERM (the CLI raises it as Terminated)
        tmp.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
        raise
    return exe, time.perf_counter() - t


def run_csim(project_dir: str | Path, images: int = 1, trace: bool = False) -> CsimResult:
    project = Project.open(project_dir)
    backend = project.meta.get("backend", "hls")
    if backend == "rtl":
        raise HwgenError(f"{project.dir}: an RTL project (generated with --backend rtl) has no "
                         "C++ to C-simulate; `hwgen rtlsim` simulates it")
    if backend != "hls":
        raise HwgenError(f"{project.dir}: unknown backend {backend!r} in {PROJECT_FILE}; "
                         "regenerate it with `hwgen generate`")
    if images < 1:
        raise HwgenError("--images must be at least 1")
    project.ensure_vectors(images)
    with progress.watch("C-simulation: compiling"):
        exe, compile_s = _compile(project, trace)
    data = project.dir / "tb" / "tb_data"
    for i in range(images):
        (data / f"output_{i}.bin").unlink(missing_ok=True)
    env = dict(os.environ, HWGEN_TRACE_DIR=str(project.dir / "build" / "trace"))
    if trace:
        shutil.rmtree(project.dir / "build" / "trace", ignore_errors=True)
        (project.dir / "build" / "trace").mkdir(parents=True)
    t = time.perf_counter()
    done = lambda: (sum((data / f"output_{i}.bin").is_file() for i in range(images)), "")  # noqa: E731
    try:
        with progress.watch("C-simulation", "img", images, done):
            proc = subprocess.run([str(exe), str(data), str(images)], capture_output=True,
                                  text=True, env=env, cwd=project.dir)
    except OSError as exc:  # e.g. made non-executable or replaced since the check above
        raise HwgenError(f"{exe}: cannot run the testbench ({exc.strerror or exc})") from None
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
    save_result(project.dir, "csim", result.as_dict())  # for hwgen report
    return result


def result_json(result: CsimResult) -> str:
    return json.dumps(result.as_dict(), indent=2)


__all__ = ["run_csim", "CsimResult", "PROJECT_FILE"]
