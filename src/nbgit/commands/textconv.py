"""`nbgit textconv FILE`: a notebook as readable text for `git diff` (diff.nbgit.textconv).

A failing textconv kills the whole `git diff`, so this command never fails: whatever it cannot read
(invalid JSON, a binary file named .ipynb, a broken policy) comes out as the raw bytes, with a
warning on stderr, and the exit code is always 0.
"""

from __future__ import annotations

import os
import sys

from nbgit.errors import NbgitError
from nbgit.policy import Policy, load_policy, root_of
from nbgit.progress import warn
from nbgit.render import textconv


def run(path: str) -> int:
    """Write `path` as readable text to stdout; see `nbgit textconv --help`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        warn(f"{path}: cannot read ({error.strerror}); showing nothing")
        return 0
    try:
        text = textconv(data, path, policy_or_defaults())
    except Exception as error:  # noqa: BLE001 - git's diff must go on whatever happens here
        warn(f"{path}: cannot render ({type(error).__name__}: {error}); showing the raw file")
        text = data
    sys.stdout.buffer.write(text)
    sys.stdout.buffer.flush()
    return 0


def policy_or_defaults() -> Policy:
    """The policy of the repository git runs us in; the defaults when it is broken (said on stderr).

    For commands git runs inside `git diff`, where an error would stop the whole diff."""
    try:
        return load_policy(root_of(os.getcwd()))
    except NbgitError as error:
        warn(f"{error.message}; rendering with the default policy")
        return Policy()
