"""The generated Vitis HLS and Vivado Tcl under stubbed vendor commands (tclsh records every vendor
call), and scripts/build_bitstream.sh with fake tools: which steps reset the HLS project, the
design's -DNDEBUG, the steps as vitis-run and vitis_hls pass them, board files, the DMA's widths,
timing after routing and the build report."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import onnx_factory as F
from helpers import vivado_workspace
from hwgen.cli import main
from hwgen.hls.generate import FIRE_DIRS

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build_bitstream.sh"
BASE_PATH = "/usr/bin:/bin"
BOARD_PART = "tul.com.tw:pynq-z2:part0:1.0"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 for the PYNQ-Z2 (weights partly in DDR), generated once."""
    if shutil.which("tclsh") is None:
        pytest.fail("tclsh is needed to check the generated Tcl (apt-get install tcl)")
    root = tmp_path_factory.mktemp("tcl")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64), root / "sq64.onnx")
    out = root / "p"
    assert main(["generate", str(model), "-o", str(out), "--vectors", "1"]) == 0
    return out


def _name(project: Path) -> str:
    return Path(json.loads((project / "hwgen_project.json").read_text())["stream"]["overlay"]).stem


# ---- build_prj.tcl ---------------------------------------------------------------------------
# ARGV is the Tcl list the launcher leaves in argv; every vendor command records its call.
HLS_STUBS = r"""
set calls {}
foreach cmd {open_project set_top add_files open_solution set_part create_clock config_compile
             config_export config_interface config_cosim csim_design csynth_design cosim_design
             export_design close_project} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]} $cmd]
}
proc dump {} { foreach c $::calls { puts $c } }
rename exit _exit
proc exit {{code 0}} { dump; _exit $code }
set argv $::env(ARGV)
set argc [llength $argv]
if {[catch {source $::env(SCRIPT)} err]} { dump; puts stderr $err; _exit 1 }
"""


def _run_hls(project: Path, tmp: Path, argv: str = "", env: dict | None = None,
             prj_exists: bool = True):
    work = tmp / "hls"
    work.mkdir(exist_ok=True)
    shutil.copy(project / "build_prj.tcl", work / "build_prj.tcl")
    for sub in FIRE_DIRS:
        if (project / sub).is_dir():
            (work / sub).mkdir(exist_ok=True)
            shutil.copy(project / sub / "build_prj.tcl", work / sub / "build_prj.tcl")
    if prj_exists:
        (work / f"{_name(project)}_prj").mkdir(exist_ok=True)
    stub = tmp / "hls_stub.tcl"
    stub.write_text(HLS_STUBS)
    script = str(work / "build_prj.tcl")
    e = {"ARGV": argv.replace("{script}", script), "SCRIPT": script, "PATH": BASE_PATH}
    e.update(env or {})
    proc = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True, env=e)
    return proc, proc.stdout.splitlines()


def _cmd(lines, name):
    return [ln for ln in lines if ln.split()[0] == name]


def test_only_synth_resets_the_project(project, tmp_path):
    """A synthesis takes hours: only the synth step starts afresh (csim alone keeps it)."""
    for steps in ("cosim", "export", "cosim export", "csim"):
        proc, lines = _run_hls(project, tmp_path, steps)
        assert proc.returncode == 0, proc.stderr
        assert _cmd(lines, "open_project") == [f"open_project {_name(project)}_prj"], lines
        assert "-reset" not in " ".join(_cmd(lines, "open_solution")), lines
        assert not _cmd(lines, "csynth_design")
        assert bool(_cmd(lines, "csim_design")) == (steps == "csim")
    proc, lines = _run_hls(project, tmp_path, "cosim")
    assert [ln.split()[0] for ln in lines if ln.endswith("_design") or "_design " in ln] == \
        ["cosim_design"]
    for steps in ("synth", "csim synth", "synth export", ""):  # as vitis_hls -f -tclargs passes them
        proc, lines = _run_hls(project, tmp_path, steps)
        assert proc.returncode == 0, proc.stderr
        assert _cmd(lines, "open_project") == [f"open_project -reset {_name(project)}_prj"]
        assert _cmd(lines, "open_solution")[0].startswith("open_solution -reset solution1")
        designs = [ln.split()[0] for ln in lines if ln.split()[0].endswith("_design")]
        assert designs == ([f"{s}_design".replace("synth_", "csynth_") for s in steps.split()]
                           or ["csim_design", "csynth_design", "export_design"])
    # co-simulating before any synthesis: one clear message
    (tmp_path / "none").mkdir()
    proc, _ = _run_hls(project, tmp_path / "none", "cosim", prj_exists=False)
    assert proc.returncode != 0 and "run the synth step first" in proc.stderr


