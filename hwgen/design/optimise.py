"""Folding optimiser: PE/SIMD, multiplier mapping and weight placement for every conv, chosen so
that the design fits a board's budget at the highest frame rate (or meets a target frame rate
with the fewest resources).

For a target of T cycles per frame, ``plan_for`` gives every conv the fewest multipliers
(PE*SIMD) that finish a frame within T, in graph order so that each conv's SIMD agrees with the
lanes of the stream it reads (its producer's PE), with both expands of a Fire module (and its bypass
conv) on one PE -- the lanes of its input when a simple bypass adds that input to its output --, and
with a PE large enough that the pooling, concat and output stages it feeds also keep up. Then,
while the design is over budget: multipliers pack two products per DSP48 where the widths allow
(largest layers first), then move from DSP48s to LUTs (smallest layers first), the
weights of the layers that hold the most BRAM move to DDR (a layer qualifies when one 64-bit port
keeps up with it), and LUTRAM-held weights move to BRAM while LUTs are short and BRAM has room.
``optimise`` searches T (bisection on log T, then a short local refinement) for the smallest T
that fits. Layers the user's configuration folds itself keep the user's choices.
"""
from __future__ import annotations

import math

from ..boards import ddr_ports
from ..errors import HwgenError
from ..ir import Graph
from ..ops import Concat, Conv, GlobalAvgPool, MaxPool
from . import cost
from .ddr import beats_per_word
from .estimate import DEFAULT_CAP, Costing, budget, estimate
from .folding import divisors, override, rom_word_fits
from .schedule import conv_cycles


def _conv_cycles(graph: Graph, node, pe: int, simd: int, in_lanes: int) -> int:
    return conv_cycles(node.op, graph.shape(node.inputs[0]), graph.shape(node.outputs[0]), pe,
                       simd, in_lanes)


def _min_lanes_downstream(graph: Graph, tensor: str, T: int) -> int:
    """Fewest lanes the stream ``tensor`` needs so that the non-conv stages reading it (through
    pooling and concat, up to the next convs) and the input/output adapters keep within T."""
    need = 1
    c = graph.shape(tensor)[0]
    pixels = math.prod(graph.shape(tensor)[1:])
    consumers = [n for n in graph.nodes if tensor in n.inputs]
    if len(consumers) > 1 or tensor == graph.output:  # a duplicate or the output adapter
        need = max(need, math.ceil(pixels * c / T))
    for n in consumers:
        if isinstance(n.op, Conv):
            continue
        out = n.outputs[0]
        if isinstance(n.op, MaxPool):
            _, oh, ow = graph.shape(out)
            work = max(pixels, oh * ow * n.op.kernel ** 2) * c
        elif isinstance(n.op, Concat):
            work = pixels * graph.shape(out)[0]
        elif isinstance(n.op, GlobalAvgPool):
            work = pixels * c
        else:
            work = pixels * c
        need = max(need, math.ceil(work / T), _min_lanes_downstream(graph, out, T))
    return need


def _compatible(simd: int, lanes: int) -> bool:
    return simd % lanes == 0 or lanes % simd == 0


def _cheapest(graph: Graph, node, pe: int, in_lanes: int, T: int) -> int | None:
    """Smallest SIMD (compatible with the input lanes) with which ``node`` at ``pe`` meets T."""
    for simd in divisors(node.op.in_channels):
        if _compatible(simd, in_lanes) and _conv_cycles(graph, node, pe, simd, in_lanes) <= T:
            return simd
    return None


