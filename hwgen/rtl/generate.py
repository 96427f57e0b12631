"""``hwgen generate --backend rtl``: a quantised graph -> a SystemVerilog project.

The top module ``hwgen_top`` has the ports Vitis HLS gives the HLS backend's top function
(``ap_clk``, ``ap_rst_n``, AXI4-Stream ``in_r_*`` and ``out_r_*`` with TDATA/TVALID/TREADY/TKEEP/
TSTRB/TLAST), so one cocotb harness (``hwgen.rtl.harness``) drives either. Inside: the design
the HLS backend renders too (``hwgen.design.dataflow``), one library module per stage -- same
folding, same lanes per stream, a duplicate in front of each Fire module's expand convolutions --
and a FIFO of the design's depth on each of its streams. Python emits parameters and wiring only
(``templates/top.sv.j2``); all logic is the hand-written SystemVerilog of ``hdl/``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import jinja2
import numpy as np

from .. import __version__
from ..boards import ddr_bytes_per_cycle, ddr_read_latency_cycles
from ..design.dataflow import Design, build_design
from ..design.folding import Folding
from ..design.ddr import ddr_layout
from ..design.platform import weight_ports
from ..design.depths import DEFAULT_FIFO_DEPTH
from ..design.estimate import estimate_for, layer_report
from ..design.names import cpp_ident
from ..design.streams import dma_beat_bits
from ..design.streams import stream_meta as side_meta
from ..ir import Graph, Node
from ..outdir import write_project
from ..project import CONFIG_FILE, DDR_FILE, MODEL_FILE, PROJECT_FILE, VECTOR_DIR, vector_files
from ..quant import dump_config, resolved_config
from .board import board_context, board_files, ddr_meta, stream_extra
from .cost import RtlCosting
from .modules import Kernel, Param, rtl_kernel

TOP = "hwgen_top"
HDL_DIR = Path(__file__).resolve().parent / "hdl"
RTL_DIR = "rtl"  # in the project: sources, memory images; the simulator runs here
#: library files in dependency order (leaves first)
LIBRARY = ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv", "hwgen_fifo.sv",
           "hwgen_regroup.sv", "hwgen_ram.sv", "hwgen_window.sv", "hwgen_fabric_mul.sv",
           "hwgen_fabric_dot.sv", "hwgen_dot.sv", "hwgen_mvau.sv", "hwgen_conv_front.sv",
           "hwgen_conv.sv",
           "hwgen_axi_read.sv", "hwgen_mvau_ddr.sv", "hwgen_conv_ddr.sv",
           "hwgen_maxpool.sv", "hwgen_gap.sv", "hwgen_concat.sv", "hwgen_add.sv",
           "hwgen_duplicate.sv",
           "hwgen_axis_in.sv", "hwgen_axis_out.sv", "hwgen_control.sv"]
SIM_DIR = "sim"  # in rtl/: the simulation top and models (not for synthesis)
SIM_HDL_DIR = Path(__file__).resolve().parent / "sim_hdl"
SIM_LIBRARY = ["hwgen_ddr_model.sv"]
SIM_TOP = "hwgen_sim_top"


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
    #: what it builds of the design: ("stage", stage name) or ("stream", stream name)
    source: tuple[str, str] | None = None


@dataclass
class Netlist:
    streams: list[Stream] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    mems: dict[str, str] = field(default_factory=dict)
    #: (layer, conv instance) whose weights live in DDR, in stage order (each its own AXI4 master)
    ddr_kernels: list[tuple[str, Kernel]] = field(default_factory=list)

    def stream(self, hint: str, width: int) -> Stream:
        name = "s_" + cpp_ident(hint)
        taken = {s.name for s in self.streams}
        while name in taken:
            name += "_"
        s = Stream(name, width)
        self.streams.append(s)
        return s

    def add(self, module: str, name: str, params: dict[str, Param],
            ports: dict[str, Stream | str], clocked: bool = True,
            source: tuple[str, str] | None = None) -> None:
        """``ports``: a Stream for a stream port prefix (in, out, a, b), a signal for a plain port."""
        wired: list[tuple[str, str]] = []
        for port, sig in ports.items():
            if isinstance(sig, Stream):
                wired += [(f"{port}_{x}", f"{sig.name}_{x}") for x in ("valid", "ready", "data")]
            else:
                wired.append((port, sig))
        self.instances.append(Instance(module, name, [(k, v.sv()) for k, v in params.items()],
                                       wired, clocked, source))

    def fifo(self, src: Stream, depth: int = DEFAULT_FIFO_DEPTH, hint: str | None = None,
             source: tuple[str, str] | None = None) -> Stream:
        dst = self.stream((hint or src.name[2:]) + "_q", src.width)
        self.add("hwgen_fifo", "u_fifo_" + dst.name[2:], {"WIDTH": Param(src.width),
                                                          "DEPTH": Param(depth)},
                 {"in": src, "out": dst}, source=source)
        return dst

    def kernel(self, k: Kernel, inputs: list[Stream], hint: str,
               source: tuple[str, str] | None = None) -> Stream:
        out = self.stream(hint, k.out_width)
        ports: dict[str, Stream | str] = ({"in": inputs[0]} if len(inputs) == 1
                                          else {"a": inputs[0], "b": inputs[1]})
        ports["out"] = out
        if k.ddr is not None:  # its AXI4 master is the top's m_axi_gmem_<port>, read only
            ports.update({"start": "weights_go", "base_addr": f"ptr_{k.ddr_port}"})
            ports.update({f"m_axi_{sig.lower()}": f"m_axi_gmem_{k.ddr_port}_{sig}"
                          for sig in AXI_READ_SIGNALS})
        self.add(k.module, k.name, k.params, ports, source=source)
        self.mems.update(k.mems)
        return out


#: the read channels of a weight master (hwgen_axi_read), as the top's ports name them (Vitis'
#: m_axi port names, ARADDR ... RREADY)
AXI_READ_SIGNALS = ("ARADDR", "ARLEN", "ARSIZE", "ARBURST", "ARCACHE", "ARPROT", "ARVALID",
                    "ARREADY", "RDATA", "RRESP", "RLAST", "RVALID", "RREADY")


def build_netlist(design: Design, addr_bits: int = 32,
                  kernel: Callable[[Graph, Node, Folding], Kernel] = rtl_kernel) -> Netlist:
    """The top module's streams and instances: one library module per stage of the design, a
    FIFO of the design's depth on each of its streams (its consumer reads the FIFO's output).
    ``addr_bits``: the weight masters' address width (32 on Zynq-7000); ``kernel`` makes a
    layer's module (the costing passes a cached one)."""
    graph = design.graph
    net = Netlist()
    queued: dict[str, Stream] = {}  # design stream -> the output of its FIFO

    def new(name: str) -> Stream:  # a stage's output, named as the design's stream
        return net.stream(name[2:], design.streams[name].bits)

    def enqueue(name: str, src: Stream) -> None:
        queued[name] = net.fifo(src, design.streams[name].depth, source=("stream", name))

    for st in design.stages:
        if st.kind == "axis_in":
            s = new(st.outputs[0])
            fmt, lanes = design.streams[st.outputs[0]].fmt, st.out_lanes[0]
            net.add("hwgen_axis_in", "u_axis_in", {"AXI_BITS": Param(dma_beat_bits(fmt, lanes)),
                                                   "WIDTH": Param(s.width)},
                    {"s_tvalid": "in_r_TVALID && in_enable", "s_tready": "in_tready",
                     "s_tdata": "in_r_TDATA", "out": s}, source=("stage", st.name))
            enqueue(st.outputs[0], s)
        elif st.kind == "duplicate":
            src = queued[st.inputs[0]]
            a, b = (new(name) for name in st.outputs)
            net.add("hwgen_duplicate", "u_" + st.name, {"WIDTH": Param(src.width)},
                    {"in": src, "a": a, "b": b}, clocked=False, source=("stage", st.name))
            for name, s in zip(st.outputs, (a, b)):
                enqueue(name, s)
        elif st.kind == "axis_out":
            src = queued[st.inputs[0]]
            fmt, lanes = design.streams[st.inputs[0]].fmt, st.in_lanes[0]
            words = int(np.prod(graph.shape(graph.output))) // lanes
            net.add("hwgen_axis_out", "u_axis_out", {"AXI_BITS": Param(dma_beat_bits(fmt, lanes)),
                                                     "WIDTH": Param(src.width),
                                                     "WORDS": Param(words)},
                    {"in": src, "m_tvalid": "out_tvalid", "m_tready": "out_r_TREADY && out_enable",
                     "m_tdata": "out_r_TDATA", "m_tkeep": "out_r_TKEEP", "m_tstrb": "out_r_TSTRB",
                     "m_tlast": "out_r_TLAST"}, source=("stage", st.name))
        else:
            k = kernel(graph, graph.node(st.layer), st.folding)
            if k.ddr is not None:
                k.params["ADDR_W"] = Param(addr_bits)
                net.ddr_kernels.append((st.layer, k))
            (name,) = st.outputs
            enqueue(name, net.kernel(k, [queued[s] for s in st.inputs], name[2:],
                                     ("stage", st.name)))
    return net


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True)


