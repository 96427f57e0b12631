"""The PYNQ driver (hwgen/pynq_driver.py) and bring-up (driver/bringup.py) against a fake ``pynq``
(tests/hls/fake_pynq.py): DMA waits with deadlines, frames streamed back to back, weight-pointer
registers checked against the .hwh and read back, and bring-up's file list."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import onnx_factory as F
from fake_pynq import FakeBoard, hwh_registers
from hwgen import pynq_driver as drv
from hwgen.cli import main

#: two layers' weights in DDR (the optimiser may add more), so weight pointers are exercised
DDR_CONFIG = "folding:\n  classifier.1: {weights: ddr}\n  fire9/expand3x3: {weights: ddr}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 for the PYNQ-Z2, weights partly in DDR, two test vectors, and a
    stand-in bitstream (the fake Overlay only checks that the file exists)."""
    root = tmp_path_factory.mktemp("drv")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64), root / "sq64.onnx")
    (root / "ddr.yaml").write_text(DDR_CONFIG)
    out = root / "p"
    assert main(["generate", str(model), "--board", "pynq-z2", "-o", str(out), "--vectors", "2",
                 "--config", str(root / "ddr.yaml")]) == 0
    bit = out / _meta(out)["stream"]["overlay"]
    bit.parent.mkdir(exist_ok=True)
    bit.write_bytes(b"bit")
    bit.with_suffix(".hwh").write_text("<hwh/>")
    return out


def _meta(p: Path) -> dict:
    return json.loads((p / drv.PROJECT_FILE).read_text())


@pytest.fixture
def board(project, monkeypatch):
    """make(**FakeBoard options) -> the FakeBoard now answering ``import pynq``."""

    def make(**kw):
        fake = FakeBoard(project, **kw)
        monkeypatch.setitem(sys.modules, "pynq", fake.module())
        return fake

    return make


def _vectors(p: Path):
    data = p / "tb" / "tb_data"
    xs = [np.fromfile(data / f"input_{i}.bin", dtype=np.int32) for i in range(2)]
    ys = [np.fromfile(data / f"expected_{i}.bin", dtype=np.int32).astype(np.int64)
          for i in range(2)]
    return xs, ys


def _random_frame(p: Path, seed: int) -> np.ndarray:
    s = _meta(p)["stream"]
    n = int(np.prod(s["input_shape"]))
    return np.random.default_rng(seed).integers(0, 1 << s["in"]["width"], size=n)


def _expected(fake: FakeBoard, ov, x) -> np.ndarray:
    """What the fake accelerator answers for raw input x (a test vector: its expected output)."""
    return ov.unpack_frame(np.frombuffer(fake.respond(ov.pack_frame(x).tobytes()), np.uint8))


# ---- waits with deadlines ---------------------------------------------------------------------
@pytest.mark.parametrize("registers", ["hwh", None], ids=["hwh-registers", "no-hwh-registers"])
def test_late_dma_within_timeout_returns_every_frame(project, board, registers):
    fake = board(latency=0.05, interval=0.01, registers=registers)
    ov = drv.HwgenOverlay(project, timeout_s=1.0)
    (x0, x1), (y0, y1) = _vectors(project)
    xr = _random_frame(project, 1)
    got, stats = ov.infer_batch([x0, xr, x1])
    assert got.shape == (3, 1000)
    assert np.array_equal(got[0], y0) and np.array_equal(got[2], y1)
    assert np.array_equal(got[1], _expected(fake, ov, xr)) and not np.array_equal(got[1], y0)
    assert stats["frames"] == 3 and stats["latency_ms"] >= 50 and stats["fps"] > 0
    assert fake.frames_out == 4  # the single-frame latency run, then the batch


@pytest.mark.parametrize("side,words", [("in", "input not consumed"),
                                        ("out", "output not produced")])
