"""hwgen report and eval --html: the page of an HLS and an RTL project (a reduced SqueezeNet 1.1,
a sixteenth of the channels, 32x32), every figure on it read back against the project's own
report.json and saved results; the refusals; a headless Chromium rendering where Chromium is
installed."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
import nets  # noqa: E402
from hwgen.cli import main  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


class _Page(HTMLParser):
    """The text of every table cell, the element with id="bottleneck", the SVGs, any script,
    stylesheet link or external reference."""

    def __init__(self, html: str):
        super().__init__()
        self.cells, self.ids, self.external, self.svgs, self.scripts = [], {}, [], 0, 0
        self._cell, self._id = None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.svgs += tag == "svg"
        self.scripts += tag in ("script", "link", "iframe", "img")
        self.external += [v for k, v in attrs if k in ("src", "href", "xlink:href")
                          and v and not v.startswith("#")]
        if tag in ("td", "th"):
            self._cell = []
        if "id" in a and tag != "svg" and not tag.startswith(("g", "path", "clip")):
            self._id = a["id"]
            self.ids[self._id] = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._id is not None:
            self.ids[self._id] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None
        self._id = None


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """ROOT/hls: calibrated on three random images and C-simulated once; ROOT/rtl: uncalibrated;
    ROOT/calib, ROOT/labels.tsv: the images and their classes."""
    root = tmp_path_factory.mktemp("report")
    model = nets.export(nets.reduced_squeezenet(16), (3, 32, 32), root / "sq.onnx")
    calib = root / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(calib / f"{i}.png")
    (root / "labels.tsv").write_text("file\tlabel\n" + "".join(f"{i}.png\t{i}\n" for i in range(3)))
    assert main(["generate", str(model), "-o", str(root / "hls"), "--calib", str(calib),
                 "--vectors", "2"]) == 0
    assert main(["csim", str(root / "hls"), "--images", "2"]) == 0
    assert main(["generate", str(model), "--backend", "rtl", "-o", str(root / "rtl"),
                 "--vectors", "1"]) == 0
    return root


def _report(project: Path) -> dict:
    return json.loads((project / "report.json").read_text())


def _page(project: Path, capsys, *extra) -> tuple[Path, str]:
    capsys.readouterr()
    assert main(["report", str(project), *map(str, extra)]) == 0
    out = Path(extra[extra.index("-o") + 1]) if "-o" in extra else project / "report.html"
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    return out, out.read_text()


def _check_project_page(html: str, rep: dict) -> _Page:
    page = _Page(html)
    assert page.ids["bottleneck"] == rep["bottleneck"]
    assert f"{rep['bottleneck']} (bottleneck)" in page.cells  # its row in the layer table
    for layer in rep["layers"]:
        assert layer["name"] in page.cells, layer["name"]
    assert f"{rep['fps']:.1f}" in html and f"{rep['cycles_per_frame']:,}" in page.cells
    for key in ("lut", "ff", "dsp"):  # the totals against the budget
        assert f"{rep[key]:,}" in page.cells and f"{rep['budget'][key]:,.0f}" in page.cells
    assert page.svgs >= 4 and page.scripts == 0 and page.external == []  # self-contained
    return page


def test_hls_page(projects, capsys, tmp_path):
    hls = projects / "hls"
    rep = _report(hls)
    out, html = _page(hls, capsys, "-o", tmp_path / "page.html")
    page = _check_project_page(html, rep)
    calib = json.loads((hls / "results" / "calibration.json").read_text())
    assert [r["name"] for r in calib["layers"]] == [n["name"] for n in rep["layers"]]
    for r in calib["layers"]:  # the accuracy table: each layer's SNR and saturations
        i = page.cells.index(r["name"], page.cells.index("SNR dB"))
        snr = "exact" if r["snr_db"] == float("inf") else f"{r['snr_db']:.1f}"
        assert page.cells[i + 2] == snr and page.cells[i + 3] == f"{r['saturations']:,}"
    csim = json.loads((hls / "results" / "csim.json").read_text())
    assert csim["images"] == 2 and csim["mismatches"] == 0
    assert "C-simulation (no cycles)" in page.cells and "bit-exact" in html
    assert "Not calibrated" not in html
    # the same project gives the same bytes; the existing page is replaced only with --force
    assert main(["report", str(hls), "-o", str(out)]) == 2
    assert main(["report", str(hls), "-o", str(out), "--force"]) == 0
    assert out.read_text() == html


def test_rtl_page_with_measurements(projects, capsys, tmp_path):
    """Saved rtlsim and synth results (made up here, off the estimate) appear beside it."""
    rtl = tmp_path / "rtl"
    shutil.copytree(projects / "rtl", rtl)
    rep = _report(rtl)
    _, html = _page(rtl, capsys)
    assert "Not calibrated" in html and "hwgen synth" in html  # nothing measured yet
    _check_project_page(html, rep)

    cycles = rep["cycles_per_frame"] * 1.25 + 0.3  # not a whole number
    rtlsim = {"images": 1, "mismatches": 0, "cycles_per_frame": cycles, "latency_cycles": 12345,
              "fps": rep["clock_mhz"] * 1e6 / cycles, "model_error": rep["cycles_per_frame"] / cycles - 1,
              "ddr": {}, "sources": None}
    yosys = {k: int(rep["accelerator"][k] * 0.9) for k in ("lut", "ff", "dsp", "bram36")}
    synth = {**yosys, "fits": True, "over": [], "cap": rep["cap"], "yosys_version": "0.70",
             "seconds": 1.0, "estimate_ratio": {k: round(rep["accelerator"][k] / v, 3) if v
                                                else None for k, v in yosys.items()}}
    (rtl / "results").mkdir()
    (rtl / "results" / "rtlsim.json").write_text(json.dumps(rtlsim))
    (rtl / "results" / "synth.json").write_text(json.dumps(synth))
    _, html = _page(rtl, capsys, "--force")
    page = _check_project_page(html, rep)
    i = page.cells.index("RTL simulation")
    assert page.cells[i + 1: i + 4] == [f"{cycles:,.1f}", f"{rtlsim['fps']:.1f}", "12,345"]
    assert f"{100 * rtlsim['model_error']:+.1f}%" in html
    i = page.cells.index("Yosys (accelerator)")
    assert page.cells[page.cells.index("LUT", i) + 6] == f"{yosys['lut']:,}"
    assert "RTL simulation: " in html  # the measured cycles/frame drawn on the cycles plot


def test_eval_html(projects, capsys, tmp_path):
    out = tmp_path / "eval.html"
    args = ["eval", str(projects / "sq.onnx"), "--images", str(projects / "calib"), "--labels",
            str(projects / "labels.tsv"), "--calib", str(projects / "calib"), "--json"]
    capsys.readouterr()
    assert main([*args, "--html", str(out)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert captured.err.strip().endswith(f"wrote {out}")
    page = _Page(out.read_text())
    for r in result["layers"]:
        assert r["name"] in page.cells
    i = page.cells.index("fixed point (golden model)")
    assert page.cells[i + 1: i + 3] == [f"{result['fixed_top1']:.2f}", f"{result['fixed_top5']:.2f}"]
    assert "Cycles per layer" not in out.read_text()  # the accuracy part alone
    # a file hwgen did not write is refused before calibration, --force or not
    other = tmp_path / "notes.html"
    other.write_text("mine")
    assert main([*args, "--html", str(other), "--force"]) == 2
    assert other.read_text() == "mine"
    assert "was not written by hwgen" in capsys.readouterr().err


def _refused(capsys, argv, *keep: Path) -> str:
    before = {p: sorted(x.name for x in p.iterdir()) for p in keep}
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("hwgen report: error: ")
    assert {p: sorted(x.name for x in p.iterdir()) for p in keep} == before  # nothing written
    return err


def test_report_bad_input(projects, capsys, tmp_path):
    hls = projects / "hls"
    assert "no such folder" in _refused(capsys, ["report", str(tmp_path / "missing")], tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "not an hwgen project" in _refused(capsys, ["report", str(plain)], plain)
    # a project without its estimate
    broken = tmp_path / "broken"
    shutil.copytree(projects / "rtl", broken)
    (broken / "report.json").unlink()
    assert "report.json" in _refused(capsys, ["report", str(broken)], broken)
    # a corrupt saved result
    (broken / "report.json").write_text((projects / "rtl" / "report.json").read_text())
    (broken / "results").mkdir()
    (broken / "results" / "csim.json").write_text("[1, 2")
    assert "csim.json" in _refused(capsys, ["report", str(broken)], broken)
    # output files: a user's file is never replaced; no such folder; a folder
    mine = tmp_path / "mine.html"
    mine.write_text("<html>my notes</html>")
    for extra in ([], ["--force"]):
        assert "not written by hwgen" in _refused(
            capsys, ["report", str(hls), "-o", str(mine), *extra], tmp_path)
    assert mine.read_text() == "<html>my notes</html>"
    assert "no such folder" in _refused(
        capsys, ["report", str(hls), "-o", str(tmp_path / "nope" / "r.html")], tmp_path)
    assert "is a folder" in _refused(capsys, ["report", str(hls), "-o", str(plain)], plain)


@pytest.mark.chromium
@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is not installed (Debian: "
                    "apt-get install chromium); .ci/run installs it")
def test_page_renders_in_chromium(projects, capsys, tmp_path):
    rep = _report(projects / "hls")
    out, _ = _page(projects / "hls", capsys, "-o", tmp_path / "page.html")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    shot = tmp_path / "shot.png"

    def chromium(*args) -> str:
        profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
        proc = subprocess.run([str(CHROMIUM), *flags, f"--user-data-dir={profile}", *args,
                               out.as_uri()], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    chromium(f"--screenshot={shot}", "--window-size=1280,2000")
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20  # text and plots, not a blank page
    assert (pixels < 128).mean() > 0.02
    dom = chromium("--dump-dom")
    assert f'id="bottleneck">{rep["bottleneck"]}<' in dom
