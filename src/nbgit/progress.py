"""Progress for work over many files: on an interactive terminal only, never in hooks, pipes or CI."""

from __future__ import annotations

import os
import sys
from typing import Iterator, TypeVar

from nbgit.terminal import one_line

T = TypeVar("T")

MIN_ITEMS = 20


def showing_progress() -> bool:
    """True on an interactive terminal outside CI and outside git hooks."""
    if os.environ.get("CI") or os.environ.get("GIT_INDEX_FILE") or os.environ.get("PRE_COMMIT"):
        return False
    return sys.stderr.isatty()


def progress(items: list[T], verb: str) -> Iterator[T]:
    """Yield `items`, drawing `verb 12/200` on stderr when that helps a person watching."""
    if len(items) < MIN_ITEMS or not showing_progress():
        yield from items
        return
    total = len(items)
    terminal = getattr(sys.stderr, "unfiltered", sys.stderr)  # the line is redrawn: a carriage return of our own
    for done, item in enumerate(items, 1):
        terminal.write(f"\r{verb} {done}/{total}")
        terminal.flush()
        yield item
    terminal.write("\r\033[K")
    terminal.flush()


def tell(line: str) -> None:
    """One line for the person at the terminal, on stderr, control characters shown (see `nbgit.terminal`)."""
    sys.stderr.write(f"{one_line(line)}\n")


def warn(message: str, hint: str = "") -> None:
    """One line on stderr, prefixed like every nbgit warning, the hint (when there is one) in parentheses.

    Control characters from repository content (file names) are shown, never sent to the terminal.
    """
    tell(f"nbgit: warning: {message} ({hint})" if hint else f"nbgit: warning: {message}")