def test_dma_that_never_answers_raises_naming_the_stalled_side(project, board, side, words):
    board(stall=side)
    ov = drv.HwgenOverlay(project, timeout_s=0.2)
    xs, _ = _vectors(project)
    t0 = time.monotonic()
    with pytest.raises(drv.DriverError) as err:
        ov.infer_batch(xs, latency=False)
    assert time.monotonic() - t0 < 3.0
    msg = str(err.value)
    assert "\n" not in msg and "timeout" in msg and words in msg, msg
    # the accelerator's control register and both DMA status registers, decoded
    assert "ctrl=0x" in msg and "MM2S_DMASR=0x" in msg and "S2MM_DMASR=0x" in msg, msg
    assert "ap_start" in msg and "auto_restart" in msg


# ---- throughput: frames in flight together ----------------------------------------------------
def test_batch_streams_frames_back_to_back(project, board):
    fake = board(latency=0.05, interval=0.005)
    ov = drv.HwgenOverlay(project, timeout_s=1.0)
    (x0, x1), (y0, y1) = _vectors(project)
    inputs = [x0, x1, _random_frame(project, 2), x0, _random_frame(project, 3), x1, x0, x1]
    n = len(inputs)
    got, stats = ov.infer_batch(inputs)
    for k, x in enumerate(inputs):
        assert np.array_equal(got[k], _expected(fake, ov, x)), k
    # the batch (after the single-frame latency run) submits all its input before the first
    # output is collected, and re-arms S2MM once per frame (S2MM ends a transfer at TLAST)
    events = fake.log
    first_batch_mm2s = [i for i, e in enumerate(events) if e[0] == "mm2s"][1]
    tail = events[first_batch_mm2s:]
    first_out = next(i for i, e in enumerate(tail) if e[0] == "s2mm_done")
    assert sum(e[2] for e in tail[:first_out] if e[0] == "mm2s") == n * ov.in_bytes
    assert sum(e[0] == "s2mm" for e in tail) == n - 1  # the first was armed before the MM2S
    assert sum(e[0] == "s2mm_done" for e in tail) == n
    # throughput and latency are separate numbers; with 8 frames overlapping, well above 1/latency
    assert stats["latency_ms"] >= 50
    assert stats["fps"] > 1.5 * 1000.0 / stats["latency_ms"], stats
    assert stats["fps_steady"] > stats["fps"]
    # weights: placed once, before any frame, and never inside the timing
    ptr_writes = [i for i, e in enumerate(events) if e[0] == "write" and e[1] != 0]
    first_mm2s = next(i for i, e in enumerate(events) if e[0] == "mm2s")
    assert ptr_writes and max(ptr_writes) < first_mm2s
    ov.infer_batch([x0], latency=False)
    assert len([e for e in fake.log if e[0] == "write" and e[1] != 0]) == len(ptr_writes)
    assert sum(e[0] == "allocate" and e[1] == _meta(project)["ddr"]["bytes"]
               for e in fake.log) == 1


# ---- weight-pointer registers -----------------------------------------------------------------
def test_weight_registers_taken_from_the_hwh_and_checked(project, board):
    meta = _meta(project)
    ports = [lay["port"] for lay in meta["ddr"]["layers"]]
    fake = board(registers=hwh_registers(meta, shift=8))
    ov = drv.HwgenOverlay(project)
    with pytest.raises(drv.DriverError) as err:
        ov.load_ddr_weights()
    msg = str(err.value)
    want = meta["ddr"]["layers"][0]["register"]
    assert ports[0] in msg and f"0x{want + 8:02x}" in msg and f"0x{want:02x}" in msg, msg
    assert not fake.regs  # nothing written to a register the bitstream does not have
    board(registers=hwh_registers(meta, drop=ports[-1]))
    with pytest.raises(drv.DriverError, match=f"{ports[-1]}.*no register"):
        drv.HwgenOverlay(project).load_ddr_weights()
    # agreeing map: every pointer written where the .hwh says, at the weights' address
    fake = board()
    assert drv.HwgenOverlay(project).load_ddr_weights() == meta["ddr"]["bytes"]
    assert sorted(fake.regs) == sorted(lay["register"] for lay in meta["ddr"]["layers"])
    assert fake.weights_ok()


