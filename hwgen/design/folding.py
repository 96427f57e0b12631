"""Folding: PE/SIMD per layer, where a conv's weights live and its multipliers, and the lane count
of every stream.

The default keeps every kernel modest (at most ``DEFAULT_MAX`` lanes, weights on chip); the
configuration's ``folding:`` section overrides it per layer (``{layer: {pe: P, simd: S, weights:
chip|bram|lutram|ddr, multipliers: dsp|dsp2|lut}}``, names or patterns). ``hwgen.design.optimise``
writes such a section for a board.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..errors import HwgenError
from ..ir import Graph
from ..ops import Conv
from ..schema import MULTIPLIERS, WEIGHT_PLACES

DEFAULT_MAX = 8
#: widest on-chip ROM word (PE*SIMD weights): the ap_[u]int limit types.h sets (AP_INT_MAX_W)
MAX_ROM_WORD_BITS = 4096


@dataclass(frozen=True)
class Folding:
    """Parallelism of one kernel.

    conv: ``pe`` output channels (= lanes of the output stream) and ``simd`` input channels per
    cycle; ``in_lanes`` is the lane count of the input stream (default ``simd``).
    maxpool, global average pool, concat: ``lanes`` of the input and output streams, given as
    ``in_lanes`` or, failing that, ``pe``.
    """

    pe: int = 1
    simd: int = 1
    in_lanes: int | None = None
    out_lanes: int | None = None
    #: conv only: weights in DDR, streamed through an AXI4 master port (conv2d_ddr.h)
    ddr: bool = False
    #: conv only: multipliers in LUTs instead of DSP48s
    mul_fabric: bool = False
    #: conv only: two PEs' products per DSP48 (cost.packs_two says when the widths allow it)
    mul_packed: bool = False
    #: conv only, weights on chip: "bram", "lutram" or None (cost.memory's choice)
    storage: str | None = None

    @property
    def multipliers(self) -> str:
        """The folding configuration's spelling: "dsp", "dsp2" or "lut"."""
        return "lut" if self.mul_fabric else "dsp2" if self.mul_packed else "dsp"

    @property
    def lanes(self) -> int:
        return self.in_lanes or self.pe


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def rom_word_fits(pe: int, simd: int, weight_bits: int, bias_bits: int) -> bool:
    """Whether a conv's weight and bias ROM words fit one ap_uint (conv2d.h)."""
    return pe * simd * weight_bits <= MAX_ROM_WORD_BITS and pe * bias_bits <= MAX_ROM_WORD_BITS


def _largest_divisor(n: int, cap: int) -> int:
    return max(d for d in divisors(n) if d <= cap)


def override(cfg_folding: dict | None, name: str) -> dict:
    """The folding entries for layer ``name``: those of matching patterns, then its own."""
    out: dict = {}
    for key, entry in (cfg_folding or {}).items():
        if key != name and fnmatch.fnmatchcase(name, key):
            out.update(entry)
    out.update((cfg_folding or {}).get(name, {}))
    return out


