"""`nbgit clean`: clean notebooks in place (atomically, only when they change), or stdin to stdout."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

from nbgit.clean import CleanError, clean_bytes
from nbgit.cli import EXIT_ERROR, EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.notebook import NotebookError, parse
from nbgit.policy import Policy, find_root, load_policy, root_of
from nbgit.progress import progress, showing_progress, warn

if TYPE_CHECKING:
    from pathlib import Path


CHECK, DRY_RUN, WRITE, TRIAL = "check", "dry-run", "write", "trial"


class Tally(NamedTuple):
    """What one pass over the notebooks found: how many would change, could not be cleaned, or failed."""

    changed: int = 0
    unreadable: int = 0
    errors: int = 0


def run(paths: list[str], check: bool = False, dry_run: bool = False, **flags: Any) -> int:
    """Clean the notebooks under `paths` (or stdin when `paths` is `-`); see `nbgit clean --help`.

    `flags` are the command line's one-run overrides of the policy (`--keep-output`...).
    """
    if paths == ["-"]:  # git's one-shot filter: no pathlib (files.py) to import
        return _clean_stream(load_policy(root_of(os.getcwd())).with_flags(flags), check or dry_run)
    from nbgit.files import find_notebooks

    root = find_root(paths[0] if paths else os.getcwd())
    policy = load_policy(root).with_flags(flags)
    notebooks = {p: repo_relative(p, root) for p in find_notebooks(paths)}
    notebooks = {p: relative for p, relative in notebooks.items() if not policy.excludes(relative)}
    mode = CHECK if check else DRY_RUN if dry_run else WRITE
    if mode == WRITE and policy.strict and _clean_all(notebooks, policy, TRIAL).unreadable:
        return EXIT_ERROR  # strict: every notebook must be cleanable before any is written
    tally = _clean_all(notebooks, policy, mode)
    if mode == WRITE and tally.changed and showing_progress():
        print(f"cleaned {tally.changed} of {len(notebooks)} notebooks", file=sys.stderr)
    if tally.errors or (tally.unreadable and policy.strict):
        return EXIT_ERROR
    return EXIT_FOUND if check and (tally.changed or tally.unreadable) else EXIT_OK


def _clean_all(notebooks: dict[Path, str], policy: Policy, mode: str) -> Tally:
    """One pass: clean each notebook, then list its changes (CHECK), name it (DRY_RUN), rewrite it (WRITE)
    or only count it (TRIAL: strict mode's pass before writing anything).

    A notebook that cannot be read or written is reported in one line and the pass goes on.
    """
    from nbgit.files import confined, read_file, write_atomic

    changed = unreadable = errors = 0
    for path in progress(list(notebooks), "cleaning"):
        try:
            confined(path)  # a link out of the work tree is neither read nor written
            before = read_file(path)
            file_policy = policy.for_path(notebooks[path])
            try:
                cleaned = clean_bytes(before.data, str(path), file_policy)
            except (NotebookError, CleanError) as error:
                unreadable += 1
                _report_unreadable(error, policy.strict or mode == CHECK)
                continue
            if cleaned == before.data:
                continue
            changed += 1
            if mode == CHECK:
                _print_changes(path, before.data, file_policy)
            elif mode == DRY_RUN:
                print(f"would clean {path}")
            elif mode == WRITE:
                write_atomic(path, cleaned, expected=before)
        except NbgitError as error:
            errors += 1
            print(error.render(), file=sys.stderr)
    return Tally(changed, unreadable, errors)


def _clean_stream(policy: Policy, check: bool) -> int:
    data = sys.stdin.buffer.read()
    try:
        cleaned = clean_bytes(data, "<stdin>", policy)
    except (NotebookError, CleanError) as error:
        _report_unreadable(error, policy.strict)
        if policy.strict:
            return EXIT_ERROR
        cleaned = data  # pass through unchanged: never lose bytes
    if check:
        return EXIT_FOUND if cleaned != data else EXIT_OK
    sys.stdout.buffer.write(cleaned)
    return EXIT_OK


def repo_relative(path: Path, root: Path | None) -> str:
    """`path` relative to the work tree top in POSIX form (the form policy globs match), else as given."""
    if root is not None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _report_unreadable(error: NbgitError, fatal: bool) -> None:
    if fatal:
        print(error.render(), file=sys.stderr)
    else:
        warn(f"{error.message}; left unchanged ({error.hint})")


def _print_changes(path: Path, data: bytes, policy: Policy) -> None:
    from nbgit.clean import clean

    notebook = parse(data, str(path))
    changes = clean(notebook.content, notebook.major, policy).changes
    print(f"{path}: would clean")
    for change in changes or ["layout (not in Jupyter's own JSON format)"]:
        print(f"  {change}")
