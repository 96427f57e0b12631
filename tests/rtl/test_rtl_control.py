"""hwgen_control, the RTL top's AXI4-Lite control (the register map Vitis HLS gives the HLS top:
UG1399, ap_ctrl_chain): the board driver's and the harness's register sequences in cocotb on
Verilator (control_tb.py drives tests/rtl/hdl/control_bench.sv), with 32-bit (Zynq-7000) and
64-bit weight pointers; and the module lints clean."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cocotb_tools.runner import get_results

from hwgen.rtl.generate import HDL_DIR, LIBRARY
from hwgen.rtl.sim import cocotb_run, lint

HERE = Path(__file__).resolve().parent
BENCH = [HDL_DIR / f for f in ("hwgen_fifo.sv", "hwgen_axis_out.sv", "hwgen_control.sv")] + \
    [HERE / "hdl" / "control_bench.sv"]
TESTS = 5  # in control_tb.py


# the 64-bit pointers in the default suite (time), the 32-bit ones under -m slow
@pytest.mark.parametrize("n_ptr,addr64,words", [pytest.param(3, 0, 4, marks=pytest.mark.slow),
                                                (2, 1, 5)], ids=["ptr32", "ptr64"])
def test_driver_register_sequences(tmp_path, n_ptr, addr64, words):
    path = os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])
    cfg = json.dumps({"n_ptr": n_ptr, "addr64": addr64, "words": words})
    cocotb_run(BENCH, "control_bench", tmp_path, tmp_path, "control_tb",
               {"PYTHONPATH": path, "HWGEN_CONTROL_TB": cfg},
               parameters={"N_PTR": n_ptr, "ADDR64": addr64, "WORDS": words})
    tests, failed = get_results(tmp_path / "results.xml")
    assert tests == TESTS and failed == 0, (tmp_path / "sim.log").read_text()[-4000:]


def test_control_in_library_and_lint_clean():
    assert "hwgen_control.sv" in LIBRARY
    files = [HDL_DIR / f for f in LIBRARY]
    for params in ({}, {"N_PTR": 3, "IN_BEATS": 7}, {"N_PTR": 2, "ADDR64": 1, "IN_BEATS": 1}):
        assert lint(files, "hwgen_control", [f"-G{k}={v}" for k, v in params.items()]) == "", \
            params
    assert lint(BENCH, "control_bench") == ""



# the three-beat word in the default suite (time); the others under -m slow
@pytest.mark.parametrize("axi_bits,lanes,width,words", [
    (8, 2, 10, 3), pytest.param(64, 8, 16, 5, marks=pytest.mark.slow),
    pytest.param(32, 3, 8, 4, marks=pytest.mark.slow)], ids=["3-beats", "2-beats", "1-beat-padded"])
def test_axis_words_in_several_beats(tmp_path, axi_bits, lanes, width, words):
    """The top's AXI4-Streams take the DMA's widths (8..64 bits, as the HLS top's): a wider word
    (e.g. 8 x 16-bit outputs) spans beats, lowest bits first, as the driver packs it."""
    files = [HDL_DIR / f for f in ("hwgen_fifo.sv", "hwgen_axis_in.sv", "hwgen_axis_out.sv")] + \
        [HERE / "hdl" / "axis_bench.sv"]
    params = {"AXI_BITS": axi_bits, "WIDTH": lanes * width, "WORDS": words}
    assert lint(files, "axis_bench", [f"-G{k}={v}" for k, v in params.items()]) == ""
    path = os.pathsep.join([str(HERE), str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])
    cfg = json.dumps({"axi_bits": axi_bits, "lanes": lanes, "width": lanes * width,
                      "words": words})
    cocotb_run(files, "axis_bench", tmp_path, tmp_path, "axis_tb",
               {"PYTHONPATH": path, "HWGEN_AXIS_TB": cfg}, parameters=params)
    tests, failed = get_results(tmp_path / "results.xml")
    assert tests == 1 and failed == 0, (tmp_path / "sim.log").read_text()[-4000:]
