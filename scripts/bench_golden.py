#!/usr/bin/env python3
"""Golden-model speed as a ratio to onnxruntime float inference of the same model, same run.

    .venv/bin/python scripts/bench_golden.py [--model M] [--images N] [--threads T] [--json]

Both run on the same preprocessed inputs (calibration images if the shared data is present, else
seeded noise), one thread each (the golden model limits BLAS to one thread; onnxruntime gets
intra_op_num_threads=1). The issue's target is absolute (well under 0.5 s per image) and is printed
beside the ratio; machines here are noisy, so the ratio is what to compare between runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HWGEN_SHARED", ROOT.parent / "shared"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHARED / "models" / "squeezenet1.1-caffe2-fp16.onnx"))
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    import onnxruntime as ort

    import hwgen
    from hwgen.evaluate import onnx_session

    calib = SHARED / "data" / "imagenet-sample" / "calib"
    graph = hwgen.load_model(args.model if Path(args.model).exists() else "squeezenet1_1")
    if calib.is_dir():
        from hwgen.images import list_images
        hwgen.quantize_model(graph, calib=calib, limit=20)
        xs = list(hwgen.image_inputs(graph, list_images(calib)[:args.images]))
    else:
        rng = np.random.default_rng(0)
        xs = [rng.standard_normal(graph.shape(graph.input)).astype(np.float32) * 50
              for _ in range(args.images)]
        from hwgen.quant import collect_stats, quantize
        quantize(graph, {}, collect_stats(graph, xs[:4]))

    session = onnx_session(graph, threads=1)
    name = session.get_inputs()[0].name
    golden = hwgen.GoldenModel(graph)
    session.run(None, {name: xs[0][None]})  # warm both up
    golden.logits(xs[0])

    def per_image(fn) -> float:
        best = []
        for x in xs:  # median of per-image times: robust to noise from other processes
            t = time.perf_counter()
            fn(x)
            best.append(time.perf_counter() - t)
        return float(np.median(best))

    t_ort = per_image(lambda x: session.run(None, {name: x[None]}))
    t_gold = per_image(golden.logits)
    result = {"model": graph.name, "images": len(xs), "onnxruntime_s_per_image": t_ort,
              "golden_s_per_image": t_gold, "golden_over_onnxruntime": t_gold / t_ort,
              "target_s_per_image": 0.5, "meets_target": t_gold < 0.5,
              "onnxruntime_version": ort.__version__, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{graph.name}: golden {t_gold * 1e3:.1f} ms/image, onnxruntime float "
              f"{t_ort * 1e3:.1f} ms/image, ratio {t_gold / t_ort:.1f}x "
              f"(target < 500 ms: {'met' if t_gold < 0.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
