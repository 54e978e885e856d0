"""The `duplicate-code` check on a repository: which files, in which state, and what changed.

The files compared are the repository's notebooks and its modules (`.py`, `.R`, `.jl`), minus
jupytext twins (a twin repeats its own notebook by design), what the policy excludes (`exclude`,
`[check] duplicate_exclude`) and cells tagged `nbgit:allow-copy`:
- `--all`: every tracked file as it is in the work tree; every group is reported;
- `--staged` (the pre-commit hook): the index, against HEAD; only the groups the commit creates or
  grows (`nbgit.check.duplicates.grown_windows`), so history never blocks a commit;
- named paths: the index with the named files as they are in the work tree, against HEAD; only the
  groups those files create or grow (outside a repository: every group among the named files).

Fingerprints are kept per blob (`nbgit.check.fingerprint_index`), so a run reads and tokenises only
the files it has not seen. With the verdict cache (`nbgit.check.cache.Verdicts`), a working-tree file's
blob id comes from its stat data as the cache remembers them (the file is read only when its stat
data changed, or when its fingerprint is not kept), and the problems of `--all` are remembered under
the list of every file compared with its blob id: a re-run on an unchanged repository reads,
tokenises and groups nothing. Those problems are a function of the files alone (the policy and
nbgit's code are the cache's own fingerprint), so any other list is a miss that groups afresh.
`--staged` and named paths, which compare against HEAD, always group afresh.
"""

from __future__ import annotations

import gc
import os
import stat
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from nbgit import gitrepo
from nbgit.check.cache import Verdicts, file_identity, plain_count, plain_problem
from nbgit.check.catalogue import Problem, problem
from nbgit.check.duplicates import NOTEBOOK, CopyGroup, Place, copy_groups, grown_windows
from nbgit.errors import NbgitError
from nbgit.files import RealPaths
from nbgit.pairing import notebook_relpath
from nbgit.pairing import settings as pair_settings
from nbgit.policy import Policy, glob_matches

if TYPE_CHECKING:  # (imported where files are read and tokenised: groups taken from the cache need neither)
    from nbgit.check.fingerprint_index import FingerprintIndex, Job

CHECK = "duplicate-code"
MODULES = {".py": "python", ".R": "r", ".r": "r", ".jl": "julia"}
REGULAR_FILES = ("100644", "100755")
CHECKPOINTS = ".ipynb_checkpoints/"
MAX_COMPARED_BYTES = 64 << 20  # a larger file is neither read nor compared: no notebook's or module's code is that big


class CopySettings(NamedTuple):
    """The `[check]` keys of `duplicate-code`: the smallest copy reported, and the paths never compared."""

    min_lines: int
    exclude: tuple[str, ...]

    @classmethod
    def from_policy(cls, policy: Policy) -> CopySettings:
        """Read `[check] duplicate_min_lines` and `duplicate_exclude`; fewer than 2 lines is an error."""
        table = policy.section("check")
        if table["duplicate_min_lines"] < 2:
            raise NbgitError(f"{policy.source}: `check.duplicate_min_lines` must be at least 2, not {table['duplicate_min_lines']}",
                             'a single line is no copy; to turn the check off: [check] disable = ["duplicate-code"]')
        return cls(table["duplicate_min_lines"], tuple(table["duplicate_exclude"]))


class Source(NamedTuple):
    """A file's content at one state: its blob id, and its bytes when read from the work tree, or the
    file that holds them when the blob id came from the cache (read only if its fingerprint is not kept)."""

    key: str
    data: bytes | None = None
    file: str | None = None


def duplicate_code(root: Path | None, policy: Policy, staged: bool, everything: bool, named: list[str], cache: Verdicts | None = None,
                   real: RealPaths | None = None, tracked: set[str] | None = None) -> list[Problem]:
    """The `duplicate-code` problems: one per group of copied code, largest first (see the module's docstring).

    `cache`: the verdict cache (None: every file read and tokenised, every group found afresh, the
    fingerprint index neither read nor written); `real`: the files
    this run looked at already; `tracked`: the paths git tracks, when the caller listed them already.
    """
    copies = CopySettings.from_policy(policy)
    real = real if real is not None else RealPaths()
    after, before = _states(root, policy, copies, staged, everything, named, cache, real, tracked)
    if root is None or not everything:  # (`--all` compares only what is kept already)
        keep = _kept([*after, *(before or {})], policy, copies)
        after = {path: source for path, source in after.items() if path in keep}
        before = None if before is None else {path: source for path, source in before.items() if path in keep}
    remembered = cache if before is None else None  # every group among these files: a function of them alone
    if remembered is not None:
        with _collector_paused():  # thousands of records made, every one kept for the report: nothing to collect
            known = _problems(remembered.result(CHECK, _compared_files(after)))
        if known is not None:
            return known
    from nbgit.check.fingerprint_index import FingerprintIndex

    index = FingerprintIndex.open(root) if cache is not None else FingerprintIndex(None, {})  # no cache: neither read nor written
    after = _with_bytes(after, index)
    jobs = {path: _job(path, source) for path, source in after.items()}
    old_jobs = {path: _job(path, source) for path, source in (before or {}).items() if source is not None}
    with _collector_paused():  # (tokenising makes no cycles, and forked workers inherit the pause)
        units = index.fingerprints(root, [*jobs.values(), *old_jobs.values()])
    index.save()
    files = {path: units[job.key] for path, job in jobs.items()}
    if before is None:
        groups = copy_groups(files, copies.min_lines)
    else:
        old = {path: units[old_jobs[path].key] if path in old_jobs else () for path in before}
        grown = grown_windows(old, files, copies.min_lines)
        groups = copy_groups(files, copies.min_lines, only=grown, first=sorted(before)) if grown else []
    problems = [_problem(group) for group in groups]
    if remembered is not None:
        remembered.remember_result(CHECK, _compared_files(after), _plain(problems))
    return problems


