"""``hwgen report`` and ``hwgen eval --html``: one self-contained HTML page (inline SVG plots,
inline CSS, no script, nothing fetched), rendered from ``templates/page.html.j2``.

A project's page takes every figure from the project itself: ``report.json`` (the estimate
generate wrote), ``hwgen_project.json`` and the results csim, rtlsim, synth and generate's
calibration saved (hwgen.results). An existing page is replaced only with ``--force``, and
only if hwgen wrote it (the generator meta tag), as generate treats project folders.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import jinja2

from .. import __version__
from ..errors import HwgenError
from ..outfile import check_output_file
from ..project import Project
from ..results import load as load_results
from . import plots

REPORT_FILE = "report.json"
PAGE_FILE = "report.html"  # a project's page, by default
GENERATOR = f"hwgen {__version__}"
MARK = '<meta name="generator" content="hwgen'  # what makes a file one of ours


def is_page(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return MARK in f.read(4096)
    except OSError:
        return False


def check_page_output(path: Path, force: bool) -> None:
    check_output_file(path, force, ours=is_page)


def open_project(project_dir: str | Path) -> tuple[Project, dict]:
    """The project and its estimate, refused in one line when either is missing."""
    d = Path(project_dir)
    if not d.is_dir():
        raise HwgenError(f"{d}: no such folder; give a project folder written by hwgen generate")
    project = Project.open(d)
    try:
        report = json.loads((project.dir / REPORT_FILE).read_text())
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("layers"), list):
        raise HwgenError(f"{project.dir}: no readable {REPORT_FILE} (the estimate hwgen "
                         "generate writes); regenerate the project")
    return project, report


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("hwgen.htmlpage", "templates"),
                             undefined=jinja2.StrictUndefined, autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["count"] = plots.fmt_count
    env.globals["inf"] = math.inf
    return env


def _render(**ctx) -> str:
    return _env().get_template("page.html.j2").render(generator=GENERATOR, **ctx)


def accuracy_context(layers: list[dict], source: str) -> dict:
    return {"layers": layers, "source": source, "plot": plots.accuracy_plot(layers),
            "worst": min(layers, key=lambda r: r["snr_db"])["name"] if layers else None}


def project_page(project_dir: str | Path) -> str:
    project, rep = open_project(project_dir)
    results = load_results(project.dir)
    meta, layers = project.meta, rep["layers"]
    backend = meta.get("backend", "hls")  # HLS projects from before the RTL backend name none
    rtlsim, synth = results.get("rtlsim"), results.get("synth")
    calib = results.get("calibration")
    return _render(
        title=f"{meta.get('model', project.dir.name)}: {backend.upper()} project for "
              f"{rep['board']}",
        project=str(project.dir), backend=backend, report=rep, layers=layers,
        resources=plots.RESOURCES,
        cycles_plot=plots.cycles_plot(layers, rep["bottleneck"], rep["clock_mhz"],
                                      rtlsim["cycles_per_frame"] if rtlsim else None),
        budget_plot=plots.budget_plot(rep, synth),
        layer_resources_plot=plots.layer_resources_plot(layers),
        weights_plot=plots.weights_plot(layers) if any(r.get("weights") for r in layers)
        else None,
        csim=results.get("csim"), rtlsim=rtlsim, synth=synth,
        accuracy=accuracy_context(calib["layers"], calib["source"]) if calib else None,
        evaluation=None)


def eval_page(result: dict) -> str:
    """The accuracy part alone, for ``hwgen eval --html``."""
    return _render(title=f"{result['model']}: float vs fixed point on {result['images']} images",
                   project=None, evaluation=result,
                   accuracy=accuracy_context(result["layers"], f"{result['images']} labelled "
                                             "images (hwgen eval)"))
