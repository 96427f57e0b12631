"""The Python API: everything the CLI does, as functions.

    import hwgen
    graph = hwgen.load_model("squeezenet1_1")                     # or a path to an .onnx file
    hwgen.quantize_model(graph, config="cfg.yaml", calib="calib/")  # formats on every tensor
    golden = hwgen.GoldenModel(graph)
    logits = golden.logits(hwgen.network_input(hwgen.load_rgb("cat.jpg"), graph))
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from . import progress
from .boards import ddr_ports, load_board
from .design.cost import packing_refused, packs_two
from .design.estimate import DEFAULT_CAP
from .design.folding import MAX_ROM_WORD_BITS, plan_folding
from .design.optimise import optimise
from .errors import HwgenError, HwgenNotice
from .evaluate import layer_accuracy
from .frontend import load
from .images import input_size, list_images, load_rgb, network_input
from .ir import Graph
from .quant import collect_stats, load_config, quantize
from .outdir import check_output
from .project import vector_inputs
from .results import save as save_result
from .quant.config import (DEFAULTS, Resolver, apply_preprocess, decision_tensors,
                           planned_width, prepare)
from .schema import TYPE_KEYS, validate_config


def load_model(source, config: str | Path | dict | None = None) -> Graph:
    """Read and normalise a model (path, built-in name or onnx.ModelProto); a configuration's
    preprocessing section, if any, replaces the origin's defaults."""
    graph = load(source)
    apply_preprocess(graph, _config(config))
    return graph


def _config(config) -> dict:
    """A configuration from a file or a mapping, checked against its schema either way."""
    return validate_config(config, "configuration") if isinstance(config, dict) \
        else load_config(config)


def check_run_options(calib=None, calib_limit: int | None = None,
                      target_fps: float | None = None, cap: float | None = None) -> None:
    """The options of a run, checked before any work: a folder of images, positive counts, a
    finite positive frame rate, a resource share in (0, 1]."""
    if calib_limit is not None and (isinstance(calib_limit, bool) or not isinstance(
            calib_limit, int) or calib_limit < 1):
        raise HwgenError(f"calib_limit (--calib-limit): {calib_limit!r}; supported: a positive "
                         "whole number of images")
    if target_fps is not None and not (isinstance(target_fps, (int, float))
                                       and math.isfinite(target_fps) and target_fps > 0):
        raise HwgenError(f"target_fps (--target-fps): {target_fps!r}; supported: a positive, "
                         "finite frame rate")
    if cap is not None and not (isinstance(cap, (int, float)) and 0 < cap <= 1):
        raise HwgenError(f"cap (--cap): {cap!r}; supported: a fraction in (0, 1]")
    if calib is not None:
        list_images(calib)


def check_design_inputs(graph: Graph, cfg: dict, board: dict | None = None) -> None:
    """What a configuration means for this graph and board, checked before calibration: layer
    patterns that match layers, folding entries that divide the channels and whose ROM words
    fit an ap_uint, weights in DDR only where the board has a port for them."""
    res = Resolver(graph, cfg)
    plan, _ = plan_folding(graph, cfg.get("folding"))
    for name, f in plan.items():  # a ROM word holds PE*SIMD weights (conv2d.h)
        explicit = res.explicit_type(name, TYPE_KEYS[0])
        bits = explicit.width if explicit else int(res.settings(name)["weight_bits"])
        if f.pe and f.simd and not f.ddr and f.pe * f.simd * bits > MAX_ROM_WORD_BITS:
            raise HwgenError(f"folding: layer {name!r}: pe={f.pe} x simd={f.simd} weights of "
                             f"{bits} bits make a {f.pe * f.simd * bits}-bit ROM word; "
                             f"supported: at most {MAX_ROM_WORD_BITS} bits (lower pe or simd, "
                             "or weights: ddr)")
        if f.mul_packed:  # the input's sign is known after calibration: the weaker rule here
            wa = planned_width(graph, res, graph.node(name).inputs[0])
            if not packs_two(bits, wa, True, True) or (explicit and not explicit.signed):
                raise HwgenError(f"folding: layer {name!r}: {packing_refused(bits, wa)}")
    if board is not None and not ddr_ports(board):
        ddr = [name for name, f in plan.items() if f.ddr]
        if ddr:
            raise HwgenError(f"folding: layer {ddr[0]!r}: weights: ddr, but board "
                             f"{board['name']} has no high-performance port for weights beside "
                             "the DMA's (memory.hp_ports lists one); keep its weights on chip")


