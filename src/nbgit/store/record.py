"""The clean side: remember the work-tree bytes of each notebook git cleans, keyed by its cleaned blob.

git runs the clean filter whenever it reads a work-tree notebook (`add`, `commit -a`, `stash`, `status`
after a touch): that is when the outputs are seen. The bytes are kept exactly, so the smudge can
write back what the user had, byte for byte, as what they add to the blob (`skeleton`): lines the
blob has are not kept twice, and long lines are objects shared by every version. A record that is
already there costs a hash, a checksum and one small read: nothing is written twice.

A record also answers the clean itself: bytes recorded last at a path (`git status` after a save
that changed nothing) rebuild their blob from the skeleton without being cleaned again.
"""

from __future__ import annotations

import functools

from nbgit.policy import Policy
from nbgit.store import history, skeleton
from nbgit.store.disk import Record, Store, checksum, digest, pack


def fingerprint(policy: Policy) -> str:
    """What decides how a notebook cleans: nbgit's version and the cleaning keys of the path's policy.

    A record made under the same fingerprint cleans to its blob by construction; any other is cleaned
    again before it is trusted.
    """
    return _fingerprint(policy._replace(exclude=(), overrides=(), sections=None, source="", restore_outputs=True))


@functools.lru_cache(maxsize=16)
def _fingerprint(cleaning: Policy) -> str:
    from nbgit import __version__

    return digest(f"{__version__}\0{cleaning!r}".encode())[:16]


def record(store: Store, path: str, worktree: bytes, cleaned: bytes, made_by: str) -> None:
    """Remember that `worktree` (at repo-relative `path`) cleans to `cleaned` under fingerprint `made_by`,
    writing only what the store does not hold yet."""
    key = store.key(cleaned)
    known = store.record(key)
    kept = checksum(worktree)
    if known is not None and (known.checksum, known.size, known.fingerprint) == (kept, len(worktree), made_by):
        history.remember(store, path, key)  # seen before, maybe at another path (a copy): nothing is written twice
        return
    encoded = skeleton.encode(worktree, cleaned)
    for name, line in encoded.objects:
        store.put_object(name, line)
    store.put_record(key, Record(made_by, kept, len(worktree), pack(encoded.skeleton), digest(worktree), encoded.recipe))
    history.remember(store, path, key)


LOOKED_AT = 2  # versions of a path whose records are asked whether they hold the bytes to clean


def cleaned_before(store: Store, path: str, worktree: bytes, made_by: str) -> bytes | None:
    """The blob `worktree` cleans to under fingerprint `made_by`, when it is one of the last versions
    recorded at `path`: made of `worktree` by the record's recipe once its digest says these are the
    very bytes, and checked against git's id of the blob, the record's own name; None otherwise."""
    mine = None
    for key in history.recent(store, path)[:LOOKED_AT]:
        known = store.record(key)
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
