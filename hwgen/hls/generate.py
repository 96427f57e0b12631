"""``hwgen generate``: a quantised graph -> a complete Vitis HLS project.

The top function is one dataflow region: an AXI4-Stream adapter, one kernel per layer (each Fire
module a sub-pipeline: squeeze, a duplicate feeding expand 1x1 and expand 3x3, their concat), the
output adapter. Python emits only config structs, weight arrays and wiring (templates in
``hls_templates/project``); all kernel logic is the hand-written C++ of ``hls_templates/hwgen``.
"""
from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..errors import HwgenError
from ..fixed import FixedType
from ..ir import Graph
from ..outdir import write_project
from ..quant import dump_config, resolved_config
from ..resources import data_dir
from . import cost
from .folding import plan_folding
from .kernels import (DEFAULT_FIFO_DEPTH, Folding, KernelCall, axis_beats, axis_in_call,
                      axis_out_call, cpp_ident, dma_beat_bits, duplicate_call, fire_fifo_depths, kernel_call,
                      window_input_depth)
from .ddr import ddr_layout
from .project import CONFIG_FILE, MODEL_FILE, PROJECT_FILE, VECTOR_DIR, vector_files

#: the image of the weights that live in DDR (the testbench's DDR, the driver's weight buffer)
DDR_FILE = "ddr_weights.bin"


def weight_ports(ddr_layers, board: dict) -> list[dict]:
    """The processing system's high-performance ports that the weight masters use: the DMA keeps
    the first, the masters share the others round-robin."""
    pool = list(enumerate(board["memory"]["hp_ports"]))[1:]
    if ddr_layers and not pool:
        raise HwgenError(f"board {board['name']}: weights in DDR need a second high-performance "
                         "port beside the DMA's (memory.hp_ports lists one)")
    used: dict[int, dict] = {}
    for i, d in enumerate(ddr_layers):
        index, name = pool[i % len(pool)]
        used.setdefault(index, {"index": index, "name": name, "masters": []})
        used[index]["masters"].append(f"m_axi_gmem_{d.port}")
    return [used[k] for k in sorted(used)]


def _stream_meta(fmt: FixedType, lanes: int) -> dict:
    """How the top packs one of its AXI4-Streams (axi.h), for the driver and the RTL harness."""
    bits = dma_beat_bits(fmt, lanes)
    return {"lanes": lanes, "width": fmt.width, "frac": fmt.frac, "signed": fmt.signed,
            "axi_bits": bits, "beats": axis_beats(fmt, lanes, bits)}


def register_offset(index: int, addr64: bool) -> int:
    """AXI-Lite offset of the index-th weight pointer of the top function: Vitis HLS puts its
    control registers at 0x00-0x0c and then each scalar argument in order, a 64-bit one in three
    32-bit slots (low, high, reserved), a 32-bit one in two (data, reserved)."""
    return 0x10 + index * (0xC if addr64 else 0x8)

TOP = "hwgen_top"


@dataclass
class Stream:
    name: str
    type: str
    depth: int
    bits: int = 0  # width of one word (lanes x element width)


@dataclass
class Stage:
    call: KernelCall
    statement: str
    trace: tuple[str, str] | None  # (stream variable, tensor name) dumped under HWGEN_TRACE
    folding: Folding | None = None
    layer: str | None = None
    ddr_port: str | None = None  # the top function's weight pointer, for weights in DDR


