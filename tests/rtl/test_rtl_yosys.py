"""Synthesis checks with Yosys (synth_xilinx, xc7) of the multiplier and weight storage options:
MUL_FABRIC=0 gives one DSP48E1 per product (PE*SIMD), MUL_FABRIC=1 none; W_STORAGE="block" puts
the weight ROM in block RAM, "distributed" keeps it out (LUTs). Yosys as `hwgen synth` runs it
(the rtl extra's pyosys); slow, hence @slow."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwgen.rtl.generate import HDL_DIR
from hwgen.rtl.synth import yosys_command

pytestmark = pytest.mark.slow

CONV = ["hwgen_saturate.sv", "hwgen_round_shift.sv", "hwgen_requant.sv", "hwgen_fifo.sv",
        "hwgen_regroup.sv", "hwgen_ram.sv", "hwgen_window.sv", "hwgen_fabric_mul.sv",
        "hwgen_fabric_dot.sv", "hwgen_dot.sv", "hwgen_mvau.sv", "hwgen_conv_front.sv", "hwgen_conv.sv"]
CONV_DDR = CONV[:10] + ["hwgen_conv_front.sv", "hwgen_axi_read.sv", "hwgen_mvau_ddr.sv", "hwgen_conv_ddr.sv"]
# a 3x3 conv, 4 -> 4 channels on 8x8, PE=2 x SIMD=2 8-bit products
SMALL = {"MODE": 2, "PE": 2, "SIMD": 2, "IN_C": 4, "IN_LANES": 4, "NF": 2, "SF": 18, "K": 3,
         "IN_H": 8, "IN_W": 8, "OUT_H": 8, "OUT_W": 8, "XW": 8, "WW": 8, "ACCW": 20}


def mem_file(path: Path, words: int, bits: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    digits = -(-bits // 4)
    path.write_text("".join(f"{int.from_bytes(rng.bytes(digits), 'little') % (1 << bits):0{digits}x}\n"
                            for _ in range(words)))


def synth(tmp: Path, files: list[str], top: str, params: dict) -> dict[str, int]:
    """Cell counts of the flattened design after synth_xilinx -family xc7."""
    sets = " ".join(f"-set {k} {v}" for k, v in params.items())
    (tmp / "synth.ys").write_text(
        f"read_verilog -sv {' '.join(str(HDL_DIR / f) for f in files)}\n"
        f"chparam {sets} {top}\nsynth_xilinx -family xc7 -top {top} -flatten\n"
        "tee -q -o stat.txt stat\n")
    cmd, _ = yosys_command()
    proc = subprocess.run(cmd + ["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=tmp,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    text = (tmp / "stat.txt").read_text()
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+(\w+)\s*$", text, re.M)}


def test_mul_fabric_takes_no_dsp(tmp_path):
    mem_file(tmp_path / "w.mem", 2 * 18, 2 * 2 * 8, 1)
    mem_file(tmp_path / "b.mem", 2, 2 * 8, 2)
    rom = {"W_FILE": '"w.mem"', "B_FILE": '"b.mem"'}
    dsp = synth(tmp_path, CONV, "hwgen_conv", {**SMALL, **rom, "MUL_FABRIC": 0})
    lut = synth(tmp_path, CONV, "hwgen_conv", {**SMALL, **rom, "MUL_FABRIC": 1})
    print("hwgen_conv MUL_FABRIC=0:", dsp, "\nMUL_FABRIC=1:", lut)
    assert dsp.get("DSP48E1", 0) == 2 * 2
    assert lut.get("DSP48E1", 0) == 0
    assert sum(v for k, v in lut.items() if k.startswith("LUT")) > \
        sum(v for k, v in dsp.items() if k.startswith("LUT"))
    params = {**SMALL, "BLOCK": 8, "BEATS": 1, "B_FILE": '"b.mem"'}
    del params["WW"]
    ddr = synth(tmp_path, CONV_DDR, "hwgen_conv_ddr", {**params, "MUL_FABRIC": 0})
    ddr_lut = synth(tmp_path, CONV_DDR, "hwgen_conv_ddr", {**params, "MUL_FABRIC": 1})
    print("hwgen_conv_ddr MUL_FABRIC=0:", ddr, "\nMUL_FABRIC=1:", ddr_lut)
    assert ddr.get("DSP48E1", 0) == 2 * 2 and ddr_lut.get("DSP48E1", 0) == 0


def test_weight_storage_attribute_moves_the_rom(tmp_path):
    # a 1x1 conv whose weight ROM is 512 words of 32 bits (one RAMB18's worth)
    words, bits = 2 * 256, 2 * 2 * 8
    mem_file(tmp_path / "w.mem", words, bits, 3)
    mem_file(tmp_path / "b.mem", 2, 2 * 8, 4)
    params = {**SMALL, "MODE": 0, "K": 1, "PAD_T": 0, "PAD_L": 0, "IN_LANES": 2, "SF": 256,
              "W_FILE": '"w.mem"', "B_FILE": '"b.mem"'}
    got = {s: synth(tmp_path, CONV, "hwgen_conv", {**params, "W_STORAGE": f'"{s}"'})
           for s in ("block", "distributed", "auto")}
    print({s: {k: v for k, v in c.items() if k.startswith(("RAM", "LUT", "DSP"))}
           for s, c in got.items()})
    ram = {s: sum(v for k, v in c.items() if k.startswith("RAMB")) for s, c in got.items()}
    luts = {s: sum(v for k, v in c.items() if k.startswith("LUT")) for s, c in got.items()}
    assert ram["block"] >= 1 and ram["distributed"] == 0
    assert luts["distributed"] > luts["block"] + bits  # the ROM's words in LUTs


def _luts(cells: dict[str, int]) -> int:
    return sum(v for k, v in cells.items() if k.startswith("LUT"))


@pytest.mark.parametrize("pe,simd,xw,x_signed", [(2, 2, 8, 0), (3, 2, 8, 1), (4, 4, 8, 0),
                                                 (8, 4, 8, 0), (4, 2, 16, 0)])
def test_mul_packed_two_products_per_dsp(tmp_path, pe, simd, xw, x_signed):
    """MUL_PACKED=1: one DSP48E1 per pair of PEs and SIMD lane (an odd PE's last lane alone), in
    both MVAUs; prints the LUTs it adds (hwgen.rtl.cost books them)."""
    ww = 8 if xw == 8 else 4
    mem_file(tmp_path / "w.mem", 2 * 36 // simd, pe * simd * ww, 1)
    mem_file(tmp_path / "b.mem", 2, pe * 8, 2)
    geo = {**SMALL, "PE": pe, "SIMD": simd, "SF": 36 // simd, "XW": xw, "X_SIGNED": x_signed,
           "WW": ww, "ACCW": 32, "W_FILE": '"w.mem"', "B_FILE": '"b.mem"'}
    want = simd * ((pe + 1) // 2)
    plain = synth(tmp_path, CONV, "hwgen_conv", geo)
    packed = synth(tmp_path, CONV, "hwgen_conv", {**geo, "MUL_PACKED": 1})
    print(f"hwgen_conv PE={pe} SIMD={simd} WW={ww} XW={xw}: DSP {plain.get('DSP48E1', 0)} -> "
          f"{packed.get('DSP48E1', 0)}, LUT {_luts(plain)} -> {_luts(packed)}")
    assert plain.get("DSP48E1", 0) == pe * simd and packed.get("DSP48E1", 0) == want
    ddr = {k: v for k, v in geo.items() if k not in ("WW", "W_FILE")}
    ddr.update({"BLOCK": 8, "BEATS": -(-pe * simd * ww // 64), "W_BITS": ww})
    d_plain = synth(tmp_path, CONV_DDR, "hwgen_conv_ddr", ddr)
    d_packed = synth(tmp_path, CONV_DDR, "hwgen_conv_ddr", {**ddr, "MUL_PACKED": 1})
    print(f"hwgen_conv_ddr: DSP {d_plain.get('DSP48E1', 0)} -> {d_packed.get('DSP48E1', 0)}, "
          f"LUT {_luts(d_plain)} -> {_luts(d_packed)}")
    assert d_plain.get("DSP48E1", 0) == pe * simd and d_packed.get("DSP48E1", 0) == want
