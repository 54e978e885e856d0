"""Where a repository's policy lives, found with `os.path` alone.

`nbgit.policy` reads and validates the policy (TOML, typing: tens of milliseconds of imports).
textconv, which git starts once per notebook, first asks here whether there is a policy to read.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

POLICY_FILE = ".nbgit.toml"
PROJECT_FILE = "pyproject.toml"
# TOML cannot name the [tool.nbgit] table without these bytes: the word, or an escape spelling it
_MAY_NAME_NBGIT = (b"nbgit", b"\\u", b"\\U")


def root_of(start: Path | str) -> str | None:
    """The top of the git work tree holding `start` as a string, found without running git (a `.git`
    entry). A symlink is held by the work tree it sits in, wherever it leads."""
    here = os.path.abspath(start)
    if os.path.islink(here) or os.path.isfile(here) or not os.path.exists(here):
        here = os.path.dirname(here)
    here = os.path.realpath(here)
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def has_no_policy(root: str | None) -> bool:
    """Whether the repository at `root` certainly keeps the default policy: no `.nbgit.toml`, and no
    `pyproject.toml` whose bytes could name `[tool.nbgit]` (so none to parse: whether the rest of
    that file is valid TOML is its other tools' business)."""
    if root is None:
        return True
    if os.path.isfile(os.path.join(root, POLICY_FILE)):
        return False
    project = os.path.join(root, PROJECT_FILE)
    if not os.path.isfile(project):
        return True
    try:
        with open(project, "rb") as handle:
            data = handle.read()
    except OSError:
        return False  # nbgit.policy says what is wrong with it
    return not any(word in data for word in _MAY_NAME_NBGIT)
