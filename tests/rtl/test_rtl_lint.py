"""The SystemVerilog library is synthesisable and lints clean with Verilator -Wall, module by
module at several parameter settings (generated tops are linted in test_squeezenet.py)."""
from __future__ import annotations

import pytest

from hwgen.rtl.generate import HDL_DIR, LIBRARY
from hwgen.rtl.sim import lint

FILES = [HDL_DIR / f for f in LIBRARY]
SIM_FILES = [HDL_DIR.parent / "sim_hdl" / "hwgen_ddr_model.sv"]  # simulation models
ROM = {"W_FILE": '"w.mem"', "B_FILE": '"b.mem"'}  # a weight memory needs its image
BIAS = {"B_FILE": '"b.mem"'}
CASES = [
    ("hwgen_fifo", {"DEPTH": 1}), ("hwgen_fifo", {"DEPTH": 5, "WIDTH": 3}),
    ("hwgen_regroup", {"IN_L": 4, "OUT_L": 2}), ("hwgen_regroup", {"IN_L": 3, "OUT_L": 6}),
    ("hwgen_window", {"BUF_STORAGE": '"distributed"', "C": 6, "IN_LANES": 3, "OUT_LANES": 6, "IN_H": 9, "IN_W": 7, "STRIDE": 2,
                      "OUT_H": 5, "OUT_W": 4}),
    ("hwgen_conv_front", {"MODE": 1, "IN_LANES": 4, "SIMD": 2}),
    ("hwgen_conv", {"MODE": 0, **ROM}), ("hwgen_conv", {"MODE": 1, "IN_LANES": 2, "SIMD": 1, **ROM}),
    ("hwgen_conv", {"MODE": 2, "PE": 4, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "NF": 2, "SF": 18,
                    **ROM}),
    ("hwgen_conv", {"MODE": 2, "PE": 4, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "NF": 2, "SF": 18,
                    "MUL_FABRIC": 1, "W_STORAGE": '"block"', **ROM}),
    ("hwgen_conv", {"MODE": 0, "MUL_FABRIC": 1, "WW": 3, "X_SIGNED": 0,
                    "W_STORAGE": '"distributed"', **ROM}),
    ("hwgen_conv", {"MODE": 0, "MUL_FABRIC": 1, "WW": 12, "XW": 4, **ROM}),
    ("hwgen_ram", {"WIDTH": 12, "DEPTH": 5, "SUBS": 3}),
    ("hwgen_ram", {"WIDTH": 8, "DEPTH": 64, "STYLE": '"distributed"'}),
    ("hwgen_ram", {"WIDTH": 72, "DEPTH": 512, "SUBS": 2, "STYLE": '"block"'}),
    ("hwgen_fabric_mul", {}), ("hwgen_fabric_mul", {"WW": 3, "X_SIGNED": 0}),
    ("hwgen_fabric_mul", {"WW": 12, "XW": 4}), ("hwgen_fabric_dot", {"PE": 3, "SIMD": 4, "P": 2}),
    ("hwgen_dot", {"PE": 3, "SIMD": 4, "MUL_PACKED": 1, "DW": 20}),
    ("hwgen_dot", {"PE": 4, "SIMD": 1, "MUL_PACKED": 1, "WW": 4, "XW": 16, "X_SIGNED": 0,
                   "DW": 22}),
    ("hwgen_conv", {"MODE": 2, "PE": 4, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "NF": 2, "SF": 18,
                    "MUL_PACKED": 1, **ROM}),
    ("hwgen_axi_read", {}), ("hwgen_axi_read", {"PASSES": 0, "ADDR_W": 64}),
    ("hwgen_axi_read", {"PASSES": 13, "MAX_BURST": 256, "OUTSTANDING": 1}),
    ("hwgen_conv_ddr", {**BIAS}),
    ("hwgen_conv_ddr", {"PE": 4, "SIMD": 4, "IN_C": 4, "IN_LANES": 4, "SF": 36, "NF": 2,
                        "W_BITS": 6, "BEATS": 2, "MUL_FABRIC": 1, "XBUF_STORAGE": '"block"',
                        "OBUF_STORAGE": '"distributed"', "WIN_STORAGE": '"distributed"',
                        **BIAS}),
    ("hwgen_conv_ddr", {"MODE": 0, "K": 1, "PAD_T": 0, "PAD_L": 0, "SF": 1, "W_SIGNED": 0,
                        "W_BITS": 64, "BEATS": 1, "BLOCK": 1, **BIAS}),
    ("hwgen_conv_ddr", {"MODE": 1, "IN_LANES": 2, "K": 1, "SIMD": 1, "IN_C": 2, "SF": 2,
                        "PAD_T": 0, "PAD_L": 0, "W_BITS": 7, "PE": 3, "BEATS": 1, **BIAS}),
    ("hwgen_conv_ddr", {"PE": 3, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "SF": 18, "NF": 2,
                        "W_BITS": 8, "BEATS": 1, "MUL_PACKED": 1, **BIAS}),
    ("hwgen_maxpool", {"LANES": 2, "C": 4, "SIGNED": 0}),
    ("hwgen_gap", {"LANES": 2, "C": 6, "SHIFT": 17}),
    ("hwgen_requant", {"SHIFT": -3, "XW": 9, "OW": 14}),
    ("hwgen_requant", {"ACC_CAST": 1, "ACC_SIGNED": 0, "RELU": 1, "SHIFT": 40, "XW": 48}),
    ("hwgen_concat", {"WA": 3, "WB": 5}), ("hwgen_duplicate", {}),
    ("hwgen_axis_in", {"AXI_BITS": 24, "WIDTH": 18}),
    ("hwgen_axis_out", {"AXI_BITS": 16, "WIDTH": 16, "WORDS": 7}),
]


@pytest.mark.parametrize("top,params", CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(CASES)])
def test_module_lints_clean(top, params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    assert lint(FILES, top, args) == ""


@pytest.mark.parametrize("params", [{}, {"PORTS": 3, "ADDR_W": 64, "MEM_FILE": '"m.mem"'}])
def test_ddr_model_lints_clean(params):
    args = [f"-G{k}={v}" for k, v in params.items()]
    assert lint(SIM_FILES, "hwgen_ddr_model", args) == ""


def test_lint_reports_warnings(tmp_path):
    bad = tmp_path / "bad.sv"
    bad.write_text("module bad(input logic [3:0] a, output logic [1:0] y);\n"
                   "  assign y = a;\nendmodule\n")
    assert "WIDTH" in lint([bad], "bad")