def plan_for(graph: Graph, T: int, user: dict | None = None) -> dict[str, dict]:
    """The folding section (``{layer: {pe, simd}}``) that meets T cycles per frame with the fewest
    multipliers; raises HwgenError when no folding meets it."""
    user = user or {}
    fire_of = {n: f for f in graph.fires for n in (f.expand1x1, f.expand3x3, f.bypass_conv) if n}
    lanes = {graph.input: graph.shape(graph.input)[0]}
    plan: dict[str, dict] = {}
    for node in graph.nodes:
        in_lanes = lanes[node.inputs[0]]
        if not isinstance(node.op, Conv):
            lanes[node.outputs[0]] = in_lanes
            continue
        if node.name in plan:  # the second expand of a Fire module, planned with the first
            lanes[node.outputs[0]] = plan[node.name]["pe"]
            continue
        fire = fire_of.get(node.name)
        if fire is not None and node.name == fire.bypass_conv:
            continue  # planned with its module's expands, which the sum comes after
        group = ([graph.node(n) for n in (fire.expand1x1, fire.expand3x3, fire.bypass_conv) if n]
                 if fire else [node])
        overrides = [override(user, n.name) for n in group]
        fixed_pe = {o["pe"] for o in overrides if "pe" in o}
        if fire is not None and fire.bypass_kind == "simple":  # the sum joins equal lanes
            fixed_pe = {lanes[graph.node(fire.squeeze).inputs[0]]}
        floor = max(_min_lanes_downstream(graph, n.outputs[0], T) for n in group)
        best = None
        for pe in sorted(fixed_pe) or divisors(min(n.op.out_channels for n in group[:2])):
            if pe < floor and not fixed_pe:
                continue
            simds = []
            for n, o in zip(group, overrides):
                simds.append(int(o["simd"]) if "simd" in o
                             else _cheapest(graph, n, pe, lanes[n.inputs[0]], T))
            if None in simds or not all(
                    rom_word_fits(pe, sm, n.op.weight_fmt.width,
                                  n.op.bias_fmt.width + n.op.max_shift.bit_length())
                    for n, sm in zip(group, simds)):
                continue
            macs = sum(pe * s for s in simds)
            if best is None or macs < best[0]:
                best = (macs, pe, simds)
        if best is None:
            raise HwgenError(f"no folding of {' and '.join(n.name for n in group)} reaches {T:,} "
                             "cycles per frame")
        _, pe, simds = best
        for n, simd in zip(group, simds):
            plan[n.name] = {"pe": pe, "simd": simd}
            lanes[n.outputs[0]] = pe
    return plan


def _merge(plan: dict, user: dict, extra: dict) -> dict:
    out = {name: {**entry, **extra.get(name, {})} for name, entry in plan.items()}
    for key, entry in user.items():  # the user's own entries (names or patterns) win
        out[key] = {**out.get(key, {}), **entry}
    return out


def _fit(graph: Graph, board: dict, plan: dict, user: dict, cap: float, T: int,
         costing: Costing | None = None) -> tuple[dict, dict]:
    """Multipliers and weight placement for a plan, until it fits (or no move is left)."""
    lim = budget(board, cap)
    extra: dict[str, dict] = {}

    def fixed(name: str, key: str) -> bool:  # the user decided this
        return key in override(user, name)

    est = estimate(graph, board, _merge(plan, user, extra), cap, costing)
    # 1. multipliers: DSP48s first; when they run out, two products per DSP48 where the widths
    #    allow it (a DSP saved for about 2*Ww + Wa LUTs), the largest layers first; then the
    #    smallest layers' products to LUTs (about 80 LUTs per DSP saved at 8 x 8)
    over = est["dsp"] - lim["dsp"]
    for name in sorted(plan, key=lambda n: -plan[n]["pe"] * plan[n]["simd"]):
        saved = cost.packed_pairs(plan[name]["pe"], plan[name]["simd"])
        if over <= 0:
            break
        node = graph.node(name)
        if fixed(name, "multipliers") or not saved or not cost.packs_formats(
                node.op.weight_fmt, graph.tensors[node.inputs[0]].fmt):
            continue
        extra.setdefault(name, {})["multipliers"] = "dsp2"
        over -= saved
    for name in sorted(plan, key=lambda n: plan[n]["pe"] * plan[n]["simd"]):
        if over <= 0:
            break
        if fixed(name, "multipliers"):
            continue
        was = extra.get(name, {}).get("multipliers")
        extra.setdefault(name, {})["multipliers"] = "lut"
        over -= plan[name]["pe"] * plan[name]["simd"] - (
            cost.packed_pairs(plan[name]["pe"], plan[name]["simd"]) if was == "dsp2" else 0)
    # 2. weights: the layers holding most BRAM to DDR while BRAM is short (a move costs an AXI
    #    master and buffers, so it must save BRAM to be taken)
    est = estimate(graph, board, _merge(plan, user, extra), cap, costing)
    bypass_convs = {f.bypass_conv for f in graph.fires}  # their weights stay on chip (folding.py)
    while est["bram36"] > lim["bram36"] and ddr_ports(board):
        movable = sorted((r for r in est["layers"] if r["weights"] in ("bram", "lutram")
                          and r["name"] in plan and not fixed(r["name"], "weights")
                          and r["name"] not in bypass_convs
                          and r["bram36"] > cost.M_AXI_READ["bram36"]
                          and _ddr_keeps_up(graph, r, T)),
                         key=lambda r: (-r["bram36"], -r["weight_bits"]))
        for r in movable:
            trial = {**extra, r["name"]: {**extra.get(r["name"], {}), "weights": "ddr"}}
            t_est = estimate(graph, board, _merge(plan, user, trial), cap, costing)
            # a move costs LUTs (the master, its interconnect port): never past the budget
            if t_est["bram36"] < est["bram36"] and (t_est["lut"] <= lim["lut"]
                                                    or t_est["lut"] <= est["lut"]):
                extra, est = trial, t_est
                break
        else:
            break
    # 3. on-chip weights between LUTRAM and BRAM, towards the resource with room
    for _ in range(len(plan)):
        lut_over, bram_room = est["lut"] - lim["lut"], lim["bram36"] - est["bram36"]
        if lut_over <= 0 or bram_room <= 0:
            break
        cands = [r for r in est["layers"] if r["weights"] == "lutram" and r["name"] in plan
                 and not fixed(r["name"], "weights")]
        if not cands:
            break
        big = max(cands, key=lambda r: r["lut"])
        trial = {**extra, big["name"]: {**extra.get(big["name"], {}), "weights": "bram"}}
        t_est = estimate(graph, board, _merge(plan, user, trial), cap, costing)
        if t_est["bram36"] > lim["bram36"] or t_est["lut"] >= est["lut"]:
            break
        extra, est = trial, t_est
    return _merge(plan, user, extra), est


