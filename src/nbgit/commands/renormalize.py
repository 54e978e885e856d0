"""`nbgit renormalize`: re-add every tracked notebook through the filter, once, after `nbgit install`."""

from __future__ import annotations

import shlex
from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.install.renormalize import renormalize


def run() -> int:
    """Stage every tracked notebook as the filter stores it, so `git status` stops listing them; say what to commit."""
    cwd = Path.cwd()
    changed = renormalize(cwd)
    for path in changed:
        print(f"  renormalized {path}")
    if changed:
        print(f"nbgit: {len(changed)} notebook(s) staged as the filter stores them (their current content, cleaned)")
    else:
        print("nbgit: every tracked notebook is already stored clean")
    to_add = _shared_to_commit(cwd)
    if changed or to_add:
        add = f"git add {' '.join(map(shlex.quote, to_add))} && " if to_add else ""
        print(f"next: {add}git commit -m 'Store notebooks clean (nbgit renormalize)'")
    return EXIT_OK


def _shared_to_commit(cwd: Path) -> list[str]:
    """The files `nbgit install` wrote for the team and nobody committed yet (teammates' clones need them too)."""
    from nbgit.install.apply import shared_to_commit
    from nbgit.install.target import make_setup, target_for
    from nbgit.install.wiring import wirings

    target = target_for(False, None, cwd)
    return shared_to_commit(target, wirings(make_setup(target.root, False, None, target.config, cwd, lenient=True)))
