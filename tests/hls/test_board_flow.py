"""The board flow of a generated project: vivado.tcl under stubbed Vivado commands,
scripts/build_bitstream.sh's checks, the PYNQ driver's packing against hwgen's own, and bring-up
against the fake ``pynq`` of tests/hls/fake_pynq.py with the golden model behind its DMA."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import onnx_factory as F
from helpers import vivado_workspace
from fake_pynq import FakeBoard
from hwgen import pynq_driver as drv
from hwgen.cli import main
from hwgen.design.ddr import beats_per_word, unpack_ddr_weights
from hwgen.design.stages import pack_conv_weights
from hwgen.design.streams import pack_axi, unpack_axi

ROOT = Path(__file__).resolve().parents[2]


#: two layers keep their weights in DDR, so that every board flow carries weight masters
DDR_CONFIG = "folding:\n  classifier.1: {weights: ddr}\n  fire9/expand3x3: {weights: ddr}\n"


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 for the PYNQ-Z2 (2 vectors) and the ZCU104, two layers' weights
    in DDR."""
    root = tmp_path_factory.mktemp("board")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64), root / "sq64.onnx")
    (root / "ddr.yaml").write_text(DDR_CONFIG)
    out = {}
    for board, n in (("pynq-z2", 2), ("zcu104", 1)):
        out[board] = root / board
        assert main(["generate", str(model), "--board", board, "-o", str(out[board]),
                     "--vectors", str(n), "--config", str(root / "ddr.yaml")]) == 0
    return out


def _meta(p: Path) -> dict:
    return json.loads((p / "hwgen_project.json").read_text())


# ---- (a) vivado.tcl under stubs ---------------------------------------------------------------
VIVADO_STUBS = r"""
set calls {}
foreach cmd {create_project open_project set_property current_project current_fileset
             update_ip_catalog create_bd_design create_bd_cell get_bd_pins get_bd_intf_pins
             connect_bd_net connect_bd_intf_net apply_bd_automation assign_bd_address
             validate_bd_design save_bd_design get_files generate_target make_wrapper add_files
             update_compile_order reset_run launch_runs wait_on_run get_runs} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]; return [lindex $args end]} $cmd]
}
# board files present: get_board_parts -quiet <board_part> lists the part it was asked for
proc get_board_parts {args} {
    lappend ::calls [list get_board_parts {*}$args]
    return [lindex $args end]
}
proc get_ipdefs {args} {
    lappend ::calls [list get_ipdefs {*}$args]
    return [list [string map {* 1.0} [lindex $args end]] [string map {* 1.1} [lindex $args end]]]
}
proc get_property {prop args} {
    lappend ::calls [list get_property $prop {*}$args]
    switch -- $prop {
        PROGRESS { return $::env(PROGRESS) }
        DIRECTORY { return $::env(RUNDIR) }
        STATS.WNS { return 0.250 }
        STATS.TNS { return 0.0 }
        STATS.WHS { return 0.031 }
        STATS.THS { return 0.0 }
        default { return "" }
    }
}
rename exit _exit
proc exit {{code 0}} { foreach c $::calls { puts $c }; _exit $code }
set argv $::env(STEPS)
set argc [llength $argv]
if {[catch {source [lindex $::env(SCRIPT) 0]} err]} { puts stderr $err; _exit 1 }
"""


def _run_vivado_tcl(project: Path, tmp: Path, steps: str, progress: str = "100%"):
    work = tmp / "prj"
    rundir = vivado_workspace(project, work)
    stub = tmp / "stub.tcl"
    stub.write_text(VIVADO_STUBS)
    proc = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True,
                          env={"STEPS": steps, "SCRIPT": str(work / "vivado.tcl"),
                               "RUNDIR": str(rundir), "PROGRESS": progress,
                               "PATH": "/usr/bin:/bin"})
    return proc, work, Path(_meta(project)["stream"]["overlay"]).stem


