"""Where a repository's policy lives, found with file-system calls alone.

`nbgit.policy` reads and validates the policy (TOML, typing: tens of milliseconds of imports).
textconv, which git starts once per notebook, first asks here whether there is a policy to read.
It runs without site (`python -S`, as `nbgit install` wires it), so without `os` either (importing
it costs about 1.5 ms, a tenth of such a process): the questions it asks here (`root_of_working_directory`,
`has_no_policy`, `cleans_as_before`) use the calls `os` itself takes from the `posix` module.

A repository whose policy only sets what textconv does not use (`[check]`, `[pair]`, `exclude`...)
renders as one without a policy. textconv learns that once by reading the policy, and remembers it
in the clone's `.git` folder (`MEMO`) as the very bytes of the policy files with nbgit's version;
every later run compares those bytes and reads no TOML. Any other bytes, or another nbgit, are read again.
"""

from __future__ import annotations

import sys
from stat import S_ISDIR, S_ISREG

try:
    from posix import O_NONBLOCK, O_RDONLY, close, environ, fstat, getcwd, read, stat
    from posix import open as open_fd
except ImportError:  # not a POSIX system: os, which knows its paths
    from os import O_RDONLY, close, environ, fstat, getcwd, read, stat
    from os import open as open_fd

    O_NONBLOCK = getattr(__import__("os"), "O_BINARY", 0)  # no pipes to wait on; bytes as they are
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
MEMO = "nbgit/textconv-policy"  # in the clone's .git folder: policy files textconv renders as the defaults
_MEMO_FORMAT = b"nbgit textconv-policy 1"
# A policy file bigger than this is not read: a broken policy (nbgit.policy says so). Real ones take a few
# KiB (a pyproject.toml with many tools' tables, tens of KiB); tomllib reads about 5 MB a second, so
# 1 MiB costs 0.2 s, and an 18 MB pyproject.toml held up every git command that starts the filter by seconds.
MAX_POLICY_BYTES = 1 << 20
# what decides whether a policy renders as the defaults, and how: the policy, the renderers, the cleaning core
_DECIDING_MODULES = ("policy.py", "render.py", "quickview.py", "clean.py", "volatile.py", "commands/textconv.py", "policy_files.py", "patterns.py", "toml_keys.py")


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
    """The folder `here` (absolute, resolved) or the nearest one above it with a `.git` entry; else the
    work tree git names in `GIT_WORK_TREE` when it holds `here` (see `_named_work_tree`)."""
    start = here
    while True:
        if _exists(_joined(here, ".git")):
            return here
        parent = _parent(here)
        if parent == here:
            return _named_work_tree(start)
        here = parent


def _named_work_tree(here: str) -> str | None:
    """The work tree named by `GIT_WORK_TREE`, resolved, when it holds `here` (absolute, resolved); else None.

    A work tree without a `.git` entry (`git --git-dir=... --work-tree=...`, `GIT_DIR` and
    `GIT_WORK_TREE`: a dotfiles repository) is found through these, which git hands down to its
    filters and hooks (relative to the top of the work tree, where it runs them). Where the work tree
    is the repository's `core.worktree` instead, git hands down `GIT_DIR` alone, and `GIT_PREFIX` to
    what it runs at the top of the work tree (its filters, hooks and drivers): that top is the
    working directory then."""
    try:
        named = environ.get(b"GIT_WORK_TREE")  # (posix.environ: bytes)
        run_by_git = b"GIT_DIR" in environ and b"GIT_PREFIX" in environ
    except TypeError:  # (os.environ, where there is no posix module: str)
        named = environ.get("GIT_WORK_TREE")
        run_by_git = "GIT_DIR" in environ and "GIT_PREFIX" in environ
    if not named and run_by_git:
        named = getcwd()
    if not named:
        return None
    import os.path

    top = os.path.realpath(os.fsdecode(named))
    return top if here == top or here.startswith(_joined(top, "")) else None


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
    data = bytes_of(project)
    if data is None:
        return False  # unreadable or larger than MAX_POLICY_BYTES: nbgit.policy says what is wrong with it
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


