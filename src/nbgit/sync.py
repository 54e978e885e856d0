"""Three-way sync of notebooks and their text twins, with git as the base; never throws an edit away.

For each pair the base is the last version both sides were in step at: the staged pair when it is
in step (you ran `nbgit sync` and `git add`), else the committed (HEAD) pair. A side whose bytes
equal its base (or the last pair nbgit saw in step, for notebooks git does not track) is unchanged.
Then: only the notebook changed -> rewrite the twin; only the twin changed -> update the notebook's
inputs; both changed -> same inputs: nothing; different edits that do not overlap: merge them;
overlapping edits: a conflict, nothing written.

The decision "nothing to do" is taken here without jupytext: a pair whose two files hash as they did
when nbgit last saw them in step (a small cache in `.git/nbgit-pairs.json`) is in step.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.notebook import Notebook, parse
from nbgit.parallel import map_on_all_cores
from nbgit.pairing import (
    AUTO,
    NOTEBOOK_SUFFIX,
    PairSettings,
    extension_for,
    looks_like_twin,
    notebook_relpath,
    selected,
    settings,
    twin_relpath,
)
from nbgit.policy import Policy

CACHE_NAME = "nbgit-pairs.json"
CACHE_VERSION = 1
PAIRS_PER_WORKER = 8  # a pair costs jupytext about 10 ms, starting a worker process about 30 ms

# States of a pair. IN_STEP needs nothing; the next five sync by themselves; the rest need a person.
IN_STEP = "in step"
NOTEBOOK_CHANGED = "notebook changed"
TWIN_CHANGED = "twin changed"
MERGEABLE = "both changed, edits merge"
NEW_TWIN = "twin missing"
NEW_NOTEBOOK = "notebook missing"
CONFLICT = "conflict"
OUT_OF_STEP = "out of step in the base"
ORPHAN = "orphaned twin"
TWIN_DELETED = "twin deleted"
ERROR = "error"
AUTOMATIC = frozenset({NOTEBOOK_CHANGED, TWIN_CHANGED, MERGEABLE, NEW_TWIN, NEW_NOTEBOOK})


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


@dataclass
class Member:
    """One side of a pair as read from disk: its bytes (None when absent) and the stat seen then."""

    path: Path
    data: bytes | None
    stat: tuple[int, int] | None

    @classmethod
    def read(cls, path: Path) -> Member:
        """Read a file and remember its size and mtime, to notice a change before overwriting it."""
        try:
            data = path.read_bytes()
            st = path.stat()
            return cls(path, data, (st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            return cls(path, None, None)

    def unchanged_on_disk(self) -> bool:
        """Whether the file is still exactly as read (or still absent)."""
        now = Member.read(self.path)
        return now.data == self.data and now.stat == self.stat

    @property
    def digest(self) -> str | None:
        """sha1 of the bytes read (None when absent)."""
        return None if self.data is None else hashlib.sha1(self.data).hexdigest()


@dataclass
class Plan:
    """A pair, its status, and how to bring it in step: `action` syncs by itself, `choices` need --take."""

    status: PairStatus
    notebook: Member
    twin: Member
    relative: tuple[str, str]
    action: str | None = None  # "notebook" (rewrite the twin), "text" (update the notebook), "merge"
    choices: frozenset[str] = frozenset()
    report: str = ""
    fmt: str = ""
    nb_text: str = ""
    current: Notebook | None = None
    merged: dict[Path, bytes] = field(default_factory=dict)


@dataclass
class Run:
    """The plans of one sync or check, and the cache of pairs seen in step that they update."""

    plans: list[Plan]
    cache: _Cache
    policy: Policy


def plan(root: Path, policy: Policy, paths: list[Path] | None) -> Run:
    """Every pair under `paths` (None: the whole repository) with its status and how to sync it.

    jupytext is imported only when some pair is not known to be in step.
    """
    pair = settings(policy)
    cache = _Cache.load(root, pair)
    pairs, unknown = _pairs(root, pair, paths, cache)
    plans: list[Plan] = []
    for notebook_rel, error in unknown:
        path = root / notebook_rel
        plans.append(Plan(PairStatus(path, path, ERROR, error.render()), Member(path, None, None), Member(path, None, None), (notebook_rel, notebook_rel)))
    slow: list[Plan] = []
    for notebook_rel, twin_rel in pairs:
        notebook, twin = Member.read(root / notebook_rel), Member.read(root / twin_rel)
        item = Plan(PairStatus(notebook.path, twin.path, IN_STEP, ""), notebook, twin, (notebook_rel, twin_rel))
        plans.append(item)
        if not cache.in_step(notebook_rel, twin_rel, notebook.digest, twin.digest):
            slow.append(item)
    if slow:
        _judge(root, policy, pair, slow, cache)
    for item in plans:
        if item.status.in_step:
            cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    return Run(plans, cache, policy)


def pair_status(root: Path, policy: Policy, paths: list[Path] | None = None) -> list[PairStatus]:
    """The status of every pair under `paths` (None: all), changing nothing; for `nbgit check`.

    Pairs whose files are as nbgit last saw them in step are judged without importing jupytext.
    """
    return [p.status for p in plan(root, policy, paths).plans]


def apply(run: Run, take: str | None) -> list[Plan]:
    """Carry out each plan's action (and, with `take`, the chosen side of pairs that need a decision).

    A file that changed on disk since it was read is not overwritten: that pair is reported instead.
    Returns the plans whose files were written. Saves the cache of pairs seen in step.
    """
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
        for path, data in writes.items():
            member = item.notebook if path == item.notebook.path else item.twin
            if data != member.data:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, data)
                member.data = data
        if item.status.state not in AUTOMATIC:
            item.status = item.status._replace(detail=f"took the {action} side")
        done.append(item)
        run.cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    run.cache.save()
    return done


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
    text = _text(item.twin)
    return {item.notebook.path: twins.notebook_from_text(text, item.fmt, item.current, policy, item.relative[1], item.relative[0], item.nb_text or None)}


# --- which pairs -------------------------------------------------------------------------------


def _pairs(root: Path, pair: PairSettings, paths: list[Path] | None, cache: _Cache) -> tuple[list[tuple[str, str]], list[tuple[str, NbgitError]]]:
    """(notebook, twin) repo-relative paths of the pairs under `paths`, in path order, and the
    selected notebooks whose twin cannot be placed (an unknown kernel language)."""
    specs: list[str] = []
    explicit: list[str] = []
    for path in paths or []:
        relative = _relative(root, path)
        if (root / relative).is_file():
            explicit.append(relative)
        elif (root / relative).is_dir():
            specs.append(relative or ".")
        else:
            raise NbgitError(f"{path}: no such file or folder", "check the path")
    names = list(dict.fromkeys(explicit + (gitrepo.listed_files(root, specs) if (specs or paths is None) else [])))
    found: dict[str, str] = {}
    unknown: list[tuple[str, NbgitError]] = []
    for name in names:
        if name.endswith(NOTEBOOK_SUFFIX):
            try:
                twin = _twin_of(root, name, pair, cache, name in explicit)
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
        if notebook is None or notebook in found or not looks_like_twin(root / name):
            continue
        if (root / notebook).exists():
            try:
                if _twin_of(root, notebook, pair, cache, True) != name:
                    continue  # the notebook's twin has another extension: this file is not it
            except NbgitError:
                continue
        found[notebook] = name
    return sorted(found.items()), unknown


def _twin_of(root: Path, notebook: str, pair: PairSettings, cache: _Cache, explicit: bool) -> str | None:
    """The notebook's twin when the notebook is paired: selected by the policy or named on the command
    line, remembered from an earlier sync, or with a jupytext twin where its twin belongs."""
    path = root / notebook
    remembered = cache.twin_of(notebook)
    if remembered is not None and (remembered[1] == _digest(path) or not path.exists()):
        return remembered[0]
    is_selected = selected(notebook, pair) or explicit
    if not path.exists():
        return None  # a deleted notebook: found through its twin, if that is still there
    extension = _extension(path, pair)
    if extension is None:
        if is_selected:
            from nbgit.twins import unknown_language

            parse(path.read_bytes(), notebook)  # an unreadable notebook says so first
            raise unknown_language(notebook, _metadata(path))
        return None
    twin = twin_relpath(notebook, extension, pair)
    if twin is not None and (is_selected or remembered is not None or looks_like_twin(root / twin)):
        return twin
    return None


def _extension(path: Path, pair: PairSettings) -> str | None:
    """The twin's extension for a notebook on disk; jupytext is asked only for unusual kernels."""
    if pair.extension != AUTO:
        return pair.extension
    metadata = _metadata(path)
    extension = extension_for(metadata, pair)
    if extension is None and metadata:
        from nbgit.twins import twin_extension

        try:
            extension = twin_extension(metadata, pair, str(path))
        except NbgitError:
            return None
    return extension