def _ddr_keeps_up(graph: Graph, row: dict, T: int) -> bool:
    """One 64-bit port streams the layer's weights once per output row within T cycles."""
    node = graph.node(row["name"])
    _, oh, ow = graph.shape(node.outputs[0])
    beats = beats_per_word(row["pe"], row["simd"], node.op.weight_fmt.width)
    words = node.op.weight.size // (row["pe"] * row["simd"])
    return beats <= ow and oh * words * beats <= T


def optimise(graph: Graph, board: dict, user: dict | None = None, cap: float = DEFAULT_CAP,
             target_fps: float | None = None, costing: Costing | None = None
             ) -> tuple[dict, dict]:
    """(folding section, estimate) of the fastest design that fits (or, with ``target_fps``, of
    the cheapest design that reaches it); ``costing``: the backend's resources (estimate_for)."""
    user = dict(user or {})
    clock = float(board["clock_mhz"]) * 1e6

    def attempt(T: int):
        try:
            plan = plan_for(graph, T, user)
        except HwgenError:
            return None
        return _fit(graph, board, plan, user, cap, T, costing)

    if target_fps is not None:
        if target_fps <= 0:
            raise HwgenError(f"--target-fps must be positive, got {target_fps:g}")
        got = attempt(max(1, int(clock / target_fps)))
        if got is None:
            raise HwgenError(f"no folding reaches {target_fps:g} frames/s at "
                             f"{board['clock_mhz']:g} MHz")
        return got
    slowest = _slowest_cycles(graph)
    lo, hi = 1, slowest  # T = lo never fits (or fails); T = hi is the leanest design
    best = attempt(hi)
    if best is None or not best[1]["fits"]:
        return best if best is not None else (user, estimate(graph, board, user, cap, costing))
    for _ in range(40):
        if hi - lo <= max(1, hi // 200):
            break
        mid = int(math.sqrt(lo * hi))
        got = attempt(mid)
        if got is not None and got[1]["fits"]:
            hi, best = mid, got
        else:
            lo = mid
    for i in range(1, 9):  # fits are not quite monotone in T: look a little further
        got = attempt(max(1, int(hi * (1 - 0.01 * i))))
        if got is not None and got[1]["fits"] and got[1]["fps"] > best[1]["fps"]:
            best = got
    return best


def _slowest_cycles(graph: Graph) -> int:
    """An upper bound on the cycles per frame: every conv at PE = SIMD = 1."""
    worst = 1
    for node in graph.nodes:
        if isinstance(node.op, Conv):
            worst = max(worst, _conv_cycles(graph, node, 1, 1, 1))
    return worst

