"""`nbgit filter clean|smudge [PATH]`: the one-shot filter, stdin to stdout, for setups without `process`.

Like the process, clean keeps the outputs it strips (for PATH) and smudge puts them back.

Other tools run the clean command themselves (nbdime runs `filter.<driver>.clean` without `%f`,
with stderr mixed into the content it reads), so on success it prints nothing but the notebook.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.errors import NbgitError
from nbgit.filter import Cleaner, clean_blob
from nbgit.policy import find_root, load_policy
from nbgit.progress import warn
from nbgit.store.keeper import OutputKeeper


def run(direction: str, path: str = "<stdin>") -> int:
    """Clean (per the repository's policy, keeping the outputs) or smudge (outputs put back) stdin to
    stdout; see `nbgit filter --help`."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    root = find_root(Path.cwd())
    if direction == "smudge":
        stdout.write(_smudged(root, path, stdin.read()))
        return EXIT_OK
    policy = load_policy(root)
    data = stdin.read()
    result, problem = clean_blob(data, path, policy)
    if problem is not None:
        if policy.strict:
            raise problem  # nothing on stdout: git (when required) or the caller sees the failure
        if not _stderr_mixed_into_stdout():
            warn(f"{problem.message}; left unchanged ({problem.hint})")
    elif root is not None and path != "<stdin>":
        OutputKeeper(root).clean(path, data, result, policy.for_path(path))
    stdout.write(result)
    return EXIT_OK


def _smudged(root: Path | None, path: str, blob: bytes) -> bytes:
    """`blob` with the outputs this clone had; unchanged without a repository, a path or a readable policy."""
    if root is None or path == "<stdin>":
        return blob
    try:
        policy = load_policy(root)
    except NbgitError:
        return blob
    return Cleaner(policy, keeper=OutputKeeper(root))("smudge", path, blob)[1] or blob


def _stderr_mixed_into_stdout() -> bool:
    """True when stderr is the very pipe or file stdout is (`2>&1`): a warning there would corrupt the notebook."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino) and not sys.stderr.isatty()