def _metadata(path: Path) -> dict:
    """A notebook file's metadata, {} when it cannot be read (the error comes when it is judged)."""
    try:
        content = json.loads(path.read_bytes())
    except (ValueError, OSError):
        return {}
    metadata = content.get("metadata") if isinstance(content, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _relative(root: Path, path: Path) -> str:
    absolute = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        relative = absolute.relative_to(root).as_posix()
    except ValueError:
        raise NbgitError(f"{path}: outside the repository at {root}", "give paths inside the repository") from None
    return "" if relative == "." else relative


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --- judging pairs (jupytext from here on) --------------------------------------------------------


def _judge(root: Path, policy: Policy, pair: PairSettings, items: list[Plan], cache: _Cache) -> None:
    specs = [f"{rev}:{rel}" for item in items for rel in item.relative for rev in ("HEAD", "")]
    blobs = gitrepo.revision_files(root, specs)
    jobs = [(item, cache.pairs.get(item.relative[0]), blobs[4 * index : 4 * index + 4]) for index, item in enumerate(items)]
    judged = map_on_all_cores(partial(_judged, policy=policy, pair=pair), jobs, PAIRS_PER_WORKER)
    for item, result in zip(items, judged):
        if result is not item:
            vars(item).update(vars(result))  # a worker process judged a copy


def _judged(job: tuple[Plan, list[str] | None, list[bytes | None]], policy: Policy, pair: PairSettings) -> Plan:
    """One pair judged against its base: (the plan, what the cache remembers of it, its HEAD and staged blobs)."""
    item, remembered, (head_nb, index_nb, head_tw, index_tw) = job
    try:
        _judge_one(policy, pair, item, remembered, (head_nb, head_tw), (index_nb, index_tw))
    except NbgitError as error:
        item.status = item.status._replace(state=ERROR, detail=error.render())
    return item


def _judge_one(policy: Policy, pair: PairSettings, item: Plan, remembered: list[str] | None, head: tuple, staged: tuple) -> None:
    from nbgit import twins

    notebook, twin = item.notebook, item.twin
    nb_rel, tw_rel = item.relative
    item.fmt = fmt = twins.twin_format(Path(tw_rel).suffix, pair)
    base_nb, base_tw, base_name = _choose_base(policy, fmt, item, head, staged)

    def set_state(state: str, detail: str, action: str | None = None, *choices: str) -> None:
        item.status = item.status._replace(state=state, detail=detail)
        item.action, item.choices = action, frozenset(choices)

    if notebook.data is None and twin.data is None:
        set_state(ERROR, f"{nb_rel}: neither the notebook nor its twin {tw_rel} exists")
    elif notebook.data is None:
        twins.read_text(_text(twin), fmt, tw_rel)  # an unreadable twin is an error now, not at --take
        if base_nb is not None:
            set_state(ORPHAN, f"{tw_rel}: its notebook {nb_rel} was deleted; delete the twin (git rm {tw_rel}) or rebuild the notebook: nbgit sync --take text {tw_rel}", None, "text")
        else:
            set_state(NEW_NOTEBOOK, f"created {nb_rel} from {tw_rel}", "text")
        return
    if item.status.state == ERROR:
        return
    item.current = current = parse(notebook.data, nb_rel)
    item.nb_text = nb_text = twins.twin_text(current.content, policy, nb_rel, current.major, Path(tw_rel).suffix)
    if twin.data is None:
        if base_tw is not None:
            set_state(TWIN_DELETED, f"{tw_rel}: the twin of {nb_rel} was deleted; recreate it (nbgit sync --take notebook {nb_rel}) or stop pairing this notebook ([pair] exclude) and commit the deletion", None, "notebook")
        else:
            set_state(NEW_TWIN, f"created {tw_rel} from {nb_rel}", "notebook")
        return
    text = _text(twin)
    nb_unchanged = notebook.data == base_nb or (remembered is not None and remembered[1] == notebook.digest) or _cleaned(notebook, policy) == base_nb
    tw_unchanged = twin.data == base_tw or (remembered is not None and remembered[2] == twin.digest)
    if nb_text == text:
        set_state(IN_STEP, "")
    elif tw_unchanged and not nb_unchanged:
        set_state(NOTEBOOK_CHANGED, f"updated {tw_rel} from {nb_rel}", "notebook")
    elif nb_unchanged and not tw_unchanged:
        set_state(TWIN_CHANGED, f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)", "text")
    elif twins.inputs(nb_text, fmt, nb_rel) == twins.inputs(text, fmt, tw_rel):
        set_state(IN_STEP, "")
    elif nb_unchanged and tw_unchanged:
        set_state(OUT_OF_STEP, f"{nb_rel} and {tw_rel} disagree and neither changed since the {base_name} version; take one side: nbgit sync --take notebook|text {nb_rel}", None, "notebook", "text")
    else:
        _judge_both_changed(policy, item, base_nb, base_tw, base_name, text)


def _judge_both_changed(policy: Policy, item: Plan, base_nb: bytes | None, base_tw: bytes | None, base_name: str, text: str) -> None:
    """Both sides changed: one side's inputs may still equal the base's; else merge, else a conflict."""
    from nbgit import twins

    nb_rel, tw_rel = item.relative
    fmt, nb_text, current = item.fmt, item.nb_text, item.current
    assert current is not None
    base_text = _base_text(policy, nb_rel, tw_rel, base_nb, base_tw)
    status = item.status
    item.choices = frozenset({"notebook", "text"})
    if base_text is not None:
        base_inputs = twins.inputs(base_text, fmt, tw_rel)
        if twins.inputs(text, fmt, tw_rel) == base_inputs:
            item.status, item.action = status._replace(state=NOTEBOOK_CHANGED, detail=f"updated {tw_rel} from {nb_rel}"), "notebook"
            return
        if twins.inputs(nb_text, fmt, nb_rel) == base_inputs:
            item.status, item.action = status._replace(state=TWIN_CHANGED, detail=f"updated {nb_rel} from {tw_rel} (outputs of unchanged cells kept)"), "text"
            return
        merged, clean = gitrepo.merge_texts(base_text, nb_text, text, (nb_rel, f"{base_name} version", tw_rel))
        if clean:
            merged_notebook = twins.notebook_from_text(merged, fmt, current, policy, tw_rel, nb_rel, nb_text)
            merged_parsed = parse(merged_notebook, nb_rel)
            merged_twin = twins.twin_text(merged_parsed.content, policy, nb_rel, 4, Path(tw_rel).suffix)
            item.merged = {item.notebook.path: merged_notebook, item.twin.path: merged_twin.encode("utf-8")}
            item.status, item.action = status._replace(state=MERGEABLE, detail=f"merged the edits of {nb_rel} and {tw_rel} (they do not overlap)"), "merge"
            return
    detail = f"{nb_rel} and {tw_rel} were both edited"
    detail += f" since the {base_name} version, in the same place" if base_text is not None else ", and git has no version of either to compare with"
    item.report = _conflict_report(base_text, nb_text, text, nb_rel, tw_rel)
    item.status = status._replace(state=CONFLICT, detail=detail)


def _text(member: Member) -> str:
    assert member.data is not None
    try:
        return member.data.decode("utf-8")
    except UnicodeDecodeError:
        raise NbgitError(f"{member.path}: not UTF-8 text", "save the twin as UTF-8, or take the notebook side: nbgit sync --take notebook") from None


def _cleaned(member: Member, policy: Policy) -> bytes | None:
    from nbgit.clean import clean_bytes

    try:
        return clean_bytes(member.data or b"", str(member.path), policy)
    except NbgitError:
        return None


def _choose_base(policy: Policy, fmt: str, item: Plan, head: tuple, staged: tuple) -> tuple[bytes | None, bytes | None, str]:
    """The staged pair when it differs from HEAD and is itself in step, else the committed (HEAD) pair."""
    if staged == head or staged[0] is None or staged[1] is None:
        return head[0], head[1], "committed"
    from nbgit import twins

    nb_rel, tw_rel = item.relative
    staged_text = _notebook_text(policy, nb_rel, tw_rel, staged[0])
    try:
        in_step = staged_text is not None and twins.inputs(staged_text, fmt, nb_rel) == twins.inputs(staged[1].decode("utf-8"), fmt, tw_rel)
    except (NbgitError, UnicodeDecodeError):
        in_step = False
    return (staged[0], staged[1], "staged") if in_step else (head[0], head[1], "committed")


def _notebook_text(policy: Policy, nb_rel: str, tw_rel: str, data: bytes) -> str | None:
    from nbgit import twins

    try:
        parsed = parse(data, nb_rel)
        return twins.twin_text(parsed.content, policy, nb_rel, parsed.major, Path(tw_rel).suffix)
    except NbgitError:
        return None


def _base_text(policy: Policy, nb_rel: str, tw_rel: str, base_nb: bytes | None, base_tw: bytes | None) -> str | None:
    """The pair's base as twin text: the base twin, else the base notebook's inputs."""
    if base_tw is not None:
        try:
            return base_tw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _notebook_text(policy, nb_rel, tw_rel, base_nb) if base_nb is not None else None


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
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), a_name, b_name, n=2))


# --- what nbgit last saw in step ------------------------------------------------------------------


@dataclass
class _Cache:
    """Pairs nbgit last saw in step, by the sha1 of both files: {notebook: [twin, nb sha1, twin sha1]}."""

    path: Path | None
    key: str
    pairs: dict[str, list[str]]
    dirty: bool = False

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
                return cls(path, pair.key(), dict(saved["pairs"]))
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass
        return cls(path, pair.key(), {})

    @property
    def twins(self) -> set[str]:
        """Twin paths of remembered pairs."""
        return {entry[0] for entry in self.pairs.values()}

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

    def save(self) -> None:
        """Write the cache when it changed (atomically; a failure only costs speed next time)."""
        if not self.dirty or self.path is None:
            return
        try:
            write_atomic(self.path, json.dumps({"version": CACHE_VERSION, "settings": self.key, "pairs": self.pairs}, sort_keys=True).encode())
        except OSError:
            pass
