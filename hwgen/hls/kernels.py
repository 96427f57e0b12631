"""The HLS rendering of the design's stages, the Python side of the kernel library in
``hls_templates/hwgen/*.h``.

For a stage of the dataflow design (``hwgen.design.stages``) ``render`` returns a ``KernelCall``:
the C++ config struct (hls4ml-style traits: typedefs and constants only, all logic is in the
headers), the C++ call and the weight/bias arrays in the kernel's memory layout (raw integers).
What the stage takes per frame and costs is the design's (``KernelCall.stage``).

Stream convention (types.h): a (C, H, W) tensor travels as pixels in raster order, each pixel as
C/N words ``hwgen::Pack<T, N>`` of N consecutive channels.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ..design import cost
from ..design.ddr import DdrWeights
from ..design.folding import Folding
from ..design.stages import Stage, layer_stage, pack_conv_weights
from ..errors import HwgenError
from ..fixed import FixedType
from ..ir import Graph, Node
from ..ops.pool import RECIP_BITS


def raw_ctype(fmt: FixedType) -> str:
    """C++ type holding the raw integers of ``fmt`` (types.h: ap_int under synthesis, a native
    integer in fast C simulation)."""
    return f"hwgen::{'int_t' if fmt.signed else 'uint_t'}<{fmt.width}>"


def stream_type(fmt: FixedType, lanes: int) -> str:
    """C++ element type of a stream of words of ``lanes`` values of ``fmt``."""
    return f"hwgen::Pack<{fmt.cpp()}, {lanes}>"


class KernelArray(NamedTuple):
    """A constant array the generator writes to a header: name, C++ type of one lane (the raw
    integer type of the format, ``raw_ctype``), the flat raw integers in the kernel's layout
    (int64) and how many of them make one ROM word.

    With ``lanes`` >= 1 the array is a ROM of ``values.size / lanes`` words, each ONE scalar
    ``ap_uint<lanes * W>`` (written ``hwgen::rom_word<N>``, types.h; W = the lane width; conv2d.h, "Weight layout"): lane l at bits
    [l*W, l*W + W) as its raw two's-complement pattern, one word per (neuron fold, synapse fold)
    step, read through a word counter. A scalar wide word is one memory word by construction (no
    AGGREGATE, unlike an array of structs). Each word is initialised from a hex string,
    ``hwgen::rom_word<N>("0x...", 16)`` (for synthesis ``ap_uint<N>("0x...", 16)``), as FINN's data packing writes its weight ROMs
    (finn.util.data_packing.numpy_to_hls_code: the innermost dimension packed into one
    zero-padded "0x" hex string per element). With ``lanes`` == 0: a plain array of ``ctype``."""

    name: str
    ctype: str
    values: np.ndarray
    lanes: int = 0  # 0: a plain array of ctype

    @property
    def bits(self) -> int:
        """Width W of one lane (from ``ctype``, ``hwgen::int_t<W>`` / ``hwgen::uint_t<W>``)."""
        m = re.fullmatch(r"hwgen::u?int_t<(\d+)>", self.ctype)
        if not m:
            raise HwgenError(f"{self.name}: no lane width in {self.ctype!r}")
        return int(m.group(1))

    @property
    def word_bits(self) -> int:
        return self.lanes * self.bits

    @property
    def word_type(self) -> str:
        """``hwgen::rom_word<N>``: ap_uint<N> for synthesis, a constant-initialised stand-in in
        C simulation (types.h)."""
        return f"hwgen::rom_word<{self.word_bits}>" if self.lanes else self.ctype

    @property
    def words(self) -> int:
        return self.values.size // max(self.lanes, 1)

    def packed_words(self) -> list[int]:
        """The ROM words as non-negative integers: lane l of word i (value i*lanes + l) at bits
        [l*W, l*W + W), as its W-bit two's-complement pattern."""
        w, n = self.bits, self.lanes
        v = np.asarray(self.values, dtype=np.int64).reshape(self.words, n)
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if self.ctype.startswith("hwgen::int") \
            else (0, (1 << w) - 1)
        if v.size and (v.min() < lo or v.max() > hi):
            raise HwgenError(f"{self.name}: a value does not fit {self.ctype}")
        mask = (1 << w) - 1
        return [sum((int(x) & mask) << (l * w) for l, x in enumerate(row)) for row in v.tolist()]

    def definition(self, qualifier: str = "static const") -> str:
        if not self.lanes:
            body = ",".join(str(int(v)) for v in self.values)
            return f"{qualifier} {self.word_type} {self.name}[{self.words}] = {{{body}}};\n"
        t, digits = self.word_type, -(-self.word_bits // 4)
        body = ",\n".join(f'{t}("0x{v:0{digits}x}", 16)' for v in self.packed_words())
        return f"{qualifier} {t} {self.name}[{self.words}] = {{\n{body}}};\n"


@dataclass
class KernelCall:
    """Everything a dataflow generator needs to instantiate one kernel."""

    name: str  # C++ identifier of the layer
    kernel: str  # C++ function template, e.g. "hwgen::conv2d"
    config_name: str  # the config struct's name
    config: str  # the config struct (C++ text)
    in_streams: list[str]  # C++ element type of each input stream, in call order
    out_streams: list[str]  # C++ element type of each output stream, in call order
    stage: Stage  # what it renders: cycles, resources, storage, DDR weights (hwgen.design)
    arrays: list[KernelArray] = field(default_factory=list)
    #: array pragmas for the caller: none -- each kernel declares the pragmas of the arrays it owns
    #: (weights, biases, buffers) itself, the top only wires streams
    pragmas: list[str] = field(default_factory=list)

    @property
    def ddr(self) -> DdrWeights | None:
        """Its weights in DDR (hwgen.design.ddr), if they live there."""
        return self.stage.ddr

    @property
    def in_lanes(self) -> list[int]:
        """Lanes of each input stream (0 for an AXI4-Stream)."""
        return self.stage.in_lanes

    @property
    def out_lanes(self) -> list[int]:
        """Lanes of each output stream (0 for an AXI4-Stream)."""
        return self.stage.out_lanes

    def call(self, inputs: Sequence[str], outputs: Sequence[str],
             arrays: Sequence[str] | None = None, ddr_port: str | None = None) -> str:
        """The C++ statement, given stream variable names (and array names, default the
        ``arrays`` names; for a kernel with weights in DDR, the pointer it reads them from)."""
        if len(inputs) != len(self.in_streams) or len(outputs) != len(self.out_streams):
            raise HwgenError(f"{self.kernel} {self.name}: takes {len(self.in_streams)} input and "
                             f"{len(self.out_streams)} output stream(s)")
        names = list(arrays) if arrays is not None else [a.name for a in self.arrays]
        if len(names) != len(self.arrays):
            raise HwgenError(f"{self.kernel} {self.name}: takes {len(self.arrays)} array(s)")
        if (self.ddr is not None) != (ddr_port is not None):
            raise HwgenError(f"{self.kernel} {self.name}: a DDR weight port goes with DDR weights")
        args = ", ".join([*inputs, *outputs, *([ddr_port] if ddr_port else []), *names])
        return f"{self.kernel}<{self.config_name}>({args});"


def _struct(name: str, types: Mapping[str, str], consts: Sequence[tuple[str, str, object]],
            comment: str) -> str:
    lines = [f"// {comment}", f"struct {name} {{"]
    lines += [f"  typedef {t} {n};" for n, t in types.items()]
    for ctype, n, v in consts:
        if isinstance(v, bool):
            v = "true" if v else "false"
        lines.append(f"  static const {ctype} {n} = {v};")
    lines.append("};\n")
    return "\n".join(lines)


def _call(st: Stage, kernel: str, types: Mapping[str, str],
          consts: Sequence[tuple[str, str, object]], comment: str,
          arrays: Sequence[KernelArray] = ()) -> KernelCall:
    """The call of ``kernel`` on a config struct of ``types`` and ``consts``, its streams the
    stage's ports (an AXI4-Stream port carries ``params["axi_bits"]``-bit beats)."""
    cfg = f"{st.name}_config"

    def types_of(fmts: list[FixedType], lanes: list[int]) -> list[str]:
        return [stream_type(f, n) if n else f"hwgen::axis_t<{st.params['axi_bits']}>"
                for f, n in zip(fmts, lanes)]

    return KernelCall(st.name, kernel, cfg, _struct(cfg, types, consts, comment),
                      types_of(st.in_fmts, st.in_lanes), types_of(st.out_fmts, st.out_lanes),
                      st, list(arrays))


# ---- one function per kind of stage ----------------------------------------------------------
#: Stage.storage keys of a conv -> the config constants its kernel binds them with
_CONV_STORAGE = {"weights": "W_STORAGE", "xbuf": "XBUF_STORAGE", "window": "WIN_STORAGE",
                 "obuf": "OBUF_STORAGE", "acc": "ACC_STORAGE"}


def _conv(st: Stage, graph: Graph) -> KernelCall:
    node = graph.node(st.layer)
    op, fold = node.op, st.folding
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    cin, h, w = x.shape
    cout, oh, ow = y.shape
    pe, simd = fold.pe, fold.simd
    t, l, b, r = op.pad
    stores = [("int", _CONV_STORAGE[a], cost.STORAGE_CPP[kind]) for a, kind in st.storage.items()
              if a in _CONV_STORAGE]
    ddr = ([("unsigned", "BLOCK", st.params["block"]), ("unsigned", "BEATS", st.params["beats"])]
           if fold.ddr else [])
    types = {"in_t": x.fmt.cpp(), "out_t": y.fmt.cpp(), "acc_t": op.accum_fmt.cpp(),
             "weight_t": op.weight_fmt.cpp(), "bias_t": op.bias_fmt.cpp()}
    consts = [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "IN_C", cin),
              ("unsigned", "OUT_H", oh), ("unsigned", "OUT_W", ow),
              ("unsigned", "OUT_C", cout), ("unsigned", "K", op.kernel),
              ("unsigned", "STRIDE", op.stride), ("unsigned", "PAD_T", t),
              ("unsigned", "PAD_L", l), ("unsigned", "PAD_B", b),
              ("unsigned", "PAD_R", r), ("bool", "RELU", op.relu),
              ("int", "SHIFT_BITS", op.max_shift.bit_length()),
              ("int", "MAX_SHIFT", op.max_shift),
              ("unsigned", "PE", pe), ("unsigned", "SIMD", simd),
              ("unsigned", "IN_LANES", st.in_lanes[0]),
              ("bool", "MUL_FABRIC", fold.mul_fabric),
              ("bool", "MUL_PACKED", fold.mul_packed), *ddr, *stores]
    comment = (f"{node.name}: conv {op.describe()}, {cin}x{h}x{w} -> {cout}x{oh}x{ow}"
               + (", weights in DDR" if fold.ddr else ""))
    bias = _bias_rom(st.name, op, pe)
    if fold.ddr:
        return _call(st, "hwgen::conv2d_ddr", types, consts, comment, [bias])
    # NF*SF ROM words of PE*SIMD weights (conv2d.h, "Weight layout")
    weights = KernelArray(f"{st.name}_w", raw_ctype(op.weight_fmt),
                          pack_conv_weights(op.weight_raw(), pe, simd), pe * simd)
    return _call(st, "hwgen::conv2d", types, consts, comment, [weights, bias])


