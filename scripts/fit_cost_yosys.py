#!/usr/bin/env python3
"""Data to fit the resource estimator on: Yosys (the flow of `hwgen synth`: synth_xilinx -family
xc7 -flatten -noiopad, counted Vivado's way by hwgen.rtl.synth.count) on single library modules
of hwgen/rtl/hdl/, beside what the estimator (hwgen.design: the stages' `resources`, cost.fifo
for the streams) books for the same thing and what the RTL backend's model (hwgen.rtl.cost)
books, with the ratios estimate / Yosys of both.

    python scripts/fit_cost_yosys.py [--out DIR] [--jobs 2] [--hdl DIR] [--parts conv,fifo,...]
                                     [--whole DIR ...]

Parts:
  conv      hwgen_conv, direct 1x1 and window 3x3, PE x SIMD from 1x1 to 16x16 (fire2's expand
            convolutions: 16 -> 64 channels at 55x55, 8-bit activations and weights, the
            accumulator widths the generator gives them)
  fifo      hwgen_fifo, widths 8 / 64 / 256, depths 2, 8, 40, 200, 1000 words
  regroup   hwgen_regroup, a few lane conversions
  fire2     every instance of the fire2 project (full-width Fire module, default folding)
  reduced   every instance of the reduced SqueezeNet 1.1 (a quarter of the channels, 40x40)
  align     per-channel weight formats: the convs of tests/rtl/test_rtl_per_channel.py's
            YOSYS_ALIGN with their channel shifts (ALIGN > 0) and without (ALIGN 0)
  whole     the whole top of the fire2 and reduced projects against the estimator's totals
            (`hwgen synth` results; --whole DIR adds a project already synthesised)
--project DIR ... adds every instance of RTL projects written before (e.g. the trained
SqueezeNet for the PYNQ-Z2).

Each Yosys run is cached in OUT/cache/ (by module, parameters and library text); --rows FILE...
prints the tables of rows written before. Not part of the test suite: the whole set takes about
an hour under WebAssembly.

The model the RTL backend estimates with (hwgen/rtl/cost.py: one function per library module,
from the instance's own parameters, fitted on these tables) is the "proposed" (P) column.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "rtl")]

from hwgen.boards import load_board  # noqa: E402
from hwgen.design import cost  # noqa: E402
from hwgen.design.dataflow import build_design  # noqa: E402
from hwgen.design.estimate import estimate_for  # noqa: E402
from hwgen.design.stages import _plumbing  # noqa: E402
from hwgen.rtl import cost as rtl_cost  # noqa: E402
from hwgen.rtl.generate import HDL_DIR, build_netlist  # noqa: E402
from hwgen.rtl.modules import rtl_kernel  # noqa: E402
from hwgen.rtl.synth import cells_from_stat_json, count, yosys_command  # noqa: E402

RES = ("lut", "ff", "dsp", "bram36")
#: the library files each module needs, leaves first
DEPS = {
    "hwgen_fifo": ["hwgen_fifo.sv"],
    "hwgen_regroup": ["hwgen_regroup.sv"],
    "hwgen_concat": ["hwgen_concat.sv"],
    "hwgen_add": ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv",
                  "hwgen_add.sv"],
    "hwgen_duplicate": ["hwgen_duplicate.sv"],
    "hwgen_axis_in": ["hwgen_axis_in.sv"],
    "hwgen_axis_out": ["hwgen_axis_out.sv"],
    "hwgen_gap": ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv",
                  "hwgen_gap.sv"],
    "hwgen_maxpool": ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv",
                      "hwgen_fifo.sv", "hwgen_ram.sv", "hwgen_window.sv", "hwgen_maxpool.sv"],
    "hwgen_conv": ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv",
                   "hwgen_fifo.sv", "hwgen_regroup.sv", "hwgen_ram.sv", "hwgen_window.sv",
                   "hwgen_fabric_mul.sv", "hwgen_fabric_dot.sv", "hwgen_dot.sv", "hwgen_mvau.sv",
                   "hwgen_conv_front.sv", "hwgen_conv.sv"],
    "hwgen_conv_ddr": ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv",
                       "hwgen_fifo.sv", "hwgen_regroup.sv", "hwgen_ram.sv", "hwgen_window.sv",
                       "hwgen_fabric_mul.sv", "hwgen_fabric_dot.sv", "hwgen_dot.sv",
                       "hwgen_axi_read.sv",
                       "hwgen_mvau_ddr.sv", "hwgen_conv_front.sv", "hwgen_conv_ddr.sv"],
    "hwgen_control": ["hwgen_control.sv"],
}


# ---- running Yosys ---------------------------------------------------------------------------
def synth_module(module: str, params: dict[str, str], cwd: Path, out: Path, hdl: Path,
                 tag: str) -> dict:
    """Counts of ``module`` alone with ``params`` (SystemVerilog literals), run in ``cwd`` (where
    its $readmemh files are); cached under ``out``."""
    files = [hdl / f for f in DEPS[module]]
    key = hashlib.sha256(json.dumps([module, sorted(params.items()), str(cwd)]).encode()
                         + b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    cache = out / "cache" / f"{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    work = out / "runs"
    work.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(work, cwd)  # relative paths only: the WebAssembly Yosys has its own /tmp
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    ys = work / f"{tag}.ys"
    ys.write_text("".join(f"read_verilog -sv {os.path.relpath(f, cwd)}\n" for f in files)
                  + f"chparam {sets} {module}\n"
                  f"synth_xilinx -family xc7 -top {module} -flatten -noiopad\n"
                  f"tee -q -o {rel}/{tag}.stat.json stat -json\n")
    cmd, _ = yosys_command()
    t = time.perf_counter()
    proc = subprocess.run(cmd + ["-q", "-l", f"{rel}/{tag}.log", "-s", f"{rel}/{tag}.ys"],
                          cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{tag}: yosys failed: {(proc.stderr or proc.stdout)[-800:]}")
    cells = cells_from_stat_json((work / f"{tag}.stat.json").read_text(), module)
    r = {**count(cells), "cells": cells, "seconds": round(time.perf_counter() - t, 1)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(r))
    return r


def run_all(jobs: list[tuple], n: int) -> list[dict]:
    """``jobs``: (module, params, cwd, out, hdl, tag); runs ``n`` at a time."""
    with cf.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(synth_module, *j) for j in jobs]
        res = []
        for j, f in zip(jobs, futs):
            r = f.result()
            print(f"  {j[-1]}: {r['seconds']} s", file=sys.stderr, flush=True)
            res.append(r)
        return res


# ---- projects --------------------------------------------------------------------------------
def make_project(kind: str, root: Path) -> Path:
    """The fire2 (full width) or reduced (div 4, 40x40) RTL project, generated once."""
    import nets  # noqa: PLC0415
    from hwgen.api import generate_project  # noqa: PLC0415

    proj = root / kind
    if (proj / "hwgen_project.json").is_file():
        return proj
    root.mkdir(parents=True, exist_ok=True)
    if kind == "fire2":
        module, shape = nets.fire_module("fire2")
    elif kind == "reduced16":
        module, shape = nets.reduced_squeezenet(16), (3, 32, 32)
    else:
        module, shape = nets.reduced_squeezenet(4), (3, 40, 40)
    model = nets.export(module, shape, root / f"{kind}.onnx")
    generate_project(model, proj, board="pynq-z2", backend="rtl", vectors=1, force=True)
    return proj


def project_design(proj: Path, folding: dict | None = None):
    import yaml  # noqa: PLC0415
    from hwgen.project import Project  # noqa: PLC0415

    p = Project.open(proj)
    graph = p.graph()
    if folding is None:
        folding = (yaml.safe_load((proj / "config.yaml").read_text()) or {}).get("folding")
    return graph, build_design(graph, folding)


def instance_rows(proj: Path, out: Path, hdl: Path, jobs: int, label: str) -> list[dict]:
    """Every library instance of the project's top, synthesised alone, beside the estimate of
    the stage or stream it implements."""
    graph, design = project_design(proj)
    net = build_netlist(design)
    booked = {}
    for name, s in design.streams.items():
        booked["u_fifo_" + name[2:] + "_q"] = ("fifo", cost.fifo(s.depth, s.bits),
                                               {"depth": s.depth, "width": s.bits})
    for st in design.stages:
        inst = {"axis_in": "u_axis_in", "axis_out": "u_axis_out"}.get(st.kind, "u_" + st.name)
        booked[inst] = (st.kind, st.resources, {})
    todo, meta = [], []
    for i in net.instances:
        if i.module not in DEPS or i.name not in booked:
            continue
        params = dict(i.params)
        if i.module in ("hwgen_conv", "hwgen_conv_ddr"):
            params = {k: v.replace("{MEM_DIR, ", "").rstrip("}") for k, v in params.items()}
        todo.append((i.module, params, proj / "rtl", out, hdl, f"{label}_{i.name}"))
        meta.append((i, booked[i.name]))
    rows = []
    for (i, (kind, est, extra)), y in zip(meta, run_all(todo, jobs)):
        p = dict(i.params)
        rows.append({"part": label, "instance": i.name, "module": i.module, "kind": kind,
                     "params": p, **extra, "yosys": {k: y[k] for k in
                                                      (*RES, "lutram", "lut_logic", "carry")},
                     "estimate": est.as_dict(), "cells": y["cells"]})
    return rows


# ---- sweeps ----------------------------------------------------------------------------------
def conv_rows(root: Path, out: Path, hdl: Path, jobs: int, grid) -> list[dict]:
    """fire2's expand convolutions at PE x SIMD of ``grid``: their RTL parameters and weight
    images as the generator makes them, their estimate from the design at that folding."""
    proj = make_project("fire2", root / "projects")
    todo, meta = [], []
    for pe, simd in grid:
        folding = {"fire2/squeeze1x1": {"pe": simd}, "fire2/expand1x1": {"pe": pe, "simd": simd},
                   "fire2/expand3x3": {"pe": pe, "simd": simd}}
        graph, design = project_design(proj, folding)
        work = out / "conv" / f"pe{pe}_simd{simd}"
        for layer in ("fire2/expand1x1", "fire2/expand3x3"):
            node = graph.node(layer)
            k = rtl_kernel(graph, node, design.folding[layer])
            for name, text in k.mems.items():
                f = work / name
                f.parent.mkdir(parents=True, exist_ok=True)
                if not f.is_file():
                    f.write_text(text)
            params = {n: v.sv() for n, v in k.params.items()}
            todo.append(("hwgen_conv", params, work, out, hdl, f"conv_{layer[6:]}_pe{pe}_simd{simd}"))
            meta.append((layer, pe, simd, params, design.layer(layer).resources))
    rows = []
    for (layer, pe, simd, params, est), y in zip(meta, run_all(todo, jobs)):
        rows.append({"part": "conv", "instance": f"{layer} {pe}x{simd}", "module": "hwgen_conv",
                     "kind": "conv", "params": params, "pe": pe, "simd": simd,
                     "yosys": {k: y[k] for k in (*RES, "lutram", "lut_logic", "carry")},
                     "estimate": est.as_dict(), "cells": y["cells"]})
    return rows


def fifo_rows(out: Path, hdl: Path, jobs: int) -> list[dict]:
    grid = [(w, d) for w in (8, 64, 256) for d in (2, 8, 40, 200, 1000)]
    todo = [("hwgen_fifo", {"WIDTH": str(w), "DEPTH": str(d)}, out, out, hdl, f"fifo_w{w}_d{d}")
            for w, d in grid]
    return [{"part": "fifo", "instance": f"fifo {w}b x {d}", "module": "hwgen_fifo",
             "kind": "fifo", "params": {"WIDTH": w, "DEPTH": d}, "width": w, "depth": d,
             "yosys": {k: y[k] for k in (*RES, "lutram", "lut_logic", "carry")},
             "estimate": cost.fifo(d, w).as_dict(), "cells": y["cells"]}
            for (w, d), y in zip(grid, run_all(todo, jobs))]


def regroup_rows(out: Path, hdl: Path, jobs: int) -> list[dict]:
    grid = [(1, 8), (8, 1), (4, 16), (16, 4), (3, 1)]
    todo = [("hwgen_regroup", {"W": "8", "IN_L": str(a), "OUT_L": str(b)}, out, out, hdl,
             f"regroup_{a}_{b}") for a, b in grid]
    return [{"part": "regroup", "instance": f"regroup {a}->{b}", "module": "hwgen_regroup",
             "kind": "regroup", "params": {"IN_L": a, "OUT_L": b},
             "yosys": {k: y[k] for k in (*RES, "lutram", "lut_logic", "carry")},
             "estimate": _plumbing(max(a, b) * 8 * 2).as_dict(), "cells": y["cells"]}
            for (a, b), y in zip(grid, run_all(todo, jobs))]


def align_rows(out: Path, hdl: Path, jobs: int) -> list[dict]:
    """What per-channel formats add: each conv of YOSYS_ALIGN with ALIGN 0 and with its shifts
    (the test's layers, so that its table can be checked against these rows)."""
    from hwgen.design.folding import Folding  # noqa: PLC0415
    from hwgen.design.stages import layer_stage  # noqa: PLC0415
    from test_rtl_per_channel import YOSYS_ALIGN, align_layer  # noqa: PLC0415

    todo, meta = [], []
    for case in YOSYS_ALIGN:
        cin, cout, k, pe, simd, top, ddr = case
        fold = Folding(pe=pe, simd=simd, ddr=ddr)
        for shifted in (False, True):
            g = align_layer(case) if shifted else align_layer(case, shifts=False)
            kern = rtl_kernel(g, g.nodes[0], fold)
            tag = f"align_{cin}_{cout}_{k}_pe{pe}_simd{simd}_s{top}{'_ddr' * ddr}_{int(shifted)}"
            work = out / "align" / tag
            for name, text in kern.mems.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text)
            params = {n: v.sv() for n, v in kern.params.items()}
            todo.append((kern.module, params, work, out, hdl, tag))
            meta.append((tag, kern.module, params, layer_stage(g, g.nodes[0], fold).resources))
    return [{"part": "align", "instance": tag[6:], "module": module, "kind": "conv",
             "params": params, "yosys": {k: y[k] for k in (*RES, "lutram", "lut_logic", "carry")},
             "estimate": est.as_dict(), "cells": y["cells"]}
            for (tag, module, params, est), y in zip(meta, run_all(todo, jobs))]