def _states(root: Path | None, policy: Policy, copies: CopySettings, staged: bool, everything: bool, named: list[str],
            cache: Verdicts | None, real: RealPaths, tracked: set[str] | None) -> tuple[dict[str, Source], dict[str, Source | None] | None]:
    """The files compared, and (unless every group is wanted) the changed ones as they are in HEAD
    (None for a file HEAD does not have)."""
    if root is None:
        return _on_disk({path: os.path.join(os.getcwd(), path) for path in named if _compared(path)}, cache, real, None), None
    inside = os.path.join(root, "")  # + a repo-relative path: os.path.join's result, without its cost per file
    if everything:
        listed = tracked if tracked is not None else gitrepo.tracked_files(".", cwd=root)
        return _on_disk({path: inside + path for path in sorted(_kept([p for p in listed if _compared(p)], policy, copies))}, cache, real, root), None
    entries = gitrepo.index_entries([], cwd=root, sparse=True)
    outside = {e.path for e in entries if e.outside}  # (left out of a sparse checkout: a partial clone would fetch each)
    after = {e.path: Source(e.blob) for e in entries if e.mode in REGULAR_FILES and not e.outside and _compared(e.path)}
    head = {path: blob for path, blob in gitrepo.tree_blobs("HEAD", cwd=root).items() if _compared(path) and path not in outside}
    if staged:
        changed = set(after) | set(head)
    else:
        after.update(_on_disk({path: inside + path for path in named if _compared(path)}, cache, real, root))
        changed = {path for path in named if path in after} | (set(head) - set(after))  # deletions: a rename is no copy
    before = {path: Source(head[path]) if path in head else None for path in changed if path not in after or after[path].key != head.get(path)}
    return after, before


def _compared(path: str) -> bool:
    """Whether a path is a notebook or module the check compares (by its name)."""
    return (path.endswith(NOTEBOOK) or os.path.splitext(path)[1] in MODULES) and CHECKPOINTS not in f"/{path}"


def _kept(paths: list[str], policy: Policy, copies: CopySettings) -> set[str]:
    """The paths compared: neither excluded by the policy nor the jupytext twin of a notebook among them."""
    pair = pair_settings(policy)
    notebooks = {p for p in paths if p.endswith(NOTEBOOK)}
    kept = set()
    for path in paths:
        if policy.excludes(path) or (copies.exclude and glob_matches(path, copies.exclude)):
            continue
        if not path.endswith(NOTEBOOK) and (path.rsplit(".", 1)[0] + NOTEBOOK in notebooks or notebook_relpath(path, pair) in notebooks):
            continue  # a twin: its notebook's own code, by design
        kept.add(path)
    return kept


def _on_disk(files: dict[str, str], cache: Verdicts | None, real: RealPaths, root: Path | None) -> dict[str, Source]:
    """The notebooks and modules `files` names (path shown: its file) as they are on disk, each looked at
    through `real`: by the blob id the cache remembers for its stat data, else read. Missing ones, what
    is no regular file, symbolic links (which may point outside the repository) and files reached
    through a folder linked out of the repository at `root` are left out."""
    top = os.path.join(real.folder(root), "") if root is not None else ""
    found = {}
    for path, named in files.items():
        seen = real.look(named)
        above, _, name = named.rpartition(os.sep)
        folder = real.inside.get(above) or os.path.join(real.folder(above), "")  # (known once a file of it was looked at)
        if seen.status is None or not stat.S_ISREG(seen.status.st_mode) or seen.real != folder + name or not seen.real.startswith(top):
            continue  # (a file that is no link is where its folder really is; a folder linked out of the repository is not followed)
        known = file_identity(cache, seen.real, seen.status, MAX_COMPARED_BYTES)
        if known is not None:
            blob, data = known
            found[path] = Source(blob, data, seen.real if data is None else None)
    return found