def test_weight_pointer_read_back_mismatch_raises(project, board):
    board(readback_xor=0x1000)
    ov = drv.HwgenOverlay(project)
    with pytest.raises(drv.DriverError, match="read back"):
        ov.load_ddr_weights()


# ---- bring-up ---------------------------------------------------------------------------------
def _bringup(project: Path):
    spec = importlib.util.spec_from_file_location("bringup_under_test",
                                                  project / "driver/bringup.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("hwgen_driver", None)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def run_bringup(monkeypatch):
    def run(project: Path, *args):
        monkeypatch.syspath_prepend(str(project / "driver"))
        try:
            return _bringup(project).main([str(project), *args])
        finally:
            sys.modules.pop("hwgen_driver", None)

    return run


def test_bringup_file_list_includes_ddr_weights(project, tmp_path, run_bringup, capsys,
                                                monkeypatch):
    try:
        files = _bringup(project).BOARD_FILES
    finally:
        sys.modules.pop("hwgen_driver", None)
    assert "ddr_weights.bin" in files and drv.PROJECT_FILE in files and "report.json" in files
    assert _meta(project)["stream"]["overlay"] in files
    assert all((project / f).is_file() for f in files)
    # a board copy made from that list has everything; one without the weights fails up front
    monkeypatch.delitem(sys.modules, "pynq", raising=False)
    copy = tmp_path / "board"
    for f in files:
        if f != "ddr_weights.bin":
            (copy / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(project / f, copy / f)
    assert run_bringup(copy) == 1
    out = capsys.readouterr().out
    assert "FAIL  project files" in out and "ddr_weights.bin" in out, out


def test_bringup_passes_with_latency_and_throughput(project, board, run_bringup, capsys):
    fake = board(latency=0.01, interval=0.002)
    assert run_bringup(project, "--timeout", "1", "--batch", "6") == 0
    out = capsys.readouterr().out
    for line in ("PASS  weights in DDR", "PASS  vector 0", "PASS  vector 1", "PASS  batch of 6"):
        assert line in out, out
    lat = [ln for ln in out.splitlines() if ln.startswith("latency:")]
    thr = [ln for ln in out.splitlines() if ln.startswith("throughput:")]
    assert len(lat) == 1 and "ms" in lat[0] and len(thr) == 1 and "frames/s" in thr[0], out
    assert out.strip().endswith("BRING-UP PASS")
    assert fake.frames_out == 1 + 2 + 6


def test_bringup_with_a_stalled_accelerator_fails_without_hanging(project, board, run_bringup,
                                                                  capsys):
    board(stall="in")
    t0 = time.monotonic()
    assert run_bringup(project, "--timeout", "0.2") == 1
    assert time.monotonic() - t0 < 5.0
    out = capsys.readouterr().out
    assert "FAIL  vectors as one batch" in out and "input not consumed" in out, out
    assert out.strip().splitlines()[-1].startswith("BRING-UP FAIL")


def test_without_auto_restart_each_frame_is_started_and_acknowledged(project, board):
    """ap_ctrl_chain without auto-restart: one ap_start per frame, and ap_continue (bit 4) after
    its output, or the IP's last process never takes the next frame."""
    fake = board(latency=0.02, interval=0.005)
    ov = drv.HwgenOverlay(project, timeout_s=1.0, auto_restart=False)
    xs, ys = _vectors(project)
    got, _ = ov.infer_batch(xs, latency=False)
    assert all(np.array_equal(g, y) for g, y in zip(got, ys))
    ctrl = [e[2] for e in fake.log if e[0] == "write" and e[1] == 0]
    assert ctrl == [drv.AP_START, drv.AP_CONTINUE] * len(xs), ctrl


def test_timeout_follows_the_projects_estimated_latency(project, board):
    board()
    rep = json.loads((project / "report.json").read_text())
    ov = drv.HwgenOverlay(project, timeout_s=1e-4)  # far below one frame of this design
    assert rep["latency_ms"] > 0
    assert ov.timeout_s == pytest.approx(drv.TIMEOUT_MARGIN * rep["latency_ms"] / 1e3)
