"""The ``hwgen`` command line. Each command is a small function over the Python API; bad input is
one line on stderr and exit status 2, never a traceback (set HWGEN_DEBUG=1 to see one)."""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from . import progress
from .errors import HwgenError, HwgenNotice

EXIT_BAD_INPUT = 2


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="an .onnx file or a built-in model: squeezenet1_0, squeezenet1_1, "
                   "or either with _simple_bypass or _complex_bypass")


def _quant_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML configuration (formats, preprocessing)")
    p.add_argument("--calib", type=Path, help="folder of calibration images")
    p.add_argument("--calib-limit", type=_positive, default=None, metavar="N",
                   help="use only the first N calibration images")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive, finite number")
    return v


def _ray_address(text: str) -> str:
    from .distributed import check_address

    try:
        return check_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_inspect(args) -> int:
    from .api import load_model
    from .report import inspect_dict, inspect_text

    graph = load_model(args.model)
    print(json.dumps(inspect_dict(graph), indent=2) if args.json else inspect_text(graph))
    return 0


def cmd_config(args) -> int:
    from .api import load_model, quantize_model
    from .outfile import check_output_file, write_atomic
    from .quant import dump_config, load_config, resolved_config

    if args.output is not None:
        check_output_file(args.output)
    cfg = load_config(args.config)
    if args.search_precision:
        from .api import search_config
        from .report import search_text

        resolved, found = search_config(args.model, args.calib, args.board, cfg,
                                        args.calib_limit, args.min_agreement, args.cap)
        text = dump_config(resolved)
        print(search_text(found), file=sys.stderr)
    else:
        if args.min_agreement is not None:
            raise HwgenError("--min-agreement applies to --search-precision only")
        graph = load_model(args.model, cfg)
        quantize_model(graph, cfg, args.calib, args.calib_limit)
        text = dump_config(resolved_config(graph, cfg))
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_atomic(args.output, text)
        print(f"wrote {args.output}")
    return 0


def cmd_eval(args) -> int:
    from .api import load_model, quantize_model
    from .distributed import check_address, ray_runtime
    from .evaluate import evaluate, labelled_images
    from .quant import load_config
    from .report import eval_text

    address = args.ray_address
    if address is None and os.environ.get("RAY_ADDRESS"):
        try:
            address = check_address(os.environ["RAY_ADDRESS"])
        except ValueError as exc:
            raise HwgenError(f"RAY_ADDRESS: {exc}") from None
    if args.html is not None:
        from .htmlpage import check_page_output

        check_page_output(args.html, args.force)
    cfg = load_config(args.config)
    graph = load_model(args.model, cfg)
    labelled_images(graph, args.images, args.labels, args.limit)  # refused before calibration
    sharded = (args.workers or 1) > 1 or address is not None
    # Ray missing or a cluster out of reach is refused before calibration, not after it
    with ray_runtime(args.workers, address) if sharded else contextlib.nullcontext():
        quantize_model(graph, cfg, args.calib, args.calib_limit)
        result = evaluate(graph, args.images, args.labels, args.limit,
                          workers=args.workers, ray_address=address)
    if args.html is not None:
        from .htmlpage import eval_page
        from .outfile import write_atomic

        write_atomic(args.html, eval_page(result))
    print(json.dumps(result, indent=2) if args.json else eval_text(result))
    if args.html is not None:
        print(f"wrote {args.html}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_report(args) -> int:
    from .htmlpage import PAGE_FILE, check_page_output, open_project, project_page
    from .outfile import write_atomic

    open_project(args.project)  # a missing or foreign folder is refused before the output
    out = args.output if args.output is not None else args.project / PAGE_FILE
    check_page_output(out, args.force)
    write_atomic(out, project_page(args.project))
    print(f"wrote {out}")
    return 0


def cmd_generate(args) -> int:
    from .api import generate_project

    rep = generate_project(args.model, args.output, board=args.board, config=args.config,
                           calib=args.calib, calib_limit=args.calib_limit, force=args.force,
                           vectors=args.vectors, backend=args.backend,
                           target_fps=args.target_fps, cap=args.cap)
    print(f"wrote {args.output} ({args.backend.upper()}): {len(rep['layers'])} layers, bottleneck "
          f"{rep['bottleneck']} "
          f"({rep['cycles_per_frame']:,} cycles), {rep['fps']:.1f} frames/s at "
          f"{rep['clock_mhz']:g} MHz")
    if rep.get("fits") is False:
        over = [k for k in ("dsp", "bram36", "lut", "ff") if rep[k] > rep["budget"][k]]
        print(f"hwgen generate: warning: the design does not fit {rep['board']} within "
              f"{rep['cap']:.0%} ({', '.join(over) or 'DDR bandwidth'} over; see report.txt)",
              file=sys.stderr)
    return 0


def cmd_csim(args) -> int:
    from .hls.csim import run_csim

    res = run_csim(args.project, images=args.images, trace=args.trace)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    else:
        verdict = "bit-exact" if res.mismatches == 0 else f"{res.mismatches} MISMATCHES"
        print(f"C-simulation of {args.project}: {res.images} image(s), {verdict}; "
              f"compile {res.compile_seconds:.1f} s, {res.seconds_per_image:.3f} s/image")
        if res.first_mismatch:
            print(f"first mismatch: {res.first_mismatch}")
        if args.trace:
            print("every layer matches the golden model" if res.diverging_layer is None
                  else f"first diverging layer: {res.diverging_layer}")
    return 0 if res.mismatches == 0 else 1


def cmd_rtlsim(args) -> int:
    from .rtl.sim import run_rtlsim

    res = run_rtlsim(args.project, images=args.images, seed=args.seed, sources=args.sources)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2))
    else:
        verdict = "bit-exact" if res.mismatches == 0 else f"{res.mismatches} MISMATCHES"
        est = res.estimated_cycles_per_frame
        vs = f" (estimate {est:,}, {100 * res.model_error:+.1f}%)" if est else ""
        print(f"RTL simulation of {args.project}: {res.images} image(s) under random gaps and "
              f"backpressure, {verdict}; {res.cycles_per_frame:,.0f} cycles/frame{vs}: "
              f"{res.fps:.1f} frames/s at {res.clock_mhz:g} MHz, latency {res.latency_ms:.2f} ms; "
              f"build {res.build_seconds:.1f} s, simulation {res.sim_seconds:.1f} s")
        if res.ddr:
            d = res.ddr
            print(f"DDR weights ({', '.join(d['layers'])}): {d['bytes_per_frame']:,.0f} bytes/"
                  f"frame, {d['gbytes_per_s']:.2f} GB/s of {d['sustained_gbytes_per_s']:.2f}, "
                  f"{d['stall_cycles_per_frame']:,.0f} stall cycles/frame, "
                  f"{d['protocol_errors']} AXI protocol errors")
        if res.first_mismatch:
            print(f"first mismatch: {res.first_mismatch}")
    return 0 if res.mismatches == 0 and not res.ddr.get("protocol_errors") else 1


