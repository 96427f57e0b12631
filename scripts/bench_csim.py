#!/usr/bin/env python3
"""C-simulation speed of a whole SqueezeNet 1.1 224x224 project, as a ratio to onnxruntime float
inference of the same model in the same run.

    .venv/bin/python scripts/bench_csim.py [--images N] [--json] [--keep DIR]

Targets (issue: C-simulation speed): at most 1 s per image on one core, compile at most 90 s.
The testbench is single-threaded; onnxruntime gets intra_op_num_threads=1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HWGEN_SHARED", ROOT.parent / "shared"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, help="write the project here instead of a temp folder")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import hwgen
    from hwgen.evaluate import onnx_session
    from hwgen.hls.csim import run_csim
    from hwgen.project import Project

    real = SHARED / "models" / "squeezenet1.1-caffe2-fp16.onnx"
    calib = SHARED / "data" / "imagenet-sample" / "calib"
    model = str(real) if real.is_file() else "squeezenet1_1"
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "p"
        hwgen.generate_project(model, out, calib=calib if calib.is_dir() else None,
                                   calib_limit=20, vectors=args.images, force=True)
        res = run_csim(out, images=args.images)
        graph = Project.open(out).graph()
        session = onnx_session(graph, threads=1)
        name = session.get_inputs()[0].name
        rng = np.random.default_rng(0)
        xs = [rng.standard_normal((1, *graph.shape(graph.input))).astype(np.float32)
              for _ in range(args.images)]
        session.run(None, {name: xs[0]})
        t = time.perf_counter()
        for x in xs:
            session.run(None, {name: x})
        ort_s = (time.perf_counter() - t) / len(xs)
    result = {"model": graph.name, "images": res.images, "mismatches": res.mismatches,
              "csim_seconds_per_image": res.seconds_per_image,
              "compile_seconds": res.compile_seconds, "onnxruntime_seconds_per_image": ort_s,
              "csim_over_onnxruntime": res.seconds_per_image / ort_s,
              "meets_targets": res.seconds_per_image <= 1.0 and res.compile_seconds <= 90.0}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{graph.name}: C-sim {res.seconds_per_image:.3f} s/image ({res.mismatches} "
              f"mismatches), compile {res.compile_seconds:.1f} s; onnxruntime {ort_s * 1e3:.1f} "
              f"ms/image; ratio {result['csim_over_onnxruntime']:.1f}x; targets "
              f"(<= 1 s/image, <= 90 s compile): {'met' if result['meets_targets'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