def cleans_as_before(root: str | None, version: str) -> bool:
    """Whether textconv may render as under the default policy without reading one: there is none, or
    the policy files hold the very bytes that this nbgit (`version`, and its modules as they are) on
    this Python found to render as the defaults (`MEMO`)."""
    if root is None or has_no_policy(root):
        return True
    memo = memo_file(root)
    if memo is None:
        return False
    held = memo_bytes(root, version)
    return held is not None and bytes_of(memo) == held  # (None for both: no memo, and a policy file not read whole)


def memo_file(root: str) -> str | None:
    """Where textconv remembers the policy files it renders as the defaults: in the work tree's git
    folder (`.git`, or the folder a `.git` file names: a linked work tree, a submodule), when it is
    one (it holds a `HEAD` file); None when there is none, or when `GIT_DIR` names another (the
    policy is then read every time)."""
    if b"GIT_DIR" in environ or "GIT_DIR" in environ:
        return None
    git = _joined(root, ".git")
    try:
        folder = git if S_ISDIR(stat(git).st_mode) else _named_folder(root, git)
    except (OSError, ValueError):
        return None
    return _joined(folder, MEMO) if folder is not None and _is_file(_joined(folder, "HEAD")) else None


def _named_folder(root: str, git_file: str) -> str | None:
    """The folder a `.git` file names (`gitdir: PATH`, relative to the work tree or absolute)."""
    pointer = bytes_of(git_file)
    if pointer is None or not pointer.startswith(b"gitdir:"):
        return None
    try:
        named = pointer[len(b"gitdir:") :].strip().decode("utf-8")
    except UnicodeDecodeError:
        return None
    return named if named.startswith("/") else _joined(root, named)


def memo_bytes(root: str, version: str) -> bytes | None:
    """What the memo holds when this nbgit found the policy files at `root`, as they are now, to render
    as the defaults: nbgit's version and the size and time of the modules that decide it, Python's
    version and interpreter (which TOML it reads), and the bytes of both files (`-1` for one that is
    absent); None when one cannot be read whole."""
    held = []
    for name in (POLICY_FILE, PROJECT_FILE):
        data = bytes_of(_joined(root, name))
        if data is None and _exists(_joined(root, name)):
            return None
        held.append(data)
    sizes = b" ".join(b"-1" if data is None else b"%d" % len(data) for data in held)
    made_by = f"{version} {sys.version} {sys.executable} {_modules_stamp()}".encode("utf-8", "surrogateescape")
    return b"%s\n%s\n%s\n%s" % (_MEMO_FORMAT, made_by.replace(b"\n", b" "), sizes, b"".join(data or b"" for data in held))


def _modules_stamp() -> str:
    """The size and modification time of the modules that decide what a policy renders as (an edited
    checkout of nbgit is another nbgit)."""
    here = _parent(__file__)
    stamps = []
    for name in _DECIDING_MODULES:
        try:
            info = stat(_joined(here, name))
        except (OSError, ValueError):
            return "?"
        stamps.append(f"{info.st_size}:{info.st_mtime_ns}")
    return ",".join(stamps)


def bytes_of(path: str) -> bytes | None:
    """The bytes of a regular file of at most `MAX_POLICY_BYTES`, None for anything else. Opened without
    waiting (a named pipe planted as a policy file must not hang git) and read by its descriptor."""
    try:
        fd = open_fd(path, O_RDONLY | O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        info = fstat(fd)
        if not S_ISREG(info.st_mode) or info.st_size > MAX_POLICY_BYTES:
            return None
        data = read(fd, info.st_size + 1)
        return data if len(data) == info.st_size else None
    except OSError:
        return None
    finally:
        close(fd)
