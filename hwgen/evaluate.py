"""Accuracy report: float (onnxruntime) versus fixed-point (golden model) on labelled images."""
from __future__ import annotations

import contextlib
import functools
import operator
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import progress as _progress
from .images import input_size, load_rgb, network_input, preprocess
from .errors import HwgenError
from .golden import GoldenModel, run_float
from .images import read_labels
from .ir import Graph


def onnx_session(graph: Graph, threads: int = 0):
    """An onnxruntime session on the normalised float model (threads=0: onnxruntime's default)."""
    import onnxruntime as ort  # noqa: PLC0415

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(graph.onnx_model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def _sum_in_order(values) -> float:
    """Left to right, as ``+=`` over the images would: float addition is not associative, and
    sum() compensates from Python 3.12 on."""
    return functools.reduce(operator.add, values, 0.0)


@dataclass
class LayerError:
    """A layer's signal and noise energy, kept per image so that reports of shards evaluated apart
    join into exactly the totals of one process (summed in image order, never per shard)."""
    signals: array = field(default_factory=lambda: array("d"))
    noises: array = field(default_factory=lambda: array("d"))

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        ref = ref.astype(np.float64).reshape(-1)
        self.signals.append(float(ref @ ref))
        d = ref - got.reshape(-1)
        self.noises.append(float(d @ d))

    def extend(self, other: LayerError) -> None:
        self.signals.extend(other.signals)
        self.noises.extend(other.noises)

    @property
    def signal(self) -> float:
        return _sum_in_order(self.signals)

    @property
    def noise(self) -> float:
        return _sum_in_order(self.noises)

    @property
    def snr_db(self) -> float:
        signal, noise = self.signal, self.noise
        if noise == 0:
            return float("inf")
        return 10 * np.log10(max(signal, 1e-30) / noise)


@dataclass
class Report:
    """The evaluation of consecutive images; reports of consecutive runs ``extend`` into one."""
    images: int = 0
    float_top1: int = 0
    float_top5: int = 0
    fixed_top1: int = 0
    fixed_top5: int = 0
    agree: int = 0
    seconds_float: float = 0.0
    seconds_fixed: float = 0.0
    layers: dict[str, LayerError] = field(default_factory=dict)
    saturations: Counter[str] = field(default_factory=Counter)

    def extend(self, later: Report) -> None:
        """Append the report of the images that follow this one's."""
        for k in ("images", "float_top1", "float_top5", "fixed_top1", "fixed_top5", "agree",
                  "seconds_float", "seconds_fixed"):
            setattr(self, k, getattr(self, k) + getattr(later, k))
        for name, err in later.layers.items():
            self.layers.setdefault(name, LayerError()).extend(err)
        self.saturations.update(later.saturations)

    def as_dict(self, graph: Graph) -> dict:
        n = max(self.images, 1)
        pct = lambda k: round(100.0 * k / n, 2)  # noqa: E731
        return {
            "model": graph.name,
            "images": self.images,
            "float_top1": pct(self.float_top1), "float_top5": pct(self.float_top5),
            "fixed_top1": pct(self.fixed_top1), "fixed_top5": pct(self.fixed_top5),
            "agreement": pct(self.agree),
            "seconds_per_image_float": self.seconds_float / n,
            "seconds_per_image_fixed": self.seconds_fixed / n,
            "preprocess": graph.preprocess.describe() + (
                "; folded into the first conv, the accelerator takes RGB pixels"
                if graph.pixel_input else ""),
            "layers": self.layer_rows(graph),
        }

    def layer_rows(self, graph: Graph) -> list[dict]:
        return [{"name": name, "format": graph.tensors[graph.node(name).outputs[0]].fmt.cpp(),
                 "snr_db": round(err.snr_db, 2), "saturations": self.saturations[name]}
                for name, err in self.layers.items()]

    def add_layers(self, graph: Graph, x: np.ndarray, trace: dict[str, np.ndarray]) -> None:
        """Each layer's error on one network input ``x``: the golden ``trace`` against float."""
        floats = run_float(graph, x, trace=True)
        for node in graph.nodes:
            t = node.outputs[0]
            self.layers[node.name].add(floats[t], graph.tensors[t].fmt.dequantize(trace[t]))


def num_classes(graph: Graph) -> int:
    """N, for a classifier: a model whose output is N >= 2 class scores, (N,) or (N, 1, 1)."""
    shape = tuple(graph.shape(graph.output))
    if len(shape) in (1, 3) and all(d == 1 for d in shape[1:]) and shape[0] >= 2:
        return shape[0]
    raise HwgenError(f"{graph.name}: output {graph.output!r} has shape {list(shape)}, not a vector "
                     "of class scores; supported by eval: classifiers, whose output is N >= 2 "
                     "class scores, shape (N,) or (N, 1, 1)")


def labelled_images(graph: Graph, images_dir: str | Path, labels_tsv: str | Path,
                    limit: int | None = None) -> list[tuple[Path, int]]:
    """(image, class) pairs to evaluate, every check made before any work: a classifier, a
    labels file whose classes it has, every listed image present."""
    labels = read_labels(labels_tsv, num_classes=num_classes(graph))
    input_size(graph.shape(graph.input))
    files = sorted(labels)[:limit] if limit else sorted(labels)
    pairs = [(Path(images_dir) / f, labels[f]) for f in files]
    missing = [p for p, _ in pairs if not p.is_file()]
    if missing:
        raise HwgenError(f"{missing[0]}: listed in {labels_tsv} but not found")
    return pairs


class Evaluator:
    """Float and fixed inference of one quantised graph, built once per process; ``run`` reports
    on a list of images (a Ray actor too, one per shard: see hwgen.distributed)."""

    def __init__(self, graph: Graph, threads: int = 0):
        self.graph = graph
        self.session = onnx_session(graph, threads)
        self.in_name = self.session.get_inputs()[0].name
        self.golden = GoldenModel(graph)
        self.size = input_size(graph.shape(graph.input))

    def run(self, pairs: list[tuple[Path, int]], done=lambda n: None) -> Report:
        """The report on ``pairs``; ``done(1)`` is called after each image."""
        graph, golden = self.graph, self.golden
        golden.saturations = Counter()
        rep = Report(layers={n.name: LayerError() for n in graph.nodes})
        for path, label in pairs:
            rgb = load_rgb(path, self.size)
            x, x_onnx = network_input(rgb, graph), preprocess(rgb, graph.preprocess)
            t0 = time.perf_counter()
            ref = self.session.run(None, {self.in_name: x_onnx[None]})[0].reshape(-1)
            t1 = time.perf_counter()
            trace = golden.run(golden.quantize_input(x), trace=True)
            t2 = time.perf_counter()
            got = graph.tensors[graph.output].fmt.dequantize(trace[graph.output])
            rep.seconds_float += t1 - t0
            rep.seconds_fixed += t2 - t1
            rep.add_layers(graph, x, trace)
            top_ref, top_got = np.argsort(-ref)[:5], np.argsort(-got, kind="stable")[:5]
            rep.images += 1
            rep.float_top1 += int(top_ref[0] == label)
            rep.float_top5 += int(label in top_ref)
            rep.fixed_top1 += int(top_got[0] == label)
            rep.fixed_top5 += int(label in top_got)
            rep.agree += int(top_ref[0] == top_got[0])
            done(1)
        rep.saturations = golden.saturations
        return rep


def layer_accuracy(graph: Graph, inputs: list[np.ndarray]) -> dict:
    """Per-layer SNR against float and saturation counts of the fixed-point network on network
    inputs (generate keeps them for a project's report: its test vectors)."""
    golden = GoldenModel(graph)
    rep = Report(layers={n.name: LayerError() for n in graph.nodes})
    for x in _progress.iterate(inputs, "layer accuracy", "img"):
        rep.add_layers(graph, x, golden.run(golden.quantize_input(x), trace=True))
        rep.images += 1
    rep.saturations = golden.saturations
    return {"images": rep.images, "layers": rep.layer_rows(graph)}


def evaluate(graph: Graph, images_dir: str | Path, labels_tsv: str | Path,
             limit: int | None = None, progress: bool = True, workers: int | None = None,
             ray_address: str | None = None) -> dict:
    """Top-1/top-5 of float and fixed inference, their agreement, per-layer SNR and speed.

    ``workers`` > 1 or a ``ray_address`` shards the images over Ray (hwgen.distributed): a local
    runtime of that many workers, or the cluster at the address (all its CPUs unless
    ``workers``); the result is the one a single process gives, bar the timings.
    """
    pairs = labelled_images(graph, images_dir, labels_tsv, limit)
    # progress=False: quiet unless HWGEN_PROGRESS=1 (hwgen.progress)
    with contextlib.nullcontext() if progress else _progress.quiet(), \
            _progress.bar("eval", len(pairs), "img") as bar:
        if (workers or 1) == 1 and ray_address is None:
            rep = Evaluator(graph).run(pairs, done=bar.update)
        else:
            from .distributed import evaluate_sharded  # noqa: PLC0415

            rep = evaluate_sharded(graph, pairs, workers, ray_address, done=bar.update)
    return rep.as_dict(graph)
