"""The clean side: remember the work-tree bytes of each notebook git cleans, keyed by the cleaned blob.

git runs the clean filter whenever it reads a work-tree notebook (`add`, `commit -a`, `stash`, `status`
after a touch): that is when the outputs are seen. The bytes are kept exactly, so the smudge can
write back what the user had, byte for byte. Versions share what they have in common: every line of
at least LONG_LINE bytes (an image, a long HTML or JSON line: most of a notebook's output bytes) is an
object of its own, stored once; the rest, the skeleton, is compressed into the record. A record that
is already there costs two hashes and two small reads: nothing is written twice.
"""

from __future__ import annotations

import re

from nbgit.store.disk import Record, Store, digest, pack
from nbgit.policy import Policy

LONG_LINE = 1024  # bytes
_LONG = re.compile(rb"^[^\n]{%d,}" % LONG_LINE, re.MULTILINE)


def fingerprint(policy: Policy) -> str:
    """What decides how a notebook cleans: nbgit's version and the cleaning keys of the path's policy.

    A record made under the same fingerprint cleans to its blob by construction; any other is cleaned
    again before it is trusted.
    """
    from nbgit import __version__

    cleaning = policy._replace(exclude=(), overrides=(), sections=None, source="", restore_outputs=True)
    return digest(f"{__version__}\0{cleaning!r}".encode())[:16]


def record(store: Store, path: str, worktree: bytes, cleaned: bytes, made_by: str) -> None:
    """Remember that `worktree` (at repo-relative `path`) cleans to `cleaned` under fingerprint `made_by`,
    writing only what the store does not hold yet."""
    key = digest(cleaned)
    known = store.record(key)
    kept = digest(worktree)
    if known is None or known.digest != kept or known.fingerprint != made_by:
        skeleton, objects = split(worktree)
        for name, piece in objects:
            store.put_object(name, piece)
        store.put_record(key, Record(made_by, kept, len(worktree), pack(skeleton)))
    store.remember(path, key)


def split(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The skeleton of `data` (each long line replaced by a NUL and its digest) and those lines by name.

    `data` is a notebook that parsed, and JSON text never holds a NUL (a raw control character is
    invalid JSON), so a NUL in the skeleton always marks an object.
    """
    objects: list[tuple[str, bytes]] = []

    def named(match: re.Match[bytes]) -> bytes:
        name = digest(match.group())
        objects.append((name, match.group()))
        return b"\0" + name.encode("ascii")

    return _LONG.sub(named, data), objects
