"""`nbgit filter-process`: git's long-running filter, the same loop as the `nbgit-filter-process` script."""

from __future__ import annotations

from nbgit import filter


def run() -> int:
    """Serve git's filter protocol on stdin/stdout until git hangs up; see `nbgit filter-process --help`."""
    return filter.main()