# ---- the RTL backend's model -------------------------------------------------------------------
def proposed(row: dict) -> dict:
    """The RTL backend's model of one instance."""
    return rtl_cost.instance(row["module"], row["params"]).as_dict()


def proposed_design(design) -> dict:
    """The RTL backend's model of the whole accelerator (hwgen.rtl.cost.RtlCosting)."""
    est = estimate_for(design, load_board("pynq-z2"), costing=rtl_cost.RtlCosting())
    return est["accelerator"]


# ---- tables ----------------------------------------------------------------------------------
def ratio(e: float, y: float) -> str:
    if y == 0:
        return "-" if e == 0 else f"+{e:g}"
    return f"{e / y:.2f}"


def print_table(rows: list[dict], with_proposal: bool) -> None:
    head = (f"{'part':8s} {'instance':34s} | {'Y.LUT':>6s} {'(mem)':>5s} {'Y.FF':>6s} "
            f"{'Y.DSP':>5s} {'Y.BRAM':>6s} | {'E.LUT':>6s} {'E.FF':>6s} {'E.DSP':>5s} "
            f"{'E.BRAM':>6s} | LUT  FF   DSP  BRAM")
    if with_proposal:
        head += " | P.LUT P.FF  P.DSP P.BRAM | LUT  FF   DSP  BRAM"
    print(head)
    for r in rows:
        y, e = r["yosys"], r["estimate"]
        line = (f"{r['part']:8s} {r['instance'][:34]:34s} | {y['lut']:6d} {y['lutram']:5d} "
                f"{y['ff']:6d} {y['dsp']:5d} {y['bram36']:6.1f} | {e['lut']:6d} {e['ff']:6d} "
                f"{e['dsp']:5d} {e['bram36']:6.1f} | "
                + " ".join(f"{ratio(e[k], y[k]):4s}" for k in RES))
        if with_proposal and r["module"] in rtl_cost.MODELS:
            p = proposed(r)
            r["proposed"] = p
            line += (f" | {p['lut']:5.0f} {p['ff']:5.0f} {p['dsp']:5.0f} {p['bram36']:6.1f} | "
                     + " ".join(f"{ratio(p[k], y[k]):4s}" for k in RES))
        print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fit_cost_yosys")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--hdl", type=Path, default=HDL_DIR, help="library folder to synthesise")
    ap.add_argument("--parts", default="conv,fifo,regroup,fire2,reduced,whole")
    ap.add_argument("--grid", default="1x1,2x2,4x4,8x8,16x16,4x16,16x4")
    ap.add_argument("--whole", type=Path, nargs="*", default=[])
    ap.add_argument("--project", type=Path, nargs="*", default=[],
                    help="RTL projects written before: every instance of each, as for fire2")
    ap.add_argument("--no-proposal", dest="proposal", action="store_false",
                    help="leave out the proposed model's columns")
    ap.add_argument("--rows", type=Path, nargs="*", default=[],
                    help="tables of rows.json files written before, instead of running Yosys")
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    hdl = args.hdl.resolve()
    parts = args.parts.split(",")
    grid = [tuple(int(x) for x in g.split("x")) for g in args.grid.split(",")]
    rows: list[dict] = []
    t = time.perf_counter()
    for f in args.rows:
        rows += json.loads(f.read_text())
    parts = [] if args.rows else parts
    if "fifo" in parts:
        rows += fifo_rows(out, hdl, args.jobs)
    if "regroup" in parts:
        rows += regroup_rows(out, hdl, args.jobs)
    if "align" in parts:
        rows += align_rows(out, hdl, args.jobs)
    if "conv" in parts:
        rows += conv_rows(out, out, hdl, args.jobs, grid)
    for kind in ("fire2", "reduced"):
        if kind in parts:
            rows += instance_rows(make_project(kind, out / "projects"), out, hdl, args.jobs, kind)
    for proj in args.project:
        rows += instance_rows(proj.resolve(), out, hdl, args.jobs, proj.name)
    if not args.rows:
        (out / f"rows_{'_'.join(parts)}.json").write_text(json.dumps(rows, indent=1))
    print(f"# {len(rows)} Yosys runs in {time.perf_counter() - t:.0f} s "
          f"(library {hdl}); Y = Yosys, E = estimator, P = proposed; ratios estimate / Yosys\n")
    print_table(rows, args.proposal)
    if "whole" in parts or args.whole:
        print()
        whole_table([out / "projects" / k for k in ("fire2", "reduced")] + args.whole,
                    args.proposal, rows)
    return 0


