"""A board's memory ports decide where weights may live: the DMA keeps the first high-performance
port, so a board with one port keeps every weight on chip (and is honest when that does not fit)."""
from __future__ import annotations

import yaml

from hwgen.api import estimate_design
from hwgen.boards import ddr_ports, load_board


def test_one_port_board_keeps_weights_on_chip(tmp_path):
    board = load_board("pynq-z2")
    board["memory"]["hp_ports"] = ["S_AXI_HP0"]
    path = tmp_path / "one_port.yaml"
    path.write_text(yaml.safe_dump(board))
    assert ddr_ports(load_board(path)) == []
    one = estimate_design("squeezenet1_1", board=path)
    assert [r["name"] for r in one["layers"] if r["weights"] == "ddr"] == []
    # SqueezeNet 1.1's weights do not fit the xc7z020's BRAM: with no port for them, no fit
    assert one["fits"] is False
    four = estimate_design("squeezenet1_1", board="pynq-z2")
    assert four["fits"] and any(r["weights"] == "ddr" for r in four["layers"])
