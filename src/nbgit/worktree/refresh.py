"""`nbgit refresh`: git stops listing notebooks whose only changes are ones nbgit's filter strips.

After a notebook is re-run with no source change, its size differs from the size the index
recorded, and git lists it as modified without running the clean filter at all (read-cache's size
check). `git add` would store the very same blob and only record the file's new stat data; this
module records that stat data and never touches a blob, in three steps:

1. list: `git diff-files` names the entries whose stat data no longer matches (git's own test), and
   only those git runs nbgit's clean filter on are kept (`git check-attr`, the filter's config);
2. judge, holding no lock (the costly part, on every core when there are many): read each file
   between two stats (a file that changes while it is read is left alone), clean it with the
   filter's own code and policy, and name the result as git names blobs: equal to the entry's blob
   means `git add` would store the same blob;
3. record, holding the index lock: an entry changes only while it still holds the judged blob and
   its file still has the stat data seen when it was judged, and only its stat data changes. A
   file saved after that has other stat data than the one recorded, so git lists it again; one
   saved within the same clock tick is "racily clean" to git, which then compares its content.
   Every other entry is copied as it is, except that those racily clean against the index read
   and found modified are smudged, as git smudges them when it writes an index: the later index
   would hide their changes.
"""

from __future__ import annotations

import functools
import os
import stat
import time
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.filter import Cleaner, clean_blob
from nbgit.parallel import map_on_all_cores
from nbgit.policy import Policy
from nbgit.store import eol
from nbgit.store.keeper import OutputKeeper
from nbgit.terminal import one_line
from nbgit.worktree.index import Entry, Found, IndexLock, blob_id, find_entries, racily_clean, read_index, stat_matches, with_stat

UNCHANGED, CHANGED, UNSETTLED = "unchanged", "changed", "unsettled"
CONVERTED = "converted"  # (while judging) unchanged once git converts its CRLF line endings, if it does: `_as_git_stores`
REGULAR_MODES = ("100644", "100755")
JUDGED_PER_WORKER = 100  # one more worker process per this many notebooks (a few ms each)
NAMED_RACY = 100  # racily clean entries that `git diff-files` is given by name rather than the whole work tree
SHOWN = 10  # paths named in one line of a report before "and N more"


class Verdict(NamedTuple):
    """What judging one listed notebook found: UNCHANGED (cleaned, it is the entry's blob), CHANGED
    (a real change) or UNSETTLED (it changed while being read, or could not be read)."""

    path: str
    blob: str  # the index entry's blob it was compared with
    state: str
    stat: os.stat_result | None  # the file's stat data as read (UNCHANGED only)
    written: int = 0  # bytes keeping its outputs wrote into the store (counted into its size once all are judged)


class Outcome(NamedTuple):
    """Repo-relative paths: stat data recorded, really changed, and left alone (changing, or the index moved on)."""

    refreshed: list[str]
    changed: list[str]
    unsettled: list[str]


def judge(cwd: Path, paths: list[str], literal: bool = False) -> tuple[gitrepo.WorkTree, list[Verdict]]:
    """The work tree, and a verdict for every notebook under `paths` (pathspecs relative to `cwd`)
    that git lists as modified and runs nbgit's clean filter on. NbgitError outside a work tree or
    when the policy is broken."""
    tree = gitrepo.work_tree(cwd)
    listed = [
        change
        for change in gitrepo.stat_dirty(paths, cwd, literal)
        if change.status == "M" and change.old_mode == change.new_mode and change.old_mode in REGULAR_MODES
    ]
    filtered = gitrepo.filtered_paths([c.new_path for c in listed if c.new_path], "nbgit", tree.root)
    jobs = [(c.new_path, c.old_blob) for c in listed if c.new_path in filtered and c.old_blob]
    if not jobs:
        return tree, []
    cleaner = Cleaner.for_directory(tree.root)
    if cleaner.problem is not None:
        raise cleaner.problem
    keeper = OutputKeeper(tree.root, counted_by_caller=True)
    verdicts = map_on_all_cores(functools.partial(_judge_one, tree.root, cleaner.policy, tree.object_format, keeper), jobs, JUDGED_PER_WORKER)
    keeper.count(sum(verdict.written for verdict in verdicts))  # what every process wrote, counted once
    return tree, _as_git_stores(tree.root, verdicts)


