"""Three-way sync of notebooks and their text twins, with git as the base; never throws an edit away.

For each pair the base is a version where both files really were in step: the staged pair when it
is, else the newest commit of the pair's history where they were (HEAD, most of the time), and, side
by side, the files as nbgit last saw them in step (a small cache in `.git/nbgit-pairs.json`). A side
equal to its base is unchanged. Then: only the notebook changed -> rewrite the twin; only the twin
changed -> update the notebook's inputs; both changed -> same inputs: nothing; different edits that
do not overlap: merge them; overlapping edits: a conflict, nothing written. A pair that was never in
step needs a decision, and a side holding git's conflict markers is never taken: so a teammate's
commit of one side only (hosting sites run no hooks) is carried over, never reverted.

Every path comes from repository content and is confined to the work tree (`pairing.inside_repository`):
a twin or notebook linked out of it, or into `.git`, is never read or written.

The decision "nothing to do" is taken here without jupytext: a pair whose two files hash as they did
when nbgit last saw them in step is in step.
"""

from __future__ import annotations

import json
import os
import re
import stat
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import RealPaths, file_stamp, write_atomic
from nbgit.pairing import (
    NOTEBOOK_SUFFIX,
    PairSettings,
    Twin,
    inside_repository,
    looks_like_twin,
    notebook_relpath,
    own_formats,
    real_path_inside,
    relative_to_root,
    selected,
    settings,
    twin_for,
    twin_format,
    twin_relpath,
)
from nbgit.parallel import map_on_all_cores
from nbgit.policy import Policy
from nbgit.terminal import git_path_word, shell_word

if TYPE_CHECKING:
    from nbgit.notebook import Notebook

# a JSON `\u` escape of a letter of "jupytext" or "formats" (all between U+0060 and U+007F): keys may be spelled so
_ESCAPED_LETTER = re.compile(rb"\\u00[67]")
# {repo-relative notebook: (its file's stat data as `files.file_stamp` gives them, the twin its own formats place)}
OwnTwins = dict[str, tuple[list[int], Twin | None]]

CACHE_NAME = "nbgit-pairs.json"
CACHE_VERSION = 1
PAIRS_PER_WORKER = 8  # a pair costs jupytext about 10 ms, starting a worker process about 30 ms
HISTORY_DEPTH = 50  # commits of a pair's history searched for a version in step

# States of a pair. IN_STEP needs nothing; the next five sync by themselves; the rest need a person.
IN_STEP = "in step"
NOTEBOOK_CHANGED = "notebook changed"
TWIN_CHANGED = "twin changed"
MERGEABLE = "both changed, edits merge"
NEW_TWIN = "twin missing"
NEW_NOTEBOOK = "notebook missing"
CONFLICT = "conflict"
OUT_OF_STEP = "never in step"
MARKED = "conflict markers"
NOT_STAGED = "not staged"
ORPHAN = "orphaned twin"
TWIN_DELETED = "twin deleted"
ERROR = "error"
AUTOMATIC = frozenset({NOTEBOOK_CHANGED, TWIN_CHANGED, MERGEABLE, NEW_TWIN, NEW_NOTEBOOK})
TAKES = {"notebook": {"notebook"}, "text": {"text"}, "merge": {"notebook", "text"}}  # the sides an action copies from


class PairStatus(NamedTuple):
    """Where one pair stands: its two paths (absolute), its state (one of the constants above) and a sentence."""

    notebook: Path
    twin: Path
    state: str
    detail: str

    @property
    def in_step(self) -> bool:
        """True when nothing needs doing."""
        return self.state == IN_STEP