def _with_bytes(files: dict[str, Source], index: FingerprintIndex) -> dict[str, Source]:
    """The files, those known by blob id alone whose fingerprint the index does not keep read now (by the
    bytes read: a file changed since it was looked at is compared as it is), those that cannot be read left out.
    Of the files with the same blob id, only the first is read (copies of a notebook are tokenised once anyway)."""
    found = {}
    keys_read: set[str] = set()  # the index keys of the bytes read here
    for path, source in files.items():
        key = _index_key(path, source)
        if source.data is None and source.file is not None and key not in keys_read and not index.knows(key):
            read = _read(source.file)
            if read is None:
                continue
            source = read
            keys_read.add(_index_key(path, source))
        found[path] = source
    return found


def _read(file: str) -> Source | None:
    """A file's content as read from the work tree now, without waiting (one swapped for a FIFO since it
    was looked at is not waited on); None when it cannot be read so or holds more than MAX_COMPARED_BYTES."""
    known = file_identity(None, file, None, MAX_COMPARED_BYTES)
    return None if known is None else Source(*known)


def _compared_files(files: dict[str, Source]) -> str:
    """What the problems of `--all` depend on, as the cache keeps it: every file compared, by path and blob id
    (NUL-separated: no path holds one)."""
    return "\0".join(f"{path}\0{source.key}" for path, source in sorted(files.items()))


def _plain(problems: list[Problem]) -> tuple[Any, ...]:
    """The problems of copies as plain data for the cache (read back by `_problems`): each one's fields,
    then its group's, its places flat with their files apart (the fewer objects, the faster a re-run reads them)."""
    plain = []
    for found in problems:
        group = found.copied
        if group is not None:
            files = tuple(dict.fromkeys(place.path for place in group.places))
            number = {path: index for index, path in enumerate(files)}
            flat = tuple(field for place in group.places for field in (number[place.path], *place[1:]))
            plain.append((tuple(found[:-1]), group.lines, group.module, group.suggested, files, flat))
    return tuple(plain)


def _problems(plain: Any) -> list[Problem] | None:
    """The problems from the cache's plain data (`_plain`); None for none, or for anything not exactly of
    that form, every field of the type nbgit writes (a damaged or crafted file: a miss)."""
    if type(plain) is not tuple:
        return None
    width = len(Place._fields)
    place = partial(tuple.__new__, Place)  # (what `Place._make` does, but in C: every tuple below has the width)
    found = []
    for item in plain:
        if type(item) is not tuple or len(item) != 6:
            return None
        fields, lines, module, suggested, files, flat = item
        if not (plain_problem(fields) and plain_count(lines) and (module is None or type(module) is str) and type(suggested) is str
                and type(files) is tuple and all(type(name) is str for name in files) and type(flat) is tuple and len(flat) >= width and not len(flat) % width):
            return None
        columns = [flat[start::width] for start in range(width)]  # file number, cell, start, end, lines
        if not (all(plain_count(n) and n < len(files) for n in columns[0]) and all(c is None or plain_count(c) for c in columns[1])
                and all(map(plain_count, (n for column in columns[2:] for n in column)))):
            return None
        places = tuple(map(place, zip(map(files.__getitem__, columns[0]), *columns[1:])))
        found.append(Problem(*fields, copied=CopyGroup(lines, places, module, suggested)))
    return found


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while (as it was after): making many small records that
    all live on (or tokens and lines by the thousand, which make no cycle), it would walk them again and
    again, for half the time their making takes (a twentieth of tokenising)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _job(path: str, source: Source) -> Job:
    from nbgit.check.fingerprint_index import Job

    return Job(_index_key(path, source), source.key, MODULES.get(_suffix(path)), source.data)


def _index_key(path: str, source: Source) -> str:
    """What the fingerprint index keeps a file's fingerprint under (`_job`'s key)."""
    return f"{source.key}{_suffix(path)}"


def _suffix(path: str) -> str:
    return NOTEBOOK if path.endswith(NOTEBOOK) else os.path.splitext(path)[1]


def _problem(group: CopyGroup) -> Problem:
    """The group as one problem, at its first place (a notebook the change touches, when there is one)."""
    first = group.places[0]
    mine = [place for place in group.places if place.path == first.path]
    here = f" (here in {len(mine)} cells)" if len(mine) > 1 else ""
    message = f"the same {group.lines} lines of code{here} are also in {group.where(skip_first=True)}: {group.way_out()}"
    found = problem("duplicate-code", first.path, message, cell=first.cell)
    return found._replace(copied=group)
