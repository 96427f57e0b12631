"""The board side of an RTL project: the top's ports with Vivado's interface attributes, the
AXI4-Lite control's parameters (hdl/hwgen_control.sv), the Verilog wrapper Vivado packages as the
accelerator IP, vivado.tcl (hwgen.board_design), the PYNQ driver and bring-up, and the project-file
sections the driver reads -- what an HLS project has for the same board (hwgen.hls.generate).
"""
from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..board_design import render_vivado_tcl, vivado_context
from ..design.ddr import register_offset
from ..design.names import cpp_ident
from ..ir import Graph
from ..project import DDR_FILE
from ..resources import data_dir

DRIVER = Path(__file__).resolve().parent.parent / "pynq_driver.py"
BRINGUP = "bringup.py.j2"  # the HLS backend's (hls_templates/project): backend-neutral


def control(graph: Graph, board: dict, stream: dict, ddr_ports: list) -> dict:
    """hwgen_control's parameters: one pointer per DDR weight port at register_offset (the map
    Vitis HLS gives the HLS top), 64-bit unless Zynq-7000 (as the HLS backend decides), the input
    beats of one frame, the AXI-Lite address width (the bits that cover the register map, as
    Vitis sizes C_S_AXI_CONTROL_ADDR_WIDTH)."""
    addr64 = board["family"] != "zynq7"  # Zynq-7000 masters have 32-bit addresses
    ins = stream["in"]
    words = int(np.prod(stream["input_shape"])) // ins["lanes"]
    end = register_offset(len(ddr_ports), addr64)  # one past the last pointer's slots
    return {"n_ptr": len(ddr_ports), "addr64": addr64, "ptr_bits": 64 if addr64 else 32,
            "in_beats": words * int(ins.get("beats", 1)),
            "addr_bits": (end - 1).bit_length()}


def port_name(ddr_port) -> str:
    """A DDR port's name (w_<layer>), from a dict or an object with ``name``."""
    return ddr_port["name"] if isinstance(ddr_port, dict) else ddr_port.name


def _port(direction: str, name: str, width: int | None = None, attrs=(), lint_off=None) -> dict:
    """``width`` None: a scalar; else a vector [width-1:0] (also of width 1, as Vitis writes
    TLAST)."""
    return {"dir": direction, "name": name, "range": "" if width is None else f"[{width - 1}:0] ",
            "attrs": list(attrs), "lint_off": lint_off}


def _info(vlnv: str, intf: str, logical: str) -> str:
    return f'X_INTERFACE_INFO = "{vlnv} {intf} {logical}"'


