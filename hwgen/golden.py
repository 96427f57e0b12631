"""Reference models: float inference of the IR, and the bit-exact fixed-point golden model that
C-simulation and RTL simulation are checked against."""
from __future__ import annotations

from collections import Counter

import numpy as np
from threadpoolctl import ThreadpoolController

from .errors import HwgenError
from .ir import Graph


def run_float(graph: Graph, x: np.ndarray, trace: bool = False):
    """Float32 inference of the accelerator part of the graph on one (C, H, W) input."""
    values = {graph.input: np.asarray(x, dtype=np.float32)}
    for node in graph.nodes:
        values[node.outputs[0]] = node.op.run_float([values[t] for t in node.inputs])
    return values if trace else values[graph.output]


_BLAS = ThreadpoolController()


class GoldenModel:
    """Fixed-point inference on raw integers, exactly as the generated hardware computes it.

    ``saturations`` counts, per layer, the output values that fell outside the output format
    (clipped by AP_SAT or wrapped by AP_WRAP) over every image run so far.
    """

    def __init__(self, graph: Graph):
        missing = [t for t, v in graph.tensors.items() if v.fmt is None]
        if missing:
            raise HwgenError(f"graph is not quantised (no format for {missing[0]!r})")
        self.graph = graph
        self.saturations: Counter[str] = Counter()

    @property
    def input_format(self):
        return self.graph.tensors[self.graph.input].fmt

    @property
    def output_format(self):
        return self.graph.tensors[self.graph.output].fmt

    def check_input(self, x) -> np.ndarray:
        """``x`` as an array, if it is a finite (C, H, W) input of the graph's shape."""
        x = np.asarray(x)
        want = tuple(self.graph.shape(self.graph.input))
        if x.shape != want:
            raise HwgenError(f"input of shape {list(x.shape)}; the graph {self.graph.name!r} takes "
                             f"{list(want)}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            nan = int(np.isnan(x).sum())
            inf = int(np.isinf(x).sum())
            raise HwgenError(f"input of shape {list(x.shape)} has {nan} NaN and {inf} Inf "
                             "values; supported: finite values")
        return x

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        raw, n_over = self.input_format.quantize_counting(self.check_input(x))
        self.saturations["input"] += n_over
        return raw

    def run(self, x_raw: np.ndarray, trace: bool = False):
        """Raw integer output (or, with trace, every tensor's raw integers) for a raw input.

        BLAS runs single-threaded: its GEMMs here are small, and threads that spin-wait for a
        busy core made it 2.5x slower on a loaded 2-core machine.
        """
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._run(x_raw, trace)

    def _run(self, x_raw: np.ndarray, trace: bool):
        g = self.graph
        values = {g.input: np.asarray(x_raw, dtype=np.int64)}
        for node in g.nodes:
            xs = [values[t] for t in node.inputs]
            in_fmts = [g.tensors[t].fmt for t in node.inputs]
            out_fmt = g.tensors[node.outputs[0]].fmt
            values[node.outputs[0]], n_over = out_fmt.cast_counting(*node.op.exact(xs, in_fmts))
            self.saturations[node.name] += n_over
        return values if trace else values[g.output]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Float input -> dequantised output of the accelerator."""
        return self.output_format.dequantize(self.run(self.quantize_input(x)))
