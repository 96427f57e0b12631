"""The page's plots, as inline SVG from matplotlib (Agg, no display, no fonts embedded: the text
stays text, which the browser draws and a search finds). The same input gives the same bytes:
no date in the metadata, a fixed hash salt per figure for the ids matplotlib writes."""
from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


ACCENT, PLAIN, MEASURED = "#c0392b", "#5b7fa6", "#2e7d32"
STORAGE_COLOURS = {"bram": "#5b7fa6", "lutram": "#e0a040", "ddr": "#8e44ad"}
RESOURCES = (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram36", "BRAM36"))
ROW_INCHES = 0.2  # height of one layer's bar


def fmt_count(v) -> str:
    """1,234 for whole numbers, 1,234.5 otherwise (BRAM36 counts halves)."""
    if v is None:
        return ""
    v = float(v)
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.1f}"


def _svg(fig, name: str) -> str:
    with matplotlib.rc_context({"svg.hashsalt": f"hwgen-{name}", "svg.fonttype": "none"}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prologue or doctype


def _legend_above(ax) -> None:
    """Over the plot, where no bar can be hidden behind it."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncol=3,
              borderaxespad=0.2)


def _layer_axes(n_layers: int, columns: int = 1, width: float = 9.0):
    fig, axes = plt.subplots(1, columns, sharey=True, squeeze=False,
                             figsize=(width, 0.8 + ROW_INCHES * n_layers))
    for ax in axes[0]:
        ax.tick_params(axis="y", labelsize=7)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0][0].invert_yaxis()  # the first layer on top, as in the tables
    return fig, list(axes[0])


def cycles_plot(layers: list[dict], bottleneck: str, clock_mhz: float,
                measured: float | None = None) -> str:
    """Cycles per frame of every layer, the bottleneck in red; a measured cycles/frame (RTL
    simulation) as a green line beside the estimate's."""
    names = [r["name"] for r in layers]
    cycles = [r["cycles"] or 0 for r in layers]
    fig, (ax,) = _layer_axes(len(layers))
    ax.barh(names, cycles, color=[ACCENT if n == bottleneck else PLAIN for n in names])
    top = max(cycles, default=0)
    fps = clock_mhz * 1e6 / top if top else 0
    ax.axvline(top, color=ACCENT, linestyle="--", linewidth=1,
               label=f"estimate: {fmt_count(top)} cycles/frame, {fps:.1f} frames/s "
                     f"(bottleneck {bottleneck})")
    if measured:
        ax.axvline(measured, color=MEASURED, linestyle=":", linewidth=1.5,
                   label=f"RTL simulation: {fmt_count(measured)} cycles/frame, "
                         f"{clock_mhz * 1e6 / measured:.1f} frames/s")
    ax.set_xlabel(f"cycles per frame (clock {clock_mhz:g} MHz)")
    _legend_above(ax)
    return _svg(fig, "cycles")


def layer_resources_plot(layers: list[dict]) -> str:
    """LUT, FF, DSP and BRAM36 of each layer, one panel each."""
    names = [r["name"] for r in layers]
    fig, axes = _layer_axes(len(layers), columns=len(RESOURCES), width=10.0)
    for ax, (key, label) in zip(axes, RESOURCES):
        ax.barh(names, [r.get(key) or 0 for r in layers], color=PLAIN)
        ax.set_title(label, fontsize=9)
    fig.subplots_adjust(wspace=0.15)
    return _svg(fig, "layer-resources")


def budget_plot(report: dict, synth: dict | None = None) -> str:
    """Each resource as a share of the part: the accelerator and the platform estimated, and
    Yosys' count of the accelerator (with the platform's estimate) when synthesised; the dashed
    line is the cap the optimiser folds for."""
    rows, acc, plat = [], [], []
    for key, label in RESOURCES:
        avail = report["available"][key] or 1
        platform = report[key] - report["accelerator"][key]
        rows.append(f"{label} estimate")
        acc.append(100 * report["accelerator"][key] / avail)
        plat.append(100 * platform / avail)
        if synth is not None:
            rows.append(f"{label} Yosys")
            acc.append(100 * synth[key] / avail)
            plat.append(100 * platform / avail)
    fig, ax = plt.subplots(figsize=(9.0, 0.6 + 0.32 * len(rows)))
    ax.barh(rows, acc, color=PLAIN, label="accelerator")
    ax.barh(rows, plat, left=acc, color="#b0c4de", label="platform (DMA, interconnect)")
    ax.axvline(100 * report["cap"], color=ACCENT, linestyle="--", linewidth=1,
               label=f"budget: {report['cap']:.0%} of the part")
    ax.invert_yaxis()
    ax.set_xlim(0, max(100.0, math.ceil(max(a + p for a, p in zip(acc, plat)) / 10) * 10))
    ax.set_xlabel(f"% of the {report['part']}")
    ax.tick_params(labelsize=8)
    _legend_above(ax)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(fig, "budget")


def weights_plot(layers: list[dict]) -> str:
    """Weight kbit of each layer that has weights, coloured by where they live."""
    rows = [r for r in layers if r.get("weights")]
    fig, (ax,) = _layer_axes(len(rows))
    for where, colour in STORAGE_COLOURS.items():  # numeric rows: the layers' own order
        mine = [(i, r) for i, r in enumerate(rows) if r["weights"] == where]
        if mine:
            ax.barh([i for i, _ in mine], [r["weight_bits"] / 1000 for _, r in mine],
                    color=colour, label=where)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax.set_xlabel("weights, kbit")
    _legend_above(ax)
    return _svg(fig, "weights")


def accuracy_plot(layers: list[dict]) -> str:
    """SNR of each layer's output against float (exact layers at the right edge) and the
    values it saturated."""
    names = [r["name"] for r in layers]
    finite = [r["snr_db"] for r in layers if math.isfinite(r["snr_db"])]
    edge = max(finite, default=0) + 5
    fig, (snr_ax, sat_ax) = _layer_axes(len(layers), columns=2, width=10.0)
    snr = [r["snr_db"] if math.isfinite(r["snr_db"]) else edge for r in layers]
    snr_ax.barh(names, snr, color=[PLAIN if math.isfinite(r["snr_db"]) else MEASURED
                                   for r in layers])
    snr_ax.set_xlabel("SNR against float, dB (green: exact)")
    sat_ax.barh(names, [r["saturations"] for r in layers], color=ACCENT)
    sat_ax.set_xlabel("saturated values")
    fig.subplots_adjust(wspace=0.08)
    return _svg(fig, "accuracy")