@pytest.mark.parametrize("board,part,board_part,ps,hp,clk,master", [
    ("pynq-z2", "xc7z020clg400-1", "tul.com.tw:pynq-z2:part0:1.0", "processing_system7",
     "S_AXI_HP0", "ps/FCLK_CLK0", "ps/M_AXI_GP0"),
    ("zcu104", "xczu7ev-ffvc1156-2-e", "xilinx.com:zcu104:part0:1.1", "zynq_ultra_ps_e",
     "S_AXI_HP0_FPD", "ps/pl_clk0", "ps/M_AXI_HPM0_FPD")])
def test_vivado_tcl_runs_under_stubs(projects, tmp_path, board, part, board_part, ps, hp, clk,
                                     master):
    assert shutil.which("tclsh"), "tclsh is needed to check the generated Tcl"
    proc, work, name = _run_vivado_tcl(projects[board], tmp_path, "")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    lines = out.splitlines()
    cmds = [ln.split()[0] for ln in lines]

    def first(pred):
        return next(i for i, ln in enumerate(lines) if pred(ln))

    order = [first(lambda ln: ln.startswith("create_project")),
             first(lambda ln: ln.startswith("update_ip_catalog -add_ip")),
             first(lambda ln: ln.startswith("create_bd_design")),
             first(lambda ln: ln.startswith("create_bd_cell") and f":{ps}:1.1" in ln),
             first(lambda ln: ln.startswith("apply_bd_automation")),
             first(lambda ln: ln.startswith("create_bd_cell") and "hwgen:hwgen:hwgen_top:1.0" in ln),
             first(lambda ln: ln.startswith("create_bd_cell") and "axi_dma:1.1" in ln),
             first(lambda ln: ln.startswith("assign_bd_address")),
             first(lambda ln: ln.startswith("validate_bd_design")),
             first(lambda ln: ln.startswith("make_wrapper")),
             first(lambda ln: ln.startswith("launch_runs synth_1")),
             first(lambda ln: ln.startswith("launch_runs impl_1") and "write_bitstream" not in ln),
             first(lambda ln: ln.startswith("launch_runs impl_1 -to_step write_bitstream"))]
    assert order == sorted(order), lines
    assert f"-part {part}" in out and f"set_property board_part {board_part}" in out
    assert "apply_board_preset" in out and f"bd_rule:{ps}" in out
    assert f"get_board_parts -quiet {board_part}" in out
    assert order[0] < first(lambda ln: ln.startswith("get_board_parts")) < \
        first(lambda ln: ln.startswith("set_property board_part")) < order[2]
    assert "CONFIG.c_include_sg 0" in out and "CONFIG.c_sg_length_width 26" in out
    # the IP's AXI4-Stream widths are DMA-legal, so the DMA's streams are set equal to them and
    # connected directly: no width converter anywhere
    meta = _meta(projects[board])
    in_bits = meta["stream"]["in"]["axi_bits"]
    out_bits = meta["stream"]["out"]["axi_bits"]
    assert in_bits in (8, 16, 32, 64) and out_bits in (8, 16, 32, 64), (in_bits, out_bits)
    dma = [ln for ln in lines if ln.startswith("set_property") and "c_include_sg" in ln]
    assert len(dma) == 1
    words = dma[0].split()
    cfg = {w: words[i + 1] for i, w in enumerate(words) if w.startswith("CONFIG.")}
    assert cfg["CONFIG.c_m_axis_mm2s_tdata_width"] == str(in_bits)
    assert cfg["CONFIG.c_s_axis_s2mm_tdata_width"] == str(out_bits)
    assert "axis_dwidth_converter" not in out
    assert not any(ln.startswith("create_bd_cell") and "dwidth" in ln for ln in lines)
    assert "axis_in_width" not in out and "axis_out_width" not in out
    assert "connect_bd_intf_net axi_dma_0/M_AXIS_MM2S " in out
    assert any(ln.startswith("connect_bd_intf_net ") and ln.endswith(" axi_dma_0/S_AXIS_S2MM")
               for ln in lines)
    # the two weight masters, each through its own SmartConnect to an HP port of its own
    hps = ["S_AXI_HP1", "S_AXI_HP2"] if ps == "processing_system7" else ["S_AXI_HP1_FPD",
                                                                          "S_AXI_HP2_FPD"]
    for i, (layer, hp_port) in enumerate(zip(meta["ddr"]["layers"], hps), start=1):
        sc = f"wmem_interconnect_{i}"
        assert (f"connect_bd_intf_net hwgen_top_0/m_axi_gmem_{layer['port']} {sc}/S00_AXI"
                in out)
        assert f"connect_bd_intf_net {sc}/M00_AXI ps/{hp_port}" in out
        assert f"connect_bd_net {clk} {sc}/aclk" in out
        enable = (f"CONFIG.PCW_USE_S_AXI_HP{i} 1" if ps == "processing_system7"
                  else f"CONFIG.PSU__USE__S_AXI_GP{i + 2} 1")
        assert enable in out
    assert f"ps/{hp}" in out and f"connect_bd_intf_net mem_interconnect/M00_AXI ps/{hp}" in out
    assert f"connect_bd_intf_net {master} ctrl_interconnect/S00_AXI" in out
    assert "ctrl_interconnect/M00_AXI hwgen_top_0/s_axi_control" in out
    assert f"connect_bd_net {clk} hwgen_top_0/ap_clk" in out
    assert "connect_bd_net rst_fabric/peripheral_aresetn axi_dma_0/axi_resetn" in out
    assert cmds.count("wait_on_run") == 3
    report = json.loads((work / "overlay" / "build_report.json").read_text())
    assert report["wns_ns"] == 0.25 and report["whs_ns"] == 0.031 and report["timing_met"]
    # routed timing read from impl_1 after routing, before write_bitstream
    stats = [i for i, ln in enumerate(lines) if ln.startswith("get_property STATS.")]
    assert {lines[i].split()[1] for i in stats} == {"STATS.WNS", "STATS.TNS", "STATS.WHS",
                                                     "STATS.THS"}
    assert order[-2] < min(stats) and max(stats) < order[-1]
    assert (work / "overlay" / f"{name}.bit").read_bytes() == b"bit"
    assert (work / "overlay" / f"{name}.hwh").read_text() == "<hwh/>"


