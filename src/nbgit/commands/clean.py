"""`nbgit clean`: clean notebooks in place (atomically, only when they change), or stdin to stdout."""

from __future__ import annotations

import sys
from pathlib import Path

from nbgit.clean import CleanError, clean_bytes
from nbgit.cli import EXIT_ERROR, EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.files import find_notebooks, write_atomic
from nbgit.notebook import NotebookError, parse
from nbgit.policy import Policy, find_root, load_policy
from nbgit.progress import progress, showing_progress, warn


def run(paths: list[str], check: bool = False, dry_run: bool = False) -> int:
    """Clean the notebooks under `paths` (or stdin when `paths` is `-`); see `nbgit clean --help`."""
    if paths == ["-"]:
        return _clean_stream(load_policy(find_root(Path.cwd())), check or dry_run)
    root = find_root(Path(paths[0]) if paths else Path.cwd())
    policy = load_policy(root)
    notebooks = {p: repo_relative(p, root) for p in find_notebooks(paths)}
    notebooks = {p: relative for p, relative in notebooks.items() if not policy.excludes(relative)}
    changed, failed = 0, 0
    for path in progress(list(notebooks), "cleaning"):
        data = path.read_bytes()
        file_policy = policy.for_path(notebooks[path])
        try:
            cleaned = clean_bytes(data, str(path), file_policy)
        except (NotebookError, CleanError) as error:
            failed += 1
            _report_unreadable(error, policy.strict or check)
            continue
        if cleaned == data:
            continue
        changed += 1
        if check:
            _print_changes(path, data, file_policy)
        elif dry_run:
            print(f"would clean {path}")
        else:
            write_atomic(path, cleaned)
    if not check and not dry_run and changed and showing_progress():
        print(f"cleaned {changed} of {len(notebooks)} notebooks", file=sys.stderr)
    if failed and policy.strict:
        return EXIT_ERROR
    return EXIT_FOUND if check and (changed or failed) else EXIT_OK


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
