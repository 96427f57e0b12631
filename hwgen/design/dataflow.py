"""The dataflow design of a quantised graph, built once for every backend: its stages in order
(an AXI4-Stream adapter, one kernel per layer, each Fire module a sub-pipeline -- squeeze, a
duplicate feeding expand 1x1 and expand 3x3, their concat; with a bypass, a duplicate in front
feeding the squeeze and the bypass (through its 1x1 conv), and their sum -- and the output
adapter) and the streams between them, with their lanes, formats and depths (depths.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..fixed import FixedType
from ..ir import Graph
from .depths import (DEFAULT_FIFO_DEPTH, bypass_depths, fire_fifo_depths, input_depth,
                     pool_burst_depth)
from .folding import Folding, plan_folding
from .names import cpp_ident
from .stages import Stage, axis_in_stage, axis_out_stage, duplicate_stage, layer_stage
from .streams import dma_beat_bits


@dataclass
class Stream:
    """A stream between two stages: words of ``lanes`` values of ``fmt``, ``depth`` words deep."""

    name: str
    fmt: FixedType
    lanes: int
    tensor: str  # the tensor whose words it carries
    depth: int = DEFAULT_FIFO_DEPTH

    @property
    def bits(self) -> int:
        """Width of one word."""
        return self.lanes * self.fmt.width


@dataclass
class Design:
    graph: Graph
    folding: dict[str, Folding]  # per layer
    lanes: dict[str, int]  # per tensor: the lanes of its stream
    stages: list[Stage] = field(default_factory=list)
    streams: dict[str, Stream] = field(default_factory=dict)  # in the order they were made

    def layer(self, name: str) -> Stage:
        """The stage of a layer."""
        return next(st for st in self.stages if st.layer == name)

    @property
    def layer_stages(self) -> list[Stage]:
        return [st for st in self.stages if st.layer is not None]

    @property
    def bottleneck(self) -> Stage:
        """The slowest stage: the pipeline runs at its pace."""
        return max(self.stages, key=lambda st: st.cycles)

    def latency(self) -> float:
        """Cycles of one frame from the first input to the last output: the slowest stage's
        frame, plus each stage's share of its frame before its first output."""
        return self.bottleneck.cycles + sum(st.fill * st.cycles for st in self.stages)

    def add(self, stage: Stage, inputs: list[str], outputs: list[tuple[str, str]],
            depths: list[int] | None = None) -> list[str]:
        """Append ``stage`` reading the streams ``inputs`` and writing new streams, one per
        (name hint, tensor) of ``outputs``; returns their names."""
        stage.inputs = list(inputs)
        for i, (hint, tensor) in enumerate(outputs):
            name = "s_" + cpp_ident(hint)
            while name in self.streams:
                name += "_"
            self.streams[name] = Stream(name, stage.out_fmts[i], stage.out_lanes[i], tensor,
                                        depths[i] if depths else DEFAULT_FIFO_DEPTH)
            stage.outputs.append(name)
        self.stages.append(stage)
        return stage.outputs


