"""The board flow of an RTL project, without Vivado or a board: vivado.tcl (hwgen/board_design.py,
the template both backends render) under stubbed Vivado commands -- the RTL packaged as the
accelerator IP (every source of rtl/sources.f and every $readmemh image added, the VLNV of the HLS
export), then the same block design as the HLS path, bitstream and .hwh -- and the PYNQ driver's
fake-board tests (tests/hls/test_driver.py) on an RTL project's project file."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

HLS_TESTS = Path(__file__).resolve().parents[1] / "hls"
if str(HLS_TESTS) not in sys.path:
    sys.path.insert(0, str(HLS_TESTS))

import nets  # noqa: E402
import onnx_factory as F  # noqa: E402
from hwgen import pynq_driver as drv  # noqa: E402
from hwgen.board_design import render_vivado_tcl, vivado_context  # noqa: E402
from hwgen.boards import load_board  # noqa: E402
from hwgen.cli import main  # noqa: E402
from hwgen.rtl.generate import HDL_DIR, LIBRARY, RTL_DIR, TOP  # noqa: E402
from hwgen.rtl.sim import lint  # noqa: E402
# the driver's tests that hold for any project without weights in DDR, re-run below on an RTL
# project (pytest collects them here with this module's ``project`` fixture)
from test_driver import (board, run_bringup,  # noqa: E402,F401
                         test_bringup_with_a_stalled_accelerator_fails_without_hanging,
                         test_dma_that_never_answers_raises_naming_the_stalled_side,
                         test_late_dma_within_timeout_returns_every_frame,
                         test_timeout_follows_the_projects_estimated_latency,
                         test_without_auto_restart_each_frame_is_started_and_acknowledged)

BASE_PATH = "/usr/bin:/bin"
FOLDING = "folding:\n  c1: {pe: 3, simd: 1}\n  c4: {pe: 6, simd: 2}\n"


def _meta(p: Path) -> dict:
    return json.loads((p / drv.PROJECT_FILE).read_text())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A small RTL project (6 x 16-bit outputs: a 96-bit word in two 64-bit beats)."""
    if shutil.which("tclsh") is None:
        pytest.fail("tclsh is needed to check the generated Tcl (apt-get install tcl)")
    root = tmp_path_factory.mktemp("rtl_viv")
    model = nets.export(nets.TinyCnn().eval(), (3, 17, 17), root / "tiny.onnx")
    (root / "cfg.yaml").write_text(FOLDING)
    out = root / "p"
    assert main(["generate", str(model), "--backend", "rtl", "--config", str(root / "cfg.yaml"),
                 "-o", str(out), "--vectors", "1"]) == 0
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 for the PYNQ-Z2 from the RTL backend (the optimiser's folding,
    some weights in DDR), two test vectors and a stand-in bitstream: what tests/hls/
    test_driver.py's tests take."""
    root = tmp_path_factory.mktemp("rtl_drv")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64), root / "sq64.onnx")
    out = root / "p"
    assert main(["generate", str(model), "--backend", "rtl", "--board", "pynq-z2", "-o",
                 str(out), "--vectors", "2"]) == 0
    bit = out / _meta(out)["stream"]["overlay"]
    bit.parent.mkdir(exist_ok=True)
    bit.write_bytes(b"bit")
    bit.with_suffix(".hwh").write_text("<hwh/>")
    return out


# ---- the project ------------------------------------------------------------------------------
def test_rtl_project_has_what_the_board_needs(tiny):
    meta = _meta(tiny)
    s = meta["stream"]
    assert meta["backend"] == "rtl" and meta["top"] == TOP
    assert s["overlay"] == f"overlay/{Path(s['overlay']).stem}.bit"
    assert {"pixel_input", "preprocess"} <= set(s)
    # DMA-facing widths, as the HLS top's: 3 x 8 bits in 32, 6 x 16 bits in two 64-bit beats
    assert (s["in"]["axi_bits"], s["in"]["beats"]) == (32, 1)
    assert (s["out"]["axi_bits"], s["out"]["beats"]) == (64, 2)
    assert {k: meta["ddr"][k] for k in ("file", "bytes", "addr64", "layers")} == \
        {"file": None, "bytes": 0, "addr64": False, "layers": []}
    assert (tiny / "driver" / "hwgen_driver.py").read_text() == Path(drv.__file__).read_text()
    assert (tiny / "driver" / "bringup.py").is_file() and (tiny / "vivado.tcl").is_file()
    assert json.loads((tiny / "report.json").read_text())["latency_ms"] > 0
    sources = (tiny / RTL_DIR / "sources.f").read_text().split()
    assert sources[-2:] == [f"{TOP}.sv", f"{TOP}_ip.v"] and "hdl/hwgen_control.sv" in sources


