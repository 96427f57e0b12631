"""What was measured of a project, kept in it for ``hwgen report``: ``results/KIND.json``.

``generate`` saves the calibration's per-layer accuracy (on the test vectors); ``csim``,
``rtlsim`` and ``synth`` save their result (the JSON of ``--json``) each time they run, so the
page can put measurements beside the estimates. Regenerating a project replaces its folder,
so no result outlives the design it measured.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import HwgenError
from .outfile import write_atomic

RESULTS_DIR = "results"
KINDS = ("calibration", "csim", "rtlsim", "synth")


def result_path(project_dir: str | Path, kind: str) -> Path:
    assert kind in KINDS, kind
    return Path(project_dir) / RESULTS_DIR / f"{kind}.json"


def save(project_dir: str | Path, kind: str, data: dict) -> None:
    path = result_path(project_dir, kind)
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2))


def load(project_dir: str | Path) -> dict[str, dict]:
    """The results a project holds, by kind (absent kinds left out)."""
    found = {}
    for kind in KINDS:
        path = result_path(project_dir, kind)
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise HwgenError(f"{path}: not the JSON hwgen {kind} saves; delete it or run "
                             f"`hwgen {'generate' if kind == 'calibration' else kind}` again")
        found[kind] = data
    return found
