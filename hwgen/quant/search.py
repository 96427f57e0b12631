"""Mixed-precision search: per-layer weight widths (4-8 bits) and activation widths (6-8 bits)
chosen for a board (``hwgen config --search-precision``).

The calibration images are split: every fifth image from the third on (two in five) is held out
to judge the fixed-point network against float; the others calibrate. Then:

1. Sensitivity: each layer alone is narrowed (weights to 6 and to 4 bits, its output to 6
   bits) in a quick quantisation (nearest rounding, no bias correction, the statistics of the
   8-bit run reused) and the drop of the logits' SNR on held-out images is measured.
2. The narrowing steps, least sensitive first, form a list; the search takes the longest prefix
   whose held-out top-1 agreement with float (quick quantisation) loses no more than the real
   8-bit run's agreement stands above ``min_agreement``, by bisection, asking the folding
   optimiser for each prefix's frames/s on the board.
3. Steps that buy no frames/s on the board are undone (they cost accuracy for nothing).
4. The chosen widths are quantised for real (the configured weight rounding and bias
   correction) and checked on the held-out images again; while agreement falls short, the last
   half of the steps is dropped.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .. import progress
from ..errors import HwgenError
from ..golden import GoldenModel, run_float
from ..ir import Graph
from ..ops import Conv
from .config import Resolver, decision_tensors, quantize
from .calibrate import TensorStats

#: weight widths tried per layer (8 is the default) and the output width tried per layer
WEIGHT_STEPS = (6, 4)
ACTIVATION_STEP = 6
#: images of the held-out part the sensitivity scan uses (the acceptance checks use them all)
SENSITIVITY_IMAGES = 12
#: held-out top-1 agreement with float the searched design keeps by default (the 8-bit design
#: has 0.95 on SqueezeNet 1.1's calibration split: no image more may flip)
DEFAULT_MIN_AGREEMENT = 0.94
#: a step that changes frames/s by less than this share buys nothing
NO_GAIN = 0.005
#: quick quantisation: the formats and widths of the real one, far less work
QUICK = {"weight_rounding": "nearest", "bias_correction": False}


def split_calibration(paths: Sequence) -> tuple[list, list]:
    """(calibration, held out): two images in five held out, spread over the folder's order."""
    paths = list(paths)
    held = [p for i, p in enumerate(paths) if i % 5 in (2, 4)]
    calib = [p for i, p in enumerate(paths) if i % 5 not in (2, 4)]
    if len(held) < 2 or len(calib) < 2:
        raise HwgenError(f"--search-precision: {len(paths)} calibration images; supported: at "
                         "least 5 (two in five are held out to judge accuracy)")
    return calib, held


@dataclass(frozen=True)
class Step:
    """Narrow one layer: its weights (``weight_bits``) or its output (``activation_bits``)."""
    layer: str
    key: str
    bits: int
    cost_db: float = 0.0  # logit SNR lost when this step alone is taken (after the one before)

    def describe(self) -> str:
        what = "weights" if self.key == "weight_bits" else "output"
        return f"{self.layer} {what} {self.bits} bits"


@dataclass
class Accuracy:
    agreement: float  # share of held-out images whose top-1 matches float
    snr_db: float  # of the logits against float


@dataclass
class SearchResult:
    steps: list[Step]
    layers: dict[str, dict]  # the configuration's per-layer widths
    baseline: dict  # frames/s, fits and held-out accuracy of the 8-bit design
    searched: dict  # the same of the searched design (real quantisation)
    tried: list[dict] = field(default_factory=list)  # each prefix the bisection judged


class _Judge:
    """Float references of the held-out images, and the fixed-point network's accuracy on
    them."""

    def __init__(self, graph: Graph, held: list[np.ndarray]):
        self.inputs = held
        self.ref = [np.asarray(run_float(graph, x), np.float64).reshape(-1) for x in held]

    def accuracy(self, graph: Graph, limit: int | None = None) -> Accuracy:
        gm = GoldenModel(graph)
        agree, signal, noise = 0, 0.0, 0.0
        for x, ref in list(zip(self.inputs, self.ref))[:limit]:
            got = gm.logits(x).astype(np.float64).reshape(-1)
            agree += int(np.argmax(got) == np.argmax(ref))
            signal += float(ref @ ref)
            noise += float((ref - got) @ (ref - got))
        n = min(limit or len(self.inputs), len(self.inputs))
        return Accuracy(agree / n, 10 * np.log10(max(signal, 1e-30) / max(noise, 1e-30)))


def _layers_of(steps: Sequence[Step]) -> dict[str, dict]:
    layers: dict[str, dict] = {}
    for s in steps:
        layers.setdefault(s.layer, {})[s.key] = s.bits
    return layers


def _with_layers(cfg: dict, layers: dict[str, dict], quick: bool) -> dict:
    merged = copy.deepcopy(cfg)
    own = merged.setdefault("layers", {}) or {}
    for name, entry in layers.items():
        own[name] = {**own.get(name, {}), **entry}
    merged["layers"] = own
    if quick:
        merged["defaults"] = {**(merged.get("defaults") or {}), **QUICK}
    return merged


