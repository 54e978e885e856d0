"""`nbgit restore`: the outputs this clone kept, put back into work-tree notebooks that are exactly as committed.

A notebook comes out of git without its outputs when nbgit could not give them back at the time:
the filter broken or missing (a deleted virtualenv, a GUI client that does not find nbgit), `git -c
nbgit.restore=false`, outputs cleared by mistake. Only a notebook whose file holds the very bytes of
its index entry's blob is written (it holds nothing git does not: nothing can be lost), and only with
what cleans back to that blob; any other is left alone. The files written then have their stat data
recorded as `nbgit refresh` records it (their outputs kept anew), so that `git status` stays as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import FileChanged, read_file, write_atomic
from nbgit.filter import Cleaner, own_policy
from nbgit.store.location import clone_settings
from nbgit.worktree.refresh import REGULAR_MODES, refresh


class Outcome(NamedTuple):
    """Repo-relative paths: outputs put back (or, on a dry run, that would be), notebooks as committed for
    which this clone holds nothing more, notebooks that are not as committed (left alone), and those that
    changed while being worked on (left as they are now)."""

    restored: list[str]
    nothing_kept: list[str]
    differ: list[str]
    unsettled: list[str]


def put_back(cwd: Path, paths: list[str], dry_run: bool = False, wait: float = 5.0) -> Outcome:
    """Put back the outputs of every notebook under `paths` (relative to `cwd`; none: the whole work tree)
    that git's filter runs nbgit on and whose file is its index blob to the byte. NbgitError outside a
    work tree, when the policy is broken or when this clone keeps no outputs."""
    tree = gitrepo.work_tree(cwd)
    if not clone_settings(tree.root).enabled:
        raise NbgitError("this clone keeps no outputs (nbgit.restore is false), so it has none to put back",
                         "`nbgit install --restore` keeps them from the next time git reads each notebook")
    cleaner = Cleaner.for_directory(tree.root)
    if cleaner.problem is not None:
        raise cleaner.problem
    specs = [os.path.relpath(Path(cwd, path).absolute(), tree.root) for path in paths]
    entries = [entry for entry in gitrepo.index_entries(specs, tree.root) if entry.mode in REGULAR_MODES]
    filtered = gitrepo.filtered_paths([entry.path for entry in entries], "nbgit", tree.root)
    entries = [entry for entry in entries if entry.path in filtered]
    blobs = gitrepo.read_blobs(list({entry.blob for entry in entries}), tree.root)
    outcome = Outcome([], [], [], [])
    for entry in entries:
        blob = blobs[entry.blob]
        try:
            seen = read_file(tree.root / entry.path)
        except NbgitError:  # (deleted, or no longer a file: git lists it)
            outcome.differ.append(entry.path)
            continue
        if seen.data != blob:
            outcome.differ.append(entry.path)
            continue
        own = own_policy(entry.path, cleaner.policy)[0]
        data = cleaner.keeper.restore_asked(entry.path, blob, own) if own is not None and cleaner.keeper is not None else blob
        if data == blob:
            outcome.nothing_kept.append(entry.path)
            continue
        try:
            if not dry_run:
                write_atomic(tree.root / entry.path, data, expected=seen)
            outcome.restored.append(entry.path)
        except FileChanged:
            outcome.unsettled.append(entry.path)
    if outcome.restored and not dry_run:
        recorded = refresh(tree.root, outcome.restored, wait, literal=True)
        outcome.unsettled.extend(recorded.unsettled + recorded.changed)  # (saved again since it was written)
    return outcome
