"""The platform around the accelerator in the block design (``vivado.tcl``), costed against the
same budget: the AXI DMA, the SmartConnects, the reset block.

AMD publishes these IP's utilisation only on web pages outside the product guides, so the figures
are per-IP out-of-context synthesis results of the same IP on the same device (xc7z020, Vivado
2019-2020, ``*_utilization_synth.rpt`` of public PYNQ-Z1/Z2-class projects), rounded up so that the
estimate stays an upper bound:

* AXI DMA (PG021), simple mode, no scatter-gather, burst 16: 2,126 LUT / 3,021 FF / 3.5 BRAM36
  (MM2S 32-bit, S2MM 128-bit, no DRE) and 1,736 LUT / 2,313 FF / 5 BRAM36 (32-bit both, burst
  256, DRE on) -> 2,200 / 3,100 / 4 for 64-bit memory side, no DRE, burst 16;
* AXI SmartConnect (PG247), 2 slave -> 1 master, 64-bit AXI4 to an AXI3 HP port: 2,664 LUT /
  3,896 FF, no BRAM -> 1,350 LUT / 1,950 FF per slave port;
* the AXI4-Lite control path (1 slave -> 2 masters, 32-bit): an AXI Interconnect crossbar and its
  AXI3-to-Lite protocol converter measured 791 LUT / 701 FF -> 1,000 / 1,200 for a SmartConnect;
* Processor System Reset (PG164): 19 LUT / 40 FF -> 20 / 40.
"""
from __future__ import annotations

from ..errors import HwgenError
from .cost import Resources

AXI_DMA = Resources(lut=2200, ff=3100, bram36=4)
SMARTCONNECT_PER_SLAVE = Resources(lut=1350, ff=1950)
SMARTCONNECT_LITE = Resources(lut=1000, ff=1200)
PROC_SYS_RESET = Resources(lut=20, ff=40)


def _times(r: Resources, n: int) -> Resources:
    return Resources(r.dsp * n, r.bram36 * n, r.lut * n, r.ff * n)


def masters_per_port(n_masters: int, n_ports: int) -> list[int]:
    """Weight masters on each high-performance port, dealt round-robin (weight_ports)."""
    return [len(range(i, n_masters, n_ports)) for i in range(min(n_ports, n_masters))]


def weight_ports(ddr_layers, board: dict) -> list[dict]:
    """The processing system's high-performance ports that the weight masters of ``ddr_layers``
    (ddr.DdrLayer) use: the DMA keeps the first, the masters share the others round-robin (the
    block design of either backend wires them so)."""
    pool = list(enumerate(board["memory"]["hp_ports"]))[1:]
    if ddr_layers and not pool:
        raise HwgenError(f"board {board['name']}: weights in DDR need a second high-performance "
                         "port beside the DMA's (memory.hp_ports lists one)")
    used: dict[int, dict] = {}
    for i, d in enumerate(ddr_layers):
        index, name = pool[i % len(pool)]
        used.setdefault(index, {"index": index, "name": name, "masters": []})
        used[index]["masters"].append(f"m_axi_gmem_{d.port}")
    return [used[k] for k in sorted(used)]


def platform(n_weight_masters: int, n_weight_ports: int) -> dict[str, Resources]:
    """The block design's IP besides the accelerator, by instance."""
    parts = {"axi_dma": AXI_DMA,
             "dma_interconnect": _times(SMARTCONNECT_PER_SLAVE, 2),  # its MM2S and S2MM masters
             "ctrl_interconnect": SMARTCONNECT_LITE,
             "reset": PROC_SYS_RESET}
    for i, k in enumerate(masters_per_port(n_weight_masters, n_weight_ports)):
        parts[f"weight_interconnect_{i}"] = _times(SMARTCONNECT_PER_SLAVE, k)
    return parts
