"""Where the data folders that ship with hwgen are: inside the installed package (a wheel) or at
the top of a source checkout."""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``hls_templates`` or ``boards``."""
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"hwgen data folder {name!r} not found beside {_PKG}")
