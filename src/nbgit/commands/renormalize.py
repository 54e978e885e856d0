"""`nbgit renormalize`: re-add every tracked notebook through the filter, once, after `nbgit install`."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.install.renormalize import renormalize


def run() -> int:
    """Stage every tracked notebook as the filter stores it, so `git status` stops listing them; say what to commit."""
    changed = renormalize(Path.cwd())
    if not changed:
        print("nbgit: every tracked notebook is already stored clean; nothing to commit")
        return EXIT_OK
    for path in changed:
        print(f"  renormalized {path}")
    print(f"nbgit: {len(changed)} notebook(s) staged as the filter stores them (their current content, cleaned)")
    print("next: git commit -m 'Store notebooks clean (nbgit renormalize)'")
    return EXIT_OK