def stream_bits(type_: str) -> int:
    """Bits of one word of a stream type "hwgen::Pack<ap_fixed<...>, N>"."""
    m = re.fullmatch(r"hwgen::Pack<(.*), (\d+)>", type_)
    return FixedType.parse(m.group(1)).width * int(m.group(2)) if m else 0


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("hls_templates") / "project")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def build_dataflow(graph: Graph, cfg_folding: dict | None = None, input_lanes: int | None = None):
    """Streams and stages of the top function, in order."""
    plan, lanes = plan_folding(graph, cfg_folding, input_lanes)
    streams: dict[str, Stream] = {}
    stages: list[Stage] = []

    def new_stream(tensor_or_name: str, type_: str, depth: int = DEFAULT_FIFO_DEPTH) -> str:
        name = "s_" + cpp_ident(tensor_or_name)
        while name in streams:
            name += "_"
        streams[name] = Stream(name, type_, depth, stream_bits(type_))
        return name

    var: dict[str, str] = {}  # tensor -> stream variable holding it
    inp = graph.tensors[graph.input]
    c, h, w = inp.shape
    call = axis_in_call("input", inp.fmt, c, h * w, lanes[graph.input],
                        dma_beat_bits(inp.fmt, lanes[graph.input]))
    var[graph.input] = new_stream(graph.input, call.out_streams[0])
    stages.append(Stage(call, call.call(["in"], [var[graph.input]]), (var[graph.input], graph.input)))

    fire_of_squeeze = {f.squeeze: f for f in graph.fires}
    branch_in: dict[str, str] = {}  # expand layer -> its own copy of the squeeze output
    sibling: dict[str, str] = {}  # a Fire's expand3x3 input stream -> its expand1x1 input stream
    # stream -> cycles its producer takes per word (the input: a word's AXI4-Stream beats)
    pace = {var[graph.input]: float(_stream_meta(inp.fmt, lanes[graph.input])["beats"])}
    for node in graph.nodes:
        fold = plan[node.name]
        call = kernel_call(graph, node, fold, cpp_ident(node.name))
        ins = [branch_in.get(node.name, var[t]) for t in node.inputs]
        deeper = window_input_depth(graph, node, fold, pace[ins[0]]) - streams[ins[0]].depth
        if deeper > 0:
            streams[ins[0]].depth += deeper
            if ins[0] in sibling:  # what expand3x3 may now read ahead, expand1x1's side holds
                streams[sibling[ins[0]]].depth += deeper
        out = node.outputs[0]
        var[out] = new_stream(out, call.out_streams[0])
        pace[var[out]] = call.cycles * call.out_lanes[0] / math.prod(graph.shape(out))
        port = f"w_{call.name}" if call.ddr is not None else None
        stages.append(Stage(call, call.call(ins, [var[out]], ddr_port=port), (var[out], out),
                            fold, node.name, port))
        fire = fire_of_squeeze.get(node.name)
        if fire is not None:  # fork the squeeze output into both expand branches
            depths = fire_fifo_depths(graph, fire, plan)
            t = graph.tensors[out]
            sc, sh, sw = t.shape
            dup = duplicate_call(cpp_ident(fire.name) + "_dup", t.fmt, sc, sh * sw, plan[
                node.name].pe)
            a = new_stream(f"{fire.name}_to_expand1x1", dup.out_streams[0], depths["expand1x1_in"])
            b = new_stream(f"{fire.name}_to_expand3x3", dup.out_streams[1], depths["expand3x3_in"])
            branch_in[fire.expand1x1], branch_in[fire.expand3x3] = a, b
            pace[a] = pace[b] = pace[var[out]]
            sibling[b] = a
            stages.append(Stage(dup, dup.call([var[out]], [a, b]), None))
    y = graph.tensors[graph.output]
    pixels = int(np.prod(y.shape[1:])) if len(y.shape) == 3 else 1
    call = axis_out_call("output", y.fmt, y.shape[0], pixels, lanes[graph.output],
                         dma_beat_bits(y.fmt, lanes[graph.output]))
    stages.append(Stage(call, call.call([var[graph.output]], ["out"]), None))
    return list(streams.values()), stages, lanes


def _weights_header(call: KernelCall) -> str:
    """The layer's ROMs: arrays of scalar words ap_uint<PE*SIMD*W> (weights) and ap_uint<PE*Wb>
    (biases), lane l at bits [l*W, l*W + W), each word initialised from a hex string
    (kernels.KernelArray; conv2d.h, "Weight layout")."""
    guard = f"HWGEN_WEIGHTS_{call.name.upper()}_H"
    body = "".join(a.definition() for a in call.arrays)
    words = ", ".join(f"{a.name}: {a.words} words of {a.lanes} x {a.bits} bits"
                      for a in call.arrays)
    return (f"// {call.name}: weights and biases as raw integers in the kernel's layout "
            f"(generated by hwgen {__version__})\n// ROM words ({words}), lane l of a word at "
            f"bits [l*W, l*W + W), read by a word\n// counter; storage: the kernel's pragmas "
            f"(config {call.config_name})\n"
            f"#ifndef {guard}\n#define {guard}\n"
            f'#include "hwgen/hwgen.h"\n\n{body}\n#endif\n')


