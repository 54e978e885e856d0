"""The clean side: remember the work-tree bytes of each notebook git cleans, keyed by its cleaned blob.

git runs the clean filter whenever it reads a work-tree notebook (`add`, `commit -a`, `stash`, `status`
after a touch): that is when the outputs are seen. The bytes are kept exactly, so the smudge can
write back what the user had, byte for byte, as what they add to the blob (`skeleton`): lines the
blob has are not kept twice, and long lines are objects shared by every version. A record that is
already there costs a hash, a checksum and one small read: nothing is written twice.
"""

from __future__ import annotations

import functools

from nbgit.policy import Policy
from nbgit.store import skeleton
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
        return  # seen before: its path's history already has it
    held, objects = skeleton.encode(worktree, cleaned)
    for name, line in objects:
        store.put_object(name, line)
    store.put_record(key, Record(made_by, kept, len(worktree), pack(held)))
    store.remember(path, key)
