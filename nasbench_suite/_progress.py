"""Progress bars for long jobs (imports, table writes), via rich.

Shown on stderr when it is a terminal, or when forced with ``enable(True)``
(the CLI's ``--progress``); silent otherwise, so tests and pipes stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_forced: bool | None = None


def enable(on: bool | None) -> None:
    """Force bars on or off; ``None`` restores the default (on when stderr is a TTY)."""
    global _forced
    _forced = on


def enabled() -> bool:
    return _forced if _forced is not None else sys.stderr.isatty()


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``iterable``, showing a bar with ``description`` when enabled."""
    if not enabled():
        yield from iterable
        return
    from rich.console import Console
    from rich.progress import track as rich_track

    yield from rich_track(
        iterable, description=description, total=total, console=Console(stderr=True), transient=True
    )
