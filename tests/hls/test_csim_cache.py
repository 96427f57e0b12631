"""csim's build cache (keyed by content, never by modification times), damaged binaries, the
projects it refuses, and the generated Makefile: portable, and rebuilding after a weights edit."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwgen.cli import main
from hwgen.errors import HwgenError
from hwgen.hls.csim import run_csim
from hwgen.toolchain import ap_types_include

BINARY = "build/tb_hwgen_top"  # the Makefile's testbench binary


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """1x1 conv, ReLU, global average pool on a 3x4x4 input: the fewest kernels to compile (this
    file builds seven testbenches)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), name)
             for name, shape in (("c1.weight", (4, 3, 1, 1)), ("c1.bias", (4,)))]
    nodes = [helper.make_node("Conv", ["input", "c1.weight", "c1.bias"], ["c1"], name="c1",
                              kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="r1"),
             helper.make_node("GlobalAveragePool", ["r1"], ["pool"], name="pool"),
             helper.make_node("Flatten", ["pool"], ["logits"], name="flatten", axis=1)]
    graph = helper.make_graph(
        nodes, "micro", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])], inits)
    path = tmp_path_factory.mktemp("net") / "micro.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7),
              path)
    return path


@pytest.fixture(scope="module")
def built(tiny_onnx, tmp_path_factory):
    """A small HLS project, C-simulated once: build/ holds its testbench binary."""
    out = tmp_path_factory.mktemp("proj") / "p"
    assert main(["generate", str(tiny_onnx), "-o", str(out), "--vectors", "1"]) == 0
    res = run_csim(out)
    assert res.mismatches == 0 and res.compile_seconds > 0
    return out


def _copy(src, dst, build=True):
    """A copy with every modification time kept (copy2), with or without build/."""
    shutil.copytree(src, dst, ignore=None if build else shutil.ignore_patterns("build"))
    return dst


def _write_keeping_mtime(path, text):
    """Write as git checkout, cp -p or rsync -t do: new contents under the old times."""
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _negated(text):
    """Every weight and bias of a weights header changed: the output of that layer changes."""
    # each ROM word bit-inverted: every lane r becomes -r-1 (applied twice: the original)
    return re.sub(r'rom_word<(\d+)>\("0x([0-9a-f]+)", 16\)', lambda m: 'rom_word<%s>("0x%0*x", 16)' % (
        m.group(1), len(m.group(2)), ~int(m.group(2), 16) & ((1 << int(m.group(1))) - 1)), text)


def test_weights_edit_under_an_old_mtime_rebuilds(built, tmp_path):
    p = _copy(built, tmp_path / "p")
    res = run_csim(p)  # same contents: the copied binary is reused
    assert res.mismatches == 0 and res.compile_seconds == 0
    header = p / "firmware/weights/c1.h"
    original = header.read_text()
    _write_keeping_mtime(header, _negated(original))
    res = run_csim(p)
    assert res.compile_seconds > 0 and res.mismatches > 0, "built from the old weights"
    _write_keeping_mtime(header, original)
    res = run_csim(p)
    assert res.compile_seconds > 0 and res.mismatches == 0
    meta = json.loads((p / "build/tb.json").read_text())
    assert set(meta) == {"key", "sha256"}


@pytest.mark.parametrize("damage", ["empty", "not_executable"])
def test_damaged_binary_is_rebuilt(built, tmp_path, damage):
    p = _copy(built, tmp_path / "p")
    exe = p / "build/tb"
    if damage == "empty":
        exe.write_bytes(b"")  # what an interrupted link used to leave
    else:
        exe.chmod(0o644)
    res = run_csim(p)
    assert res.compile_seconds > 0 and res.mismatches == 0
    assert os.access(exe, os.X_OK) and not list((p / "build").glob(".*tmp"))


