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
