"""Fixtures shared by the RTL tests."""
from __future__ import annotations

from pathlib import Path

import pytest

import nets
from hwgen.cli import main


@pytest.fixture(scope="session")
def tiny_both(tmp_path_factory) -> Path:
    """TinyCnn written by both backends at one folding, c3's weights in DDR: ROOT/rtl and
    ROOT/hls (the HLS backend's optimiser keeps what the configuration pins)."""
    root = tmp_path_factory.mktemp("tiny_both")
    model = nets.export(nets.TinyCnn().eval(), (3, 17, 17), root / "tiny.onnx")
    cfg = root / "cfg.yaml"
    cfg.write_text("folding:\n  c1: {pe: 2, simd: 3}\n  c2: {pe: 4, simd: 2}\n"
                   "  c3: {pe: 2, simd: 4, weights: ddr}\n  c4: {pe: 2, simd: 2}\n")
    for backend in ("rtl", "hls"):
        assert main(["generate", str(model), "--backend", backend, "--config", str(cfg),
                     "-o", str(root / backend), "--vectors", "1"]) == 0
    return root
