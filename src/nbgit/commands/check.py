"""`nbgit check`: judge notebooks as they would be committed; exit 1 when any problem is left."""

from __future__ import annotations

import sys
from pathlib import Path

from nbgit.check.formats import render
from nbgit.check.runner import Scope, run_checks
from nbgit.cli import EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.policy import find_root, load_policy


def run(paths: list[str], all: bool = False, staged: bool = False, fix: bool = False, format: str = "text") -> int:
    """Check the notebooks named, every tracked one (`all`) or the staged ones; see `nbgit check --help`."""
    if all and paths:
        raise NbgitError("give paths or --all, not both", "`nbgit check --all` checks every tracked notebook")
    root = find_root(Path(paths[0]) if paths else Path.cwd())
    policy = load_policy(root)
    outcome = run_checks(root, policy, Scope(tuple(paths), all, staged), fix)
    sys.stdout.write(render(outcome, format, root))
    return EXIT_FOUND if outcome.failed else EXIT_OK