class Member:
    """One side of a pair as read (from disk, or from git's index): its bytes (None when absent) and
    the stat seen then. `path` is where it lives on disk, symlinks inside the work tree resolved.
    (Plain classes here, not dataclasses: importing `dataclasses` costs a cached `nbgit check` run
    more than all its pairs.)"""

    def __init__(self, path: Path, data: bytes | None, stat: tuple[int, int] | None) -> None:
        self.path, self.data, self.stat = path, data, stat

    @classmethod
    def read(cls, path: Path, shown: str) -> Member:
        """Read a regular file and remember its size and mtime, to notice a change before overwriting
        it; an error naming `shown` for a folder or anything else that is no file."""
        try:
            st = path.stat()
            if stat.S_ISDIR(st.st_mode):
                raise NbgitError(f"{shown}: a directory, where a file of the pair belongs", "move the directory away, or exclude the notebook from pairing ([pair] exclude)")
            if not stat.S_ISREG(st.st_mode):
                raise NbgitError(f"{shown}: not a regular file", "replace it with a file, or exclude the notebook from pairing ([pair] exclude)")
            return cls(path, path.read_bytes(), (st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            return cls(path, None, None)
        except OSError as error:
            raise NbgitError(f"{shown}: cannot be read ({error.strerror})", "check its permissions") from None

    def unchanged_on_disk(self) -> bool:
        """Whether the file is still exactly as read (or still absent)."""
        try:
            now = Member.read(self.path, str(self.path))
        except NbgitError:
            return False
        return now.data == self.data and now.stat == self.stat

    @property
    def digest(self) -> str | None:
        """sha1 of the bytes read (None when absent)."""
        return None if self.data is None else _sha1(self.data)


class Base(NamedTuple):
    """A version of the pair where both files were in step: its two files' bytes and what it is called."""

    notebook: bytes
    twin: bytes
    name: str  # "staged", "committed" (HEAD), "commit 1a2b3c4"


class Plan:
    """A pair, its status, and how to bring it in step: `action` syncs by itself, `choices` need --take."""

    def __init__(self, status: PairStatus, notebook: Member, twin: Member, relative: tuple[str, str]) -> None:
        self.status, self.notebook, self.twin, self.relative = status, notebook, twin, relative
        self.action: str | None = None  # "notebook" (rewrite the twin), "text" (update the notebook), "merge"
        self.choices: frozenset[str] = frozenset()
        self.report = ""
        self.fmt = ""
        self.nb_text = ""
        self.current: Notebook | None = None
        self.merged: dict[Path, bytes] = {}


class Run(NamedTuple):
    """The plans of one sync or check, and the cache of pairs seen in step that they update.
    A `staged` run judges what git's index holds and writes nothing."""

    plans: list[Plan]
    cache: _Cache
    policy: Policy
    staged: bool = False


def plan(root: Path, policy: Policy, paths: list[Path] | None, staged: bool = False, wanted: Callable[[tuple[str, str]], bool] | None = None,
         listed: list[str] | None = None, real: RealPaths | None = None, own_twins: OwnTwins | None = None) -> Run:
    """Every pair under `paths` (None: the whole repository) with its status and how to sync it;
    `wanted` keeps only the pairs it accepts (notebook, twin), before any is judged. `listed`: for the
    whole repository, what `gitrepo.listed_files` gives, when the caller has listed it already; `real`:
    the files the caller looked at already in this run (`files.RealPaths`); `own_twins`: what the
    caller found the notebooks' own formats place (`own_twin_in`), from bytes it read anyway, under
    the stat data of the files read: a notebook whose file still has them is not read again for that.

    With `staged`, both files of each pair are judged as git's index holds them (what the next commit
    records), not as they are on disk. jupytext is imported only when some pair is not known to be in step.
    """
    pair = settings(policy)
    cache = _Cache.load(root, pair)
    for notebook_rel, (stamp, twin) in (own_twins or {}).items():
        cache.remember_own_twin(notebook_rel, stamp, twin)
    pairs, unknown = _pairs(root, pair, paths, cache, listed, real)
    if wanted is not None:
        pairs = [relative for relative in pairs if wanted(relative)]
        unknown = [(name, error) for name, error in unknown if wanted((name, name))]
    plans: list[Plan] = []
    for notebook_rel, error in unknown:
        plans.append(_error_plan(root, (notebook_rel, notebook_rel), error))
    slow: list[Plan] = []
    for relative in pairs:
        try:
            notebook, twin = (Member.read(inside_repository(root, rel), rel) for rel in relative)
        except NbgitError as error:
            plans.append(_error_plan(root, relative, error))
            continue
        item = Plan(PairStatus(notebook.path, twin.path, IN_STEP, ""), notebook, twin, relative)
        plans.append(item)
        if not cache.in_step(*relative, notebook.digest, twin.digest) or staged:
            slow.append(item)
    if staged:
        slow = _staged(root, policy, slow, cache)
    if slow:
        _judge(root, policy, pair, slow, cache, staged)
    for item in plans:
        if item.status.in_step and not staged:
            cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    return Run(plans, cache, policy, staged)


def _error_plan(root: Path, relative: tuple[str, str], error: NbgitError) -> Plan:
    paths = [root / rel for rel in relative]
    return Plan(PairStatus(*paths, ERROR, error.render()), Member(paths[0], None, None), Member(paths[1], None, None), relative)


def _staged(root: Path, policy: Policy, items: list[Plan], cache: _Cache) -> list[Plan]:
    """Swap each pair's files on disk for what git's index holds of them; returns the pairs still to
    judge: those whose staged files are not the pair on disk that nbgit last saw in step."""
    blobs = gitrepo.revision_files(root, [f":{rel}" for item in items for rel in _in_git(root, item)])
    slow: list[Plan] = []
    for number, item in enumerate(items):
        disk = (item.notebook, item.twin)
        item.notebook, item.twin = (Member(member.path, data, None) for member, data in zip(disk, blobs[2 * number : 2 * number + 2]))
        known = cache.in_step(*item.relative, disk[0].digest, disk[1].digest)
        if not (known and _as_on_disk((item.notebook, item.twin), disk, policy.for_path(item.relative[0]))):
            slow.append(item)
    return slow


def _as_on_disk(index: tuple[Member, Member], disk: tuple[Member, Member], policy: Policy) -> bool:
    """Whether the staged pair is the pair on disk as git stores it (the notebook through the clean filter)."""
    from nbgit.clean import clean_bytes

    (index_nb, index_tw), (disk_nb, disk_tw) = index, disk
    if index_tw.data != disk_tw.data or index_nb.data is None or disk_nb.data is None:
        return False
    if index_nb.data == disk_nb.data:
        return True
    try:
        return clean_bytes(disk_nb.data, str(disk_nb.path), policy) == index_nb.data
    except NbgitError:
        return False


def _in_git(root: Path, item: Plan) -> tuple[str, str]:
    """The pair's paths as git tracks its content: a symlink inside the work tree stands for its target."""
    top = root.resolve()
    return tuple(member.path.relative_to(top).as_posix() for member in (item.notebook, item.twin))  # type: ignore[return-value]


def apply(run: Run, take: str | None) -> list[Plan]:
    """Carry out each plan's action (and, with `take`, the chosen side of pairs that need a decision).

    A file that changed on disk since it was read is not overwritten: that pair is reported instead,
    and so is a file that cannot be written (the other pairs go on). Returns the plans whose files
    were written. Saves the cache of pairs seen in step.
    """
    if run.staged:
        raise NbgitError("a run judged on git's index writes nothing", "sync the files on disk: nbgit sync")
    chosen = [(item, action) for item in run.plans if (action := _chosen_action(item, take))]
    prepared = map_on_all_cores(partial(_prepared_writes, policy=run.policy), chosen, PAIRS_PER_WORKER)
    done: list[Plan] = []
    for (item, action), (writes, error) in zip(chosen, prepared):
        if error:
            item.status = item.status._replace(state=ERROR, detail=error)
            continue
        if not (item.notebook.unchanged_on_disk() and item.twin.unchanged_on_disk()):
            item.status = item.status._replace(state=CONFLICT, detail="a file changed while nbgit was syncing it: nothing written; run nbgit sync again")
            continue
        try:
            _write(item, writes)
        except NbgitError as failure:
            item.status = item.status._replace(state=ERROR, detail=failure.render())
            continue
        if item.status.state not in AUTOMATIC:
            item.status = item.status._replace(detail=f"took the {action} side")
        done.append(item)
        run.cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    run.cache.save()
    return done


def _write(item: Plan, writes: dict[Path, bytes]) -> None:
    """Write a pair's new bytes, the notebook first (a merged notebook holds both sides' edits)."""
    for member, shown in sorted(zip((item.notebook, item.twin), item.relative), key=lambda m: m[0] is item.twin):
        data = writes.get(member.path)
        if data is None or data == member.data:
            continue
        try:
            member.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(member.path, data)
        except OSError as error:
            raise NbgitError(f"{shown}: cannot be written ({error.strerror})", "check the permissions of the file and its folder, then run nbgit sync again") from None
        member.data = data


def _chosen_action(item: Plan, take: str | None) -> str | None:
    """What sync does to a pair: its own action, or the side chosen with --take where that is a choice."""
    return item.action if item.status.state in AUTOMATIC else (take if take in item.choices else None)


def _prepared_writes(chosen: tuple[Plan, str], policy: Policy) -> tuple[dict[Path, bytes], str]:
    """The bytes to write for a pair and its action, or nothing and the error that stops it."""
    try:
        return _writes(*chosen, policy), ""
    except NbgitError as error:
        return {}, error.render()


def _writes(item: Plan, action: str, policy: Policy) -> dict[Path, bytes]:
    """The bytes to write for an action; a twin written from the notebook must read back to the same cells."""
    from nbgit import twins

    if action == "merge":
        return item.merged
    if action == "notebook":
        assert item.current is not None
        twins.check_round_trip(item.nb_text, item.fmt, item.current, policy, item.relative[0], item.relative[1])
        return {item.twin.path: item.nb_text.encode("utf-8")}
    text = _text(item.twin, item.relative[1])
    return {item.notebook.path: twins.notebook_from_text(text, item.fmt, item.current, policy, item.relative[1], item.relative[0], item.nb_text or None)}


# --- which pairs -------------------------------------------------------------------------------


def twin_of(root: Path, policy: Policy, notebook: str) -> Twin | None:
    """The twin of a notebook on disk that nbgit knows as paired, as `nbgit sync` finds it (the policy's
    pairs, pairs made by `nbgit pair`, the notebook's own formats), with its format; else None."""
    pair = settings(policy)
    twin = _twin_of(root, notebook, pair, _Cache.load(root, pair), False)
    return None if twin is None else Twin(twin, pair_format(root, pair, (notebook, twin), _metadata(_read(inside_repository(root, notebook)))))


def pair_format(root: Path, pair: PairSettings, relative: tuple[str, str], metadata: dict) -> str:
    """The jupytext format of a pair's twin: what the notebook's own formats or the policy give the
    twin at that path, else the policy's format for its extension."""
    twin = twin_for(root, relative[0], metadata, pair)
    return twin.format if twin is not None and twin.path == relative[1] else twin_format(Path(relative[1]).suffix, pair.format_name)


def _pairs(root: Path, pair: PairSettings, paths: list[Path] | None, cache: _Cache, listed: list[str] | None = None,
           real: RealPaths | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, NbgitError]]]:
    """(notebook, twin) repo-relative paths of the pairs under `paths`, in path order, and the
    paired notebooks whose twin cannot be placed (an unknown kernel language, a hostile path)."""
    specs: list[str] = []
    explicit: list[str] = []
    for path in paths or []:
        relative = relative_to_root(path, root)
        if (root / relative).is_file() or (root / relative).is_symlink():
            explicit.append(relative)
        elif (root / relative).is_dir():
            specs.append(relative or ".")
        elif (root / relative).exists():
            raise NbgitError(f"{path}: not a regular file", "name notebooks, twins or folders")
        else:
            raise NbgitError(f"{path}: no such file or folder", "check the path")
    if paths is None and listed is not None:
        names = listed
    else:
        names = list(dict.fromkeys(explicit + (gitrepo.listed_files(root, specs) if (specs or paths is None) else [])))
    found: dict[str, str] = {}
    unknown: list[tuple[str, NbgitError]] = []
    folders = _Folders(root, real)
    for name in names:
        if name.endswith(NOTEBOOK_SUFFIX):
            try:
                twin = _twin_of(root, name, pair, cache, name in explicit, folders)
            except NbgitError as error:
                unknown.append((name, error))
                continue
            if twin is not None:
                found[name] = twin
    twins_found = set(found.values())
    for name in names:
        if name.endswith(NOTEBOOK_SUFFIX) or name in twins_found:
            continue
        notebook = notebook_relpath(name, pair)
        twin_path, notebook_path = _inside(root, name, folders.real), _inside(root, notebook, folders.real) if notebook else None
        if notebook is None or notebook in found or twin_path is None or notebook_path is None or not looks_like_twin(twin_path):
            continue
        if notebook_path.exists():
            try:
                if _twin_of(root, notebook, pair, cache, True) != name:
                    continue  # the notebook's twin is another file: this one is not it
            except NbgitError:
                continue
        found[notebook] = name
    return sorted(found.items()), unknown


