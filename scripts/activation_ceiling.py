#!/usr/bin/env python3
"""How close 8-bit per-tensor activations can bring SqueezeNet 1.1 to its float model.

    python scripts/activation_ceiling.py MODEL.onnx --data DIR [--limit N] [--json OUT]

DIR holds calib/ and eval/, each with JPEGs and a labels.tsv (header ``file<TAB>label``).

What it measures: top-1 agreement between the float network and fake-quantised copies of it, on
the eval images, with every format chosen from the calib images only. The question is whether the
agreement lost with 8-bit activations is the price of power-of-two formats (the only ones a
shift-based datapath has) or of 8 bits per tensor as such. So the same network is run with

  * 8-bit power-of-two activations, integer bits from the calib maximum or by least squared error
    over the candidates that clip at most 4 bits of range (the two policies hwgen offers);
  * 8-bit per-tensor activations with a float (non-power-of-two) scale, from the maximum or by
    least squared error over clipping ratios: what a multiplier-based requantiser could do;
  * 9 and 10-bit power-of-two activations (the 8-bit least-squares integer bits, more fraction
    bits), to see whether resolution is what limits the agreement;
  * 8-bit weights with a float scale per output channel and float activations, to compare the
    cost of weights with that of activations.

Each activation variant keeps float weights, so it isolates activation rounding. Activations are
unsigned (they follow a ReLU), rounded half up (AP_RND) and saturated (AP_SAT); the two expand
outputs of a fire module share one format (they are one concatenated tensor); the global average
pool (the logits) is 16-bit power-of-two from its maximum in every activation variant.

The network is a plain torch SqueezeNet 1.1 built from the ONNX initializers (fp16 values widen
to fp32 exactly), checked against onnxruntime on a few images. By default its channels are first
range-equalised as hwgen does before calibrating (relu(x / s) = relu(x) / s moves a positive scale
per channel from a conv's outputs into its consumers' inputs; exact in float), so the activation
ranges are the ones hwgen's formats are chosen for; ``--no-equalize`` measures the export's own
channel scales. The weights-only variant uses the export's weights either way.

The agreement is printed with its exact 95% Clopper-Pearson interval: on some 900 images a few
images either way is noise, and the interval shows how much. The MSE choices are made on a seeded
random sample of the calib values (``--seed``); where two candidates' errors are close (the finer
one's error is mostly the clipping of a few large, rarely sampled values) another seed may pick
the other, which moves the agreement by up to about half that interval's width.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

from hwgen.frontend import DEFAULT_PREPROCESS
from hwgen.images import list_images, load_rgb, preprocess, read_labels

FIRES = [f"fire{i}" for i in range(2, 10)]
CONVS = ["conv1"] + [f"{f}/{k}" for f in FIRES
                     for k in ("squeeze1x1", "expand1x1", "expand3x3")] + ["conv10"]
# the tensors that get a format: ReLU outputs (a fire's two expands as one concat) and the logits
ACTS = ["conv1"] + [t for f in FIRES for t in (f"{f}/squeeze", f"{f}/concat")] + ["conv10",
                                                                                  "pool10"]
LOGITS = "pool10"
ACT_BITS, LOGIT_BITS, WEIGHT_BITS = 8, 16, 8
SAMPLES_PER_IMAGE = 10000  # activation values kept per tensor and calib image, for the MSE choices
BATCH = 10  # small batches stay in cache: fastest on one core
ORT_IMAGES = 4

Weights = dict[str, tuple[torch.Tensor, torch.Tensor]]
Quantiser = tuple[float, int, int]  # (step, lowest raw, highest raw)


# ---- model ----------------------------------------------------------------------------------
def load_weights(model: onnx.ModelProto) -> Weights:
    init = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer}
    missing = [c for c in CONVS if f"{c}_w_0" not in init or f"{c}_b_0" not in init]
    if missing:
        raise SystemExit(f"not the Caffe2 SqueezeNet 1.1 export: no weights for {missing[:3]}")
    return {c: (torch.from_numpy(init[f"{c}_w_0"]), torch.from_numpy(init[f"{c}_b_0"]))
            for c in CONVS}


def forward(x: torch.Tensor, W: Weights, A: dict[str, Quantiser] | None = None,
            trace: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """SqueezeNet 1.1 logits (before the softmax); A: fake quantiser per tensor (absent: float);
    trace receives each tensor's value before it is quantised."""
    A = A or {}

    def q(name: str, t: torch.Tensor) -> torch.Tensor:
        if trace is not None:
            trace[name] = t
        return fake_quant(t, A.get(name))

    def conv(t: torch.Tensor, name: str, **kw) -> torch.Tensor:
        return F.relu(F.conv2d(t, *W[name], **kw))

    y = F.max_pool2d(q("conv1", conv(x, "conv1", stride=2)), 3, 2)
    for f in FIRES:
        s = q(f"{f}/squeeze", conv(y, f"{f}/squeeze1x1"))
        y = q(f"{f}/concat", torch.cat([conv(s, f"{f}/expand1x1"),
                                        conv(s, f"{f}/expand3x3", padding=1)], 1))
        if f in ("fire3", "fire5"):
            y = F.max_pool2d(y, 3, 2)
    y = q("conv10", conv(y, "conv10"))  # dropout before conv10 is the identity at inference
    return q(LOGITS, y.mean(dim=(2, 3)))