def test_design_files_get_ndebug_like_the_testbench(project, tmp_path):
    proc, lines = _run_hls(project, tmp_path, "csim synth")
    assert proc.returncode == 0, proc.stderr
    design = [ln for ln in _cmd(lines, "add_files") if "firmware/hwgen_top.cpp" in ln]
    tb = [ln for ln in _cmd(lines, "add_files") if "tb/tb_hwgen_top.cpp" in ln]
    assert len(design) == 1 and len(tb) == 1 and "-DNDEBUG" in tb[0]
    cflags = design[0].split("-cflags", 1)[1]
    assert "-DNDEBUG" in cflags.split("-csimflags")[0], design
    csim = design[0].split("-csimflags", 1)[1]
    assert "-DNDEBUG" in csim, design
    # Vitis' C-simulation runs the synthesis arithmetic, in the design and the testbench alike
    assert "-DHWGEN_CSIM_NATIVE=0" in csim and "-DHWGEN_CSIM_NATIVE=0" in tb[0], (design, tb)
    assert "csim_design -argv {tb_data 1}" in lines


@pytest.mark.parametrize("argv,env,expected", [
    # vitis-run --mode hls --tcl build_prj.tcl: the steps in HWGEN_HLS_STEPS, argv empty ...
    ("", {"HWGEN_HLS_STEPS": "synth export"}, ["csynth_design", "export_design"]),
    # ... or argv holding the launcher's own words (the script's path, options)
    ("{script}", {"HWGEN_HLS_STEPS": "synth,export"}, ["csynth_design", "export_design"]),
    ("--mode hls --tcl {script}", {}, ["csim_design", "csynth_design", "export_design"]),
    ("--mode hls --tcl {script} --tclargs cosim", {}, ["cosim_design"])])
def test_steps_as_vitis_run_and_vitis_hls_pass_them(project, tmp_path, argv, env, expected):
    proc, lines = _run_hls(project, tmp_path, argv, env)
    assert proc.returncode == 0, proc.stderr
    assert [ln.split()[0] for ln in lines if ln.split()[0].endswith("_design")] == expected


def test_cosim_small_step_cosimulates_single_fires_in_their_own_projects(project, tmp_path):
    """cosim_small runs each Fire sub-project (top hwgen_fire; one with weights on chip, one with
    weights in DDR): C-sim, synthesis and co-simulation there, each closing its project, then
    reopens the network's project for the steps after it."""
    fires = [json.loads((project / d / "hwgen_project.json").read_text()) for d in FIRE_DIRS]
    proc, lines = _run_hls(project, tmp_path, "", {"HWGEN_HLS_STEPS": "cosim_small export"})
    assert proc.returncode == 0, proc.stderr
    heads = [ln.split()[0] for ln in lines]
    name = _name(project)
    opens = _cmd(lines, "open_project")
    assert opens[0] == f"open_project {name}_prj"  # not reset: cosim_small keeps a synthesis
    assert opens[1:3] == [f"open_project -reset {f['model']}_prj" for f in fires]
    assert opens[3] == f"open_project {name}_prj"  # back for export
    assert lines.count("set_top hwgen_fire") == 2
    first, last = heads.index("close_project"), len(heads) - 1 - heads[::-1].index("open_project")
    inner = heads[first:last]
    assert inner.count("close_project") == 3  # the network's, then each Fire's own
    assert inner.count("csim_design") == inner.count("csynth_design") == 2
    assert inner.count("cosim_design") == 2 and heads[last:].count("export_design") == 1
    # the default run: C-sim, synthesis, export; no co-simulation at all
    proc, lines = _run_hls(project, tmp_path, "")
    assert [ln.split()[0] for ln in lines if ln.split()[0].endswith("_design")] == [
        "csim_design", "csynth_design", "export_design"]


