"""Progress bars on stderr for the steps that take more than a few seconds, under one policy.

A bar shows when stderr is a terminal, except under ``--json`` (the CLI calls ``quiet()``);
``HWGEN_PROGRESS=1`` shows bars anyway (a log file, a CI job), ``HWGEN_PROGRESS=0`` never.
Bars are transient (``leave=False``): they vanish when their step ends, so a command's output
and its one-line refusals read as they would without them.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from typing import Callable, Iterable, Iterator

from .errors import HwgenError

ENV = "HWGEN_PROGRESS"
_CHOICES = {"1": False, "0": True}  # value -> tqdm's disable
_quiet = contextvars.ContextVar("hwgen_progress_quiet", default=False)
_current = contextvars.ContextVar("hwgen_progress_bar", default=None)


def check_env() -> None:
    """Refuse, before any work, a value of HWGEN_PROGRESS that means nothing."""
    value = os.environ.get(ENV, "")
    if value and value not in _CHOICES:
        raise HwgenError(f"{ENV}={value!r}; supported: 1 (always show progress bars on stderr) "
                         "or 0 (never)")


def _disable() -> bool | None:
    asked = _CHOICES.get(os.environ.get(ENV, ""))
    if asked is not None:
        return asked
    return True if _quiet.get() else None  # None: tqdm shows the bar only on a terminal


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No bars inside (machine-readable output), unless HWGEN_PROGRESS=1."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def _tqdm(desc: str, total: int | None, unit: str):
    from tqdm import tqdm  # noqa: PLC0415  (only commands with long steps pay for the import)

    return tqdm(total=total, desc=desc, unit=unit, disable=_disable(), leave=False,
                file=sys.stderr, dynamic_ncols=True)


@contextlib.contextmanager
def bar(desc: str, total: int | None = None, unit: str = "it"):
    """A bar, closed on errors too (a refusal is not printed after a half-drawn bar); ``step``
    advances the innermost open one, so a loop deep in a library needs no bar passed to it."""
    with _tqdm(desc, total, unit) as b:
        token = _current.set(b)
        try:
            yield b
        finally:
            _current.reset(token)


def step(label: str | None = None, n: int = 1) -> None:
    """Advance the innermost open bar, if any, by ``n``; ``label`` names what was just done."""
    b = _current.get()
    if b is not None:
        if label:
            b.set_postfix_str(label, refresh=False)
        b.update(n)


def iterate(items: Iterable, desc: str, unit: str = "it", total: int | None = None) -> Iterator:
    """``items``, one step of a bar each (a bar of its own, not one ``step`` advances)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    with _tqdm(desc, total, unit) as b:
        for item in items:
            yield item
            b.update()


@contextlib.contextmanager
def watch(desc: str, unit: str = "it", total: int | None = None,
          poll: Callable[[], tuple[int, str]] | None = None, every: float = 0.5):
    """A bar for a step that runs in a child process (a compiler, a simulator, Yosys): while the
    body runs, a thread asks ``poll`` for (work done, what it is doing), read from the files the
    child writes, and redraws the bar (the elapsed time too, without ``poll``)."""
    with bar(desc, total, unit) as b:
        if b.disable:
            yield b
            return
        stop = threading.Event()

        def show() -> None:
            if poll is not None:
                done, label = poll()
                b.n = done
                b.set_postfix_str(label, refresh=False)
            b.refresh()

        def loop() -> None:
            while not stop.wait(every):
                show()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield b
        finally:
            stop.set()
            thread.join()