def _bias_rom(name: str, op, pe: int) -> KernelArray:
    """NF words of PE bias lanes (conv2d.h, read with the neuron-fold counter): each channel's
    raw bias and, with per-channel formats, its alignment (MAX_SHIFT - shift: the left shift
    onto the finest channel) in the bits above it."""
    b_raw = np.asarray(op.bias_raw(), np.int64)  # each channel at its own format
    bits = op.max_shift.bit_length()
    if bits == 0:
        return KernelArray(f"{name}_b", raw_ctype(op.bias_fmt), b_raw, pe)
    align = op.max_shift - op.channel_shift
    lanes = (align << op.bias_fmt.width) | op.bias_fmt.to_bits(b_raw)
    return KernelArray(f"{name}_b", f"hwgen::uint_t<{op.bias_fmt.width + bits}>", lanes, pe)


def _maxpool(st: Stage, graph: Graph) -> KernelCall:
    node = graph.node(st.layer)
    op = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    _, oh, ow = y.shape
    t, l, b, r = op.pad
    return _call(st, "hwgen::maxpool2d", {"in_t": x.fmt.cpp(), "out_t": y.fmt.cpp()},
                 [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "C", c),
                  ("unsigned", "LANES", st.in_lanes[0]), ("unsigned", "K", op.kernel),
                  ("unsigned", "STRIDE", op.stride), ("unsigned", "PAD_T", t),
                  ("unsigned", "PAD_L", l), ("unsigned", "PAD_B", b),
                  ("unsigned", "PAD_R", r), ("bool", "CEIL_MODE", op.ceil_mode),
                  ("unsigned", "OUT_H", oh), ("unsigned", "OUT_W", ow),
                  ("int", "WIN_STORAGE", cost.STORAGE_CPP[st.storage["window"]]),
                  ("int", "M_STORAGE", cost.STORAGE_CPP[st.storage["m"]])],
                 f"{node.name}: maxpool {op.describe()}, {c}x{h}x{w} -> {c}x{oh}x{ow}")


