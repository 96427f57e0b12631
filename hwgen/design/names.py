"""Identifiers of layers and streams, the same in every backend (C++ and SystemVerilog alike)."""
from __future__ import annotations

import keyword
import re

_CPP_KEYWORDS = set("""
    alignas alignof and asm auto bool break case catch char class const constexpr continue
    default delete do double else enum explicit export extern false float for friend goto if
    inline int long mutable namespace new noexcept not nullptr operator or private protected
    public register return short signed sizeof static struct switch template this throw true try
    typedef typename union unsigned using virtual void volatile while xor""".split())


def cpp_ident(name: str) -> str:
    """A C++ identifier for a layer name: "fire2/expand3x3" -> "fire2_expand3x3"."""
    ident = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", name)).strip("_") or "layer"
    if ident[0].isdigit():
        ident = "l" + ident
    if ident in _CPP_KEYWORDS or keyword.iskeyword(ident):
        ident += "_"
    return ident