def _consumers(producer: str, W: Weights) -> list[tuple[str, int]]:
    """Convs reading ``producer``'s output channels (through max pool / concat), with the offset
    of those channels in their input."""
    if producer == "conv1":
        return [("fire2/squeeze1x1", 0)]
    if producer == "conv10":
        return []  # feeds the average pool: its scale would reach the logits
    fire, kind = producer.split("/")
    if kind == "squeeze1x1":
        return [(f"{fire}/expand1x1", 0), (f"{fire}/expand3x3", 0)]
    nxt = FIRES.index(fire) + 1
    target = f"{FIRES[nxt]}/squeeze1x1" if nxt < len(FIRES) else "conv10"
    # the concat puts expand3x3's channels after expand1x1's
    return [(target, 0 if kind == "expand1x1" else W[f"{fire}/expand1x1"][0].shape[0])]


def equalize(W: Weights, iterations: int = 8) -> Weights:
    """Cross-layer range equalisation, as hwgen does before calibration: output channel c of a
    Conv+ReLU divided by s_c = sqrt(r1_c / r2_c) and its consumers' input channel c multiplied
    by it (r1: the channel's weight range in the producer, r2: in the consumers), so the channel
    ranges of a tensor come closer and one per-tensor format fits them better."""
    w = {c: (wb[0].double().clone(), wb[1].double().clone()) for c, wb in W.items()}
    for _ in range(iterations):
        for prod in CONVS:
            cons = _consumers(prod, W)
            if not cons:
                continue
            n = w[prod][0].shape[0]
            r1 = w[prod][0].abs().reshape(n, -1).amax(1)
            r2 = torch.stack([w[c][0][:, off:off + n].abs().amax((0, 2, 3))
                              for c, off in cons]).amax(0)
            s = torch.where((r1 > 0) & (r2 > 0), (r1 / r2.clamp_min(1e-300)).sqrt(),
                            torch.ones_like(r1))
            w[prod][0].div_(s.view(-1, 1, 1, 1))
            w[prod][1].div_(s)
            for c, off in cons:
                w[c][0][:, off:off + n].mul_(s.view(1, -1, 1, 1))
    return {c: (a.float(), b.float()) for c, (a, b) in w.items()}


