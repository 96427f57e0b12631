#!/usr/bin/env python3
"""Measured (RTL simulation) against estimated (analytic model) cycles per frame.

    python scripts/rtl_cycles.py [--out DIR] [CASE ...]

CASE: ``reduced`` (SqueezeNet 1.1, a quarter of the channels, 40x40 input) or a Fire module of
SqueezeNet 1.1 at full width (fire2 .. fire9, at its size for a 224x224 input). Each case is
generated with ``--backend rtl`` and run through ``hwgen rtlsim`` (bit-exact check included);
prints one line per case and, with --json, a JSON list.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "rtl")]

import nets  # noqa: E402
from hwgen.cli import main as hwgen  # noqa: E402
from hwgen.rtl.sim import run_rtlsim  # noqa: E402


def model_for(case: str, folder: Path) -> Path:
    if case == "reduced":
        return nets.export(nets.reduced_squeezenet(4), (3, 40, 40), folder / "reduced.onnx")
    module, shape = nets.fire_module(case)
    return nets.export(module, shape, folder / f"{case}.onnx")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=["reduced", "fire2", "fire4", "fire6", "fire9"])
    ap.add_argument("--out", type=Path, help="keep the projects here (default: a temp folder)")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for case in args.cases:
            proj = root / case
            if hwgen(["generate", str(model_for(case, root)), "--backend", "rtl", "-o", str(proj),
                      "--vectors", str(args.images), "--force"]) != 0:
                return 2
            res = run_rtlsim(proj, images=args.images)
            row = {"case": case, **res.as_dict()}
            rows.append(row)
            print(f"{case:8s} measured {res.cycles_per_frame:>10,.0f} estimated "
                  f"{res.estimated_cycles_per_frame:>10,} ({100 * res.model_error:+.2f}%) "
                  f"latency {res.latency_cycles:>10,.0f} mismatches {res.mismatches} "
                  f"(build {res.build_seconds:.0f} s, sim {res.sim_seconds:.0f} s)", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(r["mismatches"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
