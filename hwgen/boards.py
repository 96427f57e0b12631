"""Board descriptions: one YAML file per board in boards/, or a user's own file (schema in
schema.py: part, family, clock, resources, memory ports and DDR bandwidth)."""
from __future__ import annotations

from pathlib import Path

from .errors import HwgenError
from .resources import data_dir
from .schema import read_yaml, validate_board


def board_names() -> list[str]:
    return sorted(p.stem for p in data_dir("boards").glob("*.yaml"))


def load_board(name_or_path: str | Path) -> dict:
    """A built-in board by name (pynq-z2, zcu104, ...) or a path to a board YAML file."""
    p = Path(name_or_path)
    if not p.suffix:
        p = data_dir("boards") / f"{name_or_path}.yaml"
        if not p.is_file():
            raise HwgenError(f"unknown board {name_or_path!r}; built-in boards: "
                             f"{', '.join(board_names())}, or give a board .yaml file")
    return validate_board(read_yaml(p, "board"), str(p))


def ddr_ports(board: dict) -> list[str]:
    """The high-performance ports weight masters may use: all but the first, which the DMA keeps
    (none on a board with one port, which then keeps every weight on chip)."""
    return board["memory"]["hp_ports"][1:]


#: share of the DDR's peak bandwidth (memory.ddr_gbytes_per_s) that streaming reads sustain:
#: UG585 (Zynq-7000 TRM) §22.3.2 puts the DDR controller's maximum efficiency at about 75% for
#: sequential bursts; 0.7 leaves a little for the processor's own traffic
DDR_EFFICIENCY = 0.7
#: memory.ddr_read_latency_ns of a board file that does not give it. UG585 (§5.3, §22.3) gives no
#: single figure for a read through an HP port (its FIFOs, the PS interconnect, the controller's
#: queue, the DRAM); 640 ns (64 cycles of a 100 MHz fabric) is a conservative value that the
#: weight masters' 4 outstanding 16-beat bursts still cover
DEFAULT_DDR_READ_LATENCY_NS = 640.0


def ddr_read_latency_cycles(board: dict) -> int:
    """Fabric cycles from a read request to its first beat (the system simulation's DDR model)."""
    ns = float(board["memory"].get("ddr_read_latency_ns", DEFAULT_DDR_READ_LATENCY_NS))
    return max(1, round(ns * float(board["clock_mhz"]) / 1000.0))


def ddr_bytes_per_cycle(board: dict) -> float:
    """Bytes per fabric cycle the one DDR controller sustains for all ports together."""
    peak = float(board["memory"]["ddr_gbytes_per_s"]) * 1e9
    return peak * DDR_EFFICIENCY / (float(board["clock_mhz"]) * 1e6)
