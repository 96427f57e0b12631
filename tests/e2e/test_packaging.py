"""`pip install .` (a wheel) carries hls_templates/ and boards/ inside the package."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_templates_and_boards(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp_path)], check=True,
                   capture_output=True)
    wheel = next(tmp_path.glob("hwgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("hls_templates", "boards"):
        files = [p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert files, folder
        for p in files:
            assert f"hwgen/{p.relative_to(ROOT).as_posix()}" in names, p
    assert "hwgen/frontend/onnx_loader.py" in names and "hwgen/ops/conv.py" in names
    pages = list((ROOT / "hwgen" / "htmlpage" / "templates").iterdir())  # hwgen report's
    assert pages and all(f"hwgen/{p.relative_to(ROOT / 'hwgen').as_posix()}" in names
                         for p in pages)


def test_resources_found_from_checkout():
    from hwgen.resources import data_dir

    assert (data_dir("boards") / "pynq-z2.yaml").is_file()