def test_vivado_tcl_steps_and_errors(projects, tmp_path):
    (tmp_path / "a").mkdir()
    proc, work, _ = _run_vivado_tcl(projects["pynq-z2"], tmp_path / "a", "synth")
    assert proc.returncode == 0, proc.stderr
    cmds = [ln.split()[0] for ln in proc.stdout.splitlines()]
    assert "open_project" in cmds and "create_project" not in cmds and "create_bd_cell" not in cmds
    assert [ln for ln in proc.stdout.splitlines() if ln.startswith("launch_runs")] == \
        ["launch_runs synth_1 -jobs 4"]
    assert not (work / "overlay").exists()
    (tmp_path / "b").mkdir()
    proc, _, _ = _run_vivado_tcl(projects["pynq-z2"], tmp_path / "b", "bd bogus")
    assert proc.returncode != 0 and "unknown step 'bogus'" in proc.stderr
    (tmp_path / "c").mkdir()
    proc, _, _ = _run_vivado_tcl(projects["pynq-z2"], tmp_path / "c", "impl", progress="50%")
    assert proc.returncode != 0 and "impl_1 failed" in proc.stderr


# ---- (b) build_bitstream.sh ---------------------------------------------------------------------
def test_build_bitstream_needs_tools(projects, tmp_path):
    script = ROOT / "scripts" / "build_bitstream.sh"
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(script), str(projects["pynq-z2"])], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "vitis_hls" in lines[0] and "vivado" in lines[1], proc.stderr
    proc = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 2 and "not an hwgen project" in proc.stderr
    # with (fake) tools on PATH, it runs both, in order, inside the project
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "log"
    for tool in ("vitis_hls", "vivado"):
        (bindir / tool).write_text(f'#!/bin/sh\necho "{tool} $* in $(pwd)" >> {log}\n'
                                   'mkdir -p overlay && touch overlay/x.bit overlay/x.hwh\n')
        (bindir / tool).chmod(0o755)
    proj = tmp_path / "proj"
    shutil.copytree(projects["pynq-z2"], proj)
    proc = subprocess.run(["bash", str(script), str(proj)], capture_output=True, text=True,
                          env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("vitis_hls -f build_prj.tcl -tclargs synth export in ")
    assert calls[1].startswith("vivado -mode batch") and "-source vivado.tcl" in calls[1]
    assert calls[1].endswith(str(proj))


# ---- (c) packing -----------------------------------------------------------------------------
@pytest.mark.parametrize("lanes,width,signed", [(3, 8, False), (8, 16, True), (5, 6, True),
                                                 (2, 13, False)])
def test_pack_matches_hwgen_and_round_trips(lanes, width, signed):
    from hwgen.fixed import FixedType

    fmt = FixedType(width, 4, signed)
    rng = np.random.default_rng(width)
    raw = rng.integers(fmt.min_raw, fmt.max_raw + 1, size=(lanes * 2, 3, 4))
    words = drv.pack_input(raw, lanes, width)
    assert np.array_equal(words, pack_axi(raw, fmt, lanes))
    flat = drv.unpack_output(words, lanes, width, signed)
    assert np.array_equal(flat, drv.to_stream(raw))
    assert np.array_equal(drv.unpack_output(words.tobytes(), lanes, width, signed, 7), flat[:7])
    assert np.array_equal(unpack_axi(words, fmt, lanes, raw.shape), raw)


def test_packing_agrees_with_project_vectors_and_golden(projects):
    from hwgen.golden import GoldenModel
    from hwgen.project import Project

    p = projects["pynq-z2"]
    s = _meta(p)["stream"]
    assert s["pixel_input"] and s["in"]["lanes"] == 3 and s["in"]["width"] == 8
    graph = Project.open(p).graph()
    golden = GoldenModel(graph)
    x = np.fromfile(p / "tb/tb_data/input_0.bin", dtype=np.int32)
    words = drv.pack_stream(x, s["in"]["lanes"], s["in"]["width"])
    assert words.shape == (x.size // 3, 3)
    chw = drv.unpack_output(words, 3, 8, False).reshape(*s["input_shape"][1:], 3).transpose(2, 0, 1)
    assert np.array_equal(drv.pack_input(chw, 3, 8), words)
    out = golden.run(chw)
    out_words = pack_axi(out, graph.tensors[graph.output].fmt, s["out"]["lanes"])
    got = drv.unpack_output(out_words, s["out"]["lanes"], s["out"]["width"], s["out"]["signed"],
                            int(np.prod(s["output_shape"])))
    want = np.fromfile(p / "tb/tb_data/expected_0.bin", dtype=np.int32)
    assert np.array_equal(got, want)


def test_preprocess_and_top5(tmp_path):
    from PIL import Image

    from hwgen.images import load_rgb

    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png")
    raw = drv.preprocess_image(img, 64)
    assert raw.shape == (3, 64, 64)
    assert np.array_equal(raw, load_rgb(tmp_path / "a.png", 64).transpose(2, 0, 1))
    t = drv.top5([0.1, 3.0, 2.0, 3.0, -1.0, 0.5, 0.7], ["a", "b", "c", "d"])
    assert [i for i, _, _ in t] == [1, 3, 2, 6, 5] and t[0][1] == "b" and t[3][1] == "class 6"


# ---- (d) HwgenOverlay and bring-up against the fake pynq, the golden model behind its DMA -----
def _golden_board(project: Path, corrupt: bool = False, **kw) -> FakeBoard:
    """A FakeBoard (tests/hls/fake_pynq.py) whose accelerator answers every input frame with the
    golden model's output, packed as the IP would (``corrupt``: one bit of every answer flipped).
    Before answering it checks that what each weight port points at decodes to that layer's
    weights; ``board.golden_frames`` counts the frames answered."""
    import yaml

    from hwgen.golden import GoldenModel
    from hwgen.project import Project

    graph = Project.open(project).graph()
    golden = GoldenModel(graph)
    folding = yaml.safe_load((project / "config.yaml").read_text())["folding"]
    cache: dict[bytes, bytes] = {}

    def ddr_weights_ok() -> bool:
        """What the accelerator would read through each weight port: the layer's weights."""
        ddr = board.meta["ddr"]
        for layer in ddr["layers"]:
            reg = layer["register"]
            addr = board.regs.get(reg, 0) | ((board.regs.get(reg + 4, 0) << 32)
                                             if ddr["addr64"] else 0)
            buf = next((b for b in board.buffers
                        if b.physical_address <= addr < b.physical_address + b.nbytes), None)
            if buf is None:
                return False
            node = graph.node(layer["layer"])
            fold = folding[layer["layer"]]
            pe, simd, width = fold["pe"], fold["simd"], node.op.weight_fmt.width
            want = pack_conv_weights(node.op.weight_raw(), pe, simd)
            nbytes = want.size // (pe * simd) * beats_per_word(pe, simd, width) * 8
            start = addr - buf.physical_address
            image = np.asarray(buf).view(np.uint8)[start: start + nbytes]
            if image.size != nbytes:
                return False
            got = unpack_ddr_weights(image.view("<u8"), pe, simd, width, True)
            if not np.array_equal(got[:want.size], want):
                return False
        return True

    def respond(frame: bytes) -> bytes:
        assert ddr_weights_ok(), "the weight ports do not point at the layers' weights"
        board.golden_frames += 1
        if frame not in cache:
            s = board.s
            vals = drv.unpack_output(frame, s["in"]["lanes"], s["in"]["width"],
                                     s["in"]["signed"], int(np.prod(s["input_shape"])),
                                     axi_bits=s["in"].get("axi_bits"))
            c, h, w = s["input_shape"]
            y = golden.run(vals.reshape(h, w, c).transpose(2, 0, 1))
            out = bytearray(board.pack("out", drv.to_stream(y)))
            if corrupt:
                out[3] ^= 1
            cache[frame] = bytes(out)
        return cache[frame]

    board = FakeBoard(project, responder=respond, **kw)
    board.golden_frames = 0
    return board


def _ap_starts(board: FakeBoard) -> list[int]:
    """The values written to the control register (0x00) with ap_start set."""
    return [e[2] for e in board.log if e[0] == "write" and e[1] == 0 and e[2] & drv.AP_START]


def _inputs_flushed(board: FakeBoard) -> bool:
    """Every MM2S transfer comes after a cache flush made since the previous one."""
    flushed = False
    for e in board.log:
        if e[0] == "flush":
            flushed = True
        elif e[0] == "mm2s":
            if not flushed:
                return False
            flushed = False
    return True


@pytest.fixture
def board_copy(projects, tmp_path):
    p = tmp_path / "board"
    shutil.copytree(projects["pynq-z2"], p)
    bit = p / _meta(p)["stream"]["overlay"]
    bit.parent.mkdir()
    bit.write_bytes(b"bit")
    bit.with_suffix(".hwh").write_text("<hwh/>")
    return p


def _bringup(project: Path):
    spec = importlib.util.spec_from_file_location("bringup_under_test", project / "driver/bringup.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("hwgen_driver", None)
    spec.loader.exec_module(mod)
    return mod


BATCH = 4  # frames of bring-up's throughput batch


@pytest.mark.parametrize("corrupt,with_dma,status", [(False, True, 0), (True, True, 1),
                                                     (False, False, 1)])
def test_bringup_with_fake_pynq(board_copy, monkeypatch, capsys, corrupt, with_dma, status):
    assert (board_copy / "driver/hwgen_driver.py").read_text() == \
        Path(drv.__file__).read_text()
    fake = _golden_board(board_copy, corrupt, with_dma=with_dma)
    monkeypatch.setitem(sys.modules, "pynq", fake.module())
    monkeypatch.syspath_prepend(str(board_copy / "driver"))
    try:
        assert _bringup(board_copy).main([str(board_copy), "--batch", str(BATCH)]) == status
    finally:
        sys.modules.pop("hwgen_driver", None)
    out = capsys.readouterr().out
    assert "PASS  bitstream loads" in out
    if with_dma:
        # weights placed and their pointers read back before any frame; inputs flushed; the IP
        # started once (auto-restart) before the first input; every frame answered by the
        # golden model: the single-frame latency run, the two vectors, the batch
        assert "PASS  weights in DDR" in out and fake.weights_ok()
        assert _inputs_flushed(fake)
        starts = _ap_starts(fake)
        assert len(starts) == 1 and starts[0] & drv.AUTO_RESTART
        first_start = next(i for i, e in enumerate(fake.log) if e[0] == "write" and e[1] == 0)
        first_mm2s = next(i for i, e in enumerate(fake.log) if e[0] == "mm2s")
        assert first_start < first_mm2s
        assert fake.golden_frames == fake.frames_out == 1 + 2 + BATCH
    if status == 0:
        assert "PASS  vector 0" in out and "PASS  vector 1" in out
        assert f"PASS  batch of {BATCH}" in out and "FAIL" not in out
        assert out.strip().endswith("BRING-UP PASS")
    elif with_dma:
        assert "FAIL  vector 0" in out and "first at" in out
        assert out.strip().splitlines()[-1].startswith("BRING-UP FAIL")
    else:
        assert "FAIL  AXI DMA present" in out and "vector" not in out
        assert not fake.frames_in and not _ap_starts(fake)


def test_overlay_classify_with_fake_pynq(board_copy, monkeypatch):
    from hwgen.golden import GoldenModel
    from hwgen.project import Project

    fake = _golden_board(board_copy)
    monkeypatch.setitem(sys.modules, "pynq", fake.module())
    ov = drv.HwgenOverlay(board_copy, auto_restart=True)
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, size=(80, 100, 3), dtype=np.uint8),
            rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)]
    names = [f"n{i}" for i in range(1000)]
    golden = GoldenModel(Project.open(board_copy).graph())
    wants = [golden.logits(drv.preprocess_image(im, 64).astype(np.float32)).reshape(-1)
             for im in imgs]
    res = ov.classify(imgs[0], names)
    assert np.array_equal(res["logits"], wants[0])
    assert [t[0] for t in res["top5"]] == [t[0] for t in drv.top5(wants[0])]
    assert res["top5"][0][1] == f"n{res['top5'][0][0]}"
    assert res["latency_ms"] > 0 and "fps" not in res  # throughput needs a batch
    assert [t[0] for t in ov.classify(imgs[0])["top5"]] == [t[0] for t in res["top5"]]
    # a batch: each image's top-5 and logits, and the batch's throughput
    batch, stats = ov.classify_batch(imgs, names)
    assert len(batch) == 2
    for r, want in zip(batch, wants):
        assert np.array_equal(r["logits"], want)
        assert [t[0] for t in r["top5"]] == [t[0] for t in drv.top5(want)]
        assert r["top5"][0][1] == f"n{r['top5'][0][0]}"
    assert stats["frames"] == 2 and stats["fps"] > 0
    assert len(_ap_starts(fake)) == 1  # auto-restart: ap_start written once
    assert _inputs_flushed(fake) and fake.golden_frames == fake.frames_out == 2 + 1 + 2