def test_top_and_wrapper_lint_clean_with_interface_attributes(tiny):
    rtl = tiny / RTL_DIR
    files = [HDL_DIR / f for f in LIBRARY] + [rtl / f"{TOP}.sv"]
    assert lint(files, TOP) == ""
    assert lint(files + [rtl / f"{TOP}_ip.v"], f"{TOP}_ip") == ""
    for f in (f"{TOP}.sv", f"{TOP}_ip.v"):
        text = (rtl / f).read_text()
        for intf, sig in (("in_r", "TDATA"), ("out_r", "TLAST"), ("s_axi_control", "AWADDR"),
                          ("s_axi_control", "RREADY")):
            kind = "aximm" if intf == "s_axi_control" else "axis"
            assert f'(* X_INTERFACE_INFO = "xilinx.com:interface:{kind}:1.0 {intf} {sig}" *)' \
                in text, (f, intf, sig)
        assert ('X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axi_control:in_r:out_r, '
                'ASSOCIATED_RESET ap_rst_n, FREQ_HZ 100000000"') in text
        assert 'X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW"' in text
        assert 'X_INTERFACE_PARAMETER = "PROTOCOL AXI4LITE, DATA_WIDTH 32, ADDR_WIDTH 4"' in text
    top = (rtl / f"{TOP}.sv").read_text()
    # the ROM images through MEM_DIR (vivado.tcl gives it as an absolute path)
    assert 'parameter MEM_DIR = "./"' in top and '.W_FILE({MEM_DIR, "mem/u_c3_w.mem"})' in top


# ---- vivado.tcl under stubs -------------------------------------------------------------------
# every vendor command records its call (as tests/hls/test_tcl.py's stubs), ipx:: included
VIVADO_STUBS = r"""
set calls {}
foreach cmd {create_project open_project close_project set_property current_project
             current_fileset update_ip_catalog create_bd_design create_bd_cell get_bd_pins
             get_bd_intf_pins connect_bd_net connect_bd_intf_net apply_bd_automation
             assign_bd_address validate_bd_design save_bd_design get_files generate_target
             make_wrapper add_files update_compile_order reset_run launch_runs wait_on_run
             get_runs get_board_parts set_msg_config} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]; return [lindex $args end]} $cmd]
}
namespace eval ipx {}
foreach cmd {package_project create_xgui_files update_checksums check_integrity save_core} {
    proc ipx::$cmd {args} [format {lappend ::calls [list ipx::%s {*}$args]} $cmd]
}
proc ipx::current_core {} { return core0 }
# the block design's address map: the control slave in the PS's space, a segment in every master's
proc get_bd_addr_spaces {args} { lappend ::calls [list get_bd_addr_spaces {*}$args]; return space }
proc get_bd_addr_segs {args} {
    lappend ::calls [list get_bd_addr_segs {*}$args]
    if {[info exists ::env(NO_SEGMENT)] && [string match *$::env(NO_SEGMENT)* $args]} { return {} }
    return seg
}
proc get_ipdefs {args} { return [list [string map {* 7.1} [lindex $args end]]] }
proc get_param {name} { return {} }
proc get_property {prop args} {
    lappend ::calls [list get_property $prop {*}$args]
    switch -- $prop {
        PROGRESS { return 100% }
        DIRECTORY { return $::env(RUNDIR) }
        STATS.WNS { return 0.25 }
        STATS.WHS { return 0.03 }
        STATS.TNS { return 0.0 }
        STATS.THS { return 0.0 }
        CONFIG.TDATA_NUM_BYTES {
            if {[string match *Slave* $args]} { return $::env(IN_BYTES) } else { return $::env(OUT_BYTES) }
        }
        default { return "" }
    }
}
proc dump {} { foreach c $::calls { puts $c } }
rename exit _exit
proc exit {{code 0}} { dump; _exit $code }
set argv $::env(STEPS)
set argc [llength $argv]
if {[catch {source $::env(SCRIPT)} err]} { dump; puts stderr $err; _exit 1 }
"""