def _global_avgpool(st: Stage, graph: Graph) -> KernelCall:
    node = graph.node(st.layer)
    op = node.op
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    c, h, w = x.shape
    recip, rfrac = op.reciprocal(h * w)
    return _call(st, "hwgen::global_avgpool",
                 {"in_t": x.fmt.cpp(), "out_t": y.fmt.cpp(),
                  "sum_t": op.sum_format(x.fmt, h * w).cpp()},
                 [("unsigned", "IN_H", h), ("unsigned", "IN_W", w), ("unsigned", "C", c),
                  ("unsigned", "LANES", st.in_lanes[0]), ("unsigned", "RECIP_BITS", RECIP_BITS),
                  ("unsigned", "RECIP", recip), ("int", "RECIP_FRAC", rfrac),
                  ("int", "ACC_STORAGE", cost.STORAGE_CPP[st.storage["acc"]])],
                 f"{node.name}: global average pool, {c}x{h}x{w} -> {c}")


def _concat(st: Stage, graph: Graph) -> KernelCall:
    node = graph.node(st.layer)
    (c1, h, w), (c2, _, _) = (graph.shape(t) for t in node.inputs)
    return _call(st, "hwgen::concat_channels", {"data_t": st.out_fmts[0].cpp()},
                 [("unsigned", "C1", c1), ("unsigned", "C2", c2),
                  ("unsigned", "PIXELS", h * w), ("unsigned", "LANES", st.in_lanes[0])],
                 f"{node.name}: concat {c1} + {c2} channels, {h}x{w}")


