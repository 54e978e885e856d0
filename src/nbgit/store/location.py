"""Where a clone keeps its outputs, and what its git config says about keeping them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

ENABLED_KEY = "nbgit.restore"  # false: this clone keeps no outputs (`nbgit install --no-restore`)
LIMIT_KEY = "nbgit.restoreMaxSize"  # the store's size limit, in bytes or with k, m, g
DEFAULT_LIMIT = 1 << 30
NOTES_LIMIT = 1 << 24  # the notes' size limit: a few hundred bytes a notebook written as committed
WORKTREES = "worktrees"  # where git keeps the git directory of each linked worktree, in the common directory
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def common_dir(root: Path) -> Path | None:
    """git's common directory for the work tree at `root` (shared by its linked worktrees), or None.

    Read from its git directory's `commondir` file, as git does, so the filter finds it once per
    process without running git; `GIT_COMMON_DIR` wins when set.
    """
    return _common_of(git_dir(root))


def _common_of(own: Path | None) -> Path | None:
    """The common directory of the git directory `own` (itself, unless its `commondir` names another)."""
    if os.environ.get("GIT_COMMON_DIR"):
        return Path(os.environ["GIT_COMMON_DIR"]).absolute()
    if own is None:
        return None
    try:
        shared = own / "commondir"
        if shared.is_file():
            return (own / _path_in(shared)).resolve()
    except OSError:
        return None
    return own.resolve()


def git_dir(root: Path) -> Path | None:
    """git's directory for the work tree at `root` (a linked worktree has its own), or None.

    Read from `.git` (a folder, or a file naming one), as git does, without running git; `GIT_DIR`
    wins when set.
    """
    own = Path(os.environ["GIT_DIR"]).absolute() if os.environ.get("GIT_DIR") else root / ".git"
    try:
        if own.is_file():
            pointer = _path_in(own)
            if not pointer.startswith("gitdir:"):
                return None
            own = own.parent / pointer.removeprefix("gitdir:").lstrip(" ")
        return own if own.is_dir() else None
    except OSError:
        return None


def worktree_name(root: Path) -> str:
    """What tells the work tree at `root` from the clone's other work trees in the store: "" for the main
    one, and for a linked worktree its git directory relative to the common one (`worktrees/<name>`, which
    `git worktree move` keeps), else its whole path. Found from the files git reads, without running git."""
    own = git_dir(root)
    common = _common_of(own)
    if own is None or common is None:
        return ""
    try:
        own = own.resolve()
        common = common.resolve()
    except OSError:
        return ""
    if own == common:
        return ""
    return own.relative_to(common).as_posix() if own.is_relative_to(common) else own.as_posix()


def linked_worktrees(store: Path) -> list[str]:
    """The names (`worktree_name`) of the linked worktrees of the clone whose output store is `store`,
    sorted: the folders git keeps for them in its common directory (for one whose folder was deleted,
    until `git worktree prune`)."""
    folder = store.parent.parent / WORKTREES  # (`store_dir` in reverse)
    try:
        return sorted(f"{WORKTREES}/{entry.name}" for entry in os.scandir(folder) if entry.is_dir())
    except OSError:
        return []


def _path_in(file: Path) -> str:
    """The path a file of git's own holds (`commondir`, a `.git` file), read as git reads it: the bytes
    up to the line ends that close it, whatever the encoding of the file system (a repository in a folder
    whose name is not UTF-8 keeps its store in its linked worktrees)."""
    return os.fsdecode(file.read_bytes().rstrip(b"\r\n"))


def index_locked(root: Path) -> bool:
    """Whether a git command holds the index lock of the work tree at `root`.

    git holds it whenever it writes files into the work tree (checkout, switch, reset, restore,
    merge, rebase, cherry-pick, `stash pop`, clone) and takes it before the first file; `git archive`
    never takes it. `GIT_INDEX_FILE` (relative to the top of the work tree, where git runs filters)
    names the index when set.
    """
    index = index_file(root)
    return index is not None and os.path.exists(f"{index}.lock")


def index_file(root: Path) -> Path | None:
    """The index of the work tree at `root` (`GIT_INDEX_FILE`, relative to the top of the work tree, where
    git runs filters, when set), found without running git; None outside a repository."""
    named = os.environ.get("GIT_INDEX_FILE")
    own = git_dir(root) if not named else None
    return root / named if named else own / "index" if own is not None else None


def store_dir(root: Path) -> Path | None:
    """The output store of the clone whose work tree is at `root` (it may not exist yet)."""
    common = common_dir(root)
    return common / "nbgit" / "outputs" if common is not None else None


def notes_dir(root: Path) -> Path | None:
    """The notes of the clone whose work tree is at `root` (they may not exist yet): which notebooks a checkout
    wrote as committed without nbgit (`restore.as_committed`), a store of its own beside the output store,
    holding no outputs, so that a clone that turned that store off (`nbgit.restore`) or whose policy keeps
    outputs has them too, and `nbgit install --no-restore` keeps them."""
    common = common_dir(root)
    return common / "nbgit" / "committed" if common is not None else None


class CloneSettings(NamedTuple):
    """What the clone's git config says: whether it keeps outputs at all, how much, and how git names objects."""

    enabled: bool = True
    limit: int = DEFAULT_LIMIT
    object_format: str = "sha1"


def clone_settings(root: Path) -> CloneSettings:
    """`nbgit.restore`, `nbgit.restoreMaxSize` and git's object format as git resolves them for `root` (one git process)."""
    from nbgit import gitrepo

    entries = gitrepo.config_entries(r"^(nbgit\.restore|extensions\.objectformat$)", (), root)
    values = {entry.key.lower(): entry.value for entry in entries}
    enabled = parse_bool(values.get(ENABLED_KEY.lower(), "true"), ENABLED_KEY)
    limit = parse_size(values.get(LIMIT_KEY.lower(), str(DEFAULT_LIMIT)), LIMIT_KEY)
    return CloneSettings(enabled, limit, values.get("extensions.objectformat", "sha1").lower())


def parse_bool(text: str, key: str) -> bool:
    """A git config boolean (`true`, `yes`, `on`, `1`, an empty value; `false`, `no`, `off`, `0`)."""
    value = text.strip().lower()
    if value in ("", "true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    from nbgit.errors import NbgitError

    raise NbgitError(f"git config {key} = {text!r} is not a boolean", f"`git config {key} false` (or true)")


def parse_size(text: str, key: str = "size") -> int:
    """A size as git writes one: bytes, or a whole number with k, m or g (`500m`)."""
    value = text.strip().lower()
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "")
    if not number.isdigit():
        from nbgit.errors import NbgitError

        raise NbgitError(f"{key} = {text!r} is not a size", "give bytes or a whole number with k, m or g, e.g. 500m or 2g")
    return int(number) * _UNITS[unit]


def shown_size(size: int) -> str:
    """`12.3 MiB`: a size for people, in the binary units git's `k`, `m` and `g` stand for."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