def _twin_of(root: Path, notebook: str, pair: PairSettings, cache: _Cache, explicit: bool, folders: _Folders | None = None) -> str | None:
    """The notebook's twin when the notebook is paired: selected by the policy or named on the command
    line, remembered from an earlier sync, with its own jupytext formats and their twin on disk, or
    with a jupytext twin where its twin belongs. Notebooks nbgit has no reason to pair are never
    read when they lead out of the work tree."""
    remembered = cache.twin_of(notebook)
    wanted = selected(notebook, pair) or explicit
    real = folders.real if folders is not None else RealPaths()
    try:
        located = real_path_inside(root, notebook, real)
    except NbgitError:
        if wanted or remembered is not None:
            raise
        return None
    if remembered is not None and (remembered[1] == _digest(Path(located)) or not os.path.exists(located)):
        return remembered[0]
    status = real.look(located).status
    if status is None or not stat.S_ISREG(status.st_mode):
        return None  # a deleted notebook: found through its twin, if that is still there
    if not wanted and remembered is None and folders is not None and not folders.may_hold(twin_relpath(notebook, "", pair)):
        # no file is named like its twin where the policy places it: only its own jupytext formats
        # could place one elsewhere (spares parsing, and jupytext, in a repository without pairs)
        own = _own_twin_by_stat(root, notebook, located, status, pair, cache)
        on_disk = _inside(root, own.path, real) if own is not None else None
        return own.path if on_disk is not None and on_disk.is_file() else None
    path = Path(located)
    metadata = _metadata(_read(path))
    try:
        twin = twin_for(root, notebook, metadata, pair)
    except NbgitError:
        if wanted or own_formats(metadata) is not None:
            from nbgit.notebook import parse

            parse(path.read_bytes(), notebook)  # an unreadable notebook says so first
            raise
        return None
    if twin is None:
        return None
    if wanted or remembered is not None:
        return twin.path
    on_disk = _inside(root, twin.path, real)
    if on_disk is None:
        return None
    return twin.path if looks_like_twin(on_disk) or (own_formats(metadata) is not None and on_disk.is_file()) else None