def _workspace(project: Path, work: Path, tcl: str | None = None) -> Path:
    """``work``: a copy of the project's vivado.tcl (or ``tcl``) and rtl/, with the bitstream and
    .hwh where Vivado's runs leave them; the implementation run's folder."""
    work.mkdir()
    (work / "vivado.tcl").write_text(tcl if tcl is not None else
                                     (project / "vivado.tcl").read_text())
    shutil.copytree(project / RTL_DIR, work / RTL_DIR)
    name = Path(_meta(project)["stream"]["overlay"]).stem
    (work / "ip").mkdir()
    (work / "ip" / f"{name}.zip").write_bytes(b"PK")  # for the HLS rendering only
    run = work / "vivado_prj" / f"{name}_vivado.runs" / "impl_1"
    run.mkdir(parents=True)
    (run / "hwgen_bd_wrapper.bit").write_bytes(b"bit")
    hh = work / "vivado_prj" / f"{name}_vivado.gen/sources_1/bd/hwgen_bd/hw_handoff"
    hh.mkdir(parents=True)
    (hh / "hwgen_bd.hwh").write_text("<hwh/>")
    return run


def _run(project: Path, work: Path, steps: str = "", tcl: str | None = None, **extra_env):
    run = _workspace(project, work, tcl)
    stub = work.parent / f"{work.name}_stub.tcl"
    stub.write_text(VIVADO_STUBS)
    s = _meta(project)["stream"]
    env = {"STEPS": steps, "SCRIPT": str(work / "vivado.tcl"), "RUNDIR": str(run),
           "IN_BYTES": str(s["in"]["axi_bits"] // 8), "OUT_BYTES": str(s["out"]["axi_bits"] // 8),
           "PATH": BASE_PATH, **extra_env}
    proc = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True, env=env)
    return proc, proc.stdout.splitlines()


def _between(lines, first: str, last: str) -> list[str]:
    i = next(k for k, ln in enumerate(lines) if ln.startswith(first))
    j = next(k for k, ln in enumerate(lines) if ln.startswith(last))
    return lines[i:j + 1]


def test_rtl_packaged_as_the_accelerator_ip(tiny, tmp_path):
    proc, lines = _run(tiny, tmp_path / "w", "bd")
    assert proc.returncode == 0, proc.stderr
    w = tmp_path / "w"
    rtl = w / RTL_DIR
    name = Path(_meta(tiny)["stream"]["overlay"]).stem
    # a packaging project first, closed before the design's project
    pack = _between(lines, f"create_project -force {name}_ip {w}/ip/package_prj", "close_project")
    main_prj = next(i for i, ln in enumerate(lines) if ln.startswith(f"create_project -force "
                                                                      f"{name}_vivado"))
    assert lines.index(pack[-1]) < main_prj
    adds = [ln.split()[2:] for ln in pack if ln.startswith("add_files -norecurse")]
    added = [p.strip("{}") for a in adds for p in a]  # a Tcl list of files per add_files
    sources = [str(rtl / f) for f in (tiny / RTL_DIR / "sources.f").read_text().split()]
    mems = sorted(str(p) for p in (rtl / "mem").glob("*.mem"))
    assert mems and added == sources + mems  # every source in compile order, every ROM image
    assert any(ln.startswith(f"set_property top {TOP}_ip") for ln in pack)
    pkg = next(ln for ln in pack if ln.startswith("ipx::package_project"))
    assert f"-root_dir {w}/ip/repo/{TOP}" in pkg and "-vendor hwgen -library hwgen" in pkg
    assert f"set_property name {TOP} core0" in pack and "set_property version 1.0 core0" in pack
    assert "ipx::save_core core0" in pack
    # the design's project takes the packaged IP; no Vitis export is looked for
    text = "\n".join(lines)
    assert f"set_property ip_repo_paths {w}/ip/repo" in text and "-add_ip" not in text
    assert f"create_bd_cell -type ip -vlnv hwgen:hwgen:{TOP}:1.0 {TOP}_0" in lines
    # the $readmemh images by absolute path
    assert f"set_property CONFIG.MEM_DIR {rtl}/ {TOP}_0" in lines
    # a missing source stops the script before anything is packaged
    (tmp_path / "bad").mkdir()
    bad = tmp_path / "bad" / "p"
    shutil.copytree(tiny, bad)
    (bad / RTL_DIR / "hdl" / "hwgen_control.sv").unlink()
    proc, lines = _run(bad, tmp_path / "bad" / "w", "bd")
    assert proc.returncode != 0 and "hwgen_control.sv (listed in" in proc.stderr
    assert not any(ln.startswith("ipx::") for ln in lines)
    # so does a missing weight image (Vivado would leave that ROM at zero), and the main
    # project makes an unopened $readmemh an error
    assert "set_msg_config -id {Synth 8-4445} -new_severity ERROR" in text
    (tmp_path / "nomem").mkdir()
    bad = tmp_path / "nomem" / "p"
    shutil.copytree(tiny, bad)
    gone = sorted((bad / RTL_DIR / "mem").glob("*.mem"))[0]
    gone.unlink()
    proc, lines = _run(bad, tmp_path / "nomem" / "w", "bd")
    assert proc.returncode != 0 and f"{gone.name} (a weight image of the RTL top)" in proc.stderr
    assert not any(ln.startswith("ipx::") for ln in lines)


