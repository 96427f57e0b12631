"""``hwgen generate --backend rtl``: a quantised graph -> a SystemVerilog project.

The top module ``hwgen_top`` has the ports Vitis HLS gives the HLS backend's top function
(``ap_clk``, ``ap_rst_n``, AXI4-Stream ``in_r_*`` and ``out_r_*`` with TDATA/TVALID/TREADY/TKEEP/
TSTRB/TLAST), so one cocotb harness (``hwgen.rtl.harness``) drives either. Inside: one library
module per layer, wired as the HLS dataflow (``hwgen.hls.generate.build_dataflow``): same folding,
same lanes per stream, a duplicate in front of each Fire module's expand convolutions with the
same FIFO depths, a FIFO on every other stream. Python emits parameters and wiring only
(``templates/top.sv.j2``); all logic is the hand-written SystemVerilog of ``hdl/``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..hls.folding import plan_folding
from ..hls.kernels import (DEFAULT_FIFO_DEPTH, axi_bits, cpp_ident, fire_fifo_depths,
                           kernel_call, window_lead_pixels, window_phase_reads)
from ..hls.project import CONFIG_FILE, MODEL_FILE, PROJECT_FILE, VECTOR_DIR, vector_files
from ..ir import Graph, Node
from ..outdir import write_project
from ..ops import Concat, Conv
from .modules import Kernel, Param, rtl_kernel

TOP = "hwgen_top"
HDL_DIR = Path(__file__).resolve().parent / "hdl"
RTL_DIR = "rtl"  # in the project: sources, memory images; the simulator runs here
#: library files in dependency order (leaves first)
LIBRARY = ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv", "hwgen_fifo.sv",
           "hwgen_regroup.sv", "hwgen_window.sv", "hwgen_mvau.sv", "hwgen_conv.sv",
           "hwgen_maxpool.sv", "hwgen_gap.sv", "hwgen_concat.sv", "hwgen_duplicate.sv",
           "hwgen_axis_in.sv", "hwgen_axis_out.sv"]


@dataclass
class Stream:
    name: str
    width: int


@dataclass
class Instance:
    module: str
    name: str
    params: list[tuple[str, str]]
    ports: list[tuple[str, str]]  # (port, signal)
    clocked: bool = True


@dataclass
class Netlist:
    streams: list[Stream] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    mems: dict[str, str] = field(default_factory=dict)

    def stream(self, hint: str, width: int) -> Stream:
        name = "s_" + cpp_ident(hint)
        taken = {s.name for s in self.streams}
        while name in taken:
            name += "_"
        s = Stream(name, width)
        self.streams.append(s)
        return s

    def add(self, module: str, name: str, params: dict[str, Param],
            ports: dict[str, Stream | str], clocked: bool = True) -> None:
        """``ports``: a Stream for a stream port prefix (in, out, a, b), a signal for a plain port."""
        wired: list[tuple[str, str]] = []
        for port, sig in ports.items():
            if isinstance(sig, Stream):
                wired += [(f"{port}_{x}", f"{sig.name}_{x}") for x in ("valid", "ready", "data")]
            else:
                wired.append((port, sig))
        self.instances.append(Instance(module, name, [(k, v.sv()) for k, v in params.items()],
                                       wired, clocked))

    def fifo(self, src: Stream, depth: int = DEFAULT_FIFO_DEPTH, hint: str | None = None) -> Stream:
        dst = self.stream((hint or src.name[2:]) + "_q", src.width)
        self.add("hwgen_fifo", "u_fifo_" + dst.name[2:], {"WIDTH": Param(src.width),
                                                          "DEPTH": Param(depth)},
                 {"in": src, "out": dst})
        return dst

    def kernel(self, k: Kernel, inputs: list[Stream], hint: str) -> Stream:
        out = self.stream(hint, k.out_width)
        ports: dict[str, Stream | str] = ({"in": inputs[0]} if len(inputs) == 1
                                          else {"a": inputs[0], "b": inputs[1]})
        ports["out"] = out
        self.add(k.module, k.name, k.params, ports)
        self.mems.update(k.mems)
        return out


def build_netlist(graph: Graph, cfg_folding: dict | None = None):
    """The top module's streams and instances, and the lanes of every tensor's stream."""
    plan, lanes = plan_folding(graph, cfg_folding)
    net = Netlist()
    inp, outp = graph.tensors[graph.input], graph.tensors[graph.output]
    in_lanes, out_lanes = lanes[graph.input], lanes[graph.output]
    s = net.stream(graph.input, in_lanes * inp.fmt.width)
    net.add("hwgen_axis_in", "u_axis_in", {"AXI_BITS": Param(axi_bits(inp.fmt, in_lanes)),
                                           "WIDTH": Param(s.width)},
            {"s_tvalid": "in_r_TVALID", "s_tready": "in_r_TREADY", "s_tdata": "in_r_TDATA",
             "out": s}, clocked=False)
    var = {graph.input: net.fifo(s)}
    fire_of_squeeze = {f.squeeze: f for f in graph.fires}
    branch_in: dict[str, Stream] = {}
    for node in graph.nodes:
        k = rtl_kernel(graph, node, plan[node.name])
        ins = [branch_in.get(node.name, var[t]) for t in node.inputs]
        out = node.outputs[0]
        fire = fire_of_squeeze.get(node.name)
        if fire is None:
            var[out] = net.fifo(net.kernel(k, ins, out), input_fifo_depth(graph, node, plan))
        else:  # fork the squeeze output into both expand branches
            var[out] = net.fifo(net.kernel(k, ins, out))
            a = net.stream(f"{fire.name}_to_expand1x1", var[out].width)
            b = net.stream(f"{fire.name}_to_expand3x3", var[out].width)
            net.add("hwgen_duplicate", "u_" + cpp_ident(fire.name) + "_dup",
                    {"WIDTH": Param(var[out].width)}, {"in": var[out], "a": a, "b": b},
                    clocked=False)
            depth1, depth3 = fire_branch_depths(graph, fire, plan)
            branch_in[fire.expand1x1] = net.fifo(a, depth1)
            branch_in[fire.expand3x3] = net.fifo(b, depth3)
    src = var[graph.output]
    words = int(np.prod(outp.shape)) // out_lanes
    net.add("hwgen_axis_out", "u_axis_out", {"AXI_BITS": Param(axi_bits(outp.fmt, out_lanes)),
                                             "WIDTH": Param(src.width), "WORDS": Param(words)},
            {"in": src, "m_tvalid": "out_r_TVALID", "m_tready": "out_r_TREADY",
             "m_tdata": "out_r_TDATA", "m_tkeep": "out_r_TKEEP", "m_tstrb": "out_r_TSTRB",
             "m_tlast": "out_r_TLAST"})
    return net, lanes


def input_fifo_depth(graph: Graph, producer: Node, plan: dict,
                     consumers: list[Node] | None = None) -> int:
    """Depth of the stream from ``producer`` to its consumers (default: all of them).

    A windowed consumer (max pool, KxK conv) wants a phase's input rows at once and then takes
    nothing while it emits the rest of the phase (``window_phase_reads``); a producer that needs several
    cycles per word must have made them meanwhile, into this stream, or the consumer waits. A
    stream into a concat holds one pixel: concat takes a whole pixel from one branch, then from the
    other, and a branch that could not hold one would stall the other's producer meanwhile.
    """
    out = producer.outputs[0]
    consumers = graph.consumers(out) if consumers is None else consumers
    lanes = plan[producer.name].pe if isinstance(producer.op, Conv) else plan[producer.name].lanes
    if any(isinstance(n.op, Concat) for n in consumers):
        return DEFAULT_FIFO_DEPTH + graph.shape(out)[0] // lanes
    reads = max((window_phase_reads(graph, n, plan[n.name]) for n in consumers), default=0)
    words = int(np.prod(graph.shape(out))) // lanes
    cycles_per_word = kernel_call(graph, producer, plan[producer.name]).cycles / max(words, 1)
    if reads == 0 or cycles_per_word < 2:
        return DEFAULT_FIFO_DEPTH
    return DEFAULT_FIFO_DEPTH + reads


#: window words an RTL conv holds beyond its window FIFO (window output register, MVAU pipeline)
RTL_WINDOW_SLACK = 4


def fire_branch_depths(graph: Graph, fire, plan: dict) -> tuple[int, int]:
    """Depths of the streams duplicate -> expand1x1 and duplicate -> expand3x3 of a Fire module.

    expand3x3's stream holds what its window wants at once (``input_fifo_depth``). duplicate
    writes every word to both branches, so expand1x1's stream holds those words too, plus the
    pixels the expand3x3 window reads ahead of what concat has taken -- the rule of
    ``fire_fifo_depths``, with the RTL's look-ahead: its window runs on by the SF + 2 words of the
    FIFO in front of the matrix-vector unit (``hwgen_conv``) and a few in the pipeline.
    """
    sq, e3 = graph.node(fire.squeeze), graph.node(fire.expand3x3)
    op, f3 = e3.op, plan[e3.name]
    c, h, w = graph.shape(e3.inputs[0])
    _, oh, ow = graph.shape(e3.outputs[0])
    lanes = plan[fire.squeeze].pe
    sf = op.kernel ** 2 * c // f3.simd
    lead = window_lead_pixels(h, w, c, lanes, f3.simd, op.kernel, op.stride, op.pad[0], oh, ow,
                              slack=sf + 2 + RTL_WINDOW_SLACK)
    hls = fire_fifo_depths(graph, fire, plan)
    depth3 = max(hls["expand3x3_in"], input_fifo_depth(graph, sq, plan, [e3]))
    depth1 = max(hls["expand1x1_in"], (max(lead, 0) + 2) * (c // lanes)) + depth3
    return depth1, depth3


def estimate(graph: Graph, cfg_folding: dict | None, clock_mhz: float) -> dict:
    """The HLS backend's analytic cycle model for the same folding (slowest stage per frame)."""
    from ..hls.generate import build_dataflow, layer_report  # noqa: PLC0415

    _, stages, _ = build_dataflow(graph, cfg_folding)
    return layer_report(graph, stages, clock_mhz)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True)


