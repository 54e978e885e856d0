"""`nbgit check`: judge notebooks as they would be committed; exit 1 when any problem is left."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from nbgit.check.formats import render
from nbgit.check.runner import Scope, run_checks
from nbgit.cli import EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.policy import find_root, load_policy
from nbgit.policy_files import root_of


def run(
    paths: list[str], all: bool = False, staged: bool = False, fix: bool = False, format: str = "text",
    shard: tuple[int, int] | None = None, no_cache: bool = False,
) -> int:
    """Check the notebooks named, every tracked one (`all`) or the staged ones; see `nbgit check --help`."""
    if all and paths:
        raise NbgitError("give paths or --all, not both", "`nbgit check --all` checks every tracked notebook")
    if shard is not None and not all:
        raise NbgitError("--shard splits `--all` only", "run `nbgit check --all --shard K/N` in each of N jobs")
    root = _one_root(paths)
    policy = load_policy(root)
    outcome = run_checks(root, policy, Scope(tuple(paths), all, staged, shard), fix, use_cache=not no_cache)
    sys.stdout.write(render(outcome, format, root))
    gc.freeze()  # what the run made (caches, paths, stat data) dies with the process: spared the exit's garbage collections
    return EXIT_FOUND if outcome.failed else EXIT_OK


def _one_root(paths: list[str]) -> Path | None:
    """The repository holding every path named (the working directory's without paths); an error naming
    the first path held by another repository, or by none beside paths held by one: each is judged
    under its own repository's policy, never under the first path's."""
    if not paths:
        return find_root(Path.cwd())
    first = root_of(paths[0])
    for path in paths[1:]:
        other = root_of(path)
        if other != first:
            held = f"in the repository at {other}" if other is not None else "in no git repository"
            than = f"the repository at {first}" if first is not None else "no git repository"
            raise NbgitError(
                f"{path}: {held}, while {paths[0]} is in {than}; each is judged under its own repository's policy",
                "run `nbgit check` once for the paths of each repository",
            )
    return Path(first) if first is not None else None