def _as_git_stores(root: Path, verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts, those CONVERTED made UNCHANGED where git converts the path's CRLF line endings when
    it stores it (`core.autocrlf`, `text`, `eol`: `eol.converts`), CHANGED elsewhere (git would store
    the CRLF form: a change of line endings). One `git check-attr` and one `git config` in all, asked
    only when some notebook is saved with CRLF line endings (`eol.converting`)."""
    stored_lf = eol.converting(root, [verdict.path for verdict in verdicts if verdict.state == CONVERTED])
    return [
        verdict if verdict.state != CONVERTED
        else verdict._replace(state=UNCHANGED) if verdict.path in stored_lf
        else verdict._replace(state=CHANGED, stat=None)
        for verdict in verdicts
    ]


def refresh(cwd: Path, paths: list[str], wait: float, literal: bool = False) -> Outcome:
    """Record the current stat data of every listed notebook that is unchanged once cleaned, so that
    `git status` stops listing it; blobs never change. IndexBusy when another git command holds the
    index lock for more than `wait` seconds (nothing is changed then)."""
    tree, verdicts = judge(cwd, paths, literal)
    return record(tree, verdicts, wait)


def record(tree: gitrepo.WorkTree, verdicts: list[Verdict], wait: float) -> Outcome:
    """Step 3: record, under the index lock, the stat data of the UNCHANGED notebooks whose entry
    still holds the judged blob and whose file was not written since; only stat data changes."""
    unchanged = [v for v in verdicts if v.state == UNCHANGED]
    changed = [v.path for v in verdicts if v.state == CHANGED]
    unsettled = [v.path for v in verdicts if v.state == UNSETTLED]
    if not unchanged:
        return Outcome([], changed, unsettled)
    paths = [v.path for v in unchanged]
    ahead = _walked_before_locking(tree, paths)
    with IndexLock(tree.index, wait) as lock:
        data, written = lock.read()
        found = ahead.found if ahead is not None and (ahead.data, ahead.written) == (data, written) else find_entries(data, tree.object_format, paths, racy_since=written)
        updates, refreshed = [], []
        for verdict in unchanged:
            entry = found.entries.get(verdict.path)
            if entry is not None and entry.compared and entry.blob == verdict.blob and _still(tree.root / verdict.path, verdict.stat):
                updates.append((entry, verdict.stat))
                refreshed.append(verdict.path)
            else:
                unsettled.append(verdict.path)  # staged, saved or re-recorded since it was judged
        if updates:
            others = {path: entry for path, entry in found.racy.items() if path not in refreshed}
            _write_hiding_no_change(tree, lock, data, updates, others)
            lock.commit()
    return Outcome(refreshed, changed, unsettled)


class _Walked(NamedTuple):
    """The index as read before its lock was taken, and what a walk over it found."""

    data: bytes
    written: int
    found: Found


def _walked_before_locking(tree: gitrepo.WorkTree, paths: list[str]) -> _Walked | None:
    """The index walked before its lock is taken (None when it cannot be read now: the walk under the
    lock reports why). Under the lock, an index found the same to the byte and to the nanosecond
    is not walked again, so the lock is held for a comparison of its bytes (a few ms for an index of
    90,000 entries, where the walk takes 20 ms)."""
    try:
        data, written = read_index(tree.index)
        return _Walked(data, written, find_entries(data, tree.object_format, paths, racy_since=written))
    except (OSError, NbgitError):
        return None


def _write_hiding_no_change(tree: gitrepo.WorkTree, lock: IndexLock, data: bytes, updates: list[tuple[Entry, os.stat_result]], racy: dict[str, Entry]) -> None:
    """Write the index with `updates` to the lock, smudging the racily clean entries (`racy`) a change
    of which the later index would hide, as git does when it writes an index: those git, comparing
    their content now (`git diff-files`, which reads the index held by the lock), finds modified
    while their size and modification second are still the recorded ones (else git lists them anyway).
    A file changed after git compared it, within the second it was recorded in, is found by no one
    once that second is past: when the new index is from a later second than the comparison, every
    racy entry recorded in or after that second whose size and modification second are still the
    recorded ones is smudged too (otherwise git itself still checks it)."""
    compared = lock.taken  # before git compares, by the clock that dates files
    listed = [c.new_path for c in _stat_dirty_among(tree.root, racy) if c.new_path in racy] if racy else []
    modified = {path: racy[path] for path in listed if stat_matches(data, racy[path], tree.root / path)}
    written = lock.write(with_stat(data, updates, modified.values(), tree.object_format))
    if racy and written // 1_000_000_000 > compared // 1_000_000_000:
        late = {path: entry for path, entry in racily_clean(data, racy, compared).items() if stat_matches(data, entry, tree.root / path)}
        lock.write(with_stat(data, updates, {**modified, **late}.values(), tree.object_format))


def _stat_dirty_among(root: Path, paths: dict[str, Entry]) -> list[gitrepo.FileChange]:
    """`git diff-files` of `paths` (repo-relative), asked with the lock held: named one by one when
    they are few (usually a notebook refreshed a moment ago), so that git stats those and not the
    whole work tree (15 ms rather than 90 ms among 90,000 files); the whole work tree when many are."""
    return gitrepo.stat_dirty(sorted(paths), root, literal=True) if len(paths) <= NAMED_RACY else gitrepo.stat_dirty([], root)


def _judge_one(root: Path, policy: Policy, object_format: str, keeper: OutputKeeper, job: tuple[str, str]) -> Verdict:
    """Judge one notebook: its file read between two stats, cleaned as the filter cleans, named as git names blobs.

    An unchanged one has its outputs kept as the filter keeps them: git will not read it again."""
    path, blob = job
    file = root / path
    read_at = time.time_ns()
    try:
        with open(file, "rb") as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
        after = os.lstat(file)
    except OSError:
        return Verdict(path, blob, UNSETTLED, None)
    if not stat.S_ISREG(after.st_mode) or _stat_key(before) != _stat_key(after):
        return Verdict(path, blob, UNSETTLED, None)
    cleaned, _ = clean_blob(data, path, policy)  # what git stores, also when the filter passes bad input through
    state = UNCHANGED
    if blob_id(cleaned, object_format) != blob:
        lf = eol.plain_lf_form(cleaned)  # (saved with CRLF line endings, which git may convert: `_as_git_stores`)
        if lf is None or blob_id(lf, object_format) != blob:
            return Verdict(path, blob, CHANGED, None)
        state = CONVERTED
    written = keeper.written
    keeper.clean(path, data, cleaned, policy.for_path(path), read_at)
    return Verdict(path, blob, state, before, keeper.written - written)


def _still(file: Path, seen: os.stat_result | None) -> bool:
    """Whether `file` still has the stat data seen when it was judged (not saved again since)."""
    try:
        return seen is not None and _stat_key(os.lstat(file)) == _stat_key(seen)
    except OSError:
        return False


def _stat_key(seen: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is written or replaced: device, inode, size, modification and change times."""
    return (seen.st_dev, seen.st_ino, seen.st_size, seen.st_mtime_ns, seen.st_ctime_ns, seen.st_mode)


class Unclean(NamedTuple):
    """Changed notebooks whose index blob is not what nbgit's filter stores (`stored_unclean`), and of
    them those edited here: whose file cleans to something else than their blob does."""

    paths: list[str]
    edited: list[str]


def stored_unclean(cwd: Path, changed: list[str]) -> Unclean:
    """The `changed` notebooks whose index blob is not what nbgit's filter stores: committed with
    outputs or volatile state by someone without nbgit (a teammate, a web editor). git lists them
    for that alone, also once re-run here (what git would store changes: the blob, clean), `git diff`
    cleans both sides and may show nothing, and `nbgit renormalize` stages them clean. Those also
    edited here are named apart: they hold real changes of yours."""
    from nbgit.install.renormalize import restaging
    from nbgit.install.target import repository_root
    from nbgit.policy import load_policy

    root = repository_root(cwd)
    if not changed or root is None:
        return Unclean([], [])
    found = restaging(root, set(changed))
    policy = load_policy(root) if found else Policy()
    edited = [entry.path for entry, cleaned in found if _cleans_to_other(root / entry.path, entry.path, cleaned, policy)]
    return Unclean(sorted(entry.path for entry, _ in found), sorted(edited))


def _cleans_to_other(file: Path, path: str, cleaned: bytes, policy: Policy) -> bool:
    """Whether the notebook in `file` cleans to something else than `cleaned` (an unreadable one counts as changed)."""
    try:
        data = file.read_bytes()
    except OSError:
        return True
    return clean_blob(data, path, policy)[0] != cleaned


def names(paths: list[str]) -> str:
    """Up to SHOWN paths, comma-separated, and how many more: for one-line reports (control
    characters in a name shown as git quotes them, so that no name breaks or forges a line)."""
    shown = ", ".join(one_line(path) for path in paths[:SHOWN])
    return shown if len(paths) <= SHOWN else f"{shown} and {len(paths) - SHOWN} more"