def image_inputs(graph: Graph, paths) -> Iterator[np.ndarray]:
    """(C, H, W) network inputs for image files, sized for the graph (see network_input)."""
    size = input_size(graph.shape(graph.input))
    for p in paths:
        yield network_input(load_rgb(p, size), graph)


SYNTHETIC_CALIB = 16
#: calibration refinements an estimate does without (they change values, never widths)
ESTIMATE_QUICK = {"bias_correction": False, "weight_rounding": "nearest"}


def _fully_configured(graph: Graph, cfg: dict) -> bool:
    """Whether the configuration already gives every activation format (a resolved config)."""
    layers = cfg.get("layers") or {}
    return all("output" in layers.get(owner, {}) for owner in set(decision_tensors(graph).values()))


def quantized_for_hardware(model, cfg: dict, calib=None, calib_limit: int | None = None) -> Graph:
    """A quantised graph; without calibration images, calibrated on seeded synthetic inputs."""
    return _quantize_for_hardware(load_model(model, cfg), cfg, calib, calib_limit)


def _quantize_for_hardware(graph: Graph, cfg: dict, calib, calib_limit: int | None) -> Graph:
    if calib is None and not _fully_configured(graph, cfg):
        # no images: calibrate on seeded synthetic inputs (fine for the random-weight built-ins)
        warnings.warn(f"no --calib given; calibrated on {SYNTHETIC_CALIB} synthetic images "
                      "(pass --calib DIR for real ones)", HwgenNotice, stacklevel=3)
        prepare(graph, cfg)
        _calibrate(graph, cfg, vector_inputs(graph, SYNTHETIC_CALIB, start=10_000))
    else:
        quantize_model(graph, cfg, calib, calib_limit)
    return graph


def estimate_design(model, board: str | Path = "pynq-z2", config=None,
                    calib: str | Path | None = None, calib_limit: int | None = None,
                    target_fps: float | None = None, cap: float | None = None) -> dict:
    """Frames/s, latency and resources of the HLS design ``generate_project`` would write: the
    folding optimiser's choice for the board (the configuration's own folding entries win)."""
    check_run_options(calib, calib_limit, target_fps, cap)
    board_cfg = load_board(board)
    cfg = _config(config)
    # only the formats' widths matter here: skip the calibration refinements nobody will see
    quick = {k: v for k, v in ESTIMATE_QUICK.items() if k in DEFAULTS}
    qcfg = {**cfg, "defaults": {**quick, **(cfg.get("defaults") or {})}}
    graph = load_model(model, qcfg)
    check_design_inputs(graph, qcfg, board_cfg)
    _quantize_for_hardware(graph, qcfg, calib, calib_limit)
    return optimise(graph, board_cfg, cfg.get("folding"), cap or DEFAULT_CAP, target_fps)[1]


def generate_project(model, out_dir, board: str | Path = "pynq-z2", config=None,
                     calib: str | Path | None = None, calib_limit: int | None = None,
                     force: bool = False, vectors: int = 5, backend: str = "hls",
                     target_fps: float | None = None, cap: float | None = None) -> dict:
    """Load, quantise (calibrating on ``calib``) and write a Vitis HLS project (``backend="hls"``)
    or a SystemVerilog one (``"rtl"``); returns its report.
    Both backends fold for the board with the optimiser (fastest design within ``cap`` of each
    resource, or the cheapest that reaches ``target_fps``); the configuration's own folding
    entries win. Test vectors are the first calibration images, then seeded random inputs."""
    # the backends (jinja2 templates, the kernel library) load only when a project is written
    from .hls.generate import generate  # noqa: PLC0415
    from .rtl.generate import generate_rtl  # noqa: PLC0415
    from .rtl.cost import RtlCosting  # noqa: PLC0415

    writers = {"hls": generate, "rtl": generate_rtl}
    if backend not in writers:
        raise HwgenError(f"unknown backend {backend!r}: supported " + ", ".join(writers))

    if not isinstance(vectors, int) or isinstance(vectors, bool) or vectors < 1:
        raise HwgenError(f"vectors (--vectors): {vectors!r}; supported: a positive whole number")
    check_run_options(calib, calib_limit, target_fps, cap)
    board_cfg = load_board(board)
    cfg = _config(config)
    check_output(out_dir, force)
    graph = load_model(model, cfg)
    check_design_inputs(graph, cfg, board_cfg)
    _quantize_for_hardware(graph, cfg, calib, calib_limit)
    # the RTL backend's resources are its own (hwgen.rtl.cost: Yosys' counts of its modules)
    costing = RtlCosting() if backend == "rtl" else None
    folding, _ = optimise(graph, board_cfg, cfg.get("folding"), cap or DEFAULT_CAP, target_fps,
                          costing)
    cfg = {**cfg, "folding": folding}
    xs = list(image_inputs(graph, list_images(calib)[:vectors])) if calib is not None else []
    # what hwgen report shows of a calibrated project: each layer's accuracy on those images
    accuracy = None if not xs else {
        "source": f"{len(xs)} calibration image(s), the first test vectors",
        **layer_accuracy(graph, xs)}
    xs += vector_inputs(graph, vectors - len(xs), len(xs))
    rep = writers[backend](graph, out_dir, board_cfg, cfg, xs, force)
    if accuracy:
        save_result(out_dir, "calibration", accuracy)
    return rep


