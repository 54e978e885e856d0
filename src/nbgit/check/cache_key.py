"""The secret that seals `nbgit check`'s cache files where others can write them.

The folder `$NBGIT_CACHE_DIR` names (a CI cache, a folder shared on a machine) is written by more than
this clone: whoever can write there could craft a cache file whose checksum is right, and a
fingerprint index under nbgit's version (which anyone can read) plants fingerprints that hide a copy
or invent one. So files there are sealed with an HMAC under a secret: `$NBGIT_CACHE_KEY` when set
(a CI secret: the caches a CI run restores keep working from run to run), else a random key this
clone keeps in git's common directory (`nbgit/cache-key`, readable by its owner only), which nobody
writing to the shared folder knows. A CI run without the secret is a fresh clone with a fresh key:
it reads no cache file an earlier run left (it costs time, never a verdict). The clone's own folder
(`nbgit/` under git's common directory) needs no secret: whoever can write there can change git's
hooks too.
"""

from __future__ import annotations

import os
from pathlib import Path

KEY_ENV = "NBGIT_CACHE_KEY"  # a secret: cache files are sealed with an HMAC under it instead of a checksum
CLONE_KEY_FILE = "cache-key"  # in `nbgit/` under git's common directory
KEY_BYTES = 32


def given_key() -> bytes | None:
    """`$NBGIT_CACHE_KEY` as bytes, None when unset or empty."""
    key = os.environ.get(KEY_ENV)
    return key.encode("utf-8", "surrogateescape") if key else None


def clone_key(root: Path | None) -> bytes | None:
    """This clone's own random key, made on first use; None outside a repository or when git's directory
    cannot hold it (no cache is then used in a shared folder)."""
    if root is None:
        return None
    from nbgit.store.location import common_dir

    common = common_dir(root)  # (read from .git, as git does: no git process)
    if common is None:
        return None
    path = common / "nbgit" / CLONE_KEY_FILE
    try:
        return _read_key(path) or _make_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    """The key kept at `path`, None when there is none of the right length there."""
    from nbgit.errors import NbgitError
    from nbgit.files import read_file

    try:
        key = read_file(path, KEY_BYTES).data
    except NbgitError:
        return None
    return key if len(key) == KEY_BYTES else None


def _make_key(path: Path) -> bytes | None:
    """A new random key written at `path`, readable by its owner only; the key another run made first
    when it won the race (a file linked in whole, so never read half written)."""
    key = os.urandom(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        try:
            os.link(temporary, path)
        except FileExistsError:  # another run made one, or a damaged one is there: use it or replace it
            kept = _read_key(path)
            if kept is not None:
                return kept
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return key
