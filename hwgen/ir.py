"""hwgen's own small IR: a graph of nodes over named tensors, batch dimension removed.

Tensors are (C, H, W) feature maps or (C,) vectors. A node's op is an instance of an ``Op`` subclass
(``hwgen.ops``) that carries its attributes and weights; the graph itself knows nothing op-specific.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from .fixed import FixedType
    from .ops.base import Op


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    onnx_name: str | None = None  # the ONNX value holding the same data, for float references
    fmt: "FixedType | None" = None  # fixed-point format, set by quantisation


@dataclass
class Node:
    name: str
    op: "Op"
    inputs: list[str]
    outputs: list[str]
    fire: str | None = None  # name of the Fire module this node belongs to, if any

    @property
    def kind(self) -> str:
        return self.op.kind


@dataclass
class Fire:
    """A recognised Fire module: squeeze 1x1 -> (expand 1x1 || expand 3x3) -> channel concat,
    and, with a bypass, the element-wise sum of that concat and the module's input (simple
    bypass) or a 1x1 convolution of it (complex bypass, ``bypass_conv``)."""

    name: str
    squeeze: str
    expand1x1: str
    expand3x3: str
    concat: str
    bypass: str | None = None  # the Add node
    bypass_conv: str | None = None  # the 1x1 Conv on the bypass path (complex bypass)

    @property
    def nodes(self) -> list[str]:
        extra = [n for n in (self.bypass_conv, self.bypass) if n is not None]
        return [self.squeeze, self.expand1x1, self.expand3x3, self.concat, *extra]

    @property
    def bypass_kind(self) -> str:
        """"none", "simple" or "complex"."""
        return "none" if self.bypass is None else ("complex" if self.bypass_conv else "simple")


@dataclass
class Preprocess:
    """How an RGB image in [0, 255] becomes the network input: (pixel[order] - mean) / std."""

    channel_order: str = "RGB"  # "RGB" or "BGR"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # in channel_order, on the 0..255 scale
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def describe(self) -> str:
        return (f"{self.channel_order}, mean {list(self.mean)}, std {list(self.std)} "
                f"(on 0..255 pixels)")


@dataclass
class Graph:
    name: str
    input: str
    output: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)  # topological order
    fires: list[Fire] = field(default_factory=list)
    origin: str = "torch"  # "torch" or "caffe2": picks preprocessing defaults
    preprocess: Preprocess = field(default_factory=Preprocess)
    onnx_model: object | None = None  # the normalised ONNX model, for float references
    host_softmax: bool = False  # a final Softmax runs on the host, on the accelerator's logits
    pixel_input: bool = False  # preprocessing folded into the first conv: input is RGB 0..255

    # ---- queries -------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def shape(self, tensor: str) -> tuple[int, ...]:
        return self.tensors[tensor].shape

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    # ---- edits used by passes ------------------------------------------------------------------
    def remove_node(self, node: Node) -> None:
        """Remove a single-input node, rewiring its consumers to its input."""
        src, dst = node.inputs[0], node.outputs[0]
        self.nodes.remove(node)
        for n in self.nodes:
            n.inputs = [src if t == dst else t for t in n.inputs]
        if self.output == dst:
            self.output = src
            self.tensors[src].onnx_name = self.tensors[dst].onnx_name or self.tensors[src].onnx_name
        self.tensors.pop(dst, None)

    def rename_tensor(self, old: str, new: str) -> None:
        t = self.tensors.pop(old)
        t.name = new
        self.tensors[new] = t
        for n in self.nodes:
            n.inputs = [new if x == old else x for x in n.inputs]
            n.outputs = [new if x == old else x for x in n.outputs]
        if self.input == old:
            self.input = new
        if self.output == old:
            self.output = new
