"""`nbgit sync`: bring notebooks and their text twins in step, three-way, never losing an edit."""

from __future__ import annotations

import sys
from pathlib import Path

from nbgit.cli import EXIT_ERROR, EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.policy import find_root, load_policy
from nbgit.sync.apply import apply
from nbgit.sync.model import AUTOMATIC, CONFLICT, ERROR, ON_A_BRANCH
from nbgit.sync.plan import plan


def run(paths: list[str], all: bool = False, check: bool = False, take: str | None = None, fail_on_write: bool = False) -> int:  # noqa: A002 - the option is --all
    """Sync the pairs under `paths` (default: the current folder; `all`: the repository); see `nbgit sync --help`.

    `fail_on_write` is for hooks: the pre-commit framework fails a fixer that modifies a tracked file,
    but a twin sync creates is new, untracked, and would not be committed; the exit code says it."""
    if all and paths:
        raise NbgitError("give paths or --all, not both", "nbgit sync --all, or nbgit sync PATH...")
    if check and take:
        raise NbgitError("--check changes nothing, so it cannot --take a side", "drop --take, or drop --check")
    root = repository_root(paths)
    targets = None if all or (not paths and Path.cwd().resolve() == root) else [Path(p) for p in paths or ["."]]
    work = plan(root, load_policy(root), targets)
    if check:
        return report_check(work.plans)
    applied = {id(item) for item in apply(work, take)}
    failed = False
    for item in work.plans:
        status = item.status
        if id(item) in applied:
            print(status.detail)
        elif status.state == ERROR:
            failed = True
            print(status.detail, file=sys.stderr)
        elif not status.in_step:
            print(f"{status.state}: {status.detail}")
            if status.state == CONFLICT and item.report:
                print(_indent(item.report))
    remaining = [item for item in work.plans if not item.status.in_step and id(item) not in applied and item.status.state not in (ERROR, ON_A_BRANCH)]
    if failed:
        return EXIT_ERROR
    return EXIT_FOUND if remaining or (fail_on_write and applied) else EXIT_OK


def repository_root(paths: list[str]) -> Path:
    """The work tree holding the first path (or the current folder); an error outside git."""
    root = find_root(Path(paths[0]) if paths else Path.cwd())
    if root is None:
        raise NbgitError("not inside a git repository", "pairs are synced against git's committed versions: run this in a clone")
    return root


def report_check(plans: list) -> int:
    """`--check`: one line per pair out of step (what sync would do); exit 1 when there is any, but for
    pairs missing a file a branch holds (an older commit checked out: nothing to do there)."""
    out_of_step = False
    failed = False
    for item in plans:
        status = item.status
        if status.state == ERROR:
            failed = True
            print(status.detail, file=sys.stderr)
        elif not status.in_step:
            out_of_step = out_of_step or status.state != ON_A_BRANCH
            fix = "nbgit sync would do it" if status.state in AUTOMATIC else "needs a decision"
            print(f"{item.relative[0]}: {status.state} ({fix}): {status.detail}")
    if failed:
        return EXIT_ERROR
    return EXIT_FOUND if out_of_step else EXIT_OK


def _indent(text: str) -> str:
    return "".join(f"    {line}" for line in text.splitlines(True)).rstrip("\n")