def _own_twin_by_stat(root: Path, notebook: str, path: str, status: os.stat_result, pair: PairSettings, cache: _Cache) -> Twin | None:
    """The twin a notebook's own jupytext formats place (None when its bytes name none), remembered by
    the file's stat data (`status`, as `files.file_stamp` keeps it): a re-run reads no notebook that did not change."""
    stamp = file_stamp(status)
    known = cache.own_twin(notebook, stamp)
    if known is not None:
        return known[0]
    data = _read(Path(path))
    twin = None if data is None else own_twin_in(root, notebook, data, pair)
    if stamp is not None and data is not None:
        cache.remember_own_twin(notebook, stamp, twin)
    return twin


def own_twin_in(root: Path, notebook: str, data: bytes, pair: PairSettings, metadata: dict | None = None) -> Twin | None:
    """The twin a notebook's own jupytext formats place, from its bytes `data` (None when they name
    none); NbgitError when the notebook cannot be read or its formats place no twin. `metadata`: the
    notebook's, when the caller has read the bytes as a notebook already."""
    if metadata is None:
        if not (b"jupytext" in data and b"formats" in data) and _ESCAPED_LETTER.search(data) is None:
            return None  # (scans in C: no JSON read for the many notebooks that name no formats)
        metadata = _metadata(data)
    if own_formats(metadata) is None:
        return None
    try:
        return twin_for(root, notebook, metadata, pair)
    except NbgitError:
        from nbgit.notebook import parse

        parse(data, notebook)  # an unreadable notebook says so first
        raise


