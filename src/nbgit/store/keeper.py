"""What the filter (the process and the one-shot command), `nbgit refresh`, `nbgit resolve` and `nbgit
restore` ask of the store: record on clean, restore on smudge.

It never fails git: any error is one warning, then this process goes on without the store (the
notebook git asked for is answered as if there were no store); after a record the disk refused (full,
read-only) it goes on without recording only: what the store holds still comes back. The store is opened on first use,
reading the clone's git config once; until then nothing but this module is imported (and the clean
core, which every caller has imported already).

What is written is counted into the store's size (and evicted past the limit) at once; a keeper
made with `count_at_exit` (the filter's: one process per git command, git waits for its end) counts
when its process exits, or each time it wrote a sixteenth of the limit, so that the size file is
rewritten once per git command rather than once per notebook (a rename over a file costs about a
millisecond on ext4). Long-running processes (Jupyter's save hook) and `nbgit.parallel`'s workers,
which end without exit handlers, count at once.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING, Callable, TypeVar

from nbgit.clean import drops_cells
from nbgit.errors import NbgitError
from nbgit.policy import Policy
from nbgit.progress import warn
from nbgit.store.foreign import may_be_unclean

if TYPE_CHECKING:
    from pathlib import Path

    from nbgit.store.disk import Store
    from nbgit.store.location import CloneSettings

T = TypeVar("T")
ACCOUNT_EVERY = 16  # with count_at_exit, what was written is counted at exit or each time it is this part of the limit
READ_KEPT = 16 << 20  # bytes of the notebooks git handed over that a keeper made `one_command` keeps (see `_blobs`)
CONTAINED = 3  # notebooks whose restore may fail on its own (each said) before the store is off for the process


def wanted(policy: Policy, path: str) -> bool:
    """Whether the store keeps and restores the notebook at `path` under `policy` (its own): see `uses_store`."""
    return uses_store(policy) and not policy.excludes(path)


def uses_store(policy: Policy) -> bool:
    """Whether the filter keeps what it takes from notebooks under `policy`, to give it back when git writes
    them out: when it strips outputs, or when it keeps them but drops cells (scratch cells, which
    would otherwise be lost to every pull, switch or stash), unless `restore_outputs` is false.

    A policy that keeps outputs and drops no cells leaves the store alone: what it strips (counts,
    editor metadata) is not worth a record per notebook git cleans.
    """
    return policy.restore_outputs and (policy.outputs == "strip" or drops_cells(policy))


class OutputKeeper:
    """The output store of the clone whose work tree is at `root`, as the filter uses it, and the clone's
    notes of the notebooks a checkout wrote as committed without nbgit (`notes_dir`), which every clone
    keeps, whether its output store is on or off (`nbgit.restore`)."""

    def __init__(self, root: Path | str, count_at_exit: bool = False, counted_by_caller: bool = False, one_command: bool = False) -> None:
        self.root = root  # a string from the one-shot filter, which skips pathlib until the store opens
        self._one_command = one_command  # lives as long as one git command (the process filter's): see `cleaned`
        self._count_at_exit = count_at_exit
        self._counted_by_caller = counted_by_caller  # (`written` and `count`: copies of it in worker processes write, the caller counts once)
        self._settings: CloneSettings | NbgitError | None = None  # (the error reading them gave, warned about once)
        self._warned = False
        self._outputs = _Opened()
        self._notes = _Opened()
        self._read: dict[str, bytes] = {}  # (one_command) the work-tree bytes git handed over last at each path: see `_blobs`
        self._read_size = 0
        self._failed = 0  # notebooks whose restore failed on its own (see `_guarded`)

    def clean(self, path: str, worktree: bytes, cleaned: bytes, policy: Policy, read_at: int | None = None) -> None:
        """Remember the work-tree bytes git just had cleaned (`policy` is the path's own), read at `read_at`
        (nanoseconds since the epoch; now when not given: see `record.record`)."""
        if wanted(policy, path) and not self._outputs.refused:
            from nbgit.store.record import fingerprint, record

            made_by = fingerprint(policy)
            self._guarded(lambda store: record(store, path, worktree, cleaned, made_by, read_at), recording=True)

    def keeps(self, path: str, policy: Policy) -> bool:
        """Whether `clean` may record anything of the notebook at `path` (`policy` is its own): the store
        keeps it (`wanted`), the clone has it on (`nbgit.restore`), and it has not failed or refused a
        record. The filter hands nothing over otherwise (the notes are written on smudge, never on clean).

        Reads the clone's settings (once), but does not open the store: a process filter that found no
        store looks nothing up in it until it opens it (`cleaned`). Settings that cannot be read say
        so when a record opens the store (one warning, as ever). Never raises."""
        if not wanted(policy, path) or self._outputs.refused or self._outputs.off:
            return False
        if self._outputs.store is not None:
            return True
        try:
            return self._clone().enabled
        except Exception:  # noqa: BLE001 - wrong settings (or a bug): the record that opens the store warns
            return True

    def cleaned(self, path: str, worktree: bytes, policy: Policy) -> bytes | None:
        """The blob `worktree` cleans to, when these are the bytes this clone recorded last at `path`
        (rebuilt from them, checked, without cleaning), or bytes a checkout wrote as committed without
        nbgit (the notes, `smudge`); None otherwise.

        A keeper made `one_command` looks nothing up in the output store while it was not there when it
        first looked and it has not opened it since (its own smudge opens it): records of bytes that do
        not clean to their blob come from smudges alone, and git runs no command that writes this work
        tree while another one does, so any record there then is of bytes cleaned since, which clean to
        it again. The first `git add` of a clone saves a history read per notebook (30-80 µs)."""
        if policy.excludes(path):
            return None
        self.handed_over(path, worktree, policy)
        if wanted(policy, path) and not (self._one_command and not self._stored_anything()):
            known = self._cleaned_before(path, worktree, policy)
            if known is not None:
                return known
        if not self._noted_anything() or not may_be_unclean(worktree, policy):
            return None
        return self._cleaned_before(path, worktree, policy, notes=True)

    def staged_as_is(self, path: str, worktree: bytes, policy: Policy) -> bool:
        """Whether `worktree`, which cleans to other bytes (`policy` is the path's own), is the very blob the
        index holds at `path` while it shows nothing the smudge's scan looks for (`may_be_unclean`): keys in
        an order of their own at Jupyter's indent, committed without nbgit. A checkout wrote it as committed
        and git must read it back as that blob, as the notes make it for what the scan finds (`smudge`);
        cleaning every clean-looking blob a checkout writes to find such ones would cost every checkout,
        reading the index when one is cleaned costs only these.

        One with CRLF line endings is looked at in its LF form: where git converts this path's line endings
        (`eol.converting`, asked of git then only), a checkout writes a blob so, and git stores that form.
        Never raises."""
        from nbgit.store import eol

        lf = eol.plain_lf_form(worktree)
        if may_be_unclean(worktree if lf is None else lf, policy):
            return False
        try:
            from pathlib import Path

            from nbgit.store.location import index_file
            from nbgit.worktree.index import blob_id, find_entries, read_index

            index = index_file(Path(self.root))
            if index is None:
                return False
            object_format = self._clone().object_format
            staged = find_entries(read_index(index)[0], object_format, [path]).entries.get(path)
            if staged is None or staged.blob == blob_id(worktree, object_format):
                return staged is not None
            return lf is not None and staged.blob == blob_id(lf, object_format) and path in eol.converting(Path(self.root), [path])
        except Exception:  # noqa: BLE001 - no index, a damaged one, one of a format nbgit does not read: cleaned as usual
            return False

    def _cleaned_before(self, path: str, worktree: bytes, policy: Policy, notes: bool = False) -> bytes | None:
        """`record.cleaned_before` in the store, or in the notes."""
        from nbgit.store.record import cleaned_before, fingerprint

        made_by = fingerprint(policy)
        return self._guarded(lambda store: cleaned_before(store, path, worktree, made_by), notes=notes)

    def smudge(self, path: str, blob: bytes, policy: Policy) -> bytes:
        """The bytes to write for `blob`: with the outputs this clone had, else `blob` itself. A blob
        committed without nbgit goes out as it is and is noted as written, so that git reads the file
        back as that blob (`restore.as_committed`), also where the store keeps no outputs (`wanted`)
        or the clone turned it off."""
        if policy.excludes(path):
            return blob
        if wanted(policy, path) and self._guarded(lambda store: store) is not None:
            from nbgit.store.restore import restore

            notes = self._guarded(lambda notes: notes, notes=True)
            restored = self._guarded(lambda store: restore(store, path, blob, policy, lambda ids: self._blobs(ids, path, policy), notes), notebook=path)
            self._account_notes()
            return blob if restored is None else restored
        if may_be_unclean(blob, policy):
            from nbgit.store.restore import as_committed

            self._guarded(lambda notes: as_committed(notes, path, blob, policy), recording=True, notes=True)
        return blob

    def restore_asked(self, path: str, blob: bytes, policy: Policy) -> bytes:
        """The bytes `nbgit restore` writes for a work-tree notebook that is `blob` itself: with the outputs
        this clone kept for it, also those a version without outputs replaced (`restore.restore_asked`)."""
        if not wanted(policy, path):
            return blob
        from nbgit.store.restore import restore_asked

        restored = self._guarded(lambda store: restore_asked(store, path, blob, policy, self._blobs), notebook=path)
        return blob if restored is None else restored

    def restore_renamed(self, path: str, old_path: str, blob: bytes, policy: Policy) -> bytes:
        """The bytes to write for a work-tree notebook that is `blob` itself, renamed from `old_path` by
        git's last merge or checkout: with the outputs this clone kept at `old_path` (`restore.restore_renamed`)."""
        if not wanted(policy, path):
            return blob
        from nbgit.store.restore import restore_renamed

        restored = self._guarded(lambda store: restore_renamed(store, path, old_path, blob, policy, self._blobs), notebook=path)
        return blob if restored is None else restored

    def _blobs(self, ids: list[str], path: str | None = None, policy: Policy | None = None) -> list[bytes | None]:
        """Blobs by git's ids, from the repository (None for those it does not have: a version `git status`
        or `git diff` cleaned was never stored, and a partial clone's remote is never asked for one).

        With `path` and its `policy`: one git does not have may be what the bytes this command handed
        over at `path` clean to. `git apply` (which `git checkout -p`, `git restore -p` and `git stash
        push -p` run to take hunks out of a notebook) cleans the notebook, patches that and writes the
        result out, a blob it never stores: the version it read, outputs and all, is the newest one the
        cells it left alone come back from, and its blob exists nowhere but here."""
        from nbgit import gitrepo

        found = gitrepo.revision_files(self.root, ids, local_only=True)
        read = self._read.get(path) if path is not None and policy is not None else None
        if read is not None and policy is not None and None in found:
            from nbgit.clean import clean_bytes
            from nbgit.worktree.index import blob_id

            try:
                cleaned = clean_bytes(read, path or "", policy)
            except NbgitError:
                return found
            named = blob_id(cleaned, self._clone().object_format)
            found = [cleaned if blob is None and key == named else blob for key, blob in zip(ids, found)]
        return found

    def handed_over(self, path: str, worktree: bytes, policy: Policy) -> None:
        """git handed the filter `worktree` at `path` (`policy` is the path's own): a keeper made `one_command`
        keeps the bytes for `_blobs`, the last ones per path, up to READ_KEPT bytes in all (the oldest go
        first: a `git add` of many big notebooks holds no more). (`cleaned` says it of what it is asked.)"""
        if not self._one_command or policy.excludes(path) or not wanted(policy, path):
            return
        self._read_size -= len(self._read.pop(path, b""))
        self._read[path] = worktree
        self._read_size += len(worktree)
        while self._read_size > READ_KEPT and len(self._read) > 1:
            oldest = next(iter(self._read))
            self._read_size -= len(self._read.pop(oldest))

    def _stored_anything(self) -> bool:
        """Whether this clone's output store exists: looked at once per process, without opening it."""
        if self._outputs.store is None and self._outputs.exists is None:
            from pathlib import Path

            from nbgit.store.location import store_dir

            directory = store_dir(Path(self.root))
            self._outputs.exists = directory is not None and directory.is_dir()
        return self._outputs.store is not None or bool(self._outputs.exists)

    def _noted_anything(self) -> bool:
        """Whether this clone keeps notes at all (a checkout wrote a notebook committed without nbgit):
        looked at once per process, without opening them, so that a clone where that never happened
        pays nothing."""
        if self._notes.store is None and self._notes.exists is None:
            from pathlib import Path

            from nbgit.store.location import notes_dir

            directory = notes_dir(Path(self.root))
            self._notes.exists = directory is not None and directory.is_dir()
        return self._notes.store is not None or bool(self._notes.exists)

    @property
    def written(self) -> int:
        """The bytes this keeper wrote into the store in this process so far."""
        return self._outputs.store.written if self._outputs.store is not None else 0

    def count(self, written: int) -> None:
        """Count `written` bytes into the store's size (evicting past its limit): what copies of a keeper
        made `counted_by_caller` wrote in the processes that judged notebooks (`nbgit refresh`), once
        rather than a size file rewritten per record (about 0.3 ms each)."""
        if written:
            from nbgit.store.evict import account

            self._guarded(lambda store: account(store, written, self._outputs.limit))

    def flush(self) -> None:
        """Count what this process wrote into the store's size now (a forked worker exits without running
        exit handlers)."""
        if self._outputs.store is not None:
            self._guarded(lambda store: self._account(store, self._outputs))

    def _clone(self) -> CloneSettings:
        """The clone's settings, read once (one git process); NbgitError each time when they are wrong."""
        if self._settings is None:
            from pathlib import Path

            from nbgit.store.location import clone_settings

            try:
                self._settings = clone_settings(Path(self.root))
            except NbgitError as error:
                self._settings = error
        if isinstance(self._settings, NbgitError):
            raise self._settings
        return self._settings

    def _opened(self, notes: bool) -> Store | None:
        """The output store, or the notes of the notebooks written as committed (never any outputs: see
        `notes_dir`), opened on first use (the clone's settings read once); None when the clone turned
        the store off (`nbgit.restore`) or it failed."""
        opened = self._notes if notes else self._outputs
        if opened.off:
            return None
        if opened.store is None:
            from pathlib import Path

            from nbgit.store.disk import Store
            from nbgit.store.location import (
                NOTES_LIMIT,
                notes_dir,
                store_dir,
                worktree_name,
            )

            root = Path(self.root)
            settings = self._clone()
            directory = notes_dir(root) if notes else store_dir(root)
            if directory is None or not (notes or settings.enabled):
                opened.off = True
                return None
            opened.store = Store(directory, settings.object_format, worktree_name(root))
            opened.limit = NOTES_LIMIT if notes else settings.limit
        return opened.store

    def _guarded(self, work: Callable[[Store], T], recording: bool = False, notes: bool = False, notebook: str | None = None) -> T | None:
        """`work` done on the store (or the notes), None when it failed: one warning, then this process goes
        on without it; where the disk refused a record (full, read-only), without recording only (`Store.refused`).

        The restore of one `notebook` that fails otherwise than on the disk (a notebook or record that
        trips a bug) costs that notebook alone its outputs, said by name: the others git writes in the
        same command keep theirs (and are not taken for versions without outputs by the next `git
        status`), up to `CONTAINED` such notebooks a process."""
        opened = self._notes if notes else self._outputs
        try:
            store = self._opened(notes)
            if store is None:
                return None
            try:
                result = work(store)
            except OSError as error:
                if not recording:
                    raise
                opened.refused = True
                store.refused(error)
                return None
            except Exception as error:
                if notebook is None or self._failed >= CONTAINED:
                    raise
                self._failed += 1
                warn(f"{notebook}: keeping outputs failed ({type(error).__name__}: {error}); it goes out without them, the other notebooks with theirs")
                return None
            self._account_later(store, opened)
            return result
        except Exception as error:  # noqa: BLE001 - the store must never cost git a file
            opened.off = True
            if error is not self._settings or not self._warned:  # (wrong settings cost the store and the notes: said once)
                self._warned = True
                why = f"{error.message} ({error.hint})" if isinstance(error, NbgitError) else f"{type(error).__name__}: {error}"
                warn(f"keeping outputs failed: {why}; notebooks go in and out without them for the rest of this command")
            return None

    def _account_notes(self) -> None:
        """Count what a restore wrote into the notes (`restore.as_committed`)."""
        if self._notes.store is not None:
            self._guarded(lambda notes: None, notes=True)

    def _account_later(self, store: Store, opened: _Opened) -> None:
        """Count what was written into `store` now, or when this process exits (see the module's docstring)."""
        unaccounted = 0 if self._counted_by_caller and opened is self._outputs else store.written - opened.accounted
        if unaccounted > (opened.limit // ACCOUNT_EVERY if self._count_at_exit else 0):
            self._account(store, opened)
        elif unaccounted and not opened.counting_at_exit:
            opened.counting_at_exit = True
            atexit.register(self._guarded, lambda again: self._account(again, opened), notes=opened is self._notes)

    @staticmethod
    def _account(store: Store, opened: _Opened) -> None:
        """Count what this process wrote since it last counted into the store's size (evicting past the limit)."""
        if store.written > opened.accounted:
            from nbgit.store.evict import account

            account(store, store.written - opened.accounted, opened.limit)
            opened.accounted = store.written


class _Opened:
    """One store as a keeper holds it: opened on first use, its limit, what was counted of what it wrote,
    whether it is off for the rest of the process (or refuses records only)."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.limit = 0
        self.accounted = 0
        self.counting_at_exit = False
        self.off = False
        self.refused = False  # the disk refused a record: nothing more is recorded, what the store holds still comes back
        self.exists: bool | None = None  # whether its folder exists (`_stored_anything`, `_noted_anything`), before it is opened
