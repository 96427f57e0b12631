#!/usr/bin/env python3
"""Synthesise a full-width SqueezeNet 1.1 Fire module's RTL with Yosys (synth_xilinx, xc7) and set
its LUT / FF / DSP / BRAM beside hwgen's resource estimate for the same folding.

    python scripts/synth_fire_yosys.py [fire2] [--out DIR] [--board pynq-z2]

Needs ``yosys`` on PATH (Debian: apt-get install yosys). Not part of the test suite: a Fire module
takes minutes to synthesise.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "rtl")]

import nets  # noqa: E402
from hwgen.api import generate_project  # noqa: E402
from hwgen.hls.project import Project  # noqa: E402
from hwgen.rtl.generate import RTL_DIR, TOP  # noqa: E402

LUTRAM_LUTS = {"RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
               "RAM256X1S": 4, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "SRL16E": 1,
               "SRLC32E": 1}


def yosys_cells(rtl: Path, log: Path) -> Counter:
    """Cell counts of synth_xilinx (xc7) on the project's RTL (run where $readmemh finds mem/)."""
    sources = " ".join((rtl / "sources.f").read_text().split())
    # flattened: one cell list for the whole design (a hierarchical stat repeats sub-modules)
    script = (f"read_verilog -sv {sources}; synth_xilinx -family xc7 -top {TOP} -flatten; "
              f"tee -o {log.with_suffix('.stat')} stat")
    proc = subprocess.run(["yosys", "-q", "-l", str(log), "-p", script], cwd=rtl,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"yosys failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    cells = Counter()
    for name, n in re.findall(r"^\s+(\w+)\s+(\d+)\s*$", log.with_suffix(".stat").read_text(),
                              re.M):
        cells[name] += int(n)
    return cells


def summarise(cells: Counter) -> dict:
    lut = sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c))
    lutram = sum(LUTRAM_LUTS[c] * n for c, n in cells.items() if c in LUTRAM_LUTS)
    return {"lut": lut + lutram, "lut_logic": lut, "lut_memory": lutram,
            "ff": sum(n for c, n in cells.items() if re.fullmatch(r"FD[A-Z]+", c)),
            "dsp": cells.get("DSP48E1", 0),
            "bram36": cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) / 2,
            "carry4": cells.get("CARRY4", 0)}


def estimator(project: Path, board: str) -> dict | None:
    """hwgen's own resource estimate of the same graph and folding, when this hwgen has one."""
    try:
        from hwgen.boards import load_board  # noqa: PLC0415
        from hwgen.hls.estimate import estimate  # noqa: PLC0415
    except ImportError:
        return None
    est = estimate(Project.open(project).graph(), load_board(board), None)
    return {k: est[k] for k in ("lut", "ff", "dsp", "bram36") if k in est}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fire", nargs="?", default="fire2", choices=sorted(nets.FIRES_1_1))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--board", default="pynq-z2")
    args = ap.parse_args()
    if shutil.which("yosys") is None:
        raise SystemExit("yosys not found: apt-get install yosys")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        module, shape = nets.fire_module(args.fire)
        model = nets.export(module, shape, root / f"{args.fire}.onnx")
        proj = root / f"{args.fire}_rtl"
        generate_project(model, proj, board=args.board, backend="rtl", vectors=1, force=True)
        t = time.perf_counter()
        cells = yosys_cells(proj / RTL_DIR, root / f"{args.fire}_yosys.log")
        got = summarise(cells)
        est = estimator(proj, args.board)
        print(f"{args.fire} (full width, input {'x'.join(map(str, shape))}), yosys synth_xilinx "
              f"xc7 in {time.perf_counter() - t:.0f} s")
        for k in ("lut", "ff", "dsp", "bram36"):
            e = "n/a" if est is None or k not in est else f"{est[k]:,.1f}"
            print(f"  {k:7s} yosys {got[k]:>10,.1f}   estimator {e:>10}")
        print(json.dumps({"fire": args.fire, "yosys": got, "estimator": est,
                          "cells": dict(cells)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