def cmd_synth(args) -> int:
    from .rtl.synth import SynthError, run_synth, synth_text

    try:
        res = run_synth(args.project, board=args.board, cap=args.cap)
    except SynthError as exc:  # Yosys ran and rejected the design: exit status 1, not 2
        print(f"hwgen synth: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(json.dumps(res.as_dict(), indent=2) if args.json else synth_text(res))
    return 0


def cmd_estimate(args) -> int:
    from .api import estimate_design
    from .design.estimate import estimate_text

    est = estimate_design(args.model, board=args.board, config=args.config, calib=args.calib,
                          calib_limit=args.calib_limit, target_fps=args.target_fps, cap=args.cap)
    print(json.dumps(est, indent=2) if args.json else estimate_text(est))
    return 0


def _board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", default="pynq-z2", help="board name or board .yaml file "
                   "(default: pynq-z2)")
    p.add_argument("--target-fps", type=_positive_float, metavar="FPS",
                   help="fold for this frame rate with the fewest resources (default: the "
                   "highest frame rate that fits)")
    p.add_argument("--cap", type=_fraction, default=None, metavar="F",
                   help="share of each board resource the design may use (default 0.85)")


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction in (0, 1]")
    return v


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (argparse prints the usage too), exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Terminated(BaseException):
    """SIGTERM, raised where the process is so that every cleanup on the way out runs."""


