"""The HLS top's AXI4-Streams at widths an AXI DMA takes (PG021: no wider than its 64-bit memory
side): a word wider than 64 bits goes in several beats, C-simulation stays bit-exact, and the bytes
the testbench streams are exactly what the board driver packs and unpacks."""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper

import onnx_factory as F
from hwgen import pynq_driver as drv
from hwgen.cli import main
from hwgen.hls.csim import run_csim
from hwgen.design.streams import DMA_BEAT_BITS

CONFIG = """
defaults: {fold_preprocessing: false}
layers:
  input: {output: "ap_fixed<24,10,AP_RND,AP_SAT>"}  # 3 x 24 = 72 bits a pixel: two 64-bit beats
folding:
  c2: {pe: 8}                                        # 8 x 16-bit logits a word: two beats
"""


@pytest.fixture(scope="module")
def wide_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dma")
    nodes = [helper.make_node("Conv", ["input", "c1.weight"], ["c1"], name="conv1",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "c2.weight"], ["c2"], name="c2", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["r2"], ["pool"], name="pool"),
             helper.make_node("Flatten", ["pool"], ["logits"], name="flatten", axis=1)]
    graph = helper.make_graph(
        nodes, "wide", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8])],
        [F._weight("c1.weight", 4, 3, 3, 3), F._weight("c2.weight", 8, 4, 1, 1, seed=1)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    path = F.write(model, root / "wide.onnx")
    cfg = root / "cfg.yaml"
    cfg.write_text(CONFIG)
    out = root / "p"
    assert main(["generate", str(path), "--config", str(cfg), "-o", str(out), "--vectors", "2"]) == 0
    return out


def test_streams_are_dma_legal_and_take_several_beats(wide_project):
    meta = json.loads((wide_project / "hwgen_project.json").read_text())["stream"]
    assert meta["in"]["axi_bits"] == 64 and meta["in"]["beats"] == 2
    assert meta["out"]["axi_bits"] == 64 and meta["out"]["beats"] == 2
    top_h = (wide_project / "firmware/hwgen_top.h").read_text()
    assert "typedef hwgen::axis_t<64> hwgen_axis_in_t;" in top_h
    assert "typedef hwgen::axis_t<64> hwgen_axis_out_t;" in top_h
    for side in ("in", "out"):
        assert meta[side]["axi_bits"] in DMA_BEAT_BITS
    # successive frames overlap only under ap_ctrl_chain (UG1448 200-786)
    top = (wide_project / "firmware/hwgen_top.cpp").read_text()
    assert "#pragma HLS INTERFACE mode = ap_ctrl_chain port = return bundle = control" in top


def test_csim_bit_exact_and_driver_packing_is_the_wire_format(wide_project, tmp_path):
    res = run_csim(wide_project, images=2)
    assert res.mismatches == 0
    meta = json.loads((wide_project / "hwgen_project.json").read_text())["stream"]
    ins, outs = meta["in"], meta["out"]
    data = wide_project / "tb/tb_data"
    subprocess.run([str(wide_project / "build/tb"), str(data), "2"], check=True,
                   cwd=wide_project, capture_output=True,
                   env={**os.environ, "HWGEN_AXIS_DUMP": str(tmp_path)})
    for i in range(2):
        raw = np.fromfile(data / f"input_{i}.bin", dtype=np.int32)
        sent = (tmp_path / f"axis_in_{i}.bin").read_bytes()
        assert drv.pack_input(raw, ins["lanes"], ins["width"], ins["axi_bits"]).tobytes() == sent
        assert len(sent) == raw.size // ins["lanes"] * ins["beats"] * ins["axi_bits"] // 8
        got = drv.unpack_output((tmp_path / f"axis_out_{i}.bin").read_bytes(), outs["lanes"],
                                outs["width"], outs["signed"], axi_bits=outs["axi_bits"])
        assert np.array_equal(got, np.fromfile(data / f"expected_{i}.bin", dtype=np.int32))