def layer_report(graph: Graph, stages: list[Stage], clock_mhz: float) -> dict:
    """Per layer shape, formats, folding and cycles: the RTL backend's report (an HLS project's
    is the full estimate of estimate.py, resources included)."""
    rows = []
    for st in stages:
        if st.layer is None:
            continue
        node = graph.node(st.layer)
        out = graph.tensors[node.outputs[0]]
        rows.append({
            "name": node.name, "op": node.kind, "attrs": node.op.describe(),
            "input": [list(graph.shape(t)) for t in node.inputs], "output": list(out.shape),
            "macs": node.op.macs([graph.shape(t) for t in node.inputs], out.shape),
            "input_format": graph.tensors[node.inputs[0]].fmt.cpp(), "output_format": out.fmt.cpp(),
            "weight_format": getattr(node.op, "weight_fmt", None) and node.op.weight_fmt.cpp(),
            "pe": st.folding.pe if node.kind == "conv" else None,
            "simd": st.folding.simd if node.kind == "conv" else None,
            "lanes": st.folding.lanes, "cycles": st.call.cycles})
    slowest = max(rows, key=lambda r: r["cycles"])
    return {"layers": rows, "clock_mhz": clock_mhz, "bottleneck": slowest["name"],
            "cycles_per_frame": slowest["cycles"],
            "fps": clock_mhz * 1e6 / slowest["cycles"],
            "latency_cycles": sum(r["cycles"] for r in rows)}


def generate(graph: Graph, out_dir: str | Path, board: dict, cfg: dict | None = None,
             vectors: list[np.ndarray] | None = None, force: bool = False) -> dict:
    """Write the project; ``vectors`` are network inputs for the testbench's test vectors. Two
    Fire modules (one with weights on chip, one with weights in DDR) also get small projects of
    their own (FIRE_DIRS, fire_cosim_files): a whole-network co-simulation takes hours in XSim."""
    from .estimate import estimate  # noqa: PLC0415  (estimate imports this module)

    cfg = cfg or {}
    vectors = vectors or []
    streams, stages, lanes = build_dataflow(graph, cfg.get("folding"))
    rep = estimate(graph, board, cfg.get("folding"))
    # where each array lives, as the estimator chose it (the kernels bind exactly this)
    storage = {st.layer: st.call.storage for st in stages if st.layer is not None}
    for row in rep["layers"]:
        row["storage"] = dict(storage.get(row["name"], {}))
    rep["fifos"] = [{"name": s.name, "depth": s.depth, "bits": s.bits,
                     "storage": cost.fifo_impl(s.depth)} for s in streams]
    fire_files, fire_cosims = {}, []
    traces = _golden_traces(graph, vectors[:FIRE_VECTORS])  # the Fire vectors, for both folders
    for folder, ddr in FIRE_DIRS.items():
        sub = fire_cosim_files(graph, board, cfg, stages, lanes, traces, ddr)
        if sub:
            fire = json.loads(sub[PROJECT_FILE])
            fire_cosims.append({"fire": fire["fire"], "dir": folder, "ddr": ddr,
                                "cycles": fire["latency_cycles"]})
            fire_files.update({f"{folder}/{rel}": data for rel, data in sub.items()})
    files, meta = _top_files(graph, board, streams, stages, lanes, rep, len(vectors),
                             fire_cosims=fire_cosims)
    files.update({
        "driver/hwgen_driver.py": (Path(__file__).parent.parent / "pynq_driver.py").read_text(),
        CONFIG_FILE: dump_config(resolved_config(graph, cfg)),
        MODEL_FILE: graph.onnx_model.SerializeToString(),
    })
    files.update({f"{VECTOR_DIR}/{name}": data
                  for name, data in vector_files(graph, vectors).items()})
    meta["trace_names"] = {t: cpp_ident(t) for t in graph.tensors}
    files[PROJECT_FILE] = json.dumps(meta, indent=2)
    files.update(fire_files)
    write_project(out_dir, files, force)
    return rep


#: the co-simulation sub-projects of single Fire modules (folder: with weights in DDR?), their top
#: function and test vectors
FIRE_DIRS = {"fire_cosim": False, "fire_cosim_ddr": True}
FIRE_TOP = "hwgen_fire"
FIRE_VECTORS = 1


def cosim_fire(graph: Graph, stages_by_layer: dict[str, Stage], ddr: bool):
    """The Fire module to co-simulate alone: the one with the fewest cycles per frame among those
    with weights on chip only (``ddr`` false) or with some weights in DDR (true)."""
    fires = [f for f in graph.fires
             if ddr == any(stages_by_layer[n].ddr_port is not None for n in f.nodes
                           if n in stages_by_layer)]
    return min(fires, key=lambda f: sum(stages_by_layer[n].call.cycles for n in f.nodes
                                        if n in stages_by_layer), default=None)


