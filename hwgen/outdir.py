"""The output folder of ``hwgen generate``: checked before any long work, written in a staging
folder beside it, and moved into place in one step, so there is never a half-written project and
never a user's folder lost.

- What may be replaced: with ``force``, only an hwgen project, i.e. a folder whose
  ``hwgen_project.json`` is a JSON object with an ``"hwgen"`` version (every backend writes that
  file). Anything else is refused, ``force`` or not.
- Claiming: a new folder is claimed with ``mkdir``, which exactly one of two concurrent runs wins;
  the finished staging folder is then renamed onto that (still empty) folder.
- Staging folders are ``.NAME.hwgen-XXXX`` beside the target and hold an exclusive ``flock`` on
  their lock file while their writer lives. An exception, SIGINT or SIGTERM (the CLI turns it into
  an exception) removes them. After SIGKILL the lock is free: the next run into the same parent
  removes the folder, first putting back a project that was being replaced if the kill fell
  between moving it away and moving the new one in.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import HwgenError

PROJECT_FILE = "hwgen_project.json"
LOCK_FILE = ".hwgen-lock"
#: a staging folder without its lock file yet is left alone this long (its writer may be starting)
YOUNG_SECONDS = 60.0


def is_project(folder: Path) -> bool:
    try:
        meta = json.loads((folder / PROJECT_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "hwgen" in meta


def check_output(out_dir: str | Path, force: bool) -> Path:
    """Refuse an output folder that may not be written, in seconds and before any work."""
    out = Path(out_dir)
    if out.is_symlink():
        raise HwgenError(f"{out}: is a symbolic link; give the folder itself")
    if out.exists():
        if not out.is_dir():
            raise HwgenError(f"{out}: exists and is not a folder")
        if not is_project(out):
            raise HwgenError(f"{out}: exists and is not an hwgen project (no {PROJECT_FILE} "
                             "written by hwgen); --force replaces only hwgen projects: choose "
                             "a new folder")
        if not force:
            raise HwgenError(f"{out}: already exists; use --force to replace it")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise HwgenError(f"{parent}: is not a folder; cannot create {out} in it")
    try:  # a read-only or full file system is refused now, not after calibration
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.hwgen-probe-", dir=parent))
    except OSError as exc:
        raise HwgenError(f"{parent}: cannot write there ({exc.strerror})") from None
    return out


def _try_lock(lock: Path) -> int | None:
    """An fd holding the exclusive lock, or None when another process holds it."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError:
        os.close(fd)
        return None


def sweep(out: Path) -> None:
    """Remove the staging folders of runs into ``out`` that died (their lock is free)."""
    for stage in out.parent.glob(f".{out.name}.hwgen-*"):
        lock = stage / LOCK_FILE
        if not lock.exists():
            if time.time() - stage.stat().st_mtime > YOUNG_SECONDS:
                shutil.rmtree(stage, ignore_errors=True)
            continue
        fd = _try_lock(lock)
        if fd is None:
            continue  # its writer is alive
        try:
            if (stage / "old").is_dir() and not os.path.lexists(out):
                os.rename(stage / "old", out)  # killed mid-replace: the old project goes back
            shutil.rmtree(stage, ignore_errors=True)
        finally:
            os.close(fd)


def write_project(out_dir: str | Path, files: dict[str, str | bytes], force: bool) -> None:
    """Write ``files`` (relative path -> content) as the folder ``out_dir`` in one step."""
    out = check_output(out_dir, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.hwgen-", dir=out.parent))
    fd = None
    try:
        lock = stage / LOCK_FILE
        lock.touch()
        fd = _try_lock(lock)
        new = stage / "new"
        for rel, content in files.items():
            p = new / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content)
        _move_into_place(new, out, stage / "old", force)
    except OSError as exc:
        raise HwgenError(f"{out}: cannot write ({exc.strerror}); nothing was written") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if fd is not None:
            os.close(fd)


def _move_into_place(new: Path, out: Path, old: Path, force: bool) -> None:
    appeared = HwgenError(f"{out}: appeared while this run was writing (another hwgen "
                          "generate?); it was left as it is")
    if os.path.lexists(out):
        if not force:
            raise appeared
        check_output(out, force)  # still a project we may replace?
        os.rename(out, old)
    try:
        os.mkdir(out)  # the claim: of two runs, exactly one creates the folder
    except FileExistsError:
        raise appeared from None
    os.rename(new, out)  # onto our own empty folder: atomic