def test_interrupted_link_keeps_the_cached_binary(built, tmp_path, monkeypatch):
    p = _copy(built, tmp_path / "p")
    header = p / "firmware/weights/c1.h"
    original = header.read_text()
    header.write_text(_negated(original))  # so that csim rebuilds
    cached = (p / "build/tb").read_bytes()
    real = subprocess.Popen.communicate

    def stat(path):
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            return st.st_ino, st.st_size, st.st_mtime_ns
        return None

    def communicate(self, *args, **kwargs):  # Ctrl-C once the linker writes the binary
        if "-o" not in self.args:
            return real(self, *args, **kwargs)
        out = Path(self.args[self.args.index("-o") + 1])  # absolute, in old and new csim
        start = stat(out)
        while stat(out) == start and self.poll() is None:
            time.sleep(0.005)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", communicate)
    with pytest.raises(KeyboardInterrupt):
        run_csim(p)
    monkeypatch.undo()
    assert (p / "build/tb").read_bytes() == cached and not list((p / "build").glob(".*tmp"))
    header.write_text(original)
    res = run_csim(p)  # the cache is intact: no rebuild
    assert res.compile_seconds == 0 and res.mismatches == 0


def test_csim_refuses_an_rtl_project(tiny_onnx, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["generate", str(tiny_onnx), "--backend", "rtl", "-o", str(out),
                 "--vectors", "1"]) == 0
    capsys.readouterr()
    with pytest.raises(HwgenError, match="rtlsim"):
        run_csim(out)
    assert main(["csim", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RTL project" in err[0] and "hwgen rtlsim" in err[0]
    assert str(out) in err[0] and "internal error" not in err[0]


@pytest.mark.parametrize("missing", ["tb/tb_hwgen_top.cpp", "firmware/hwgen_top.cpp"])
def test_csim_of_a_project_missing_a_source(built, tmp_path, capsys, missing):
    p = _copy(built, tmp_path / "p")
    (p / missing).unlink()
    assert main(["csim", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(p / missing) in err[0] and "broken project" in err[0]


def _make(project, *args, python=sys.executable):
    env = {k: v for k, v in os.environ.items() if k not in ("AP_TYPES", "XILINX_HLS")}
    return subprocess.run(["make", "-C", str(project), *args, f"PYTHON={python}"], env=env,
                          capture_output=True, text=True)


def test_makefile_is_portable_and_rebuilds_after_a_weights_edit(built, tmp_path):
    text = (built / "Makefile").read_text()
    assert str(ap_types_include()) not in text and str(built) not in text
    assert "site-packages" not in text
    # copied to another folder, the project builds and runs there
    p = _copy(built, tmp_path / "elsewhere" / "p", build=False)
    proc = _make(p, "csim", "IMAGES=1")
    assert proc.returncode == 0, proc.stderr
    assert "0 failed" in proc.stdout and (p / BINARY).is_file()
    assert _make(p, "-q", BINARY).returncode == 0  # up to date
    header = p / "firmware/weights/c1.h"
    header.write_text(_negated(header.read_text()))
    t = (p / BINARY).stat().st_mtime + 2  # an edit after the build, on any timestamp resolution
    os.utime(header, (t, t))
    assert _make(p, "-q", BINARY).returncode == 1
    assert f"-o {BINARY}.tmp" in _make(p, "-n", BINARY).stdout
    assert "-DNDEBUG" in _make(p, "-n", BINARY, "CXXFLAGS=-O1").stdout  # kept when overridden
    # no ap_types headers anywhere: one clear message
    proc = _make(_copy(built, tmp_path / "c", build=False), "csim", python="/nonexistent/python")
    assert proc.returncode != 0 and "set AP_TYPES" in proc.stderr


def test_make_csim_ap_runs_the_synthesis_arithmetic(built, tmp_path):
    """make csim-ap builds the ap_int/ap_fixed code path that synthesis compiles
    (HWGEN_CSIM_NATIVE=0) and checks it bit-exactly, like the fast path."""
    p = _copy(built, tmp_path / "ap" / "p", build=False)
    assert "-DHWGEN_CSIM_NATIVE=0" in _make(p, "-n", "csim-ap").stdout
    proc = _make(p, "csim-ap")
    assert proc.returncode == 0, proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