def build_design(graph: Graph, cfg_folding: dict | None = None, input_lanes: int | None = None
                 ) -> Design:
    """The design of a quantised graph at the folding of ``cfg_folding`` (the configuration's
    ``folding:`` section; ``input_lanes``: see plan_folding)."""
    plan, lanes = plan_folding(graph, cfg_folding, input_lanes)
    design = Design(graph, plan, lanes)
    var: dict[str, str] = {}  # tensor -> stream holding it
    inp = graph.tensors[graph.input]
    c, h, w = inp.shape
    n = lanes[graph.input]
    st = axis_in_stage("input", inp.fmt, c, h * w, n, dma_beat_bits(inp.fmt, n))
    (var[graph.input],) = design.add(st, [], [(graph.input, graph.input)])
    # stream -> cycles its producer takes per word (the input: a word's AXI4-Stream beats)
    pace = {var[graph.input]: float(st.params["beats"])}

    fire_of_squeeze = {f.squeeze: f for f in graph.fires}
    bypassed = {graph.node(f.squeeze).inputs[0]: f for f in graph.fires if f.bypass}
    bypass_out = {f.bypass_conv: bypass_depths(graph, f, plan)["bypass_conv"]
                  for f in graph.fires if f.bypass_conv}
    branch_in: dict[tuple[str, str], str] = {}  # (layer, tensor) -> its own copy of the tensor
    in_pace: dict[str, float] = {}  # layer -> cycles per word its first input arrives at
    stages = {n.name: layer_stage(graph, n, plan[n.name]) for n in graph.nodes}
    period = max(st.cycles for st in stages.values())
    upstream: dict[str, float] = {}  # layer -> cycles of the slowest layer up to and with it
    for node in graph.nodes:
        fold = plan[node.name]
        st = stages[node.name]
        upstream[node.name] = max([st.cycles] + [upstream[p.name] for t in node.inputs
                                                 if (p := graph.producer(t)) is not None])
        ins = [branch_in.get((node.name, t), var[t]) for t in node.inputs]
        in_pace[node.name] = pace[ins[0]]
        for i, name in enumerate(ins):
            s = design.streams[name]
            s.depth = max(s.depth, input_depth(graph, node, fold, i, s.lanes, pace[name]))
            producer = graph.producer(node.inputs[i])
            if producer is not None:
                own_pace = st.cycles * s.lanes / math.prod(graph.shape(node.inputs[i]))
                s.depth = max(s.depth, pool_burst_depth(
                    graph, producer, s.lanes, in_pace[producer.name], own_pace,
                    upstream[producer.name], period))
        out = node.outputs[0]
        (var[out],) = design.add(st, ins, [(out, out)])
        if node.name in bypass_out:  # a bypass conv: its output holds the module's lead
            design.streams[var[out]].depth = bypass_out[node.name]
        pace[var[out]] = st.cycles * st.out_lanes[0] / math.prod(graph.shape(out))
        fire = fire_of_squeeze.get(node.name)
        if fire is not None:  # fork the squeeze output into both expand branches
            depths = fire_fifo_depths(graph, fire, plan, pace[var[out]])
            t = graph.tensors[out]
            sc, sh, sw = t.shape
            dup = duplicate_stage(cpp_ident(fire.name) + "_dup", t.fmt, sc, sh * sw, fold.pe)
            a, b = design.add(dup, [var[out]], [(f"{fire.name}_to_expand1x1", out),
                                                (f"{fire.name}_to_expand3x3", out)],
                              [depths["expand1x1_in"], depths["expand3x3_in"]])
            branch_in[fire.expand1x1, out], branch_in[fire.expand3x3, out] = a, b
            pace[a] = pace[b] = pace[var[out]]
        fire = bypassed.get(out)
        if fire is not None:  # fork a Fire module's input into the module and its bypass
            _fork_bypass(design, fire, out, var[out], branch_in, pace)
    y = graph.tensors[graph.output]
    pixels = int(np.prod(y.shape[1:])) if len(y.shape) == 3 else 1
    n = lanes[graph.output]
    st = axis_out_stage("output", y.fmt, y.shape[0], pixels, n, dma_beat_bits(y.fmt, n))
    design.add(st, [var[graph.output]], [])
    return design


def _fork_bypass(design: Design, fire, tensor: str, stream: str,
                 branch_in: dict[tuple[str, str], str], pace: dict[str, float]) -> None:
    """The duplicate in front of a bypassed Fire module: one copy of its input to the squeeze,
    one to the bypass (the sum, or the bypass conv), as deep as ``bypass_depths`` says."""
    graph = design.graph
    t = graph.tensors[tensor]
    c, h, w = t.shape
    lanes = design.streams[stream].lanes
    dup = duplicate_stage(cpp_ident(fire.name) + "_bypass_dup", t.fmt, c, h * w, lanes)
    a, b = design.add(dup, [stream], [(f"{fire.name}_to_squeeze", tensor),
                                      (f"{fire.name}_bypass", tensor)],
                      [DEFAULT_FIFO_DEPTH, bypass_depths(graph, fire, design.folding)["bypass"]])
    branch_in[fire.squeeze, tensor] = a
    branch_in[fire.bypass_conv or fire.bypass, tensor] = b
    pace[a] = pace[b] = pace[stream]
