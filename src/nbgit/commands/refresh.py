"""`nbgit refresh`: git stops listing notebooks re-run without a real change."""

from __future__ import annotations

from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.progress import warn
from nbgit.worktree.refresh import names, refresh, stored_unclean


def run(paths: list[str], wait: float, quiet: bool) -> int:
    """Refresh the index's stat data of notebooks unchanged once cleaned; say how many, and which stay modified."""
    outcome = refresh(Path.cwd(), paths, wait)
    if outcome.unsettled:
        warn(f"{len(outcome.unsettled)} notebook(s) changed or were staged while being judged, left as they are: {names(outcome.unsettled)} (run `nbgit refresh` again)")
    if quiet:
        return EXIT_OK
    if outcome.refreshed:
        print(f"nbgit: refreshed {len(outcome.refreshed)} notebook(s) changed only in outputs or volatile state: git status no longer lists them")
    elif not outcome.changed:
        print("nbgit: no notebook is listed as modified for outputs or volatile state alone; nothing to refresh")
    unclean = stored_unclean(Path.cwd(), outcome.changed)
    edited = [path for path in outcome.changed if path not in unclean.paths or path in unclean.edited]
    if edited:
        print(f"nbgit: {len(edited)} notebook(s) really changed and stay modified: {names(edited)}")
    if unclean.paths:
        print(f"nbgit: {len(unclean.paths)} notebook(s) committed with outputs or volatile state (without nbgit's filter) stay modified: {names(unclean.paths)}")
        print("hint: run `nbgit renormalize` to stage them as nbgit stores them, then commit")
    return EXIT_OK

