"""The Python API: everything the CLI does, as functions.

    import hwgen
    graph = hwgen.load_model("squeezenet1_1")                     # or a path to an .onnx file
    hwgen.quantize_model(graph, config="cfg.yaml", calib="calib/")  # formats on every tensor
    golden = hwgen.GoldenModel(graph)
    logits = golden.logits(hwgen.network_input(hwgen.load_rgb("cat.jpg"), graph))
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .frontend import load
from .images import input_size, list_images, load_rgb, network_input
from .ir import Graph
from .quant import collect_stats, load_config, quantize
from .quant.config import apply_preprocess, prepare


def load_model(source, config: str | Path | dict | None = None) -> Graph:
    """Read and normalise a model (path, built-in name or onnx.ModelProto); a configuration's
    preprocessing section, if any, replaces the origin's defaults."""
    graph = load(source)
    apply_preprocess(graph, _config(config))
    return graph


def _config(config) -> dict:
    return config if isinstance(config, dict) else load_config(config)


def image_inputs(graph: Graph, paths) -> Iterator[np.ndarray]:
    """(C, H, W) network inputs for image files, sized for the graph (see network_input)."""
    size = input_size(graph.shape(graph.input))
    for p in paths:
        yield network_input(load_rgb(p, size), graph)


def quantize_model(graph: Graph, config: str | Path | dict | None = None,
                   calib: str | Path | None = None, limit: int | None = None) -> Graph:
    """Fixed-point formats from the configuration, calibrating the rest on ``calib`` images."""
    cfg = _config(config)
    prepare(graph, cfg)
    stats = inputs = None
    if calib is not None:
        inputs = list(image_inputs(graph, list_images(calib)[:limit]))
        stats = collect_stats(graph, inputs)
    return quantize(graph, cfg, stats, inputs)
