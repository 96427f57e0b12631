"""Empirical bias correction.

Rounding weights to 8 bits (and clipping activations) shifts each output channel's mean; over 26
layers those shifts add up. We run a few calibration images through the network layer by layer, in
fixed point (with every format chosen so far) and in float, and give each Conv a correction equal to
the mean difference of its outputs, which the fixed-point bias then subtracts. Layers are corrected
in order, so each sees the already corrected layers before it.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .. import progress
from ..ir import Graph, Node
from ..ops import Conv


class CalibrationRun:
    """Fixed and float activations of some calibration inputs, advanced one node at a time."""

    def __init__(self, graph: Graph, inputs: list[np.ndarray]):
        self.graph = graph
        self.float = {graph.input: [np.asarray(x, np.float32) for x in inputs]}
        self.fixed: dict[str, list[np.ndarray]] = {}
        self.uses = Counter(t for n in graph.nodes for t in n.inputs)
        self.count = len(inputs)

    def start(self) -> None:
        fmt = self.graph.tensors[self.graph.input].fmt
        self.fixed[self.graph.input] = [fmt.quantize(x) for x in self.float[self.graph.input]]

    def correction(self, node: Node) -> np.ndarray:
        """Mean per-channel error of the Conv's quantised weights and inputs (bias excluded)."""
        conv: Conv = node.op
        t = node.inputs[0]
        in_fmt = self.graph.tensors[t].fmt
        wq = conv.weight_values()
        total = np.zeros(conv.out_channels)
        for xq, xf in zip(self.fixed[t], self.float[t]):
            diff = conv.linear_float(in_fmt.dequantize(xq), wq) - conv.linear_float(xf, conv.weight)
            total += diff.mean(axis=(1, 2))
        return total / len(self.fixed[t])

    def columns(self, node: Node):
        """(float, fixed) im2col inputs of a Conv, one pair per calibration input."""
        conv: Conv = node.op
        t = node.inputs[0]
        in_fmt = self.graph.tensors[t].fmt
        for xq, xf in zip(self.fixed[t], self.float[t]):
            yield conv._columns(xf)[0], conv._columns(in_fmt.dequantize(xq))[0]

    def advance(self, node: Node) -> None:
        """Compute the node's outputs (its formats are now set) and drop dead inputs."""
        g = self.graph
        out = node.outputs[0]
        in_fmts = [g.tensors[t].fmt for t in node.inputs]
        n = self.count
        self.fixed[out] = [node.op.run_fixed([self.fixed[t][i] for t in node.inputs], in_fmts,
                                             g.tensors[out].fmt) for i in range(n)]
        self.float[out] = [node.op.run_float([self.float[t][i] for t in node.inputs])
                           for i in range(n)]
        for t in node.inputs:
            self.uses[t] -= 1
            if self.uses[t] == 0:
                self.fixed.pop(t, None)
                self.float.pop(t, None)
        progress.step(node.name)  # bias correction and weight rounding go layer by layer
