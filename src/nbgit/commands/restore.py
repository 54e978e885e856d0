"""`nbgit restore`: put back the outputs this clone kept into notebooks that came out without them."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.progress import warn
from nbgit.worktree.bare import put_back
from nbgit.worktree.refresh import names


def run(paths: list[str], dry_run: bool, wait: float, quiet: bool) -> int:
    """Put the outputs back; say where, and (for notebooks named) why others got none."""
    outcome = put_back(Path.cwd(), paths, dry_run, wait)
    if outcome.unsettled:
        warn(f"{len(outcome.unsettled)} notebook(s) changed while their outputs were put back, left as they are now: {names(outcome.unsettled)}",
             "run `nbgit restore` again")
    if quiet:
        return EXIT_OK
    done = "would put back" if dry_run else "put back"
    if outcome.restored:
        print(f"nbgit: {done} the outputs of {len(outcome.restored)} notebook(s): {names(outcome.restored)}")
    elif not outcome.nothing_kept:
        print("nbgit: no notebook is exactly as committed (without outputs); nothing to put back")
    if outcome.nothing_kept:
        print(f"nbgit: this clone holds no outputs for {len(outcome.nothing_kept)} notebook(s) as committed "
              f"(never run here since nbgit keeps them, or pruned): {names(outcome.nothing_kept)}")
    if outcome.differ and paths:
        print(f"nbgit: {len(outcome.differ)} notebook(s) differ from what git holds (run, edited or saved since), left alone: {names(outcome.differ)}")
    return EXIT_OK