def stream_meta(graph: Graph, lanes: dict[str, int]) -> dict:
    """The packing of the top's AXI4-Streams, as the HLS backend records it (for harness and
    driver alike)."""
    inp, outp = graph.tensors[graph.input], graph.tensors[graph.output]
    # DMA-facing widths, as the HLS top's (hwgen.design.streams)
    return {"input_shape": list(inp.shape), "output_shape": list(outp.shape),
            "in": side_meta(inp.fmt, lanes[graph.input]),
            "out": side_meta(outp.fmt, lanes[graph.output])}


def generate_rtl(graph: Graph, out_dir: str | Path, board: dict, cfg: dict | None = None,
                 vectors: list[np.ndarray] | None = None, force: bool = False) -> dict:
    """Write the RTL project; returns its estimate (the HLS report's layout, resources from
    this backend's model, hwgen.rtl.cost), each layer with its attributes and input shapes."""
    cfg = cfg or {}
    design = build_design(graph, cfg.get("folding"))
    addr64 = board["family"] != "zynq7"  # Zynq-7000 masters have 32-bit addresses
    net = build_netlist(design, 64 if addr64 else 32)
    rep = estimate_for(design, board, costing=RtlCosting())
    rep["layers"] = [{**shape, **row} for shape, row in
                     zip(layer_report(design, float(board["clock_mhz"]))["layers"], rep["layers"])]
    stream = stream_meta(graph, design.lanes)
    ctx = {"version": __version__, "top": TOP, "model": graph.name, "net": net,
           "stream": stream, "library": LIBRARY, "report": rep, "rtl_dir": RTL_DIR,
           "n_vectors": len(vectors or [])}
    # weights in DDR: one {"name": "w_<layer>"} per weight master, which gets pointer register
    # ptr_<name> (hwgen_control) and port group m_axi_gmem_<name>; the image the HLS backend
    # writes, laid out the same way (hwgen.design.ddr)
    ddr_layers, ddr_blob = ddr_layout([(k.ddr_port, layer, k.ddr.image)
                                       for layer, k in net.ddr_kernels])
    ddr_ports = [{"name": d.port, "layer": d.layer} for d in ddr_layers]
    ctx.update(board_context(graph, board, stream, ddr_ports))
    ctx.update(sim_top=SIM_TOP, addr_bits=64 if addr64 else 32)
    env = _env()
    files: dict[str, str | bytes] = {
        f"{RTL_DIR}/{TOP}.sv": env.get_template("top.sv.j2").render(ctx),
        f"{RTL_DIR}/sources.f": "".join(f"hdl/{f}\n" for f in LIBRARY) + f"{TOP}.sv\n{TOP}_ip.v\n",
        "README.md": env.get_template("README.md.j2").render(ctx),
        "report.json": json.dumps(rep, indent=2),
        CONFIG_FILE: dump_config(resolved_config(graph, cfg)),
        MODEL_FILE: graph.onnx_model.SerializeToString(),
    }
    files.update(board_files(graph, board, stream, ctx, env, RTL_DIR, TOP, len(vectors or []),
                             weight_ports(ddr_layers, board), ddr_layers, list(net.mems)))
    for f in LIBRARY:
        files[f"{RTL_DIR}/hdl/{f}"] = (HDL_DIR / f).read_text()
    files[f"{RTL_DIR}/{SIM_DIR}/{SIM_TOP}.sv"] = env.get_template("sim_top.sv.j2").render(ctx)
    for f in SIM_LIBRARY:
        files[f"{RTL_DIR}/{SIM_DIR}/{f}"] = (SIM_HDL_DIR / f).read_text()
    if ddr_layers:
        files[DDR_FILE] = ddr_blob
    for name, text in net.mems.items():
        files[f"{RTL_DIR}/{name}"] = text
    files.update({f"{VECTOR_DIR}/{name}": data
                  for name, data in vector_files(graph, vectors or []).items()})
    meta = {"hwgen": __version__, "backend": "rtl", "top": TOP, "model": graph.name,
            "board": board["name"], "vectors": len(vectors or []),
            "clock_mhz": float(board["clock_mhz"]),
            "stream": {**stream, **stream_extra(graph)},
            "ddr": {**ddr_meta(ctx["ctrl"], ddr_layers, len(ddr_blob)),
                    # the system simulation's DDR model (hwgen rtlsim), from the board file
                    "model": {"latency_cycles": ddr_read_latency_cycles(board),
                              "bytes_per_cycle": ddr_bytes_per_cycle(board)}},
            "estimated_cycles_per_frame": rep["cycles_per_frame"]}
    files[PROJECT_FILE] = json.dumps(meta, indent=2)
    write_project(out_dir, files, force)
    return rep