def test_unmapped_control_stops_the_block_design(tiny, tmp_path):
    """After assign_bd_address the control slave must have an address in the PS's space."""
    proc, lines = _run(tiny, tmp_path / "ok", "bd")
    assert proc.returncode == 0, proc.stderr
    assert any(ln.startswith("get_bd_addr_segs -quiet -of_objects space -filter") for ln in lines)
    proc, lines = _run(tiny, tmp_path / "w", "bd", NO_SEGMENT="*hwgen_top_0*")
    assert proc.returncode != 0
    assert f"{TOP}_0/s_axi_control has no address in ps/Data" in proc.stderr
    assert not any(ln.startswith("save_bd_design") for ln in lines)


def test_block_design_and_bitstream_same_as_the_hls_path(tiny, tmp_path):
    """The RTL rendering's block design is the HLS rendering's for the same design, but for the
    MEM_DIR of the cell and the check of the packaged IP's address map; the full run writes the
    overlay and the build report."""
    proc, rtl_lines = _run(tiny, tmp_path / "rtl")
    assert proc.returncode == 0, proc.stderr
    board = load_board(_meta(tiny)["board"])
    s = _meta(tiny)["stream"]
    ctx = vivado_context(board, Path(s["overlay"]).stem, TOP, s["in"]["axi_bits"],
                         s["out"]["axi_bits"], "0.1.0", rtl_dir=RTL_DIR)
    proc, hls_lines = _run(tiny, tmp_path / "hls", tcl=render_vivado_tcl(ctx, "hls"))
    assert proc.returncode == 0, proc.stderr

    def bd(lines):
        return [ln for ln in _between(lines, "create_bd_design", "save_bd_design")
                if "CONFIG.MEM_DIR" not in ln
                and not ln.startswith(("get_bd_addr_s", "get_bd_intf_pins -quiet"))]

    assert bd(rtl_lines) == [ln.replace(str(tmp_path / "hls"), str(tmp_path / "rtl"))
                             for ln in bd(hls_lines)]
    for want in ("connect_bd_intf_net axi_dma_0/M_AXIS_MM2S", "axi_dma_0/S_AXIS_S2MM",
                 f"ctrl_interconnect/M00_AXI {TOP}_0/s_axi_control",
                 "mem_interconnect/M00_AXI ps/S_AXI_HP0"):
        assert any(want in ln for ln in rtl_lines), want
    dma = next(ln for ln in rtl_lines if "c_include_sg" in ln)
    assert "c_m_axis_mm2s_tdata_width 32" in dma and "c_s_axis_s2mm_tdata_width 64" in dma
    name = Path(s["overlay"]).stem
    over = tmp_path / "rtl" / "overlay"
    assert (over / f"{name}.bit").read_bytes() == b"bit"
    assert (over / f"{name}.hwh").read_text() == "<hwh/>"
    rep = json.loads((over / "build_report.json").read_text())
    assert rep["timing_met"] and rep["bitstream"] == f"overlay/{name}.bit"
    assert any(ln.startswith("launch_runs impl_1 -to_step write_bitstream") for ln in rtl_lines)


