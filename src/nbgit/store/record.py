"""The clean side: remember the work-tree bytes of each notebook git cleans, keyed by its cleaned blob.

git runs the clean filter whenever it reads a work-tree notebook (`add`, `commit -a`, `stash`, `status`
after a touch): that is when the outputs are seen. The bytes are kept exactly, so the smudge can
write back what the user had, byte for byte, as what they add to the blob (`skeleton`): lines the
blob has are not kept twice, and long lines are objects shared by every version. A record that is
already there costs a hash, a checksum and one small read: nothing is written twice.

A record also answers the clean itself: bytes recorded last at a path (`git status` after a save
that changed nothing) rebuild their blob from the skeleton without being cleaned again.

A record belongs to the path it was recorded at, in the work tree it was recorded in (its origin:
`history.path_name`; linked worktrees share the store). Two paths whose notebooks clean to one blob
(an analysis copied into two folders, each run on its own data; one notebook run in two work trees)
each keep their own: the blob's record is the first path's, and another path's version of that blob
is a record named by the path and the blob (`own_key`), so that neither ever comes back with the
other's outputs. A path this clone never recorded (a copy arriving) gets the blob's record (see
`restore.exact_version`). Where a path's bytes are the very bytes of the blob's record (a copied
notebook nobody ran since, copies run again alike), its own record is a hard link to that one: no
bytes are written, and the link keeps them when the other path records anew.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from nbgit.policy import Policy
from nbgit.store import eol, history, skeleton
from nbgit.store.disk import Record, Store, checksum, digest, pack


def fingerprint(policy: Policy) -> str:
    """What decides how a notebook cleans: nbgit's version and the cleaning keys of the path's policy.

    A record made under the same fingerprint cleans to its blob by construction; any other is cleaned
    again before it is trusted. The last policy asked about is answered without a look at its keys
    (the filter asks once per notebook, mostly about one policy: 10 µs saved each time).
    """
    last_policy, last = _last_fingerprint
    if policy is last_policy:
        return last
    found = _fingerprint(policy._replace(exclude=(), overrides=(), sections=None, source="", restore_outputs=True))
    _last_fingerprint[:] = policy, found
    return found


_last_fingerprint: list[Any] = [None, ""]  # the last policy `fingerprint` was asked about (policies are immutable) and its answer


@functools.lru_cache(maxsize=16)
def _fingerprint(cleaning: Policy) -> str:
    from nbgit import __version__

    return digest(f"{__version__}\0{cleaning!r}".encode())[:16]


def record(store: Store, path: str, worktree: bytes, cleaned: bytes, made_by: str, read_at: int | None = None) -> None:
    """Remember that `worktree` (at repo-relative `path`) cleans to `cleaned` under fingerprint `made_by`,
    writing only what the store does not hold yet.

    `read_at` is when git handed the bytes over (or nbgit read them), in nanoseconds since the epoch (now
    when not given). Two git commands at once may record out of order (one's worker slower than the
    other's): where this path's version of that blob was read later, nothing is written, its history
    included; versions of other blobs read later stay before it in the path's history."""
    read_at = time.time_ns() if read_at is None else read_at
    key = store.key(cleaned)
    origin = history.path_name(path, store.worktree)
    name, known = recorded(store, origin, key)
    if known is not None and belongs(known, origin) and known.read_at > read_at:
        return
    eol.note(store, key, cleaned)  # (where git converts line endings: the blob it stores of a CRLF version)

    def read_later(other: str) -> bool:  # (a version of this path another process recorded first)
        found = recorded(store, origin, other)[1]
        return found is not None and found.read_at > read_at

    kept = checksum(worktree)
    version = (kept, len(worktree), made_by)
    if known is not None and belongs(known, origin) and (known.checksum, known.size, known.fingerprint) == version:
        history.remember(store, path, key, read_later)  # seen before: nothing is written twice
        return
    if name == key and known is not None and not belongs(known, origin):
        name, blobs = own_key(origin, key), known  # another path's version of this blob: this path keeps its own beside it
    else:
        blobs = store.record(key) if name != key else None  # (the blob's record, when this path keeps its own)
    if (blobs is not None and (blobs.checksum, blobs.size, blobs.fingerprint) == version and blobs.digest == digest(worktree)
            and store.link("notebooks", key, name)):
        history.remember(store, path, key, read_later)  # the very bytes of the blob's record: shared, never copied
        return
    if known is not None and belongs(known, origin) and worktree == cleaned and not _bare(known, cleaned):
        store.write("notebooks", aside_key(origin, key), known.encode())  # (for `nbgit restore`: see `aside_key`)
    encoded = skeleton.encode(worktree, cleaned)
    for object_name, line in encoded.objects:
        store.put_object(object_name, line)
    if store.put_record(name, Record(made_by, kept, len(worktree), pack(encoded.skeleton), digest(worktree), encoded.recipe, origin, read_at)):
        history.remember(store, path, key, read_later)


def aside_key(origin: str, key: str) -> str:
    """The name of the record of the path named `origin` for blob `key` that a bare version of that blob
    (the blob's very bytes: no outputs) replaced, kept aside for `nbgit restore`.

    A checkout that wrote notebooks as committed (nbgit broken or missing meanwhile, `git -c
    nbgit.restore=false`) is read back by the next `git status` as a new version, which checkouts then
    give back as it is: outputs cleared on purpose must stay cleared. The outputs it replaced are not
    thrown away: asked for by name, they come back."""
    return digest(f"{origin} {key} aside".encode("ascii"))


def _bare(known: Record, cleaned: bytes) -> bool:
    """Whether a record holds nothing but its blob (`cleaned`)."""
    return known.size == len(cleaned) and known.digest == digest(cleaned)


def own_key(origin: str, key: str) -> str:
    """The name of the record of the path named `origin` for blob `key`, kept beside another path's record of that blob."""
    return digest(f"{origin} {key}".encode("ascii"))


def recorded(store: Store, origin: str, key: str) -> tuple[str, Record | None]:
    """Where the version of blob `key` of the path named `origin` is recorded, and its record: the path's
    own when it keeps one, else the blob's (which may be another path's: see `belongs`), else None."""
    own = own_key(origin, key)
    known = store.record(own)
    if known is not None:
        return own, known._replace(origin=origin)  # (by its name; a link to another path's record still names that one)
    return key, store.record(key)


def belongs(known: Record, origin: str) -> bool:
    """Whether a record is the version of the path named `origin` (records of earlier formats name no path: anyone's)."""
    return known.origin in ("", origin)


LOOKED_AT = 2  # versions of a path whose records are asked whether they hold the bytes to clean


def cleaned_before(store: Store, path: str, worktree: bytes, made_by: str) -> bytes | None:
    """The blob `worktree` cleans to under fingerprint `made_by`, when it is one of the last versions
    recorded at `path`: made of `worktree` by the record's recipe once its digest says these are the
    very bytes, and checked against git's id of the blob, the record's own name; None otherwise."""
    mine = None
    origin = history.path_name(path, store.worktree)
    for key in history.recent(store, path)[:LOOKED_AT]:
        known = recorded(store, origin, key)[1]
        if known is None or not known.recipe or known.size != len(worktree) or known.fingerprint != made_by:
            continue
        mine = mine or digest(worktree)
        if known.digest != mine:
            continue
        try:
            cleaned = skeleton.cleaned_from(known.recipe, worktree)
        except ValueError:
            continue  # damaged: the clean goes on, and rebuilding it on checkout removes it
        if store.key(cleaned) == key:
            return cleaned
    return None