def search_precision(prepared: Graph, cfg: dict, stats: dict[str, TensorStats],
                     calib_inputs: list[np.ndarray], held_inputs: list[np.ndarray],
                     fps_of: Callable[[Graph], tuple[float, bool]],
                     min_agreement: float) -> SearchResult:
    """The search (module docstring) on a prepared float graph (preprocessing folded), the
    statistics of its calibration images, and ``fps_of(quantised graph) -> (frames/s, fits)``
    on the board."""
    judge = _Judge(prepared, held_inputs)
    pinned: dict[str, str] = {}  # the 8-bit run's activation formats, by owner

    def quick(layers: dict[str, dict]) -> Graph:
        # a narrower weight leaves every activation format as it was, and a narrower output
        # only its own: pin the others (choosing a format from the statistics is the slow part)
        fixed = {o: {"output": f} for o, f in pinned.items()
                 if "activation_bits" not in layers.get(o, {})}
        for name, entry in layers.items():
            fixed[name] = {**fixed.get(name, {}), **entry}
        return quantize(copy.deepcopy(prepared), _with_layers(cfg, fixed, True), stats)

    base_graph = quick({})
    owner = decision_tensors(base_graph)
    pinned.update({o: base_graph.tensors[t].fmt.cpp() for t, o in owner.items()
                   if o in {n.name for n in base_graph.nodes}})
    real_cfg = _with_layers(cfg, {}, False)

    def real(layers: dict[str, dict]) -> Graph:
        return quantize(copy.deepcopy(prepared), _with_layers(real_cfg, layers, False), stats,
                        calib_inputs)

    with progress.bar("precision search: the 8-bit design", len(prepared.nodes), "layer"):
        g0 = real({})
    acc0 = judge.accuracy(g0)
    fps0, fits0 = fps_of(g0)
    # the quick quantisation loses agreement that weight rounding and bias correction win back:
    # a prefix is judged by what it loses against the quick 8-bit run
    floor = min_agreement - max(acc0.agreement - judge.accuracy(base_graph).agreement, 0.0)
    base = judge.accuracy(base_graph, SENSITIVITY_IMAGES)
    steps = _ranked_steps(prepared, cfg, quick, judge, base)
    tried: list[dict] = []

    def judge_prefix(k: int) -> tuple[bool, float]:
        g = quick(_layers_of(steps[:k]))
        acc = judge.accuracy(g)
        fps, fits = fps_of(g)
        tried.append({"steps": k, "agreement": acc.agreement, "fps": fps, "fits": fits})
        return acc.agreement >= floor and fits, fps

    # bisection for the longest prefix that keeps the agreement (it falls as steps are added)
    lo, hi = 0, len(steps)
    with progress.bar("precision search: prefixes", max(1, int(np.ceil(np.log2(hi + 1)))),
                      "try"):
        while lo < hi:
            mid = (lo + hi + 1) // 2
            ok, _ = judge_prefix(mid)
            progress.step(f"{mid} steps")
            lo, hi = (mid, hi) if ok else (lo, mid - 1)
    chosen = _drop_free_steps(steps[:lo], quick, fps_of)

    # the real quantisation (weight rounding, bias correction); back off while it falls short
    while True:
        layers = _layers_of(chosen)
        with progress.bar("precision search: the searched design", len(prepared.nodes), "layer"):
            g = real(layers) if chosen else g0
        acc = judge.accuracy(g)
        if acc.agreement >= min_agreement or not chosen:
            break
        chosen = chosen[:len(chosen) // 2]
    fps, fits = fps_of(g)
    return SearchResult(
        steps=chosen, layers=layers,
        baseline={"fps": fps0, "fits": fits0, "agreement": acc0.agreement,
                  "snr_db": acc0.snr_db},
        searched={"fps": fps, "fits": fits, "agreement": acc.agreement, "snr_db": acc.snr_db,
                  "graph": g},
        tried=tried)


def _ranked_steps(prepared: Graph, cfg: dict, quick, judge: _Judge, base: Accuracy
                  ) -> list[Step]:
    """Every narrowing step with its measured cost, least costly first; a layer's 4-bit step
    always after its 6-bit one."""
    res = Resolver(prepared, cfg)
    convs = [n.name for n in prepared.nodes if isinstance(n.op, Conv)]
    owner = decision_tensors(prepared)
    names = {n.name for n in prepared.nodes}
    # every layer that decides a format, but the logits' (their width is output_bits)
    owners = [o for o in dict.fromkeys(owner.values())
              if o in names and o != owner[prepared.output]]
    trials = [(c, "weight_bits", b) for c in convs for b in WEIGHT_STEPS
              if b < int(res.settings(c)["weight_bits"])]
    trials += [(o, "activation_bits", ACTIVATION_STEP) for o in owners
               if ACTIVATION_STEP < int(res.settings(o)["activation_bits"])]
    lost: dict[tuple[str, str, int], float] = {}
    for layer, key, bits in progress.iterate(trials, "precision search: sensitivity", "layer"):
        acc = judge.accuracy(quick({layer: {key: bits}}), SENSITIVITY_IMAGES)
        lost[(layer, key, bits)] = max(base.snr_db - acc.snr_db, 0.0)
    steps = []
    for (layer, key, bits), db in lost.items():
        if key == "weight_bits" and bits != WEIGHT_STEPS[0]:
            # what it loses beyond the wider step, and never ranked before that step
            wider = lost.get((layer, key, WEIGHT_STEPS[WEIGHT_STEPS.index(bits) - 1]), 0.0)
            db = max(db - wider, wider) + 1e-9
        steps.append(Step(layer, key, bits, db))
    return sorted(steps, key=lambda s: s.cost_db)


def _drop_free_steps(steps: list[Step], quick, fps_of) -> list[Step]:
    """Undo, latest first, each step whose removal costs no frames/s."""
    if not steps:
        return steps
    kept = list(steps)
    fps, _ = fps_of(quick(_layers_of(kept)))
    for s in progress.iterate(list(reversed(steps)), "precision search: pruning", "step"):
        trial = [t for t in kept if t != s]
        # a wider step cannot go while its narrower one stays
        if any(t.layer == s.layer and t.key == s.key and t.bits < s.bits for t in trial):
            continue
        f, fits = fps_of(quick(_layers_of(trial)))
        if fits and f >= fps * (1 - NO_GAIN):
            kept = trial
    return kept