def quantize_model(graph: Graph, config: str | Path | dict | None = None,
                   calib: str | Path | None = None, limit: int | None = None) -> Graph:
    """Fixed-point formats from the configuration, calibrating the rest on ``calib`` images."""
    cfg = _config(config)
    check_run_options(calib, limit)
    check_design_inputs(graph, cfg)
    prepare(graph, cfg)
    if calib is None:
        return quantize(graph, cfg)
    return _calibrate(graph, cfg, list(image_inputs(graph, list_images(calib)[:limit])))


def _statistics(graph: Graph, inputs: list[np.ndarray]) -> dict:
    """Float statistics of every tensor on the calibration inputs, with a progress bar."""
    return collect_stats(graph, progress.iterate(inputs, "calibration statistics", "img"))


def _calibrate(graph: Graph, cfg: dict, inputs: list[np.ndarray]) -> Graph:
    """Statistics on the inputs, then the formats; both long (seconds a layer for bias
    correction and weight rounding on a real network), so each has its progress bar."""
    stats = _statistics(graph, inputs)
    with progress.bar("bias correction, weight rounding", len(graph.nodes), "layer"):
        return quantize(graph, cfg, stats, inputs)


def search_config(model, calib, board: str | Path = "pynq-z2", config=None,
                  calib_limit: int | None = None, min_agreement: float | None = None,
                  cap: float | None = None):
    """The configuration ``hwgen config --search-precision`` writes (resolved) and what the
    search found (quant/search.py): per-layer widths for the board, judged on held-out
    calibration images."""
    from .quant.config import resolved_config  # noqa: PLC0415
    from .quant import search  # noqa: PLC0415

    if min_agreement is None:
        min_agreement = search.DEFAULT_MIN_AGREEMENT
    if calib is None:
        raise HwgenError("--search-precision needs --calib DIR: it calibrates on part of the "
                         "images and judges accuracy on the rest")
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, (int, float)) or \
            not 0 < min_agreement <= 1:
        raise HwgenError(f"min_agreement (--min-agreement): {min_agreement!r}; supported: a "
                         "fraction in (0, 1]")
    check_run_options(calib, calib_limit, None, cap)
    board_cfg = load_board(board)
    cfg = _config(config)
    graph = load_model(model, cfg)
    check_design_inputs(graph, cfg, board_cfg)
    calib_paths, held_paths = search.split_calibration(list_images(calib)[:calib_limit])
    prepare(graph, cfg)
    calib_inputs = list(image_inputs(graph, calib_paths))
    held_inputs = list(image_inputs(graph, held_paths))
    stats = _statistics(graph, calib_inputs)

    def fps_of(g: Graph) -> tuple[float, bool]:
        est = optimise(g, board_cfg, cfg.get("folding"), cap or DEFAULT_CAP)[1]
        return est["fps"], bool(est["fits"])

    found = search.search_precision(graph, cfg, stats, calib_inputs, held_inputs, fps_of,
                                    min_agreement)
    searched = found.searched.pop("graph")
    layers = {**(cfg.get("layers") or {})}
    for name, entry in found.layers.items():
        layers[name] = {**layers.get(name, {}), **entry}
    summary = {"board": board_cfg["name"], "min_agreement": min_agreement,
               "calibration_images": len(calib_paths), "held_out_images": len(held_paths),
               "baseline": found.baseline, "searched": found.searched,
               "steps": [s.describe() for s in found.steps], "tried": found.tried}
    return resolved_config(searched, {**cfg, "layers": layers}), summary
