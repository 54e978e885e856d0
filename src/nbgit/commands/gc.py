"""`nbgit gc [--max-size SIZE] [--all]`: prune the clone's output store by hand."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.errors import NbgitError
from nbgit.policy import find_root
from nbgit.store.disk import Store
from nbgit.store.evict import Usage, collect, compact_histories, evict, forget, measure
from nbgit.store.location import LIMIT_KEY, clone_settings, parse_size, shown_size, store_dir


def run(max_size: str | None = None, all: bool = False) -> int:  # noqa: A002 - the option is --all
    """Compact the history logs, remove unusable entries, then the least recently used ones past the limit
    (or everything); say what went."""
    root = find_root(Path.cwd())
    directory = store_dir(root) if root is not None else None
    if directory is None:
        raise NbgitError("not inside a git repository", "run `nbgit gc` inside the clone whose output store to prune")
    limit = parse_size(max_size, "--max-size") if max_size is not None else clone_settings(root).limit
    before = measure(directory)
    print(f"nbgit: output store {directory}: {_shown(before)}")
    if all:
        removed = forget(directory)
        why = "everything"
        compacted = 0
    else:
        store = Store(directory)
        compacted = compact_histories(directory)
        unusable = collect(store)
        old = evict(store, limit)
        removed = Usage(unusable.files + old.files, unusable.bytes + old.bytes)
        why = f"{unusable.files} unusable, {old.files} least recently used past {shown_size(limit)}"
        if max_size is None:
            why += f" ({LIMIT_KEY})"
        why += f"; compacting the history logs freed {shown_size(compacted)}"
    print(f"nbgit: removed {_shown(removed)}: {why}; {shown_size(before.bytes - removed.bytes - compacted)} left")
    return EXIT_OK


def _shown(usage: Usage) -> str:
    return f"{shown_size(usage.bytes)} in {usage.files} file{'s' if usage.files != 1 else ''}"
