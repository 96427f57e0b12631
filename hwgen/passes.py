"""Graph normalisation passes: plain functions ``Graph -> Graph``, run in order by ``FLOW``."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import HwgenError
from .ir import Fire, Graph
from .ops import Add, BatchNorm, Concat, Conv, Relu, Softmax

Pass = Callable[[Graph], Graph]


def remove_passthrough(graph: Graph) -> Graph:
    """Dropout, Identity and flattening reshapes compute nothing at inference."""
    for node in [n for n in graph.nodes if n.op.passthrough]:
        graph.remove_node(node)
    return graph


def fold_batchnorm(graph: Graph) -> Graph:
    """y = BN(conv(x)) becomes one conv with scaled weights and shifted bias."""
    for node in [n for n in graph.nodes if isinstance(n.op, BatchNorm)]:
        prod = graph.producer(node.inputs[0])
        if prod is None or not isinstance(prod.op, Conv) or len(graph.consumers(node.inputs[0])) != 1:
            raise HwgenError(f"node {node.name!r} (BatchNormalization): not preceded by a Conv "
                             "it alone consumes; supported: BatchNormalization right after a Conv")
        conv, bn = prod.op, node.op
        conv.weight = (conv.weight * bn.scale[:, None, None, None]).astype(np.float32)
        conv.bias = (conv.bias * bn.scale + bn.shift).astype(np.float32)
        graph.remove_node(node)
    return graph


def attach_relu(graph: Graph) -> Graph:
    """A ReLU that alone consumes a Conv's or an Add's output becomes part of it."""
    for node in [n for n in graph.nodes if isinstance(n.op, Relu)]:
        prod = graph.producer(node.inputs[0])
        if prod is not None and isinstance(prod.op, (Conv, Add)) and not prod.op.relu \
                and len(graph.consumers(node.inputs[0])) == 1:
            prod.op.relu = True
            graph.remove_node(node)
    return graph


def split_host_softmax(graph: Graph) -> Graph:
    """A final Softmax runs on the host: the accelerator returns logits."""
    last = graph.producer(graph.output)
    if last is not None and isinstance(last.op, Softmax):
        onnx_name = graph.tensors[graph.output].onnx_name
        graph.remove_node(last)
        graph.tensors[graph.output].onnx_name = graph.tensors[graph.output].onnx_name or onnx_name
        graph.host_softmax = True
    for node in graph.nodes:
        if isinstance(node.op, Softmax):
            raise HwgenError(f"node {node.name!r} (Softmax): not the last layer; supported: "
                             "Softmax only as the final stage (computed on the host)")
    return graph


def recognise_fires(graph: Graph) -> Graph:
    """Find squeeze 1x1 -> (expand 1x1 || expand 3x3) -> channel concat and name them fire2, fire3, ...

    (SqueezeNet numbers its first Fire module 2.) The nodes are renamed fireN/squeeze1x1,
    fireN/expand1x1, fireN/expand3x3, fireN/concat so configurations read the same for every export.
    """
    graph.fires = []
    for node in list(graph.nodes):
        if not isinstance(node.op, Concat) or len(node.inputs) != 2:
            continue
        a, b = (graph.producer(t) for t in node.inputs)
        if not (a and b and isinstance(a.op, Conv) and isinstance(b.op, Conv)):
            continue
        if a.inputs != b.inputs or a.op.kernel != 1 or b.op.kernel != 3 or b.op.stride != 1 \
                or a.op.stride != 1 or b.op.pad != (1, 1, 1, 1):
            continue
        sq = graph.producer(a.inputs[0])
        if not (sq and isinstance(sq.op, Conv) and sq.op.kernel == 1 and sq.op.stride == 1):
            continue
        if len(graph.consumers(a.outputs[0])) != 1 or len(graph.consumers(b.outputs[0])) != 1:
            continue
        name = f"fire{len(graph.fires) + 2}"
        for n, role in ((sq, "squeeze1x1"), (a, "expand1x1"), (b, "expand3x3"), (node, "concat")):
            n.name, n.fire = f"{name}/{role}", name
        graph.fires.append(Fire(name, sq.name, a.name, b.name, node.name))
    return graph


def recognise_bypasses(graph: Graph) -> Graph:
    """Find each Fire module's bypass: an Add of its concat output and its input (simple bypass)
    or a 1x1 convolution of its input that only the Add reads (complex bypass), as in the
    SqueezeNet paper. The nodes are renamed fireN/bypass and fireN/bypass_conv."""
    for fire in graph.fires:
        concat_out = graph.node(fire.concat).outputs[0]
        fire_in = graph.node(fire.squeeze).inputs[0]
        users = graph.consumers(concat_out)
        if len(users) != 1 or not isinstance(users[0].op, Add):
            continue
        add = users[0]
        others = [t for t in add.inputs if t != concat_out]
        if len(others) != 1:
            continue
        if others[0] != fire_in:  # complex bypass: a 1x1 conv of the input, read by the sum alone
            conv = graph.producer(others[0])
            if not (conv is not None and isinstance(conv.op, Conv) and conv.inputs[0] == fire_in
                    and conv.op.kernel == 1 and conv.op.stride == 1 and not any(conv.op.pad)
                    and len(graph.consumers(others[0])) == 1):
                continue
            conv.name, conv.fire = f"{fire.name}/bypass_conv", fire.name
            fire.bypass_conv = conv.name
        add.name, add.fire = f"{fire.name}/bypass", fire.name
        fire.bypass = add.name
    return graph


def check_topology(graph: Graph) -> Graph:
    """The accelerator is a single chain of stages, with Fire modules (and their bypasses) as
    the only branches."""
    fire_nodes = {n for f in graph.fires for n in f.nodes}
    squeezes = {f.squeeze for f in graph.fires}
    # a bypassed Fire module's input feeds its squeeze and its bypass
    bypassed = {graph.node(f.squeeze).inputs[0] for f in graph.fires if f.bypass}
    for node in graph.nodes:
        fanout = len(graph.consumers(node.outputs[0]))
        if fanout > 1 and node.name not in squeezes and not (
                fanout == 2 and node.outputs[0] in bypassed):
            raise HwgenError(f"node {node.name!r} ({node.kind}): output feeds {fanout} layers "
                             "outside a Fire module; supported: chains of layers and Fire modules "
                             "(with a bypass: a Fire module's input also added to its output)")
        if isinstance(node.op, Concat) and node.name not in fire_nodes:
            raise HwgenError(f"node {node.name!r} (Concat): not the join of a Fire module; "
                             "supported: Concat of a Fire module's expand 1x1 and expand 3x3")
        if isinstance(node.op, Add) and node.name not in fire_nodes:
            raise HwgenError(f"node {node.name!r} (Add): not a Fire module's bypass; supported: "
                             "the sum of a Fire module's output and its input, or a 1x1 Conv of "
                             "its input (SqueezeNet's simple and complex bypass)")
    if graph.input in bypassed:
        raise HwgenError("the network input feeds a Fire module's bypass; supported: bypasses "
                         "around Fire modules after the first layer")
    return graph


def fold_preprocessing(graph: Graph) -> Graph:
    """Fold the input preprocessing into the first Conv, so the accelerator takes raw RGB pixels.

    (p[order] - mean) / std feeding W, b equals p feeding W[:, order] / std and
    b - sum(W * mean / std): exact when the conv has no padding (padding would have to be 'mean').
    An 8-bit pixel is exactly ap_ufixed<8,8>, so the input costs no quantisation error at all.
    Done once, before calibration; a graph that cannot fold keeps its preprocessed float input.
    """
    if graph.pixel_input:
        return graph
    first = graph.consumers(graph.input)
    if len(first) != 1 or not isinstance(first[0].op, Conv) or any(first[0].op.pad) \
            or graph.shape(graph.input)[0] != 3:
        return graph
    conv, pp = first[0].op, graph.preprocess
    mean, std = np.asarray(pp.mean, np.float64), np.asarray(pp.std, np.float64)
    w = conv.weight.astype(np.float64) / std[None, :, None, None]
    conv.bias = (conv.bias - (w.sum(axis=(2, 3)) * mean[None, :]).sum(axis=1)).astype(np.float32)
    order = [2, 1, 0] if pp.channel_order == "BGR" else [0, 1, 2]  # model channel of pixel c
    conv.weight = np.ascontiguousarray(w[:, order]).astype(np.float32)
    graph.pixel_input = True
    return graph


def _scalable_pairs(graph: Graph):
    """(conv, channel offset, consumer convs) for every Conv+ReLU whose output channels reach other
    convs only through ops that commute with a positive per-channel scale (max pool, concat)."""
    for node in graph.nodes:
        if not (isinstance(node.op, Conv) and node.op.relu):
            continue
        offset, frontier, consumers, ok = 0, [node.outputs[0]], [], True
        while frontier and ok:
            t = frontier.pop()
            for c in graph.consumers(t):
                if isinstance(c.op, Conv):
                    consumers.append((c, offset))
                elif c.kind == "maxpool":
                    frontier.append(c.outputs[0])
                elif isinstance(c.op, Concat):
                    offset += sum(graph.shape(x)[0] for x in c.inputs[:c.inputs.index(t)])
                    frontier.append(c.outputs[0])
                else:
                    ok = False  # e.g. the average pool before the logits: scales must stay
        if ok and consumers:
            yield node.op, consumers


def equalize_channels(graph: Graph, iterations: int = 8) -> Graph:
    """Cross-layer range equalisation: relu(x / s) = relu(x) / s for s > 0, so output channel c of
    a Conv+ReLU can be divided by s_c and the consumers' input channel c multiplied by it, exactly.
    Choosing s_c = sqrt(r1_c / r2_c) (r1: the channel's weight range in the producer, r2: in the
    consumers) gives both the range sqrt(r1 * r2), so one power-of-two format per tensor wastes far
    fewer bits on channels much smaller than the largest (SqueezeNet has 100:1 spreads)."""
    for _ in range(iterations):
        for prod, consumers in _scalable_pairs(graph):
            r1 = np.abs(prod.weight).reshape(prod.out_channels, -1).max(axis=1)
            n = prod.out_channels
            r2 = np.max([np.abs(c.op.weight[:, off:off + n]).max(axis=(0, 2, 3))
                         for c, off in consumers], axis=0)
            s = np.where((r1 > 0) & (r2 > 0), np.sqrt(r1 / np.where(r2 > 0, r2, 1)), 1.0)
            prod.weight = (prod.weight / s[:, None, None, None]).astype(np.float32)
            prod.bias = (prod.bias / s).astype(np.float32)
            for c, off in consumers:
                w = c.op.weight.astype(np.float64)
                w[:, off:off + n] *= s[None, :, None, None]
                c.op.weight = w.astype(np.float32)
    return graph


FLOW: list[Pass] = [remove_passthrough, fold_batchnorm, attach_relu, split_host_softmax,
                    recognise_fires, recognise_bypasses, check_topology]


def run_flow(graph: Graph, flow: list[Pass] = FLOW, dump: Callable[[str, Graph], None] | None = None
             ) -> Graph:
    """Run the passes in order; ``dump(pass_name, graph)`` sees the graph after each step."""
    for p in flow:
        graph = p(graph)
        if dump:
            dump(p.__name__, graph)
    return graph
