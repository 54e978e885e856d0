"""`nbgit restore`: the outputs this clone kept, put back into work-tree notebooks that are exactly as committed.

A notebook comes out of git without its outputs when nbgit could not give them back at the time:
the filter broken or missing (a deleted virtualenv, a GUI client that does not find nbgit), `git -c
nbgit.restore=false`, outputs cleared by mistake. Only a notebook whose file holds the very bytes of
its index entry's blob is written (it holds nothing git does not: nothing can be lost), and only with
what cleans back to that blob; any other is left alone. The files written then have their stat data
recorded as `nbgit refresh` records it (their outputs kept anew), so that `git status` stays as it was.

`nbgit status` names the notebooks this would most likely write (`missing_outputs`), cheaply: sizes
first, then bytes, then whether the store holds more than the blob for them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import FileChanged, Snapshot, read_file, write_atomic
from nbgit.filter import Cleaner, own_policy
from nbgit.gitrepo import IndexEntry, WorkTree
from nbgit.progress import warn
from nbgit.install.inspect import Finding
from nbgit.store import eol
from nbgit.store.location import clone_settings
from nbgit.worktree.refresh import REGULAR_MODES, names, refresh


class Outcome(NamedTuple):
    """Repo-relative paths: outputs put back (or, on a dry run, that would be), notebooks as committed for
    which this clone holds nothing more, notebooks that are not as committed (left alone), and those that
    changed while being worked on (left as they are now)."""

    restored: list[str]
    nothing_kept: list[str]
    differ: list[str]
    unsettled: list[str]


class AsCommitted(NamedTuple):
    """A notebook whose file is its index blob to the byte: the entry, and the file as read."""

    entry: IndexEntry
    seen: Snapshot


def put_back(cwd: Path, paths: list[str], dry_run: bool = False, wait: float = 5.0, renamed_from: dict[str, str] | None = None) -> Outcome:
    """Put back the outputs of every notebook under `paths` (relative to `cwd`; none: the whole work tree)
    that git's filter runs nbgit on and whose file is its index blob to the byte. NbgitError outside a
    work tree, when the policy is broken or when this clone keeps no outputs.

    `renamed_from` (repo-relative new path -> old path: renames git's last merge or checkout made): only
    those notebooks, with the outputs kept at their old paths."""
    tree = gitrepo.work_tree(cwd)
    if not clone_settings(tree.root).enabled:
        raise NbgitError("this clone keeps no outputs (nbgit.restore is false), so it has none to put back",
                         "`nbgit install --restore` keeps them from the next time git reads each notebook")
    cleaner = Cleaner.for_directory(tree.root)
    if cleaner.problem is not None:
        raise cleaner.problem
    specs = [os.path.relpath(Path(cwd, path).absolute(), tree.root) for path in paths]
    found, differ = as_committed(tree, specs)
    outcome = Outcome([], [], differ, [])
    for entry, seen in found:
        own = own_policy(entry.path, cleaner.policy)[0]
        if own is None or cleaner.keeper is None or (renamed_from is not None and entry.path not in renamed_from):
            data = seen.data
        elif renamed_from is not None:
            data = cleaner.keeper.restore_renamed(entry.path, renamed_from[entry.path], seen.data, own)
        else:
            data = cleaner.keeper.restore_asked(entry.path, seen.data, own)
        if data == seen.data:
            outcome.nothing_kept.append(entry.path)
            continue
        try:
            if not dry_run:
                write_atomic(tree.root / entry.path, data, expected=seen)
            outcome.restored.append(entry.path)
        except FileChanged:
            outcome.unsettled.append(entry.path)
        except NbgitError as error:  # (a read-only file system, a folder without write permission)
            warn(f"{error.message}; its outputs were not put back", error.hint)
    if outcome.restored and not dry_run:
        recorded = refresh(tree.root, outcome.restored, wait, literal=True)
        outcome.unsettled.extend(recorded.unsettled + recorded.changed)  # (saved again since it was written)
    return outcome


def findings(cwd: Path) -> list[Finding]:
    """`nbgit status`'s note on the notebooks as committed while this clone keeps outputs for them (none
    when there are none, or when they cannot be told: a broken policy is said elsewhere)."""
    try:
        missing = missing_outputs(cwd)
    except NbgitError:
        return []
    if not missing:
        return []
    return [Finding("worktree", "note", f"{len(missing)} notebook(s) are as committed, without the outputs this clone keeps for them: {names(missing)} (`nbgit restore` puts them back)")]


def missing_outputs(cwd: Path) -> list[str]:
    """The notebooks of the work tree exactly as committed for which this clone keeps a version with more
    (its outputs, or the version a bare one replaced): what `nbgit restore` would write, barring a record
    that no longer cleans to its blob. Empty where the store is off."""
    from nbgit.store.disk import Store
    from nbgit.store.history import path_name
    from nbgit.store.location import store_dir, worktree_name
    from nbgit.store.record import aside_key, belongs, recorded

    tree = gitrepo.work_tree(cwd)
    settings, directory = clone_settings(tree.root), store_dir(tree.root)
    if not settings.enabled or directory is None or not directory.is_dir():
        return []
    store = Store(directory, settings.object_format, worktree_name(tree.root))
    missing = []
    for entry, seen in as_committed(tree, [])[0]:
        origin = path_name(entry.path, store.worktree)
        key = store.key(seen.data) if eol.crlf_first(seen.data) else entry.blob  # (the CRLF form a checkout wrote: what the filter recorded)
        known = recorded(store, origin, key)[1]
        if known is None or not belongs(known, origin) or known.size == len(seen.data):
            known = store.record(aside_key(origin, key))
        if known is not None and known.size != len(seen.data):
            missing.append(entry.path)
    return missing


def as_committed(tree: WorkTree, specs: list[str]) -> tuple[list[AsCommitted], list[str]]:
    """The notebooks under `specs` (pathspecs from the top of the work tree; none: all) that git's filter
    runs nbgit on, split into those whose file is exactly their index blob (or, where git converts line
    endings, its CRLF form: what a checkout writes) and the paths of the others (edited, run, saved in
    another layout, deleted). Only files of the blob's size are read (where git converts line endings,
    also those of its CRLF form's size, told once the blobs of the larger files are read)."""
    entries = [entry for entry in gitrepo.index_entries(specs, tree.root, sparse=True) if entry.mode in REGULAR_MODES and not entry.outside]
    filtered = gitrepo.filtered_paths([entry.path for entry in entries], "nbgit", tree.root)
    entries = [entry for entry in entries if entry.path in filtered]
    present, differ = {}, []
    for entry in entries:
        try:
            present[entry.path] = os.lstat(tree.root / entry.path).st_size
        except OSError:  # (deleted; outside a sparse checkout)
            differ.append(entry)
    sizes = gitrepo.blob_sizes([entry.blob for entry in entries if entry.path in present], tree.root)
    larger = [entry.path for entry in entries if entry.path in present and present[entry.path] > sizes.get(entry.blob, present[entry.path])]
    converted = eol.converting(tree.root, larger)  # (written by a checkout with CRLF line endings, maybe)
    sized = []
    for entry in entries:
        if entry.path in present:
            (sized if present[entry.path] == sizes.get(entry.blob) or entry.path in converted else differ).append(entry)
    blobs = gitrepo.read_blobs([entry.blob for entry in sized], tree.root)
    found = []
    for entry in sized:
        blob = blobs.get(entry.blob)
        if blob is None or present[entry.path] not in (len(blob), len(blob) + blob.count(b"\n")):
            differ.append(entry)  # (larger than its CRLF form too)
            continue
        try:
            seen = read_file(tree.root / entry.path)
        except NbgitError:  # (no longer a file: git lists it)
            seen = None
        if seen is not None and (seen.data == blob or entry.path in converted and eol.plain_lf_form(seen.data) == blob):
            found.append(AsCommitted(entry, seen))
        else:
            differ.append(entry)
    order = {entry.path: place for place, entry in enumerate(entries)}
    return found, sorted((entry.path for entry in differ), key=order.__getitem__)
