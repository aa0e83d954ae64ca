"""Progress on stderr for long jobs (imports, sweeps, leaderboards, training), via rich.

One helper for every caller: :class:`Progress` (a bar advanced by steps, optionally
counting failures and showing a throughput, or driven by a ``(done, total)``
callback), :func:`track` (a bar over an iterable) and :func:`step_printer` (one line
per step, for work whose length is not known in advance).

Shown on stderr when it is a terminal, or when forced with ``enable(True)`` (the
CLI's ``--progress``); silent otherwise, so tests and pipes stay clean. rich is
imported only when a bar is actually shown.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_forced: bool | None = None


def enable(on: bool | None) -> None:
    """Force bars on or off; ``None`` restores the default (on when stderr is a TTY)."""
    global _forced
    _forced = on


def enabled() -> bool:
    """Whether progress is shown now."""
    return _forced if _forced is not None else sys.stderr.isatty()


class Progress:
    """A progress bar on stderr, as a context manager; it only counts when progress is off.

    Advance it by steps (``advance(failed=...)``) or hand ``update`` to code that reports
    ``(done, total)``. The bar shows the description, done of total, failures (when
    any), a throughput (when ``rate_unit`` is given), the elapsed and remaining time.

    Args:
        description: what is being done ("training", "rea on cifar100").
        total: the number of steps, or None while unknown. A total of 0 shows no bar.
        rate_unit: when given, the bar shows ``done per hour`` in this unit ("runs").
        transient: clear the bar when done (False: leave it on screen).

    Attributes:
        done: steps done so far.
        failed: steps counted as failed (part of ``done``).
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        rate_unit: str | None = None,
        transient: bool = True,
    ):
        self.description = description
        self.total = total
        self.done = 0
        self.failed = 0
        self._rate_unit = rate_unit
        self._transient = transient
        self._bar: Any = None
        self._task: Any = None
        self._start = 0.0

    def __enter__(self) -> Progress:
        if enabled() and self.total != 0:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=self._transient,
            )
            self._bar.start()
            self._start = time.monotonic()
            self._task = self._bar.add_task(self.description, total=self.total, extra="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def advance(self, steps: int = 1, *, failed: bool = False) -> None:
        """Count ``steps`` more steps done (all failed when ``failed``)."""
        self.done += steps
        if failed:
            self.failed += steps
        self._refresh()

    def update(self, done: int, total: int | None = None) -> None:
        """Set the steps done (and the total when given): a ``(done, total)`` callback."""
        self.done = done
        if total is not None:
            self.total = total
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is None:
            return
        extra = []
        if self._rate_unit is not None:
            hours = max(time.monotonic() - self._start, 1e-9) / 3600
            extra.append(f"{self.done / hours:.1f} {self._rate_unit}/h")
        if self.failed:
            extra.append(f"{self.failed} failed")
        self._bar.update(self._task, completed=self.done, total=self.total, extra=", ".join(extra))


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``iterable``, showing a bar with ``description`` when progress is on.

    ``total`` defaults to ``len(iterable)`` when it has one.
    """
    if not enabled():
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(description, total) as bar:
        for item in iterable:
            yield item
            bar.advance()


def step_printer() -> Callable[[str], None] | None:
    """A callback that writes one line per step on stderr when progress is on, else None.

    For work reported as a sequence of described steps (fitting surrogates, evaluating
    predictors) rather than as done-of-total; ``None`` lets the caller skip describing.
    """
    if not enabled():
        return None
    from rich.console import Console

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    return lambda text: console.print(f"  {text}", markup=False)