def onnx_fp32_logits(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """onnxruntime on an fp32 copy of the model (fp16 -> fp32 is exact), output: the logits."""
    import onnxruntime as ort  # only this check needs it

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    del m.graph.value_info[:]
    consts = {t.name for t in m.graph.initializer}  # opset-7 exports list weights as inputs too
    data = next(vi for vi in m.graph.input if vi.name not in consts)
    for vi in list(m.graph.input) + list(m.graph.output):
        vi.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    for vi in [data, *m.graph.output]:
        vi.type.tensor_type.shape.dim[0].dim_param = "N"  # any batch size
    logits = [n for n in m.graph.node if n.op_type == "GlobalAveragePool"][0].output[0]
    m.graph.output.append(onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run([logits], {data.name: x})[0].reshape(len(x), -1)


# ---- data -----------------------------------------------------------------------------------
def load_split(folder: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 224, 224, 3) uint8 RGB pixels exactly as hwgen decodes, resizes and crops them, and the
    labels. Kept as uint8 (a quarter of the float size) and preprocessed per batch."""
    labels = read_labels(folder / "labels.tsv")
    files = [p for p in list_images(folder) if p.name in labels][:limit]
    if not files:
        raise SystemExit(f"{folder}: no labelled images")
    return (np.stack([load_rgb(p) for p in files]),
            np.array([labels[p.name] for p in files], np.int64))


def network_input(rgb: np.ndarray) -> torch.Tensor:
    """Caffe convention via hwgen's own preprocessing: BGR, mean (104, 117, 123), unscaled."""
    pp = DEFAULT_PREPROCESS["caffe2"]
    x = torch.from_numpy(np.stack([preprocess(im, pp) for im in rgb]))
    return x.contiguous(memory_format=torch.channels_last)  # faster convs on CPU


@torch.no_grad()
def run(pix: np.ndarray, W: Weights, A: dict[str, Quantiser] | None = None) -> torch.Tensor:
    return torch.cat([forward(network_input(pix[i:i + BATCH]), W, A)
                      for i in range(0, len(pix), BATCH)])


# ---- quantisers -----------------------------------------------------------------------------
def fake_quant(x: torch.Tensor, q: Quantiser | None) -> torch.Tensor:
    """clamp(floor(x / step + 1/2), lo, hi) * step: round half up (AP_RND), saturate (AP_SAT)."""
    if q is None:
        return x
    step, lo, hi = q
    return x.div(step).add_(0.5).floor_().clamp_(lo, hi).mul_(step)  # one new tensor: speed


def int_bits(max_abs: float) -> int:
    """Integer bits an unsigned format needs for magnitudes up to max_abs (as hwgen counts)."""
    return 0 if max_abs <= 0 else math.floor(math.log2(max_abs)) + 1


def pow2(integer: int, width: int) -> Quantiser:
    """ap_ufixed<width, integer>."""
    return 2.0 ** (integer - width), 0, 2 ** width - 1


def mse(v: torch.Tensor, q: Quantiser) -> float:
    return float(fake_quant(v, q).sub_(v).square_().mean())


def pow2_formats(mx: dict, smp: dict, policy: str, width: int = ACT_BITS) -> dict[str, Quantiser]:
    """Power-of-two formats; 'mse': least squared error over the integer bits that clip at most
    4 bits of the calib range (hwgen's candidates)."""
    A = {LOGITS: pow2(int_bits(mx[LOGITS]), LOGIT_BITS)}
    for t in ACTS[:-1]:
        top = int_bits(mx[t])
        cands = [top] if policy == "max" else range(top - 4, top + 1)
        A[t] = min((pow2(i, width) for i in cands), key=lambda q: mse(smp[t], q))
    return A


def float_formats(mx: dict, smp: dict, policy: str, width: int = ACT_BITS) -> dict[str, Quantiser]:
    """Per-tensor float scales: the maximum maps to the top code ('max'), or the clipping ratio
    (0.15 .. 1 of the maximum, steps of 0.01) with least squared error ('mse')."""
    top = 2 ** width - 1
    A = {LOGITS: pow2(int_bits(mx[LOGITS]), LOGIT_BITS)}
    for t in ACTS[:-1]:
        ratios = [1.0] if policy == "max" else np.linspace(0.15, 1.0, 86)
        A[t] = min(((r * mx[t] / top, 0, top) for r in ratios), key=lambda q: mse(smp[t], q))
    return A


def widen(A: dict[str, Quantiser], extra: int) -> dict[str, Quantiser]:
    """Same integer bits, ``extra`` more fraction bits (the logits keep theirs)."""
    return {t: q if t == LOGITS else (q[0] / 2 ** extra, 0, (q[2] + 1) * 2 ** extra - 1)
            for t, q in A.items()}


def per_channel_weights(W: Weights, width: int = WEIGHT_BITS) -> Weights:
    """Symmetric float scale per output channel, round to nearest; biases stay float."""
    qmax = 2 ** (width - 1) - 1
    out = {}
    for c, (w, b) in W.items():
        s = w.abs().reshape(w.shape[0], -1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1) / qmax
        out[c] = (torch.clamp(torch.round(w / s), -qmax - 1, qmax) * s, b)
    return out


@torch.no_grad()
def calib_stats(pix: np.ndarray, W: Weights, seed: int = 0) -> tuple[dict, dict]:
    """Float maximum and a random sample of every tensor over the calib images."""
    g = torch.Generator().manual_seed(seed)
    mx = {t: 0.0 for t in ACTS}
    smp: dict[str, list] = {t: [] for t in ACTS}
    for i in range(0, len(pix), BATCH):
        tr: dict[str, torch.Tensor] = {}
        forward(network_input(pix[i:i + BATCH]), W, trace=tr)
        for t, v in tr.items():
            mx[t] = max(mx[t], float(v.max()))
            v = v.reshape(len(v), -1)
            k = min(SAMPLES_PER_IMAGE, v.shape[1])
            smp[t].append(torch.gather(v, 1, torch.randint(0, v.shape[1], (len(v), k),
                                                           generator=g)).reshape(-1))
    return mx, {t: torch.cat(s) for t, s in smp.items()}


# ---- scoring --------------------------------------------------------------------------------
def _log_binom_pmf(i: int, n: int, p: float) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0 if (i == 0 and p <= 0.0) or (i == n and p >= 1.0) else -math.inf
    return (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p))


def binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.exp(_log_binom_pmf(i, n, p)) for i in range(k + 1))


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial interval: p where P(X >= k | p) = alpha/2 and P(X <= k | p) = alpha/2,
    found by bisection (both are monotone in p); the same as the beta quantiles."""
    def solve(too_low) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if too_low(mid) else (lo, mid)
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else solve(lambda p: 1 - binom_cdf(k - 1, n, p) < alpha / 2)
    upper = 1.0 if k == n else solve(lambda p: binom_cdf(k, n, p) > alpha / 2)
    return lower, upper


def score(lq: torch.Tensor, lf: torch.Tensor, labels: np.ndarray) -> dict:
    """Top-1 against the labels, top-1 agreement with the float model, logit SNR."""
    agree = int((lq.argmax(1) == lf.argmax(1)).sum())
    n = len(lf)
    noise = float(((lq.double() - lf.double()) ** 2).sum())
    lo, hi = clopper_pearson(agree, n)
    return dict(top1=100.0 * float((lq.argmax(1).numpy() == labels).mean()),
                agree=100.0 * agree / n, n_agree=agree, n=n, ci95=(100 * lo, 100 * hi),
                snr_db=(10 * math.log10(float((lf.double() ** 2).sum()) / noise)
                        if noise > 0 else math.inf))


def describe(A: dict[str, Quantiser]) -> str:
    """Integer bits (power of two) or the step (float scale) per tensor, compactly."""
    def one(q: Quantiser) -> str:
        width = int(q[2] + 1).bit_length() - 1
        i = math.log2(q[0]) + width
        return str(round(i)) if abs(i - round(i)) < 1e-9 else f"{q[0]:.3g}"
    return " ".join(one(A[t]) for t in ACTS[:-1])


def print_table(rows: list[tuple[str, dict]]) -> None:
    w = max(len(name) for name, _ in rows)
    print(f"{'variant':<{w}}  {'top-1 %':>7}  {'agreement % (n/N)':>19}  {'95% CI':>13}  "
          f"{'SNR dB':>6}")
    for name, r in rows:
        ag = f"{r['agree']:.2f} ({r['n_agree']}/{r['n']})"
        ci = f"{r['ci95'][0]:.1f}-{r['ci95'][1]:.1f}"
        snr = "inf" if math.isinf(r["snr_db"]) else f"{r['snr_db']:.1f}"
        print(f"{name:<{w}}  {r['top1']:>7.2f}  {ag:>19}  {ci:>13}  {snr:>6}")


# ---- main -----------------------------------------------------------------------------------
def check_float(model: onnx.ModelProto, W: Weights, Wa: Weights, pix: np.ndarray) -> float:
    """Max logit difference of the torch network from onnxruntime on a few images (and of the
    equalised weights from the export's, which should be float rounding only)."""
    x = network_input(pix[:ORT_IMAGES])
    with torch.no_grad():
        lt = forward(x, W)
        diff = float(np.abs(lt.numpy() - onnx_fp32_logits(model, x.numpy())).max())
        eq = float((forward(x, Wa) - lt).abs().max())
    print(f"torch vs onnxruntime (fp32), {len(x)} images: max |logit difference| {diff:.2e}")
    if Wa is not W:
        print(f"equalised vs export weights, float, {len(x)} images: "
              f"max |logit difference| {eq:.2e}")
    return diff


def choose_formats(cal_pix: np.ndarray, Wa: Weights, seed: int) -> dict[str, dict]:
    mx, smp = calib_stats(cal_pix, Wa, seed)
    formats = {"pow2_max": pow2_formats(mx, smp, "max"), "pow2_mse": pow2_formats(mx, smp, "mse"),
               "float_max": float_formats(mx, smp, "max"),
               "float_mse": float_formats(mx, smp, "mse")}
    print("formats (integer bits, or float step) of " + " ".join(ACTS[:-1]))
    for k, A in formats.items():
        print(f"  {k:<9} {describe(A)}")
    return formats


def variants(W: Weights, Wa: Weights, formats: dict[str, dict]) -> list[tuple[str, Weights, dict]]:
    """(name, weights, activation quantisers) of every quantised variant."""
    mse8 = formats["pow2_mse"]
    return [
        ("A8 pow2, integer bits from max", Wa, formats["pow2_max"]),
        ("A8 pow2, integer bits by MSE", Wa, mse8),
        ("A8 float scale, max", Wa, formats["float_max"]),
        ("A8 float scale, MSE", Wa, formats["float_mse"]),
        ("W8 float scale per channel (weights only)", per_channel_weights(W), {}),
        ("A9 pow2 (MSE integer bits, +1 fraction bit)", Wa, widen(mse8, 1)),
        ("A10 pow2 (MSE integer bits, +2 fraction bits)", Wa, widen(mse8, 2)),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="SqueezeNet 1.1 Caffe2 ONNX export (fp16 or fp32)")
    ap.add_argument("--data", type=Path, required=True, help="folder with calib/ and eval/")
    ap.add_argument("--limit", type=int, help="at most N images from each split (quick runs)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--no-equalize", dest="equalize", action="store_false",
                    help="keep the export's channel scales (default: equalise as hwgen does)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the calib value sample the MSE choices are made on")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the figures are for one core
    t0 = time.time()

    model = onnx.load(args.model)
    if "caffe2" not in model.producer_name.lower():
        raise SystemExit(f"{args.model}: producer {model.producer_name!r}; this benchmark uses "
                         "the Caffe2 export's preprocessing (BGR, mean 104/117/123)")
    W = load_weights(model)
    Wa = equalize(W) if args.equalize else W  # the weights of the activation variants
    cal_pix, _ = load_split(args.data / "calib", args.limit)
    ev_pix, ev_lab = load_split(args.data / "eval", args.limit)
    print(f"images: {len(cal_pix)} calib, {len(ev_pix)} eval (decoded in {time.time() - t0:.0f} s)")
    ort_diff = check_float(model, W, Wa, ev_pix)
    formats = choose_formats(cal_pix, Wa, args.seed)

    lf = run(ev_pix, W)  # the float reference of every agreement
    rows = [("float", score(lf, lf, ev_lab))]
    rows += [(name, score(run(ev_pix, Wv, A), lf, ev_lab))
             for name, Wv, A in variants(W, Wa, formats)]
    print()
    print_table(rows)
    elapsed = time.time() - t0
    print(f"\nactivation variants: float weights{' (range-equalised)' if args.equalize else ''}, "
          f"logits 16-bit pow2; {elapsed:.0f} s on one thread")

    if args.json:
        for _, r in rows:  # JSON has no infinity
            r["snr_db"] = None if math.isinf(r["snr_db"]) else r["snr_db"]
        args.json.write_text(json.dumps(dict(
            model=str(args.model), calib_images=len(cal_pix), eval_images=len(ev_pix),
            equalize=args.equalize, seed=args.seed, onnxruntime_max_abs_diff=ort_diff,
            seconds=round(elapsed, 1),
            formats={k: {t: list(q) for t, q in A.items()} for k, A in formats.items()},
            results=dict(rows)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