def plan_folding(graph: Graph, cfg_folding: dict | None = None, input_lanes: int | None = None
                 ) -> tuple[dict[str, Folding], dict[str, int]]:
    """Per-layer Folding, and the lane count of every tensor's stream (the input's: a whole
    pixel per word, unless ``input_lanes`` says otherwise).

    Streams keep their producer's lane count: a conv's output has PE lanes, pooling, concat and
    add pass lanes through, the two expand convs of a Fire module share one PE (their concat needs
    equal lanes) and both read the squeeze's lanes as they are. A bypass sum joins equal lanes
    too: a Fire module with a simple bypass takes its input's lanes as its expands' PE, one with a
    complex bypass gives its bypass conv the expands' PE.
    """
    for key in cfg_folding or {}:
        if not any(fnmatch.fnmatchcase(n.name, key) for n in graph.nodes):
            raise HwgenError(f"folding: layer {key!r} matches no layer")
    lanes = {graph.input: input_lanes or graph.shape(graph.input)[0]}
    fire_of = {n: f for f in graph.fires for n in (f.expand1x1, f.expand3x3, f.bypass_conv)
               if n is not None}
    shared_pe: dict[str, int] = {}

    def fire_pe(fire) -> int:
        """The PE of a Fire module's expands (and bypass conv), decided at its first expand."""
        group = [graph.node(n) for n in (fire.expand1x1, fire.expand3x3, fire.bypass_conv) if n]
        pes = {override(cfg_folding, n.name).get("pe") for n in group} - {None}
        if len(pes) > 1:
            raise HwgenError(f"folding: {fire.name}'s expand convs need the same pe "
                             f"(their concat joins equal lanes), got {sorted(pes)}")
        cout = min(n.op.out_channels for n in group[:2])
        fire_in = lanes[graph.node(fire.squeeze).inputs[0]]
        if fire.bypass_kind == "simple":  # the sum joins the output and the input lane by lane
            if pes and pes != {fire_in}:
                raise HwgenError(f"folding: {fire.name}'s expand convs need pe = {fire_in}, the "
                                 f"lanes of its input, for its bypass sum; got {pes.pop()}")
            if cout % fire_in:
                raise HwgenError(f"folding: {fire.name}: its input's {fire_in} lanes do not "
                                 f"divide its expands' {cout} channels (its bypass sum needs "
                                 "them equal); lower the pe of the layer before it")
            return fire_in
        return pes.pop() if pes else _largest_divisor(cout, DEFAULT_MAX)

    plan: dict[str, Folding] = {}
    for node in graph.nodes:
        in_lanes = lanes[node.inputs[0]]
        ov = override(cfg_folding, node.name)
        if isinstance(node.op, Conv):
            cin, cout = node.op.in_channels, node.op.out_channels
            fire = fire_of.get(node.name)
            if fire is not None and node.name not in shared_pe:
                shared_pe.update({n: fire_pe(fire) for n in (
                    fire.expand1x1, fire.expand3x3, fire.bypass_conv) if n})
            pe = int(ov.get("pe", shared_pe.get(node.name, _largest_divisor(cout, DEFAULT_MAX))))
            simd = int(ov.get("simd", _largest_divisor(cin, DEFAULT_MAX)))
            if cout % pe or cin % simd:
                raise HwgenError(f"folding: layer {node.name!r}: pe={pe} must divide {cout} and "
                                 f"simd={simd} must divide {cin}")
            if in_lanes % simd and simd % in_lanes:
                simd = _largest_divisor(cin, in_lanes) if not ov.get("simd") else simd
            where = ov.get("weights", "chip")
            if where not in WEIGHT_PLACES:
                raise HwgenError(f"folding: layer {node.name!r}: weights: {where!r}; "
                                 f"supported: {', '.join(WEIGHT_PLACES)}")
            if where == "ddr" and fire is not None and node.name == fire.bypass_conv:
                raise HwgenError(f"folding: layer {node.name!r}: weights: ddr; supported for a "
                                 "bypass conv: chip, bram, lutram (a DDR-weight conv takes a whole "
                                 "row before its first output, which the Fire module's sum would "
                                 "wait for with the module blocked)")
            mults = ov.get("multipliers", "dsp")
            if mults not in MULTIPLIERS:
                raise HwgenError(f"folding: layer {node.name!r}: multipliers: {mults!r}; "
                                 f"supported: {', '.join(MULTIPLIERS)}")
            plan[node.name] = Folding(pe=pe, simd=simd, in_lanes=in_lanes, ddr=where == "ddr",
                                      mul_fabric=mults == "lut", mul_packed=mults == "dsp2",
                                      storage=where if where in ("bram", "lutram") else None)
            lanes[node.outputs[0]] = pe
        else:
            if ov:
                raise HwgenError(f"folding: layer {node.name!r} ({node.kind}) has no pe/simd or "
                                 "weights; its lanes follow its input")
            others = {lanes[t] for t in node.inputs[1:]} - {in_lanes}
            if others:
                raise HwgenError(f"folding: layer {node.name!r} ({node.kind}) joins streams of "
                                 f"{in_lanes} and {others.pop()} lanes; supported: equal lanes "
                                 "(give the layers that produce them the same pe)")
            plan[node.name] = Folding(in_lanes=in_lanes)
            lanes[node.outputs[0]] = in_lanes
    return plan, lanes
