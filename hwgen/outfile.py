"""Output files (``hwgen config -o``, ``hwgen report -o``, ``hwgen eval --html``, a project's
saved results): checked before any work, and written whole, as a temporary file beside the
target renamed onto it, so that no reader ever sees half a file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from .errors import HwgenError


def check_output_file(path: Path, force: bool = False,
                      ours: Callable[[Path], bool] | None = None) -> None:
    """Refuse, before any work, an output file that cannot be written. With ``ours`` (a test
    of whether a file is one hwgen wrote) an existing file is replaced only with ``force``,
    and never a file that is not ours, as ``hwgen generate`` treats project folders."""
    path = Path(path)
    if path.is_dir():
        raise HwgenError(f"{path}: is a folder; give a file name")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise HwgenError(f"{path.parent}: no such folder")
    if ours is not None and (path.exists() or path.is_symlink()):
        if path.is_symlink() or not ours(path):
            raise HwgenError(f"{path}: exists and was not written by hwgen; --force replaces "
                             "only hwgen's own files: choose another name")
        if not force:
            raise HwgenError(f"{path}: already exists; use --force to replace it")
    try:  # a read-only folder is refused now, not after the work
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HwgenError(f"{parent}: cannot write there ({exc.strerror})") from None


def write_atomic(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as exc:
        raise HwgenError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