def _on_sigterm(signum, frame):
    raise Terminated()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hwgen", description="SqueezeNet ONNX -> fixed-point Vitis HLS accelerator, "
        "checked bit-exactly by simulation.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"hwgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("inspect", help="layers, Fire modules, shapes, MACs and parameters")
    _model_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("config", help="write the fully resolved fixed-point configuration")
    _model_arg(p)
    _quant_args(p)
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    p.add_argument("--search-precision", action="store_true",
                   help="choose per-layer weight (4-8 bits) and activation (6-8 bits) widths "
                        "for the board's frames/s, judged on held-out calibration images")
    p.add_argument("--min-agreement", type=float, default=None, metavar="F",
                   help="--search-precision: least top-1 agreement with float on the held-out "
                        "images (default 0.94)")
    p.add_argument("--board", default="pynq-z2", help="--search-precision: board name or "
                   "board .yaml file (default: pynq-z2)")
    p.add_argument("--cap", type=_fraction, default=None, metavar="F",
                   help="--search-precision: share of each board resource the design may use "
                        "(default 0.85)")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("eval", help="float vs fixed-point accuracy on labelled images")
    _model_arg(p)
    _quant_args(p)
    p.add_argument("--images", type=Path, required=True, help="folder of images")
    p.add_argument("--labels", type=Path, required=True, help="TSV: file<TAB>label, with header")
    p.add_argument("--limit", type=_positive, help="evaluate only the first N images")
    p.add_argument("--workers", type=_positive, metavar="N",
                   help="shard the images over N Ray workers (default 1: in this process; "
                   "needs hwgen[ray]); results are identical")
    p.add_argument("--ray-address", type=_ray_address, metavar="ADDR",
                   help="join the Ray cluster at ADDR (auto or HOST:PORT; "
                   "default: $RAY_ADDRESS) and shard over its CPUs, or N workers")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="also write the accuracy as a self-contained HTML page")
    p.add_argument("--force", action="store_true", help="replace a page hwgen wrote at --html")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("estimate", help="frames/s, latency and resources of the design for a "
                       "board (the folding optimiser's choice)")
    _model_arg(p)
    _quant_args(p)
    _board_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("generate", help="write a complete Vitis HLS project")
    _model_arg(p)
    _quant_args(p)
    _board_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="project folder to write")
    p.add_argument("--force", action="store_true", help="replace an existing project folder")
    p.add_argument("--vectors", type=_positive, default=5,
                   help="test vectors in the testbench (default: 5)")
    p.add_argument("--backend", choices=("hls", "rtl"), default="hls",
                   help="hls: a Vitis HLS project (default); rtl: SystemVerilog, checked by "
                   "`hwgen rtlsim`")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("csim", help="C-simulate a generated project against the golden model")
    p.add_argument("project", type=Path, help="a folder written by hwgen generate")
    p.add_argument("--images", type=_positive, default=1, help="test vectors to run (default 1)")
    p.add_argument("--trace", action="store_true",
                   help="compare every layer's output to name the first that diverges")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_csim)

    p = sub.add_parser("rtlsim", help="simulate a project's RTL cycle by cycle (Verilator, "
                       "cocotb) against the golden model")
    p.add_argument("project", type=Path, help="a folder written by hwgen generate --backend rtl "
                   "(or an HLS project, with --sources)")
    p.add_argument("--images", type=_positive, default=1, help="test vectors to run (default 1)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random gaps and backpressure")
    p.add_argument("--sources", type=Path, help="folder of Verilog to simulate instead of the "
                   "project's own RTL (e.g. the RTL Vitis HLS exported from an HLS project)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_rtlsim)

    p = sub.add_parser("synth", help="synthesise a project's RTL with Yosys (synth_xilinx) and "
                       "count LUT, FF, DSP and BRAM against the board's budget")
    p.add_argument("project", type=Path, help="a folder written by hwgen generate --backend rtl")
    p.add_argument("--board", help="board name or .yaml file to count against (default: the "
                   "project's board)")
    p.add_argument("--cap", type=_fraction, default=None, metavar="F",
                   help="share of each board resource the design may use (default 0.85)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("report", help="one self-contained HTML page of a project: cycles, "
                       "resources, weights, formats, accuracy, and what csim, rtlsim and synth "
                       "measured")
    p.add_argument("project", type=Path, help="a folder written by hwgen generate")
    p.add_argument("-o", "--output", type=Path, metavar="FILE.html",
                   help="page to write (default: PROJECT/report.html)")
    p.add_argument("--force", action="store_true", help="replace a page hwgen wrote")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        progress.check_env()
        with warnings.catch_warnings(record=True) as notices, \
                progress.quiet() if getattr(args, "json", False) else contextlib.nullcontext():
            warnings.simplefilter("always", HwgenNotice)
            code = args.func(args)
        for n in notices:  # after the result: a refusal above stays one line
            if issubclass(n.category, HwgenNotice):
                print(f"hwgen {args.command}: note: {n.message}", file=sys.stderr)
        return code
    except HwgenError as exc:
        print(f"hwgen {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `hwgen inspect ... | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the machine, not hwgen: a full disk, a read-only folder, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hwgen {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hwgen: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("hwgen: terminated", file=sys.stderr)
        return 143
    except Exception as exc:  # a bug in hwgen: still one line, unless debugging
        if os.environ.get("HWGEN_DEBUG"):
            raise
        print(f"hwgen {args.command}: internal error: {type(exc).__name__}: "
              f"{' '.join(str(exc).split())} (set HWGEN_DEBUG=1 for a traceback and please "
              "report it)", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