class _Folders:
    """The names of the files that could be twins (not notebooks) in the work tree's folders, cut at each
    dot (`x.nb.py` gives `x` and `x.nb`), each folder listed once."""

    def __init__(self, root: Path, real: RealPaths | None = None) -> None:
        self.root = root
        self.listed: dict[str, set[str]] = {}
        self.real = real or RealPaths()  # and the files looked at (real paths, stat data), each folder resolved once

    def may_hold(self, base: str | None) -> bool:
        """Whether some file is named `base` + an extension (`base` repo-relative, as `twin_relpath(..., "")` gives it)."""
        if base is None:
            return False
        folder, _, name = base.rpartition("/")
        prefixes = self.listed.get(folder)
        if prefixes is None:
            try:
                names = os.listdir(self.root / folder)
            except OSError:
                names = []
            twins = (entry for entry in names if not entry.endswith(NOTEBOOK_SUFFIX))
            prefixes = self.listed[folder] = {entry[:i] for entry in twins for i, ch in enumerate(entry) if ch == "."}
        return name in prefixes


def _inside(root: Path, relative: str, real: RealPaths | None = None) -> Path | None:
    """The real path of a repo-relative path, None when it leads out of the work tree (or into .git)."""
    try:
        return inside_repository(root, relative, real)
    except NbgitError:
        return None


