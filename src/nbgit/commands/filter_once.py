"""`nbgit filter clean|smudge [PATH]`: the one-shot filter, stdin to stdout, for setups without `process`.

Other tools run the clean command themselves (nbdime runs `filter.<driver>.clean` without `%f`,
with stderr mixed into the content it reads), so on success it prints nothing but the notebook.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nbgit.cli import EXIT_OK
from nbgit.filter import clean_blob
from nbgit.policy import find_root, load_policy
from nbgit.progress import warn


def run(direction: str, path: str = "<stdin>") -> int:
    """Clean (per the repository's policy) or smudge (unchanged) stdin to stdout; see `nbgit filter --help`."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if direction == "smudge":
        shutil.copyfileobj(stdin, stdout, 1 << 20)
        return EXIT_OK
    policy = load_policy(find_root(Path.cwd()))
    result, problem = clean_blob(stdin.read(), path, policy)
    if problem is not None:
        if policy.strict:
            raise problem  # nothing on stdout: git (when required) or the caller sees the failure
        if not _stderr_mixed_into_stdout():
            warn(f"{problem.message}; left unchanged ({problem.hint})")
    stdout.write(result)
    return EXIT_OK


def _stderr_mixed_into_stdout() -> bool:
    """True when stderr is the very pipe or file stdout is (`2>&1`): a warning there would corrupt the notebook."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino) and not sys.stderr.isatty()