def _add(st: Stage, graph: Graph) -> KernelCall:
    node = graph.node(st.layer)
    (a, b), y = (graph.tensors[t] for t in node.inputs), graph.tensors[node.outputs[0]]
    c, h, w = y.shape
    return _call(st, "hwgen::add_streams",
                 {"a_t": a.fmt.cpp(), "b_t": b.fmt.cpp(),
                  "sum_t": node.op.sum_format(a.fmt, b.fmt).cpp(), "out_t": y.fmt.cpp()},
                 [("unsigned", "CHANNELS", c), ("unsigned", "PIXELS", h * w),
                  ("unsigned", "LANES", st.in_lanes[0]), ("bool", "RELU", node.op.relu)],
                 f"{node.name}: add {c}x{h}x{w}" + (" + relu" if node.op.relu else ""))


def _plumbing_consts(st: Stage) -> list[tuple[str, str, object]]:
    return [("unsigned", "CHANNELS", st.params["channels"]),
            ("unsigned", "PIXELS", st.params["pixels"])]


def _duplicate(st: Stage, graph: Graph | None) -> KernelCall:
    return _call(st, "hwgen::duplicate", {"data_t": st.in_fmts[0].cpp()},
                 [*_plumbing_consts(st), ("unsigned", "LANES", st.in_lanes[0])],
                 f"{st.name}: duplicate")


def _regroup(st: Stage, graph: Graph | None) -> KernelCall:
    (i,), (o,) = st.in_lanes, st.out_lanes
    return _call(st, "hwgen::regroup", {"data_t": st.in_fmts[0].cpp()},
                 [*_plumbing_consts(st), ("unsigned", "IN_LANES", i), ("unsigned", "OUT_LANES", o)],
                 f"{st.name}: regroup {i} -> {o} lanes")


def _axis(kernel: str, what: str) -> Callable[[Stage, Graph | None], KernelCall]:
    def render_axis(st: Stage, graph: Graph | None) -> KernelCall:
        bits, beats = st.params["axi_bits"], st.params["beats"]
        lanes = max(st.in_lanes[0], st.out_lanes[0])
        return _call(st, kernel, {"data_t": st.in_fmts[0].cpp()},
                     [*_plumbing_consts(st), ("unsigned", "LANES", lanes),
                      ("unsigned", "AXI_BITS", bits), ("unsigned", "BEATS", beats)],
                     f"{st.name}: {what}, {bits}-bit AXI4-Stream beats, {beats} per word")
    return render_axis


RenderFn = Callable[[Stage, Graph], KernelCall]
#: Stage.kind -> the function that renders it as a kernel call
RENDER: dict[str, RenderFn] = {
    "conv": _conv,
    "maxpool": _maxpool,
    "global_avgpool": _global_avgpool,
    "concat": _concat,
    "add": _add,
    "duplicate": _duplicate,
    "regroup": _regroup,
    "axis_in": _axis("hwgen::axis_to_stream", "AXI4-Stream input"),
    "axis_out": _axis("hwgen::stream_to_axis", "AXI4-Stream output"),
}


def render(stage: Stage, graph: Graph | None = None) -> KernelCall:
    """The kernel call of a stage of the design (``graph``: the graph of a layer's stage)."""
    return RENDER[stage.kind](stage, graph)


def kernel_call(graph: Graph, node: Node, folding: Folding | None = None,
                ident: str | None = None) -> KernelCall:
    """The kernel call of a node of a quantised graph."""
    return render(layer_stage(graph, node, folding, ident), graph)
