"""Throughput, latency and resources of a dataflow design on a board, without vendor tools.

Every stage of the design (``build_design``) carries its own cycle count and resource estimate
(stages.py, cost.py); this module adds the streams between them and the fixed parts of the
design, compares the totals with the board's budget (by default 85% of each resource) and checks
the DDR traffic of the layers whose weights live there. The totals include the block design's
platform IP (platform.py: the DMA, SmartConnects, reset), which share the chip. The pipeline
runs at the pace of its slowest stage: frames/s = clock / max(stage cycles).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..boards import ddr_ports
from ..ir import Graph
from ..report import table
from . import cost
from .cost import Resources
from .dataflow import Design, build_design
from .platform import platform
from .stages import Stage

DEFAULT_CAP = 0.85
RESOURCES = ("dsp", "bram36", "lut", "ff")
#: the AXI-Lite control slave and the top function's start/done logic
TOP_CONTROL = Resources(lut=600, ff=800)
#: share of a memory port's or of DDR's peak bandwidth that streaming bursts sustain
DDR_EFFICIENCY = 0.7


@dataclass
class Costs:
    """A backend's own resources for a design: per stage name and per stream name, in place of
    the stages' ``resources`` and ``cost.fifo`` (a stage or stream it leaves out keeps those),
    and of TOP_CONTROL (``top``); ``model`` names the model in the estimate."""

    stages: dict[str, Resources]
    streams: dict[str, Resources]
    top: Resources
    model: str


#: a backend's costing hook: the design -> its Costs (hwgen/design never imports a backend)
Costing = Callable[[Design], Costs]


def budget(board: dict, cap: float = DEFAULT_CAP) -> dict[str, float]:
    res = board["resources"]
    return {k: math.floor(res[k] * cap * 10) / 10 for k in RESOURCES}


def ddr_bandwidth(board: dict) -> float:
    """Peak DDR bandwidth in bytes/s (the board file's memory.ddr_gbytes_per_s)."""
    return float(board.get("memory", {}).get("ddr_gbytes_per_s", 0.0)) * 1e9


def _layer_row(graph: Graph, st: Stage) -> dict:
    """A layer's shape, formats, folding and cycles."""
    node = graph.node(st.layer)
    out = graph.tensors[node.outputs[0]]
    conv = st.kind == "conv"
    return {"name": node.name, "op": node.kind, "output": list(out.shape),
            "macs": node.op.macs([graph.shape(t) for t in node.inputs], out.shape),
            "input_format": graph.tensors[node.inputs[0]].fmt.cpp(),
            "output_format": out.fmt.cpp(),
            "weight_format": node.op.weight_fmt.cpp() if conv else None,
            "pe": st.folding.pe if conv else None, "simd": st.folding.simd if conv else None,
            "lanes": st.folding.lanes, "cycles": st.cycles}


def estimate(graph: Graph, board: dict, cfg_folding: dict | None = None,
             cap: float = DEFAULT_CAP, costing: Costing | None = None) -> dict:
    """The estimate of the design ``hwgen generate`` writes for this graph and folding."""
    return estimate_for(build_design(graph, cfg_folding), board, cap, costing)


def estimate_for(design: Design, board: dict, cap: float = DEFAULT_CAP,
                 costing: Costing | None = None) -> dict:
    """The estimate of a design on a board; ``costing``: a backend's resources (default: the
    stages' own, cost.py)."""
    graph = design.graph
    clock = float(board["clock_mhz"])
    costs = costing(design) if costing is not None else None
    total = TOP_CONTROL if costs is None else costs.top
    for s in design.streams.values():
        own = costs.streams.get(s.name) if costs is not None else None
        total = total + (own if own is not None else cost.fifo(s.depth, s.bits))
    layers = []
    for st in design.stages:
        res = costs.stages.get(st.name, st.resources) if costs is not None else st.resources
        total = total + res
        if st.layer is None:
            continue
        op = graph.node(st.layer).op
        conv = st.kind == "conv"
        layers.append({
            **_layer_row(graph, st),
            "multipliers": st.folding.multipliers if conv else None,
            "weights": st.weights or None,
            "weight_bits": int(op.weight.size) * op.weight_fmt.width if conv else 0,
            **res.as_dict()})
    slowest = design.bottleneck
    cycles = slowest.cycles
    fps = clock * 1e6 / cycles
    latency = design.latency()
    ddr_bytes = sum(st.ddr.nbytes * _passes(graph, st) for st in design.stages
                    if st.ddr is not None)
    accelerator = total.as_dict()
    around = platform(sum(st.ddr is not None for st in design.stages), len(ddr_ports(board)))
    for r in around.values():
        total = total + r
    need = ddr_bytes * fps
    have = ddr_bandwidth(board) * DDR_EFFICIENCY
    totals = total.as_dict()
    lim = budget(board, cap)
    fits = all(totals[k] <= lim[k] for k in RESOURCES) and (need <= have or ddr_bytes == 0)
    model = {} if costs is None else {"resource_model": costs.model}
    return {
        "board": board["name"], "part": board["part"], "clock_mhz": clock,
        "fps": fps, "latency_ms": latency / (clock * 1e3), "cycles_per_frame": cycles,
        "latency_cycles": int(latency),
        "bottleneck": slowest.layer or slowest.name,
        **totals, "budget": lim, "cap": cap, "available": {k: board["resources"][k]
                                                           for k in RESOURCES},
        "fits": fits,
        "accelerator": accelerator,  # the accelerator alone; the totals add the platform
        "platform": {name: r.as_dict() for name, r in around.items()},
        "ddr": {"layers": [lay["name"] for lay in layers if lay["weights"] == "ddr"],
                "bytes_per_frame": int(ddr_bytes), "gbytes_per_s": need / 1e9,
                "sustainable_gbytes_per_s": have / 1e9},
        "layers": layers, **model,
    }


def _passes(graph: Graph, stage: Stage) -> int:
    """How many times per frame a DDR layer reads its weights: once per output row."""
    return graph.shape(graph.node(stage.layer).outputs[0])[1]


def layer_report(design: Design, clock_mhz: float) -> dict:
    """Per layer shape, formats, folding and cycles, without resources (the RTL backend's report
    and the Fire co-simulation sub-projects'; an HLS project's is the full ``estimate``)."""
    graph = design.graph
    rows = []
    for st in design.layer_stages:
        node = graph.node(st.layer)
        rows.append({"name": node.name, "op": node.kind, "attrs": node.op.describe(),
                     "input": [list(graph.shape(t)) for t in node.inputs],
                     **_layer_row(graph, st)})
    slowest = max(rows, key=lambda r: r["cycles"])
    return {"layers": rows, "clock_mhz": clock_mhz, "bottleneck": slowest["name"],
            "cycles_per_frame": slowest["cycles"],
            "fps": clock_mhz * 1e6 / slowest["cycles"],
            "latency_cycles": sum(r["cycles"] for r in rows)}


def estimate_text(est: dict) -> str:
    rows = [(r["name"], r["op"], "x".join(map(str, r["output"])), f"{r['macs']:,}",
             r["weight_format"] or "", r["pe"] or "", r["simd"] or "", r["lanes"],
             f"{r['cycles']:,}", r["dsp"], r["bram36"], f"{r['lut']:,}", r["weights"] or "",
             r["multipliers"] or "") for r in est["layers"]]
    lim, ok = est["budget"], lambda k: "ok" if est[k] <= est["budget"][k] else "OVER"
    lines = [table(("layer", "op", "output", "MACs", "weights", "PE", "SIMD", "lanes", "cycles",
                    "DSP", "BRAM36", "LUT", "weights in", "mult"), rows,
                   {3, 5, 6, 7, 8, 9, 10, 11}), "",
             f"{est['board']} ({est['part']}) at {est['clock_mhz']:g} MHz, budget "
             f"{est['cap']:.0%} of each resource:"]
    acc, plat = est["accelerator"], est["platform"]
    for k in RESOURCES:
        lines.append(f"  {k:7s} {est[k]:>10,} of {lim[k]:>10,}  ({est['available'][k]:,} on the "
                     f"chip; accelerator {acc[k]:,}, platform "
                     f"{sum(p[k] for p in plat.values()):,})  {ok(k)}")
    d = est["ddr"]
    if d["layers"]:
        lines.append(f"  DDR weights: {', '.join(d['layers'])}: {d['bytes_per_frame']:,} bytes/"
                     f"frame, {d['gbytes_per_s']:.2f} GB/s of {d['sustainable_gbytes_per_s']:.2f}"
                     " sustainable")
    lines += [f"throughput {est['fps']:.1f} frames/s (bottleneck {est['bottleneck']}: "
              f"{est['cycles_per_frame']:,} cycles/frame), latency {est['latency_ms']:.2f} ms",
              "fits" if est["fits"] else "DOES NOT FIT", ""]
    return "\n".join(lines)