def meta_cycles(stages: list[Stage]) -> int:
    """Cycles of one frame from the first input to the last output (the estimate's latency)."""
    return int(max(st.call.cycles for st in stages)
               + sum(st.call.fill * st.call.cycles for st in stages))


def fire_subgraph(graph: Graph, fire) -> Graph:
    """The Fire module's nodes as a graph of their own (same tensors, formats, weights)."""
    nodes = [graph.node(n) for n in fire.nodes]
    first, last = graph.node(fire.squeeze), graph.node(fire.concat)
    tensors = {t: graph.tensors[t] for n in nodes for t in (*n.inputs, *n.outputs)}
    return Graph(name=f"{graph.name}_{cpp_ident(fire.name)}", input=first.inputs[0],
                 output=last.outputs[0], tensors=tensors, nodes=nodes, fires=[fire],
                 origin=graph.origin, preprocess=graph.preprocess)


def _golden_traces(graph: Graph, vectors: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Every tensor's raw integers, per network input (the golden model)."""
    from ..golden import GoldenModel  # noqa: PLC0415

    golden = GoldenModel(graph)
    return [golden.run(golden.quantize_input(x), trace=True) for x in vectors]


def fire_cosim_files(graph: Graph, board: dict, cfg: dict, full_stages: list[Stage],
                     lanes: dict[str, int], traces: list[dict[str, np.ndarray]], ddr: bool
                     ) -> dict[str, str | bytes]:
    """A project of one Fire module as its own top (``hwgen_fire``, AXI4-Streams of the Fire's
    input and output, the network's folding and stream lanes), with test vectors taken from the
    golden model's ``traces`` of the whole network: C-simulate it with ``hwgen csim``,
    co-simulate it in minutes with its build_prj.tcl (its own DDR image when ``ddr``). {} when
    no Fire qualifies."""
    from ..pynq_driver import to_stream  # noqa: PLC0415

    fire = cosim_fire(graph, {st.layer: st for st in full_stages if st.layer}, ddr)
    if fire is None or not traces:
        return {}
    sub = fire_subgraph(graph, fire)
    folding = {k: v for k, v in (cfg.get("folding") or {}).items()
               if any(fnmatch.fnmatchcase(n.name, k) for n in sub.nodes)}
    streams, stages, sub_lanes = build_dataflow(sub, folding, lanes[sub.input])
    rep = layer_report(sub, stages, float(board["clock_mhz"]))
    files, meta = _top_files(sub, board, streams, stages, sub_lanes, rep, len(traces), FIRE_TOP)
    del files["vivado.tcl"], files["driver/bringup.py"]
    files["README.md"] = (
        f"# {sub.name}: {fire.name} of {graph.name} alone, for co-simulation (hwgen {__version__})"
        f"\n\nThe Fire module's kernels at the network's folding and stream lanes, as top function "
        f"`{FIRE_TOP}` (AXI4-Stream in and out{', weights partly in DDR: ddr_weights.bin' if ddr else ''}"
        f"), with {len(traces)} test vector(s) from the golden model's trace of the whole network."
        f"\n\n    hwgen csim .                                   # g++, bit-exact check"
        f"\n    HWGEN_HLS_STEPS=\"csim synth cosim\" vitis-run --mode hls --tcl build_prj.tcl"
        f"\n    vitis_hls -f build_prj.tcl -tclargs csim synth cosim   # Vitis HLS 2024.1 and older"
        f"\n\nOne frame is about {meta_cycles(stages)} cycles. `report.json`: per layer folding "
        f"and cycles.\n")
    for i, trace in enumerate(traces):
        for kind, t in (("input", sub.input), ("expected", sub.output)):
            files[f"{VECTOR_DIR}/{kind}_{i}.bin"] = to_stream(trace[t]).astype(np.int32).tobytes()
    # the cycles of one frame through the Fire, from its input to its last output: what XSim runs
    meta.update(part_of=graph.name, fire=fire.name, latency_cycles=meta_cycles(stages))
    files[PROJECT_FILE] = json.dumps(meta, indent=2)
    return files


def _top_files(graph: Graph, board: dict, streams, stages, lanes, rep: dict, n_vectors: int,
               top: str = TOP, fire_cosims: list[dict] | None = None
               ) -> tuple[dict[str, str | bytes], dict]:
    """The files of one top function (C++, testbench, Tcl, Makefile, driver, report) and the
    project file's content; ``fire_cosims`` describes the Fire sub-projects, if any."""
    from .estimate import estimate_text  # noqa: PLC0415

    env = _env()
    ddr_layers, ddr_blob = ddr_layout([(st.ddr_port, st.layer, st.call.ddr.image)
                                       for st in stages if st.ddr_port])
    addr64 = board["family"] != "zynq7"  # Zynq-7000 masters have 32-bit addresses
    inp, outp = graph.tensors[graph.input], graph.tensors[graph.output]
    in_meta = _stream_meta(inp.fmt, lanes[graph.input])
    out_meta = _stream_meta(outp.fmt, lanes[graph.output])
    report_text = estimate_text(rep) if "budget" in rep else json.dumps(rep, indent=2) + "\n"
    ctx = {
        "version": __version__, "name": cpp_ident(graph.name), "top": top, "board": board["name"],
        "part": board["part"], "clock_mhz": board["clock_mhz"],
        "board_part": board.get("board_part", ""), "ps": board["ps"],
        "hp_port": board["memory"]["hp_ports"][0], "hp_width": board["memory"]["hp_width"],
        "period_ns": round(1000.0 / float(board["clock_mhz"]), 3),
        "n_vectors": n_vectors,
        "streams": streams, "stages": stages,
        "configs": [st.call.config for st in stages],
        "weight_headers": [f"weights/{st.call.name}.h" for st in stages if st.call.arrays],
        "fifo_impl": cost.fifo_impl, "srl_depth": cost.SRL_DEPTH,
        "in_bits": stages[0].call.in_streams[0], "out_bits": stages[-1].call.out_streams[0],
        "in_fmt": inp.fmt, "out_fmt": outp.fmt, "in_lanes": lanes[graph.input],
        "out_lanes": lanes[graph.output],
        "in_elems": int(np.prod(inp.shape)), "out_elems": int(np.prod(outp.shape)),
        "in_axi_bits": in_meta["axi_bits"], "in_beats": in_meta["beats"],
        "out_axi_bits": out_meta["axi_bits"], "out_beats": out_meta["beats"],
        "graph": graph, "report": rep, "report_text": report_text, "cpp_ident": cpp_ident,
        "ddr_layers": ddr_layers, "ddr_bytes": len(ddr_blob), "addr64": addr64,
        "weight_hps": weight_ports(ddr_layers, board), "fire_cosims": fire_cosims or [],
    }
    files: dict[str, str | bytes] = {
        f"firmware/{top}.h": env.get_template("top.h.j2").render(ctx),
        f"firmware/{top}.cpp": env.get_template("top.cpp.j2").render(ctx),
        "firmware/parameters.h": env.get_template("parameters.h.j2").render(ctx),
        f"tb/tb_{top}.cpp": env.get_template("tb.cpp.j2").render(ctx),
        "build_prj.tcl": env.get_template("build_prj.tcl.j2").render(ctx),
        "vivado.tcl": env.get_template("vivado.tcl.j2").render(ctx),
        "driver/bringup.py": env.get_template("bringup.py.j2").render(ctx),
        "Makefile": env.get_template("Makefile.j2").render(ctx),
        "README.md": env.get_template("README.md.j2").render(ctx),
        "report.txt": report_text,
        "report.json": json.dumps(rep, indent=2),
    }
    for st in stages:
        if st.call.arrays:
            files[f"firmware/weights/{st.call.name}.h"] = _weights_header(st.call)
    if ddr_layers:
        files[DDR_FILE] = ddr_blob
    for h in sorted((data_dir("hls_templates") / "hwgen").glob("*.h")):
        files[f"firmware/hwgen/{h.name}"] = h.read_text()
    meta = {"hwgen": __version__, "top": top, "model": graph.name, "board": board["name"],
            "vectors": n_vectors,
            "stream": {  # for the board driver (driver/hwgen_driver.py)
                "overlay": f"overlay/{cpp_ident(graph.name)}.bit",
                "input_shape": list(inp.shape), "output_shape": list(outp.shape),
                "pixel_input": bool(graph.pixel_input),
                "preprocess": {"channel_order": graph.preprocess.channel_order,
                               "mean": [float(v) for v in graph.preprocess.mean],
                               "std": [float(v) for v in graph.preprocess.std]},
                "in": in_meta, "out": out_meta},
            "ddr": {"file": DDR_FILE if ddr_layers else None, "bytes": len(ddr_blob),
                    "addr64": addr64, "layers": [
                        {"port": d.port, "layer": d.layer, "offset": d.offset,
                         "register": register_offset(i, addr64)}
                        for i, d in enumerate(ddr_layers)]}}
    return files, meta
