"""hwgen_requant, the output cast of every layer, against hwgen.fixed in every rounding and
overflow mode (cocotb on Verilator: requant_tb.py drives tests/rtl/hdl/requant_bank.sv)."""
from __future__ import annotations

import os
from pathlib import Path

from cocotb_tools.runner import get_results

from hwgen.rtl.generate import HDL_DIR
from hwgen.rtl.sim import cocotb_run

HERE = Path(__file__).resolve().parent


def test_every_rounding_and_overflow_mode(tmp_path):
    files = [HDL_DIR / f for f in ("hwgen_saturate.sv", "hwgen_round_shift.sv",
                                   "hwgen_requant.sv")] + [HERE / "hdl" / "requant_bank.sv"]
    path = os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])
    cocotb_run(files, "requant_bank", tmp_path, tmp_path, "requant_tb", {"PYTHONPATH": path})
    tests, failed = get_results(tmp_path / "results.xml")
    assert tests == 1 and failed == 0, (tmp_path / "sim.log").read_text()[-3000:]