@pytest.mark.parametrize("folder", sorted(FIRE_DIRS))
def test_fire_subprojects_are_bit_exact_in_csim(project, folder):
    from hwgen.hls.csim import run_csim

    fire = project / folder
    meta = json.loads((fire / "hwgen_project.json").read_text())
    assert meta["top"] == "hwgen_fire" and meta["part_of"] and meta["fire"].startswith("fire")
    rep = json.loads((project / "report.json").read_text())
    own = [r for r in rep["layers"] if r["name"].startswith(meta["fire"] + "/")]
    assert len(own) == 4
    assert any(r["weights"] == "ddr" for r in own) == FIRE_DIRS[folder]
    assert (fire / "ddr_weights.bin").is_file() == FIRE_DIRS[folder]
    assert run_csim(fire, images=1).mismatches == 0


# ---- vivado.tcl -----------------------------------------------------------------------------
VIVADO_STUBS = r"""
set calls {}
set installed 0
foreach cmd {create_project open_project set_property current_project current_fileset
             update_ip_catalog create_bd_design create_bd_cell get_bd_pins get_bd_intf_pins
             connect_bd_net connect_bd_intf_net apply_bd_automation assign_bd_address
             validate_bd_design save_bd_design get_files generate_target make_wrapper add_files
             update_compile_order reset_run launch_runs wait_on_run get_runs} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]; return [lindex $args end]} $cmd]
}
proc get_ipdefs {args} { return [list [string map {* 7.1} [lindex $args end]]] }
proc get_board_parts {args} {
    lappend ::calls [list get_board_parts {*}$args]
    if {$::env(BOARD) eq "present" || $::installed} { return [lindex $args end] }
    return {}
}
proc get_param {name} { return {} }
proc set_param {args} {
    lappend ::calls [list set_param {*}$args]
    if {$::env(BOARD) eq "repo"} { set ::installed 1 }
}
namespace eval xhub {}
proc xhub::refresh_catalog {args} { lappend ::calls [list xhub::refresh_catalog {*}$args] }
proc xhub::get_xstores {args} { lappend ::calls [list xhub::get_xstores {*}$args]; return xilinx_board_store }
proc xhub::get_xitems {args} {
    lappend ::calls [list xhub::get_xitems {*}$args]
    return tul.com.tw:xilinx_board_store:pynq-z2:1.0
}
proc xhub::install {args} {
    lappend ::calls [list xhub::install {*}$args]
    if {$::env(BOARD) eq "store"} { set ::installed 1 } else { error "cannot reach the board store" }
}
proc get_property {prop args} {
    lappend ::calls [list get_property $prop {*}$args]
    switch -- $prop {
        PROGRESS { return 100% }
        STATUS { return {route_design Complete!} }
        DIRECTORY { return $::env(RUNDIR) }
        STATS.WNS { return $::env(WNS) }
        STATS.WHS { return $::env(WHS) }
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


def _run_vivado(project: Path, tmp: Path, steps: str = "", board: str = "present",
                in_bytes: int = 4, out_bytes: int = 8, wns: str = "0.250", whs: str = "0.031",
                env: dict | None = None):
    work = tmp / "viv"
    rundir = vivado_workspace(project, work)
    stub = tmp / "viv_stub.tcl"
    stub.write_text(VIVADO_STUBS)
    e = {"STEPS": steps, "SCRIPT": str(work / "vivado.tcl"), "RUNDIR": str(rundir),
         "BOARD": board, "IN_BYTES": str(in_bytes), "OUT_BYTES": str(out_bytes), "WNS": wns,
         "WHS": whs, "PATH": BASE_PATH}
    e.update(env or {})
    proc = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True, env=e)
    return proc, proc.stdout.splitlines(), work


@pytest.mark.parametrize("board", ["present", "store", "repo"])
def test_board_files_checked_and_installed(project, tmp_path, board):
    env = {"HWGEN_BOARD_REPO": str(tmp_path)} if board == "repo" else {}
    proc, lines, _ = _run_vivado(project, tmp_path, "bd", board=board, env=env)
    assert proc.returncode == 0, proc.stderr
    text = "\n".join(lines)
    assert f"get_board_parts -quiet {BOARD_PART}" in text
    setter = next(i for i, ln in enumerate(lines) if ln.startswith("set_property board_part"))
    assert lines[setter] == f"set_property board_part {BOARD_PART} {BOARD_PART}" or \
        lines[setter].startswith(f"set_property board_part {BOARD_PART} ")
    installs = [i for i, ln in enumerate(lines) if ln.startswith("xhub::install")]
    if board == "store":
        assert "xhub::refresh_catalog xilinx_board_store" in text
        assert "xhub::get_xitems *pynq-z2*" in text and installs and installs[0] < setter
    else:
        assert not installs
    if board == "repo":
        assert f"set_param board.repoPaths {tmp_path}" in text
    assert any(ln.startswith("apply_bd_automation") and "apply_board_preset" in ln for ln in lines)


def test_missing_board_files_fail_with_one_clear_message(project, tmp_path):
    proc, lines, _ = _run_vivado(project, tmp_path, "bd", board="none")
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert f"no board files for {BOARD_PART}" in err and "cannot reach the board store" in err
    assert "xhub::install [xhub::get_xitems *pynq-z2*]" in err and "HWGEN_BOARD_REPO" in err
    assert not any(ln.startswith(("set_property board_part", "create_bd_design")) for ln in lines)


def _dma_config(lines) -> dict:
    line = next(ln for ln in lines if ln.startswith("set_property") and "c_include_sg" in ln)
    words = line.split()
    return {w[len("CONFIG."):]: words[i + 1] for i, w in enumerate(words) if w.startswith("CONFIG.")}


def test_dma_widths_equal_the_ip_and_no_converter(project, tmp_path):
    for i, (ib, ob) in enumerate([(4, 8), (1, 2)]):
        (tmp_path / str(i)).mkdir()
        proc, lines, _ = _run_vivado(project, tmp_path / str(i), "bd", in_bytes=ib, out_bytes=ob)
        assert proc.returncode == 0, proc.stderr
        cfg = _dma_config(lines)
        assert cfg["c_m_axis_mm2s_tdata_width"] == str(8 * ib)
        assert cfg["c_s_axis_s2mm_tdata_width"] == str(8 * ob)
        assert cfg["c_m_axi_mm2s_data_width"] == "64" and cfg["c_m_axi_s2mm_data_width"] == "64"
        # a batch of frames (>= 2^23 bytes) in one transfer; PG021 allows at most 26 bits
        assert 23 < int(cfg["c_sg_length_width"]) <= 26
        text = "\n".join(lines)
        assert "axis_dwidth_converter" not in text and "axis_in_width" not in text
        assert any(ln.startswith("connect_bd_intf_net axi_dma_0/M_AXIS_MM2S ") and "Slave" in ln
                   for ln in lines)
        assert any(ln.startswith("connect_bd_intf_net ") and "Master" in ln
                   and ln.endswith("axi_dma_0/S_AXIS_S2MM") for ln in lines)
    # a stream the DMA cannot take (3 x 8-bit pixels in 24 bits): stop with a clear message
    (tmp_path / "bad").mkdir()
    proc, lines, _ = _run_vivado(project, tmp_path / "bad", "bd", in_bytes=3)
    assert proc.returncode != 0
    assert "input AXI4-Stream is 24 bits wide" in proc.stderr and "8, 16, 32 or 64" in proc.stderr
    assert not any("axis_dwidth_converter" in ln for ln in lines)


@pytest.mark.parametrize("wns,allow,ok", [("-0.412", None, False), ("-0.412", "1", True),
                                          ("0.125", None, True)])
def test_timing_checked_after_routing(project, tmp_path, wns, allow, ok):
    env = {"HWGEN_ALLOW_TIMING_VIOLATION": allow} if allow else {}
    proc, lines, work = _run_vivado(project, tmp_path, "", wns=wns, env=env)
    name = _name(project)
    assert any(ln.startswith("get_property STATS.WNS") for ln in lines)
    report = json.loads((work / "overlay" / "build_report.json").read_text())
    assert report["wns_ns"] == float(wns) and report["whs_ns"] == 0.031
    assert report["timing_met"] == (float(wns) >= 0)
    assert report["timing_violation_allowed"] == bool(allow)
    wrote = any(ln.startswith("launch_runs impl_1 -to_step write_bitstream") for ln in lines)
    if ok:
        assert proc.returncode == 0, proc.stderr
        assert wrote and (work / "overlay" / f"{name}.bit").read_bytes() == b"bit"
        assert report["bitstream"] == f"overlay/{name}.bit"
        # the timing check comes after routing, before write_bitstream
        idx = [i for i, ln in enumerate(lines) if ln.startswith(("launch_runs impl_1",
                                                                  "get_property STATS.WNS"))]
        kinds = [lines[i].split()[1] for i in idx]
        assert kinds.index("STATS.WNS") < len(kinds) - 1 and lines[idx[-1]].startswith(
            "launch_runs impl_1 -to_step write_bitstream")
    else:
        assert proc.returncode != 0
        assert "timing NOT met" in proc.stderr and "WNS -0.412" in proc.stderr
        assert "HWGEN_ALLOW_TIMING_VIOLATION=1" in proc.stderr
        assert not wrote and not (work / "overlay" / f"{name}.bit").exists()
        assert report["bitstream"] is None


# ---- scripts/build_bitstream.sh ---------------------------------------------------------------
def _fake_tools(bindir: Path, log: Path, tools, vivado_fails: bool = False):
    bindir.mkdir(exist_ok=True)
    for tool in tools:
        body = (f'#!/bin/sh\necho "{tool} $* [steps=${{HWGEN_HLS_STEPS:-}}] in $(pwd)" >> {log}\n'
                'mkdir -p overlay && touch overlay/x.bit overlay/x.hwh\n')
        if tool == "vivado" and vivado_fails:
            body += (f'echo "ERROR: hwgen: Vivado has no board files for {BOARD_PART} (x)" '
                     '> vivado.log\nexit 1\n')
        (bindir / tool).write_text(body)
        (bindir / tool).chmod(0o755)


def test_build_bitstream_prefers_vitis_run(project, tmp_path):
    proj = tmp_path / "proj"
    shutil.copytree(project, proj)
    log = tmp_path / "log"
    _fake_tools(tmp_path / "bin", log, ["vitis-run", "vitis_hls", "vivado"])
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(proj)], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path / 'bin'}:{BASE_PATH}"})
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 2, calls
    assert calls[0] == f"vitis-run --mode hls --tcl build_prj.tcl [steps=synth export] in {proj}"
    assert calls[1].startswith("vivado -mode batch") and "-source vivado.tcl" in calls[1]
    assert calls[1].endswith(f"in {proj}")
    # only vitis_hls (Vitis HLS 2024.1 and older): the steps as -tclargs
    log.unlink()
    _fake_tools(tmp_path / "old", log, ["vitis_hls", "vivado"])
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(proj)], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path / 'old'}:{BASE_PATH}"})
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines()[0] == \
        f"vitis_hls -f build_prj.tcl -tclargs synth export [steps=] in {proj}"


def test_build_bitstream_says_what_is_missing(project, tmp_path):
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(project)], capture_output=True,
                          text=True, env={"PATH": BASE_PATH})
    assert proc.returncode == 2
    err = proc.stderr
    assert "vitis-run" in err and "vitis_hls" in err and "'vivado' not found" in err
    # only vitis-run: enough for HLS
    log = tmp_path / "log"
    _fake_tools(tmp_path / "bin", log, ["vitis-run"])
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(project)], capture_output=True,
                          text=True, env={"PATH": f"{tmp_path / 'bin'}:{BASE_PATH}"})
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "build_bitstream: 'vivado' not found on PATH (source the Vivado settings64.sh)"]
    # a board-file repository that is not there
    _fake_tools(tmp_path / "bin", log, ["vivado"])
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(project)], capture_output=True,
                          text=True, env={"PATH": f"{tmp_path / 'bin'}:{BASE_PATH}",
                                          "HWGEN_BOARD_REPO": str(tmp_path / "nowhere")})
    assert proc.returncode == 2 and "HWGEN_BOARD_REPO" in proc.stderr
    # Vivado stops on missing board files: the script repeats vivado.tcl's message
    proj = tmp_path / "proj"
    shutil.copytree(project, proj)
    _fake_tools(tmp_path / "bin", log, ["vitis-run", "vivado"], vivado_fails=True)
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(proj)], capture_output=True, text=True,
                          env={"PATH": f"{tmp_path / 'bin'}:{BASE_PATH}"})
    assert proc.returncode == 1
    assert "vivado failed" in proc.stderr and f"no board files for {BOARD_PART}" in proc.stderr
