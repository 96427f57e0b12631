"""The Vivado flow of a generated project, whichever backend made the accelerator:
``board_templates/vivado.tcl.j2`` builds the block design (processing system, one AXI DMA,
SmartConnects, high-performance ports, the accelerator), then bitstream, hardware handoff (.hwh),
the timing check after routing and overlay/build_report.json.

``accelerator`` chooses where the accelerator IP comes from: ``"hls"`` unpacks the IP that Vitis
HLS exported (ip/<name>.zip), ``"rtl"`` packages the RTL backend's sources as an IP of the same
VLNV (hwgen:hwgen:<top>:1.0) in Vivado itself. The block design, and so the PYNQ driver, is the
same for both.
"""
from __future__ import annotations

from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "board_templates"
ACCELERATORS = ("hls", "rtl")
#: what the template reads (an HLS project's template context has all of them); "rtl" also
#: needs ``rtl_dir``, the RTL folder of the project
KEYS = ("version", "name", "top", "board", "part", "board_part", "ps", "clock_mhz", "period_ns",
        "hp_port", "hp_width", "weight_hps", "in_axi_bits", "out_axi_bits")


def vivado_context(board: dict, name: str, top: str, in_axi_bits: int, out_axi_bits: int,
                   version: str, weight_hps: list[dict] | None = None, **extra) -> dict:
    """The template's context for ``board`` (a boards/*.yaml), design ``name`` (the overlay's
    file name) and the accelerator's top; ``weight_hps`` as hwgen.hls.generate.weight_ports
    gives them (the HP ports of the DDR weight masters)."""
    return {"version": version, "name": name, "top": top, "board": board["name"],
            "part": board["part"], "board_part": board.get("board_part", ""), "ps": board["ps"],
            "clock_mhz": board["clock_mhz"],
            "period_ns": round(1000.0 / float(board["clock_mhz"]), 3),
            "hp_port": board["memory"]["hp_ports"][0], "hp_width": board["memory"]["hp_width"],
            "weight_hps": list(weight_hps or []), "in_axi_bits": in_axi_bits,
            "out_axi_bits": out_axi_bits, **extra}


def _env() -> jinja2.Environment:
    # the settings of the backends' own template environments
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render_vivado_tcl(ctx: dict, accelerator: str = "hls") -> str:
    """vivado.tcl for a project: ``ctx`` holds at least KEYS (extra keys are ignored)."""
    if accelerator not in ACCELERATORS:
        raise ValueError(f"accelerator {accelerator!r}: one of {', '.join(ACCELERATORS)}")
    missing = [k for k in KEYS if k not in ctx]
    if accelerator == "rtl" and "rtl_dir" not in ctx:
        missing.append("rtl_dir")
    if missing:
        raise KeyError(f"vivado.tcl needs {', '.join(missing)}")
    return _env().get_template("vivado.tcl.j2").render(dict(ctx, accelerator=accelerator))


__all__ = ["render_vivado_tcl", "vivado_context", "ACCELERATORS"]