def test_board_templates_ship_in_the_wheel(tmp_path):
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp_path)], check=True,
                   capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("hwgen-*.whl"))).namelist())
    assert {"hwgen/board_design.py", "hwgen/board_templates/vivado.tcl.j2",
            "hwgen/rtl/board.py", "hwgen/rtl/templates/top_ip.v.j2",
            "hwgen/rtl/hdl/hwgen_control.sv"} <= names


def test_build_bitstream_needs_only_vivado(tiny, tmp_path):
    """scripts/build_bitstream.sh on an RTL project: no HLS tool wanted or run, vivado.tcl run."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_bitstream.sh"
    proj = tmp_path / "proj"
    shutil.copytree(tiny, proj)
    bindir, log = tmp_path / "bin", tmp_path / "log"
    bindir.mkdir()
    (bindir / "vivado").write_text(f'#!/bin/sh\necho "vivado $* in $(pwd)" >> {log}\n'
                                   "mkdir -p overlay && touch overlay/x.bit overlay/x.hwh\n")
    (bindir / "vivado").chmod(0o755)
    proc = subprocess.run(["bash", str(script), str(proj)], capture_output=True, text=True,
                          env={"PATH": f"{bindir}:{BASE_PATH}"})
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and "-source vivado.tcl" in calls[0] and calls[0].endswith(str(proj))
    assert "no HLS step" in proc.stdout
    # without vivado: the one missing tool named, no Vitis asked for
    proc = subprocess.run(["bash", str(script), str(proj)], capture_output=True, text=True,
                          env={"PATH": BASE_PATH})
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "build_bitstream: 'vivado' not found on PATH (source the Vivado settings64.sh)"]


# ---- the PYNQ driver on an RTL project --------------------------------------------------------
def test_driver_finds_the_rtl_accelerator_and_streams_frames(project, board):
    """The RTL project's meta drives the same driver: the accelerator found by the packaged IP's
    VLNV, the weight pointers written at the project's registers, frames streamed back to back
    with one ap_start | auto_restart."""
    fake = board(latency=0.02, interval=0.004)
    ov = drv.HwgenOverlay(project, timeout_s=1.0)
    assert ov.ip is not None and ov.dma is not None
    data = project / "tb" / "tb_data"
    xs = [np.fromfile(data / f"input_{i}.bin", dtype=np.int32) for i in range(2)]
    ys = [np.fromfile(data / f"expected_{i}.bin", dtype=np.int32) for i in range(2)]
    got, stats = ov.infer_batch([xs[0], xs[1], xs[0], xs[1]])
    assert all(np.array_equal(g, ys[k % 2]) for k, g in enumerate(got))
    ctrl = [e[2] for e in fake.log if e[0] == "write" and e[1] == 0]
    assert ctrl == [drv.AP_START | drv.AUTO_RESTART]  # once, in setup()
    ddr = _meta(project)["ddr"]
    assert ddr["layers"] and not ddr["addr64"]
    pointers = [e[1] for e in fake.log if e[0] == "write" and e[1] != 0]
    assert pointers == [d["register"] for d in ddr["layers"]]
    assert stats["frames"] == 4 and stats["fps_steady"] > stats["fps"]


def test_rtl_bringup_passes(project, board, run_bringup, capsys):
    fake = board(latency=0.01, interval=0.002)
    assert run_bringup(project, "--timeout", "1", "--batch", "4") == 0
    out = capsys.readouterr().out
    for line in ("PASS  project files", "PASS  AXI DMA present", f"PASS  {TOP} IP present",
                 "PASS  vector 0", "PASS  vector 1", "PASS  batch of 4"):
        assert line in out, out
    assert "weights in DDR" in out and out.strip().endswith("BRING-UP PASS")
    assert fake.frames_out == 1 + 2 + 4
