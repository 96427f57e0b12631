"""Evaluation sharded over Ray: the images split into contiguous shards, one worker (an actor that
builds its float session and golden model once) per shard, the partial reports joined in image
order, so that every number is the one a single process computes.

Ray is optional (``pip install 'hwgen[ray]'``). The quantised graph is built once, by the caller,
and shipped to the workers; they read the images by path, so on a cluster every node must see
the same files and have hwgen installed.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import re
import socket
from pathlib import Path

from .errors import HwgenError
from .evaluate import Evaluator, LayerError, Report
from .ir import Graph

RAY_MISSING = "evaluating over Ray workers needs Ray: pip install 'hwgen[ray]'"

#: images a worker evaluates per call: progress reaches the driver this often, one call each
CHUNK = 2

_ADDRESS = re.compile(r"([A-Za-z0-9.\-]+):(\d{1,5})")


def check_address(address: str) -> str:
    """``address`` if it names a Ray cluster: ``auto`` or the head's ``HOST:PORT``."""
    m = _ADDRESS.fullmatch(address)
    if address != "auto" and not (m and 0 < int(m.group(2)) < 65536):
        raise ValueError(f"{address!r} is not a Ray cluster address; supported: auto, HOST:PORT")
    return address


def _reachable(address: str) -> None:
    """Refuse a head that does not answer: Ray itself retries for minutes."""
    host, port = _ADDRESS.fullmatch(address).groups()
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise HwgenError(f"Ray cluster {address}: cannot connect "
                         f"({exc.strerror or exc})") from None


def import_ray():
    try:
        import ray  # noqa: PLC0415
    except ImportError:
        raise HwgenError(RAY_MISSING) from None
    return ray


@contextlib.contextmanager
def ray_runtime(workers: int | None = None, address: str | None = None):
    """Ray, initialised: joined to the cluster at ``address``, else a local runtime of
    ``workers`` CPUs, shut down afterwards. A runtime the caller already initialised is used as
    it is and left running."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address is not None:
            if address != "auto":
                _reachable(address)
            ray.init(address=address, **quiet)
        else:  # "local": never join a cluster that RAY_ADDRESS names
            ray.init(address="local", num_cpus=workers, include_dashboard=False, **quiet)
    except ConnectionError as exc:
        raise HwgenError(f"Ray cluster {address}: cannot connect "
                         f"({' '.join(str(exc).split())})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def shards(n: int, k: int) -> list[range]:
    """``range(n)`` cut into ``k`` contiguous pieces whose sizes differ by at most one."""
    q, r = divmod(n, k)
    starts = [i * q + min(i, r) for i in range(k + 1)]
    return [range(a, b) for a, b in zip(starts, starts[1:])]


def evaluate_sharded(graph: Graph, pairs: list[tuple[Path, int]], workers: int | None = None,
                     address: str | None = None, done=lambda n: None) -> Report:
    """The report of ``Evaluator(graph).run(pairs)``, computed by ``workers`` Ray workers (on a
    cluster: by default one per CPU it has); ``done(n)`` is called as n more images finish."""
    with ray_runtime(workers, address) as ray:
        k = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        k = max(1, min(k, len(pairs)))
        actor = ray.remote(num_cpus=1)(Evaluator)
        shared = ray.put(graph)
        # one onnxruntime thread per worker: each has one CPU
        evaluators = [actor.remote(shared, threads=1) for _ in range(k)]
        queues = []  # per shard, its calls in image order: (future, images)
        for ev, shard in zip(evaluators, shards(len(pairs), k)):
            queues.append([(ev.run.remote(pairs[a:min(a + CHUNK, shard.stop)]),
                            min(CHUNK, shard.stop - a))
                           for a in range(shard.start, shard.stop, CHUNK)])
        try:
            # an actor runs its calls in turn: waiting on each shard's oldest keeps a wait short
            waiting = [collections.deque(queue) for queue in queues]
            while any(waiting):
                oldest = {queue[0][0]: queue for queue in waiting if queue}
                finished, _ = ray.wait(list(oldest), num_returns=1)
                ray.get(finished)  # a worker's error now, not after every other image
                done(oldest[finished[0]].popleft()[1])
            parts = ray.get([future for queue in queues for future, _ in queue])
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, HwgenError):  # bad input a worker found: one line, as here
                raise exc.cause from None
            raise
        finally:
            for ev in evaluators:
                ray.kill(ev)
    rep = Report(layers={n.name: LayerError() for n in graph.nodes})  # no images: as in one
    for part in parts:
        rep.extend(part)
    return rep
