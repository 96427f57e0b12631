"""Board descriptions: one YAML file per board in boards/, or a user's own file."""
from __future__ import annotations

from pathlib import Path

import yaml

from .errors import HwgenError
from .resources import data_dir

REQUIRED = {"name": str, "part": str, "clock_mhz": (int, float), "family": str, "ps": str}
RESOURCES = ("dsp", "bram36", "uram", "lut", "ff")


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
    if not p.is_file():
        raise HwgenError(f"{p}: no such board file")
    try:
        board = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise HwgenError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(board, dict):
        raise HwgenError(f"{p}: a board file is a mapping with keys {sorted(REQUIRED)}, resources")
    for key, kind in REQUIRED.items():
        if not isinstance(board.get(key), kind):
            raise HwgenError(f"{p}: board key {key!r} missing or not a {getattr(kind, '__name__', 'number')}")
    res = board.get("resources")
    if not isinstance(res, dict) or any(not isinstance(res.get(r), int) or res[r] < 0
                                        for r in RESOURCES):
        raise HwgenError(f"{p}: 'resources' needs non-negative integers {', '.join(RESOURCES)}")
    if board["clock_mhz"] <= 0:
        raise HwgenError(f"{p}: clock_mhz must be positive")
    return board
