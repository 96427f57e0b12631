"""Human-readable and JSON reports: model inspection and accuracy."""
from __future__ import annotations

from typing import Sequence

from .ir import Graph


def table(header: Sequence[str], rows: Sequence[Sequence], right: set[int] = frozenset()) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([fmt(cells[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]])


def layer_rows(graph: Graph) -> list[dict]:
    rows = []
    for node in graph.nodes:
        in_shapes = [graph.shape(t) for t in node.inputs]
        out = graph.shape(node.outputs[0])
        rows.append({"name": node.name, "op": node.kind, "attrs": node.op.describe(),
                     "fire": node.fire, "inputs": [list(s) for s in in_shapes],
                     "output": list(out), "macs": node.op.macs(in_shapes, out),
                     "params": node.op.n_params()})
    return rows


def inspect_dict(graph: Graph) -> dict:
    rows = layer_rows(graph)
    return {
        "model": graph.name,
        "origin": graph.origin,
        "input": {"name": graph.input, "shape": list(graph.shape(graph.input))},
        "output": {"name": graph.output, "shape": list(graph.shape(graph.output))},
        "preprocess": graph.preprocess.describe(),
        "softmax": "host" if graph.host_softmax else "none",
        "layers": rows,
        "fires": [{"name": f.name, "squeeze": f.squeeze, "expand1x1": f.expand1x1,
                   "expand3x3": f.expand3x3, "concat": f.concat, "bypass": f.bypass_kind,
                   "bypass_add": f.bypass, "bypass_conv": f.bypass_conv} for f in graph.fires],
        "total_macs": sum(r["macs"] for r in rows),
        "total_params": sum(r["params"] for r in rows),
    }


def _fire_text(fire: dict) -> str:
    """fireN, with its bypass: "fire3 + input" (simple), "fire2 + 1x1 conv of input" (complex)."""
    return fire["name"] + {"none": "", "simple": " + input",
                           "complex": " + 1x1 conv of input"}[fire["bypass"]]


def inspect_text(graph: Graph) -> str:
    d = inspect_dict(graph)
    rows = [(r["name"], r["op"], r["attrs"], " + ".join("x".join(map(str, s)) for s in r["inputs"]),
             "x".join(map(str, r["output"])), f"{r['macs']:,}", f"{r['params']:,}")
            for r in d["layers"]]
    lines = [
        f"model      {d['model']} ({d['origin']} export)",
        f"input      {d['input']['name']} {'x'.join(map(str, d['input']['shape']))}",
        f"output     {d['output']['name']} {'x'.join(map(str, d['output']['shape']))}"
        + ("  (softmax on the host)" if graph.host_softmax else ""),
        f"preprocess {d['preprocess']}",
        "",
        table(("layer", "op", "attributes", "input", "output", "MACs", "params"), rows, {5, 6}),
        "",
        f"Fire modules: {len(d['fires'])}"
        + (f" ({', '.join(_fire_text(f) for f in d['fires'])})" if d["fires"] else ""),
        f"total: {d['total_macs']:,} MACs, {d['total_params']:,} parameters",
    ]
    return "\n".join(lines)


def eval_text(r: dict) -> str:
    rows = [(layer["name"], layer["format"], f"{layer['snr_db']:.1f}", layer["saturations"])
            for layer in r["layers"]]
    return "\n".join([
        f"model       {r['model']}",
        f"preprocess  {r['preprocess']}",
        f"images      {r['images']}",
        "",
        table(("", "top-1 %", "top-5 %", "s/image"), [
            ("float (onnxruntime)", f"{r['float_top1']:.2f}", f"{r['float_top5']:.2f}",
             f"{r['seconds_per_image_float']:.4f}"),
            ("fixed (golden)", f"{r['fixed_top1']:.2f}", f"{r['fixed_top5']:.2f}",
             f"{r['seconds_per_image_fixed']:.4f}")], {1, 2, 3}),
        f"top-1 agreement {r['agreement']:.2f} %",
        "",
        table(("layer", "output format", "SNR dB", "saturated"), rows, {2, 3}),
    ])


def search_text(found: dict) -> str:
    """What the precision search found, in a few lines (stderr: stdout may be the file)."""
    b, s = found["baseline"], found["searched"]
    lines = [f"precision search for {found['board']}: {found['calibration_images']} images "
             f"calibrate, {found['held_out_images']} held out",
             f"  8-bit design: {b['fps']:.1f} frames/s, held-out agreement {b['agreement']:.1%}",
             f"  searched:     {s['fps']:.1f} frames/s ({s['fps'] / b['fps']:.2f}x), held-out "
             f"agreement {s['agreement']:.1%} (at least {found['min_agreement']:.1%}), "
             + ("fits" if s["fits"] else "DOES NOT FIT")]
    lines += [f"  tried the {t['steps']} least costly steps: quick agreement "
              f"{t['agreement']:.1%}, {t['fps']:.1f} frames/s" for t in found["tried"]]
    lines += [f"  {step}" for step in found["steps"]] or ["  (no layer narrowed)"]
    return "\n".join(lines)
