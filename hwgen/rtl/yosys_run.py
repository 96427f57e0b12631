"""Run one Yosys script with the native Yosys of the ``pyosys`` PyPI package (libyosys and its
``yosys-abc``), as ``yosys -q -l LOG -s SCRIPT`` would::

    python -m hwgen.rtl.yosys_run -l LOG -s SCRIPT

Yosys writes its log to standard output here, so standard output is the log file. An error in the
script ends the process with Yosys' own ``ERROR:`` line and exit status 1 (libyosys' log_error
exits), which is what ``hwgen synth`` reads.
"""
from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwgen.rtl.yosys_run")
    ap.add_argument("-q", action="store_true", help="accepted for yosys' command line; no effect")
    ap.add_argument("-l", dest="log", required=True)
    ap.add_argument("-s", dest="script", required=True)
    args = ap.parse_args(argv)
    from pyosys import libyosys as ys  # noqa: PLC0415

    sys.stdout.flush()
    fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)  # Yosys logs to the process' standard output
    os.close(fd)
    print(ys.yosys_maybe_version(), flush=True)
    ys.run_pass(f"script {args.script}", ys.Design())
    ys.log_flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
