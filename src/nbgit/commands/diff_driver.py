"""`nbgit diff-driver`: nbdime's diff of the cleaned sides, as git's external diff (diff.nbgit.command).

git calls `path old-file old-hex old-mode new-file new-hex new-mode` after the `--` it is wired with
(two more arguments on a rename, only `path` for an unmerged path; /dev/null for an absent side).
Both sides are cleaned with the repository's policy, written under `a/PATH` and `b/PATH` in a
temporary folder, and handed to nbdime (control characters in their strings shown, as everywhere,
so that nbdime's own output, colours and all, goes to git as it is).
When a side is no notebook nbdime could read, nbdime fails on it (JSON nested hundreds deep) or takes
more than NBDIME_SECONDS, a plain diff of nbgit's text rendering is shown instead: an external diff
that fails stops the whole `git diff`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from nbgit.clean import clean_bytes
from nbgit.commands.textconv import policy_or_defaults
from nbgit.deadline import OutOfTime, time_limit
from nbgit.errors import NbgitError
from nbgit.policy import Policy
from nbgit.progress import warn
from nbgit.render import textconv
from nbgit.sequences import unified_diff
from nbgit.terminal import one_line, visible

NULL = "/dev/null"
# what nbdime's diff of one notebook may take: it compares every cell with every other, and every line of
# a cell with every other (2,000 cells with the first and last edited took it 41 s, one cell of 50,000 lines
# with every seventh edited more than two minutes); past it, the text diff
NBDIME_SECONDS = 10


def run(args: list[str]) -> int:
    """Show one path's diff the way git's external diff protocol asks; see `nbgit diff-driver --help`."""
    if len(args) == 1:
        print(one_line(f"* Unmerged path {args[0]}"))
        return 0
    if len(args) not in (7, 9):
        raise NbgitError(
            f"diff-driver expects git's 7 or 9 external diff arguments, got {len(args)}",
            "git calls this itself: git config diff.nbgit.command 'nbgit diff-driver --'",
        )
    path, old_file, new_file = args[0], args[1], args[4]
    new_path = args[7] if len(args) == 9 else path
    policy = policy_or_defaults()
    old, new = _read(old_file), _read(new_file)
    try:
        cleaned = (_clean(old, path, policy), _clean(new, new_path, policy))
    except NbgitError as error:
        warn(f"{error.message}; showing a text diff")
        _text_diff(old, new, path, new_path, policy)
        return 0
    if importlib.util.find_spec("nbdime") is None:
        warn("nbdime is not installed (pip install nbdime); showing a text diff")
        _text_diff(old, new, path, new_path, policy)
        return 0
    shown = io.StringIO()  # printed once nbdime is done: a diff that fails half-way is not shown
    try:
        with time_limit(NBDIME_SECONDS), tempfile.TemporaryDirectory(prefix="nbgit-diff-") as tmp, contextlib.redirect_stdout(shown):
            sides = (("a", path, cleaned[0]), ("b", new_path, cleaned[1]))
            names = [_place(Path(tmp), side, one_line(rel), _shown_strings(data)) for side, rel, data in sides]
            _nbdime_diff(Path(tmp), names)
    except OutOfTime:
        warn(f"{path}: nbdime's diff took more than {NBDIME_SECONDS} s (it compares every cell, and line, with every other); showing a text diff")
        _text_diff(old, new, path, new_path, policy)
        return 0
    except Exception as error:  # noqa: BLE001 - hostile content (JSON nested hundreds deep) or a bug in nbdime must not stop git diff
        warn(f"{path}: nbdime's diff failed ({type(error).__name__}: {error}); showing a text diff")
        _text_diff(old, new, path, new_path, policy)
        return 0
    # as nbdime wrote it: its colours are its own, and every string of the sides already shows its control characters
    sys.stdout.flush()
    sys.stdout.buffer.write(shown.getvalue().encode("utf-8", "surrogateescape"))
    return 0


def _read(file: str) -> bytes | None:
    return None if file == NULL else Path(file).read_bytes()


def _clean(data: bytes | None, path: str, policy: Policy) -> bytes | None:
    return None if data is None else clean_bytes(data, path, policy)


def _shown_strings(data: bytes | None) -> bytes | None:
    """The cleaned notebook with control characters shown in every string: nbdime prints sources and
    outputs raw, and a terminal must never receive repository content's escape sequences."""

    def shown(value: Any) -> Any:
        if isinstance(value, str):
            return visible(value)
        if isinstance(value, list):
            return [shown(v) for v in value]
        if isinstance(value, dict):
            return {visible(k): shown(v) for k, v in value.items()}
        return value

    return None if data is None else json.dumps(shown(json.loads(data)), indent=1, ensure_ascii=False).encode("utf-8")


def _place(tmp: Path, side: str, path: str, data: bytes | None) -> str:
    """Write one side under `tmp/side/path`; return the name nbdime is given (relative, or /dev/null)."""
    if data is None:
        return NULL
    relative = Path(side) / path
    (tmp / relative).parent.mkdir(parents=True, exist_ok=True)
    (tmp / relative).write_bytes(data)
    return relative.as_posix()


def _nbdime_diff(tmp: Path, names: list[str]) -> None:
    """nbdime's terminal diff, run from `tmp` so that its header reads `a/PATH b/PATH`."""
    from nbdime import nbdiffapp

    here = os.getcwd()
    os.chdir(tmp)
    try:
        nbdiffapp.main(names)
    finally:
        os.chdir(here)


def _text_diff(old: bytes | None, new: bytes | None, path: str, new_path: str, policy: Policy) -> None:
    """A unified diff of nbgit's text rendering (raw bytes for what is no notebook) of both sides, one hunk
    where difflib would take too long."""

    def lines(data: bytes | None, name: str) -> list[str]:
        return [] if data is None else textconv(data, name, policy).decode("utf-8", "replace").splitlines(True)

    sys.stdout.writelines(unified_diff(lines(old, path), lines(new, new_path), f"a/{one_line(path)}", f"b/{one_line(new_path)}"))