def _read(path: Path) -> bytes | None:
    """A notebook file's bytes; None when it is no regular file or cannot be read (a FIFO would block)."""
    if not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _metadata(data: bytes | None) -> dict:
    """A notebook's metadata, {} when it cannot be read (the error comes when it is judged)."""
    if data is None:
        return {}
    try:
        content = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    metadata = content.get("metadata") if isinstance(content, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _sha1(data: bytes) -> str:
    import hashlib  # (only for pairs: a check whose repository has none never loads it)

    return hashlib.sha1(data).hexdigest()


def _digest(path: Path) -> str | None:
    if not path.is_file():
        return None  # nothing to read, or nothing to read safely (a FIFO would block)
    try:
        return _sha1(path.read_bytes())
    except OSError:
        return None


# --- judging pairs (jupytext from here on) --------------------------------------------------------


def _judge(root: Path, policy: Policy, pair: PairSettings, items: list[Plan], cache: _Cache, staged: bool) -> None:
    specs = [f"{rev}:{rel}" for item in items for rel in _in_git(root, item) for rev in ("HEAD", "")]
    blobs = gitrepo.revision_files(root, specs)
    jobs = [(item, cache.pairs.get(item.relative[0]), blobs[4 * index : 4 * index + 4]) for index, item in enumerate(items)]
    judged = map_on_all_cores(partial(_judged, root=root, policy=policy, pair=pair, staged=staged), jobs, PAIRS_PER_WORKER)
    for item, result in zip(items, judged):
        if result is not item:
            vars(item).update(vars(result))  # a worker process judged a copy


class Versions(NamedTuple):
    """What git holds of a pair besides the files judged: (notebook, twin) in HEAD and in the index."""

    head: tuple[bytes | None, bytes | None]
    staged: tuple[bytes | None, bytes | None]


def _judged(job: tuple[Plan, list[str] | None, list[bytes | None]], root: Path, policy: Policy, pair: PairSettings, staged: bool) -> Plan:
    """One pair judged against its base: (the plan, what the cache remembers of it, its HEAD and staged blobs)."""
    item, remembered, (head_nb, index_nb, head_tw, index_tw) = job
    judge = Judge(root, policy, pair, item, remembered, Versions((head_nb, head_tw), (index_nb, index_tw)), staged)
    try:
        judge.run()
    except NbgitError as error:
        item.status = item.status._replace(state=ERROR, detail=error.render())
    return item


class Judge(NamedTuple):
    """Judges one pair: which sides changed since a version in step, and what bringing them in step takes."""

    root: Path
    policy: Policy
    pair: PairSettings
    item: Plan
    remembered: list[str] | None
    versions: Versions
    staged: bool

    def set_state(self, state: str, detail: str, action: str | None = None, *choices: str) -> None:
        self.item.status = self.item.status._replace(state=state, detail=detail)
        self.item.action, self.item.choices = action, frozenset(choices)

    def run(self) -> None:
        from nbgit import twins
        from nbgit.notebook import parse

        item = self.item
        notebook, twin = item.notebook, item.twin
        nb_rel, tw_rel = item.relative
        head_nb, head_tw = self.versions.head
        if notebook.data is None and twin.data is None:
            self.set_state(ERROR, f"{nb_rel}: neither the notebook nor its twin {tw_rel} exists")
            return
        missing = notebook if notebook.data is None else twin if twin.data is None else None
        if self.staged and missing is not None and missing.path.exists():
            missing_rel, present_rel = (nb_rel, tw_rel) if missing is notebook else (tw_rel, nb_rel)
            self.set_state(NOT_STAGED, f"{present_rel} is staged but {missing_rel} is not: `git add {git_path_word(missing_rel)}`")
            return
        if notebook.data is None:
            item.fmt = twin_format(Path(tw_rel).suffix, self.pair.format_name)
            twins.read_text(_text(twin, tw_rel), item.fmt, tw_rel)  # an unreadable twin is an error now, not at --take
            if head_nb is not None:
                self.set_state(ORPHAN, f"{tw_rel}: its notebook {nb_rel} was deleted; delete the twin (`git rm {git_path_word(tw_rel)}`) or rebuild the notebook: `nbgit sync --take text {shell_word(tw_rel)}`", None, "text")
            else:
                self.set_state(NEW_NOTEBOOK, f"created {nb_rel} from {tw_rel}", "text")
            self._refuse_marked_sides()
            return
        item.current = current = parse(notebook.data, nb_rel)
        item.fmt = pair_format(self.root, self.pair, item.relative, current.content.get("metadata") or {})
        item.nb_text = twins.twin_text(current.content, self.policy, nb_rel, item.fmt, current.major)
        if twin.data is None:
            if head_tw is not None:
                self.set_state(TWIN_DELETED, f"{tw_rel}: the twin of {nb_rel} was deleted; recreate it (nbgit sync --take notebook {nb_rel}) or stop pairing this notebook ([pair] exclude) and commit the deletion", None, "notebook")
            else:
                self.set_state(NEW_TWIN, f"created {tw_rel} from {nb_rel}", "notebook")
            self._refuse_marked_sides()
            return
        text = _text(twin, tw_rel)
        if item.nb_text == text:
            self.set_state(IN_STEP, "")
            return
        self._judge_changes(text)
        self._refuse_marked_sides()

    def _judge_changes(self, text: str) -> None:
        """Both files exist and differ: which changed since a version in step, and what follows.

        Both sides are compared with one base: the pair as nbgit last saw it in step on disk when it
        remembers it (a run on the work tree), else the newest version in step that git holds."""
        from nbgit import twins

        item, (nb_rel, tw_rel) = self.item, self.item.relative
        seen = self.remembered if self.remembered is not None and self.remembered[0] == tw_rel and not self.staged else None
        base = None if seen is not None else self._base()
        if seen is not None:
            nb_unchanged, tw_unchanged = seen[1] == item.notebook.digest, seen[2] == item.twin.digest
        else:
            nb_unchanged = base is not None and (item.notebook.data == base.notebook or _cleaned(item.notebook, self.policy) == base.notebook)
            tw_unchanged = base is not None and item.twin.data == base.twin
        if tw_unchanged and not nb_unchanged:
            self.set_state(NOTEBOOK_CHANGED, f"updated {tw_rel} from {nb_rel}", "notebook")
        elif nb_unchanged and not tw_unchanged:
            self.set_state(TWIN_CHANGED, f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)", "text")
        elif twins.inputs(item.nb_text, item.fmt, nb_rel) == twins.inputs(text, item.fmt, tw_rel):
            self.set_state(IN_STEP, "")
        elif nb_unchanged and tw_unchanged:
            self.set_state(OUT_OF_STEP, f"{nb_rel} and {tw_rel} disagree and neither changed since they were last in step; take one side: nbgit sync --take notebook|text {nb_rel}", None, "notebook", "text")
        elif (base := base or self._base()) is None and all(self.versions.head):
            self.set_state(
                OUT_OF_STEP,
                f"{nb_rel} and {tw_rel} disagree, and no commit of their history (the last {HISTORY_DEPTH}) has them in step to tell which side changed; "
                f"take one side: nbgit sync --take notebook|text {nb_rel}",
                None, "notebook", "text",
            )
        else:
            self._judge_both_changed(base, text)

    def _base(self) -> Base | None:
        """The newest version where both files were in step: the staged pair (in a run on the work
        tree), HEAD's, else the newest such commit of the pair's history; None when there is none."""
        head, index = self.versions
        if not self.staged and index != head and index[0] is not None and index[1] is not None and self._in_step(*index):
            return Base(index[0], index[1], "staged")
        if head[0] is None or head[1] is None:
            return None
        if self._in_step(*head):
            return Base(head[0], head[1], "committed")
        paths = _in_git(self.root, self.item)
        commits = gitrepo.path_history(self.root, paths, HISTORY_DEPTH)
        blobs = gitrepo.revision_files(self.root, [f"{commit}:{rel}" for commit in commits for rel in paths])
        tried = {head}
        for number, commit in enumerate(commits):
            version = (blobs[2 * number], blobs[2 * number + 1])
            if version not in tried and version[0] is not None and version[1] is not None and self._in_step(*version):
                return Base(version[0], version[1], f"commit {commit[:7]}")
            tried.add(version)
        return None

    def _in_step(self, notebook: bytes, twin: bytes) -> bool:
        """Whether a version of the pair (a notebook and a twin as git holds them) was in step: same inputs."""
        from nbgit import twins

        nb_rel, tw_rel = self.item.relative
        text = _notebook_text(self.policy, nb_rel, self.item.fmt, notebook)
        try:
            return text is not None and twins.inputs(text, self.item.fmt, nb_rel) == twins.inputs(twin.decode("utf-8"), self.item.fmt, tw_rel)
        except (NbgitError, UnicodeDecodeError):
            return False

    def _judge_both_changed(self, base: Base | None, text: str) -> None:
        """Both sides changed: one side's inputs may still equal the base's; else merge, else a conflict."""
        from nbgit import twins
        from nbgit.notebook import parse

        item = self.item
        nb_rel, tw_rel = item.relative
        fmt, nb_text, current = item.fmt, item.nb_text, item.current
        assert current is not None
        base_text = _base_text(self.policy, nb_rel, fmt, base) if base is not None else None
        item.choices = frozenset({"notebook", "text"})
        status = item.status
        if base is not None and base_text is not None:
            base_inputs = twins.inputs(base_text, fmt, tw_rel)
            if twins.inputs(text, fmt, tw_rel) == base_inputs:
                item.status, item.action = status._replace(state=NOTEBOOK_CHANGED, detail=f"updated {tw_rel} from {nb_rel}"), "notebook"
                return
            if twins.inputs(nb_text, fmt, nb_rel) == base_inputs:
                item.status, item.action = status._replace(state=TWIN_CHANGED, detail=f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)"), "text"
                return
            merged, clean = gitrepo.merge_texts(base_text, nb_text, text, (nb_rel, f"{base.name} version", tw_rel))
            if clean:
                merged_notebook = twins.notebook_from_text(merged, fmt, current, self.policy, tw_rel, nb_rel, nb_text)
                merged_parsed = parse(merged_notebook, nb_rel)
                merged_twin = twins.twin_text(merged_parsed.content, self.policy, nb_rel, fmt)
                item.merged = {item.notebook.path: merged_notebook, item.twin.path: merged_twin.encode("utf-8")}
                item.status, item.action = status._replace(state=MERGEABLE, detail=f"merged the edits of {nb_rel} and {tw_rel} (they do not overlap)"), "merge"
                return
        detail = f"{nb_rel} and {tw_rel} were both edited"
        detail += f" since the {base.name} version, in the same place" if base_text is not None and base is not None else ", and git has no version of either to compare with"
        item.report = _conflict_report(base_text, nb_text, text, nb_rel, tw_rel)
        item.status = status._replace(state=CONFLICT, detail=detail)

    def _refuse_marked_sides(self) -> None:
        """Never copy git's (or nbdime's) conflict markers from one file of the pair into the other:
        a side holding them is not taken, by the pair's own action or by --take."""
        from nbgit.merge import describe_conflicts
        from nbgit.notebook import has_conflict_markers

        item = self.item
        nb_rel, tw_rel = item.relative
        marked = set()
        if item.current is not None and describe_conflicts(item.current.content, 7):
            marked.add("notebook")
        if item.twin.data is not None and has_conflict_markers(item.twin.data):
            marked.add("text")
        if not marked:
            return
        item.choices = item.choices - marked
        if item.action is None or not TAKES[item.action] & marked:
            return
        if marked == {"notebook"}:
            way = f"resolve the conflicts in Jupyter or with `nbgit resolve {nb_rel} --take local|remote`, then run nbgit sync again"
        else:
            way = f"`nbgit resolve {nb_rel}` writes {tw_rel} again from the notebook; or edit out the markers"
            way += f", or keep the notebook's side: nbgit sync --take notebook {nb_rel}" if "notebook" in item.choices else ""
        holders = " and ".join(rel for side, rel in (("notebook", nb_rel), ("text", tw_rel)) if side in marked)
        self.set_state(MARKED, f"{holders} hold{'s' if len(marked) == 1 else ''} conflict markers, which nbgit sync never copies into the other file; {way}", None, *item.choices)


def _text(member: Member, shown: str) -> str:
    assert member.data is not None
    try:
        return member.data.decode("utf-8")
    except UnicodeDecodeError:
        raise NbgitError(f"{shown}: not UTF-8 text", "save the twin as UTF-8, or take the notebook side: nbgit sync --take notebook") from None


def _cleaned(member: Member, policy: Policy) -> bytes | None:
    from nbgit.clean import clean_bytes

    try:
        return clean_bytes(member.data or b"", str(member.path), policy)
    except NbgitError:
        return None


def _notebook_text(policy: Policy, nb_rel: str, fmt: str, data: bytes) -> str | None:
    from nbgit import twins
    from nbgit.notebook import parse

    try:
        parsed = parse(data, nb_rel)
        return twins.twin_text(parsed.content, policy, nb_rel, fmt, parsed.major)
    except NbgitError:
        return None


def _base_text(policy: Policy, nb_rel: str, fmt: str, base: Base) -> str | None:
    """The pair's base as twin text: the base twin, else the base notebook's inputs."""
    try:
        return base.twin.decode("utf-8")
    except UnicodeDecodeError:
        return _notebook_text(policy, nb_rel, fmt, base.notebook)


def _conflict_report(base: str | None, ours: str, theirs: str, nb_rel: str, tw_rel: str) -> str:
    """Both sides' changes as unified diffs, and the commands that resolve the conflict."""
    parts: list[str] = []
    if base is None:
        parts.append(_diff(theirs, ours, tw_rel, f"{nb_rel} (inputs)"))
    else:
        parts.append(f"notebook side ({nb_rel}):\n" + (_diff(base, ours, "base", f"{nb_rel} (inputs)") or "  (no change)\n"))
        parts.append(f"text side ({tw_rel}):\n" + (_diff(base, theirs, "base", tw_rel) or "  (no change)\n"))
    parts.append(
        "resolve with one of:\n"
        f"  nbgit sync --take notebook {nb_rel}   # keep the notebook's inputs, rewrite {tw_rel}\n"
        f"  nbgit sync --take text {nb_rel}   # keep {tw_rel}, update the notebook (outputs of unchanged cells kept)\n"
        f"  or edit one side to match the other, then run nbgit sync again\n"
    )
    return "".join(parts)


def _diff(a: str, b: str, a_name: str, b_name: str) -> str:
    import difflib  # (only for pairs out of step: a check whose pairs are all in step never needs it)

    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), a_name, b_name, n=2))