def whole_table(projects: list[Path], with_proposal: bool, rows: list[dict]) -> None:
    """Whole-top Yosys (`hwgen synth`'s result.json) against the accelerator total of the
    design's own estimate (E) and of the RTL backend's model (P) on the same folding."""
    for proj in projects:
        res = proj / "build" / "synth" / "result.json"
        if not res.is_file():
            print(f"{proj}: no build/synth/result.json (run `hwgen synth {proj}` first)")
            continue
        y = json.loads(res.read_text())
        graph, design = project_design(proj)
        est = estimate_for(design, load_board("pynq-z2"))
        acc = est["accelerator"]
        line = (f"whole {proj.name:28s} Yosys LUT {y['lut']:7d} (mem {y['lutram']}) FF "
                f"{y['ff']:7d} DSP {y['dsp']:5d} BRAM36 {y['bram36']:6.1f} | estimator LUT "
                f"{acc['lut']:7d} FF {acc['ff']:7d} DSP {acc['dsp']:5d} BRAM36 "
                f"{acc['bram36']:6.1f} | " + " ".join(f"{k} {ratio(acc[k], y[k])}" for k in RES))
        print(line)
        if with_proposal:
            p = proposed_design(design)
            print(f"      {'':28s} proposed LUT {p['lut']:7.0f} FF {p['ff']:7.0f} DSP "
                  f"{p['dsp']:5.0f} BRAM36 {p['bram36']:6.1f} | "
                  + " ".join(f"{k} {ratio(p[k], y[k])}" for k in RES))


if __name__ == "__main__":
    sys.exit(main())