def stream_meta(graph: Graph, lanes: dict[str, int]) -> dict:
    """The packing of the top's AXI4-Streams, as the HLS backend records it (for harness and
    driver alike)."""
    inp, outp = graph.tensors[graph.input], graph.tensors[graph.output]

    def side(fmt, n):
        return {"lanes": n, "width": fmt.width, "frac": fmt.frac, "signed": fmt.signed,
                "axi_bits": axi_bits(fmt, n)}

    return {"input_shape": list(inp.shape), "output_shape": list(outp.shape),
            "in": side(inp.fmt, lanes[graph.input]), "out": side(outp.fmt, lanes[graph.output])}


def generate_rtl(graph: Graph, out_dir: str | Path, board: dict, cfg: dict | None = None,
                 vectors: list[np.ndarray] | None = None, force: bool = False) -> dict:
    """Write the RTL project; returns the cycle estimate (the HLS report's layout)."""
    from ..quant import dump_config, resolved_config  # noqa: PLC0415

    cfg = cfg or {}
    net, lanes = build_netlist(graph, cfg.get("folding"))
    rep = estimate(graph, cfg.get("folding"), float(board["clock_mhz"]))
    stream = stream_meta(graph, lanes)
    ctx = {"version": __version__, "top": TOP, "model": graph.name, "net": net,
           "stream": stream, "library": LIBRARY, "report": rep, "rtl_dir": RTL_DIR,
           "n_vectors": len(vectors or [])}
    env = _env()
    files: dict[str, str | bytes] = {
        f"{RTL_DIR}/{TOP}.sv": env.get_template("top.sv.j2").render(ctx),
        f"{RTL_DIR}/sources.f": "".join(f"hdl/{f}\n" for f in LIBRARY) + f"{TOP}.sv\n",
        "README.md": env.get_template("README.md.j2").render(ctx),
        "report.json": json.dumps(rep, indent=2),
        CONFIG_FILE: dump_config(resolved_config(graph, cfg)),
        MODEL_FILE: graph.onnx_model.SerializeToString(),
    }
    for f in LIBRARY:
        files[f"{RTL_DIR}/hdl/{f}"] = (HDL_DIR / f).read_text()
    for name, text in net.mems.items():
        files[f"{RTL_DIR}/{name}"] = text
    files.update({f"{VECTOR_DIR}/{name}": data
                  for name, data in vector_files(graph, vectors or []).items()})
    meta = {"hwgen": __version__, "backend": "rtl", "top": TOP, "model": graph.name,
            "board": board["name"], "vectors": len(vectors or []), "stream": stream,
            "estimated_cycles_per_frame": rep["cycles_per_frame"]}
    files[PROJECT_FILE] = json.dumps(meta, indent=2)
    write_project(out_dir, files, force)
    return rep