# --- what nbgit last saw in step ------------------------------------------------------------------


class _Cache:
    """Pairs nbgit last saw in step, by the sha1 of both files: {notebook: [twin, nb sha1, twin sha1]};
    and where notebooks' own formats place their twins, by the stat data of the notebooks' files."""

    def __init__(self, path: Path | None, key: str, pairs: dict[str, list[str]], own: dict[str, list] | None = None) -> None:
        self.path, self.key, self.pairs = path, key, pairs
        self.own = own if own is not None else {}  # {notebook: [*file_stamp, twin, format]}: see `own_twin`
        self.dirty = False

    @classmethod
    def load(cls, root: Path, pair: PairSettings) -> _Cache:
        """The cache of this work tree, empty when absent, unreadable or made under other settings."""
        try:
            path = gitrepo.git_path(root, CACHE_NAME)
        except NbgitError:
            return cls(None, pair.key(), {})
        try:
            saved = json.loads(path.read_bytes())
            if saved.get("version") == CACHE_VERSION and saved.get("settings") == pair.key():
                own = saved.get("own") if saved.get("nbgit") == _version() else None  # another version may place twins otherwise
                return cls(path, pair.key(), dict(saved["pairs"]), dict(own or {}))
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
        return cls(path, pair.key(), {})

    def twin_of(self, notebook: str) -> tuple[str, str] | None:
        """(twin, notebook sha1) of a remembered pair."""
        entry = self.pairs.get(notebook)
        return (entry[0], entry[1]) if entry else None

    def in_step(self, notebook: str, twin: str, nb_digest: str | None, tw_digest: str | None) -> bool:
        """Whether both files are byte for byte as when the pair was last seen in step."""
        return nb_digest is not None and tw_digest is not None and self.pairs.get(notebook) == [twin, nb_digest, tw_digest]

    def remember(self, relative: tuple[str, str], nb_digest: str | None, tw_digest: str | None) -> None:
        """Record a pair seen in step."""
        if nb_digest is None or tw_digest is None:
            return
        entry = [relative[1], nb_digest, tw_digest]
        if self.pairs.get(relative[0]) != entry:
            self.pairs[relative[0]] = entry
            self.dirty = True

    def own_twin(self, notebook: str, stamp: list[int] | None) -> tuple[Twin | None] | None:
        """(the twin its own formats place,) for a notebook whose file had these stat data; None when unknown."""
        entry = self.own.get(notebook)
        if stamp is None or not isinstance(entry, list) or len(entry) != len(stamp) + 2 or entry[: len(stamp)] != stamp:
            return None
        twin, fmt = entry[len(stamp) :]
        if twin is None:
            return (None,)
        return (Twin(twin, fmt),) if isinstance(twin, str) and isinstance(fmt, str) else None

    def remember_own_twin(self, notebook: str, stamp: list[int], twin: Twin | None) -> None:
        """Record what a notebook's own formats place (`own_twin`), under its file's stat data."""
        entry = [*stamp, *(twin if twin is not None else (None, None))]
        if self.own.get(notebook) != entry:
            self.own[notebook] = entry
            self.dirty = True

    def save(self) -> None:
        """Write the cache when it changed (atomically; a failure only costs speed next time)."""
        if not self.dirty or self.path is None:
            return
        try:
            saved = {"version": CACHE_VERSION, "settings": self.key, "pairs": self.pairs, "own": self.own, "nbgit": _version()}
            write_atomic(self.path, json.dumps(saved, sort_keys=True).encode())
        except OSError:
            pass


def _version() -> str:
    import nbgit

    return nbgit.__version__
