"""Where the C++ tools and headers for C-simulation come from."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import HwgenError


def ap_types_include() -> Path:
    """Folder holding ap_fixed.h / ap_int.h / hls_stream.h.

    A Vitis installation wins when ``XILINX_HLS`` is set; otherwise the copy that the hls4ml package
    ships (``hls4ml/templates/vivado/ap_types``) is used.
    """
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        inc = Path(xilinx) / "include"
        if (inc / "ap_fixed.h").is_file():
            return inc
        raise HwgenError(f"XILINX_HLS={xilinx} has no include/ap_fixed.h: point it at a Vitis HLS "
                         "installation or unset it to use the headers shipped with hls4ml")
    try:
        import hls4ml  # noqa: PLC0415  (import is slow; only needed here)
    except ImportError as exc:  # pragma: no cover - hls4ml is a dependency
        raise HwgenError("hls4ml is not installed: it provides the ap_types headers; "
                         "run `pip install hls4ml`") from exc
    inc = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    if not (inc / "ap_fixed.h").is_file():
        raise HwgenError(f"{inc} has no ap_fixed.h: reinstall hls4ml")
    return inc


def cxx() -> str:
    """The C++ compiler: $CXX, else g++."""
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        raise HwgenError(f"C++ compiler {compiler!r} not found on PATH: install g++ or set CXX")
    return compiler
