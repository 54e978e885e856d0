"""`nbgit filter clean|smudge [PATH]`: the one-shot filter, stdin to stdout, for setups without `process`.

Like the process, clean keeps the outputs it strips (for PATH) and smudge puts them back.

Other tools run the clean command themselves (nbdime runs `filter.<driver>.clean` without `%f`,
with stderr mixed into the content it reads), so on success it prints nothing but the notebook.
"""

from __future__ import annotations

import os
import sys

from nbgit.cli import EXIT_OK
from nbgit.filter import Cleaner
from nbgit.progress import warn


def run(direction: str, path: str = "<stdin>") -> int:
    """Clean (per the repository's policy, keeping the outputs) or smudge (outputs put back) stdin to
    stdout; see `nbgit filter --help`. A policy that does not load passes everything through, with
    one warning, as the process filter does."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    cleaner = Cleaner.for_directory(os.getcwd())
    data = stdin.read()
    if direction == "smudge":  # the blob with the outputs this clone had (unchanged without a path or a store)
        stdout.write((cleaner("smudge", path, data)[1] if path != "<stdin>" else None) or data)
        return EXIT_OK
    if cleaner.problem is not None:
        result, problem = data, cleaner.problem
    else:
        result, problem = cleaner.clean(path, data, keep=path != "<stdin>")
        if problem is not None and cleaner.policy.strict:
            raise problem  # nothing on stdout: git (when required) or the caller sees the failure
    if problem is not None and not _stderr_mixed_into_stdout():
        warn(f"{problem.message}; left unchanged", problem.hint)
    stdout.write(result)
    stdout.flush()
    cleaner.settle()
    return EXIT_OK


def _stderr_mixed_into_stdout() -> bool:
    """True when stderr is the very pipe or file stdout is (`2>&1`): a warning there would corrupt the notebook."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino) and not sys.stderr.isatty()
