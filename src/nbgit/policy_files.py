"""Where a repository's policy lives, found with file-system calls alone.

`nbgit.policy` reads and validates the policy (TOML, typing: tens of milliseconds of imports).
textconv, which git starts once per notebook, first asks here whether there is a policy to read.
It runs without site (`python -S`, as `nbgit install` wires it), so without `os` either (importing
it costs about 1.5 ms, a tenth of such a process): the questions it asks here (`root_of_working_directory`,
`has_no_policy`) use the calls `os` itself takes from the `posix` module.
"""

from __future__ import annotations

from stat import S_ISREG

try:
    from posix import getcwd, stat
except ImportError:  # not a POSIX system: os, which knows its paths
    from os import getcwd, stat
    from os.path import dirname as _parent
    from os.path import join as _joined
else:

    def _parent(path: str) -> str:
        """os.path.dirname of an absolute POSIX path."""
        return path.rpartition("/")[0] or "/"

    def _joined(folder: str, name: str) -> str:
        """os.path.join(folder, name) on POSIX."""
        return folder + name if folder.endswith("/") else f"{folder}/{name}"


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
    import os.path

    here = os.path.abspath(start)
    if os.path.islink(here) or os.path.isfile(here) or not os.path.exists(here):
        here = os.path.dirname(here)
    return _holding_git(os.path.realpath(here))


def root_of_working_directory() -> str | None:
    """`root_of(os.getcwd())`: the working directory is an absolute path without symlinks already."""
    return _holding_git(getcwd())


def _holding_git(here: str) -> str | None:
    """The folder `here` (absolute, resolved) or the nearest one above it with a `.git` entry."""
    while True:
        if _exists(_joined(here, ".git")):
            return here
        parent = _parent(here)
        if parent == here:
            return None
        here = parent


def has_no_policy(root: str | None) -> bool:
    """Whether the repository at `root` certainly keeps the default policy: no `.nbgit.toml`, and no
    `pyproject.toml` whose bytes could name `[tool.nbgit]` (so none to parse: whether the rest of
    that file is valid TOML is its other tools' business)."""
    if root is None:
        return True
    if _is_file(_joined(root, POLICY_FILE)):
        return False
    project = _joined(root, PROJECT_FILE)
    if not _is_file(project):
        return True
    try:
        with open(project, "rb") as handle:
            data = handle.read()
    except OSError:
        return False  # nbgit.policy says what is wrong with it
    return not any(word in data for word in _MAY_NAME_NBGIT)


def _exists(path: str) -> bool:
    """os.path.exists(path)."""
    try:
        stat(path)
    except (OSError, ValueError):
        return False
    return True


def _is_file(path: str) -> bool:
    """os.path.isfile(path)."""
    try:
        return S_ISREG(stat(path).st_mode)
    except (OSError, ValueError):
        return False