def top_ports(stream: dict, ctrl: dict, ddr_ports: list, clock_mhz: float) -> list[dict]:
    """The top's ports, in the order Vitis lists them, each with the X_INTERFACE_INFO that names
    its interface and logical port and, on one port per interface, the X_INTERFACE_PARAMETERs
    (UG994 "HDL Parameters for Interface Inference": "any constituent port can be chosen as
    representative for the whole interface"; the clock's ASSOCIATED_BUSIF, ASSOCIATED_RESET and
    FREQ_HZ, the reset's POLARITY; Vivado's IP Integrator HDL language templates)."""
    busifs = ["s_axi_control", "in_r", "out_r"] + [f"m_axi_gmem_{port_name(p)}" for p in ddr_ports]
    clk_hz = int(round(float(clock_mhz) * 1e6))
    ports = [
        _port("input", "ap_clk", attrs=[
            _info("xilinx.com:signal:clock:1.0", "ap_clk", "CLK"),
            f'X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF {":".join(busifs)}, '
            f'ASSOCIATED_RESET ap_rst_n, FREQ_HZ {clk_hz}"']),
        _port("input", "ap_rst_n", attrs=[
            _info("xilinx.com:signal:reset:1.0", "ap_rst_n", "RST"),
            'X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW"'])]
    aw = ctrl["addr_bits"]
    lite = [("input", "AWADDR", aw), ("input", "AWVALID", None), ("output", "AWREADY", None),
            ("input", "WDATA", 32), ("input", "WSTRB", 4), ("input", "WVALID", None),
            ("output", "WREADY", None), ("output", "BRESP", 2), ("output", "BVALID", None),
            ("input", "BREADY", None), ("input", "ARADDR", aw), ("input", "ARVALID", None),
            ("output", "ARREADY", None), ("output", "RDATA", 32), ("output", "RRESP", 2),
            ("output", "RVALID", None), ("input", "RREADY", None)]
    for i, (d, sig, w) in enumerate(lite):
        attrs = [_info("xilinx.com:interface:aximm:1.0", "s_axi_control", sig)]
        if i == 0:
            attrs.append(f'X_INTERFACE_PARAMETER = "PROTOCOL AXI4LITE, DATA_WIDTH 32, '
                         f'ADDR_WIDTH {aw}"')
        ports.append(_port(d, f"s_axi_control_{sig}", w, attrs))
    ports.append(_port("output", "interrupt", attrs=[
        _info("xilinx.com:signal:interrupt:1.0", "interrupt", "INTERRUPT"),
        'X_INTERFACE_PARAMETER = "SENSITIVITY LEVEL_HIGH"'], lint_off="SYMRSVDWORD"))
    for intf, into in (("in_r", True), ("out_r", False)):
        bits = stream["in" if into else "out"]["axi_bits"]
        d_in, d_out = ("input", "output") if into else ("output", "input")
        for sig, d, w in (("TDATA", d_in, bits), ("TVALID", d_in, None), ("TREADY", d_out, None),
                          ("TKEEP", d_in, bits // 8), ("TSTRB", d_in, bits // 8),
                          ("TLAST", d_in, 1)):
            ports.append(_port(d, f"{intf}_{sig}", w,
                               [_info("xilinx.com:interface:axis:1.0", intf, sig)]))
    aw = ctrl["ptr_bits"]
    for p in ddr_ports:  # each weight master: AXI4 read channels only (hdl/hwgen_axi_read.sv)
        intf = f"m_axi_gmem_{port_name(p)}"
        read = [("output", "ARADDR", aw), ("output", "ARLEN", 8), ("output", "ARSIZE", 3),
                ("output", "ARBURST", 2), ("output", "ARCACHE", 4), ("output", "ARPROT", 3),
                ("output", "ARVALID", None), ("input", "ARREADY", None), ("input", "RDATA", 64),
                ("input", "RRESP", 2), ("input", "RLAST", None), ("input", "RVALID", None),
                ("output", "RREADY", None)]
        for i, (d, sig, w) in enumerate(read):
            attrs = [_info("xilinx.com:interface:aximm:1.0", intf, sig)]
            if i == 0:  # bursts of at most 16 beats: Zynq-7000 HP ports are AXI3 (hwgen_axi_read)
                attrs.append(f'X_INTERFACE_PARAMETER = "PROTOCOL AXI4, READ_WRITE_MODE READ_ONLY, '
                             f'DATA_WIDTH 64, ADDR_WIDTH {aw}, MAX_BURST_LENGTH 16, '
                             f'NUM_READ_OUTSTANDING 4, NUM_WRITE_OUTSTANDING 0"')
            ports.append(_port(d, f"{intf}_{sig}", w, attrs))
    return ports


def board_context(graph: Graph, board: dict, stream: dict, ddr_ports: list) -> dict:
    """What top.sv.j2 and top_ip.v.j2 read beyond the netlist."""
    ctrl = control(graph, board, stream, ddr_ports)
    return {"ctrl": ctrl, "ctrl_addr_bits": ctrl["addr_bits"], "ddr_ports": ddr_ports,
            "ports": top_ports(stream, ctrl, ddr_ports, board["clock_mhz"])}


def overlay_name(graph: Graph) -> str:
    return cpp_ident(graph.name)


def stream_extra(graph: Graph) -> dict:
    """The stream entries the board driver reads besides the packing (as an HLS project's)."""
    return {"overlay": f"overlay/{overlay_name(graph)}.bit",
            "pixel_input": bool(graph.pixel_input),
            "preprocess": {"channel_order": graph.preprocess.channel_order,
                           "mean": [float(v) for v in graph.preprocess.mean],
                           "std": [float(v) for v in graph.preprocess.std]}}


def ddr_meta(ctrl: dict, ddr_layers: list | None = None, ddr_bytes: int = 0) -> dict:
    """The project file's "ddr" section (as the HLS backend writes it): the weight image and, per
    DDR layer (hwgen.design.ddr.DdrLayer: port, layer, offset), its pointer's register."""
    layers = list(ddr_layers or [])
    return {"file": DDR_FILE if layers else None, "bytes": int(ddr_bytes),
            "addr64": ctrl["addr64"],
            "layers": [{"port": d.port, "layer": d.layer, "offset": d.offset,
                        "register": register_offset(i, ctrl["addr64"])}
                       for i, d in enumerate(layers)]}


def board_files(graph: Graph, board: dict, stream: dict, ctx: dict, env: jinja2.Environment,
                rtl_dir: str, top: str, n_vectors: int, weight_hps: list | None = None,
                ddr_layers: list | None = None, mem_files: list[str] | None = None
                ) -> dict[str, str]:
    """The Verilog wrapper of the top, vivado.tcl, driver/hwgen_driver.py and driver/bringup.py;
    ``mem_files``: the top's $readmemh images (paths relative to ``rtl_dir``), which vivado.tcl
    checks before packaging."""
    name = overlay_name(graph)
    tcl = vivado_context(board, name, top, stream["in"]["axi_bits"], stream["out"]["axi_bits"],
                         __version__, weight_hps, rtl_dir=rtl_dir,
                         mem_files=sorted(mem_files or []))
    bringup = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("hls_templates") / "project")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True).get_template(BRINGUP)
    return {
        f"{rtl_dir}/{top}_ip.v": env.get_template("top_ip.v.j2").render(ctx),
        "vivado.tcl": render_vivado_tcl(tcl, "rtl"),
        "driver/hwgen_driver.py": DRIVER.read_text(),
        "driver/bringup.py": bringup.render(version=__version__, name=name, board=board["name"],
                                            ddr_layers=list(ddr_layers or []),
                                            n_vectors=n_vectors),
    }


__all__ = ["board_context", "board_files", "control", "ddr_meta", "stream_extra", "top_ports"]
