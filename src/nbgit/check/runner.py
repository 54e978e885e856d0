"""What `nbgit check` and the pre-commit hook judge, gathered and judged: staged blobs or working-tree
files, many at once in parallel, plus the checks that need the repository (wiring, pairs) and the fixes.

Notebooks are judged as they would be committed (see `nbgit.check.judge`): with `staged`, the blobs in
the index (`GIT_INDEX_FILE` is honoured, so a `commit -a` hook sees its temporary index), read
through one `git cat-file --batch`; otherwise the working-tree files, as git's clean filter would
store them where it is in effect.
"""

from __future__ import annotations

import os
import stat
import zlib
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable, NamedTuple

from nbgit import fastjson, gitrepo
from nbgit.check.cache import Verdicts, entry_key, file_identity, staged_identity
from nbgit.check.catalogue import Problem, Settings, problem
from nbgit.errors import NbgitError
from nbgit.files import RealPaths, Seen, file_stamp, find_notebooks, write_atomic
from nbgit.parallel import map_on_all_cores
from nbgit.policy import Policy
from nbgit.terminal import git_path_word, shell_word

if TYPE_CHECKING:
    from nbgit.notebook import Notebook
    from nbgit.pairing import PairSettings, Twin
    from nbgit.sync.model import Plan
    from nbgit.sync.pairs import OwnTwins

NOTEBOOK = ".ipynb"
REGULAR_MODES = ("100644", "100755")  # index entries of files; links are 120000, submodules 160000
CHECKPOINTS = ".ipynb_checkpoints"  # JupyterLab's autosaved copies: never a notebook of the project
PARALLEL_FROM = 48  # notebooks per worker: for fewer, starting a process costs more than it saves
FILTER_KEYS = r"^filter\.nbgit\.(process|clean)$"


class Target(NamedTuple):
    """One notebook to judge: its shown path, and where its bytes come from (a file or a staged blob)."""

    path: str
    file: str | None = None  # (a path as text: a run makes no Path per notebook)
    entry: gitrepo.IndexEntry | None = None
    data: bytes | None = None
    filtered: bool = False


class Outcome(NamedTuple):
    """What a run found: the problems left, those `--fix` fixed, how many notebooks were judged."""

    problems: list[Problem]
    fixed: list[Problem]
    notebooks: int = 0
    judged: dict[str, bytes] | None = None  # by path, the bytes judged where they are no working-tree file's (staged blobs)

    @property
    def failed(self) -> bool:
        """Whether any problem (not a mere warning) is left."""
        return any(not p.warning for p in self.problems)


class Scope(NamedTuple):
    """Which notebooks to judge: named paths (files or folders), every tracked one, or what is staged."""

    paths: tuple[str, ...] = ()
    all: bool = False
    staged: bool = False
    shard: tuple[int, int] | None = None


def in_shard(path: str, shard: tuple[int, int] | None) -> bool:
    """Whether a notebook belongs to shard (K, N), K from 1: decided by its repo-relative path alone
    (crc32, the same on every machine), so N CI jobs split the notebooks, each in exactly one share."""
    if shard is None:
        return True
    return zlib.crc32(path.encode("utf-8", "surrogateescape")) % shard[1] == shard[0] - 1


def run_checks(root: Path | None, policy: Policy, scope: Scope, fix: bool = False, use_cache: bool = True) -> Outcome:
    """Judge the notebooks of `scope` (and their twins) with every enabled check; with `fix`, fix what is safe.

    Verdicts already reached for the same bytes, path, policy and code, and the copies among the same
    files, come from the cache (`nbgit.check.cache`) unless `use_cache` is false.
    """
    settings = Settings.from_policy(policy)
    real = RealPaths()  # each file looked at once, by the targets, the judging and the pairs
    targets, others, listing = _targets(root, policy, scope, real)
    in_ci = bool(os.environ.get("CI"))  # a CI checkout is the commit under test: judged as it is, no filter
    wiring = _wiring(root, [t.path for t in targets], report=settings.enabled("not-installed") and not in_ci,
                     want_filtered=not scope.staged and not in_ci)
    if wiring.filtered:
        targets = [Target(t.path, t.file, t.entry, t.data, t.path in wiring.filtered) for t in targets]
    outcome = Outcome(list(wiring.problems), [], len(targets), {t.path: t.data for t in targets if t.data is not None})
    verdicts = Verdicts.load(root, policy) if use_cache else None
    judged, own_twins = _judge_all(root, targets, policy, settings, verdicts, real, _pairing(root, policy, settings, scope))
    for target, found in zip(targets, judged):
        if fix and any(p.check == "not-clean" for p in found) and _clean_target(root, target, policy):
            outcome.fixed.extend(p for p in found if p.check == "not-clean")
            found = [p for p in found if p.check != "not-clean"]
            real = RealPaths()  # a file written: the pairs look at the files afresh
        outcome.problems.extend(found)
    names = {t.path for t in targets} | set(others)
    folders = [] if scope.all or scope.staged else [_shown(root, Path(p)) for p in scope.paths or ["."] if Path(p).is_dir()]
    tracked = listing.tracked if listing is not None else None
    wanted = partial(_wanted, names=names, folders=folders, everything=scope.all, tracked=tracked, shard=scope.shard)
    pairs = _pair_problems(root, policy, settings, wanted, scope.staged, fix, remember=use_cache, listing=listing, real=real, own_twins=own_twins)
    outcome.problems.extend(pairs.problems)
    outcome.fixed.extend(pairs.fixed)
    if settings.enabled("duplicate-code"):
        from nbgit.check.copies import duplicate_code

        looked = RealPaths() if outcome.fixed else real  # files `--fix` wrote are looked at afresh
        copies = duplicate_code(root, policy, scope.staged, scope.all, [t.path for t in targets] + others, verdicts, looked, tracked)
        # a group of copies is reported once, at its first file: in that file's shard only
        outcome.problems.extend(p for p in copies if in_shard(p.path, scope.shard))
    if verdicts is not None:
        verdicts.save()
    return outcome._replace(problems=[settings.severity(p) for p in outcome.problems])


def _targets(root: Path | None, policy: Policy, scope: Scope, real: RealPaths) -> tuple[list[Target], list[str], gitrepo.Listing | None]:
    """The notebooks to judge, the other files named (candidate twins), minus what the policy excludes,
    and with `--all` what git lists: every path it tracks (what the pair checks may judge too; None: no
    such limit), and the untracked ones among which sync looks for twins too. `real` looks at the files."""
    listing: gitrepo.Listing | None = None
    if scope.staged:
        if root is None:
            raise NbgitError("--staged needs a git repository", "run it inside the repository, or name files without --staged")
        entries = _staged_entries(root, scope)
        # a link's blob is the path it names, a submodule's entry a commit of another repository: no notebook
        notebooks = [e for e in entries if e.path.endswith(NOTEBOOK) and e.mode in REGULAR_MODES]
        blobs = gitrepo.read_blobs([e.blob for e in notebooks], cwd=root)
        targets = [Target(e.path, os.path.join(root, e.path), e, blobs[e.blob]) for e in notebooks]
        others = [e.path for e in entries if not e.path.endswith(NOTEBOOK)]
    elif scope.all:
        if root is None:
            raise NbgitError("--all needs a git repository", "run it inside the repository, or name files or folders")
        listing = gitrepo.listing(root, [])  # one git process for the notebooks and for sync's pairs
        inside = os.path.join(root, "")  # + a path git lists: os.path.join's result, without its cost per file
        targets = [Target(p, file=inside + p) for p in sorted(listing.tracked) if p.endswith(NOTEBOOK) and _is_file(real.look(inside + p))]
        others = []
    else:
        found = find_notebooks(list(scope.paths) or ["."])
        shown = [(_shown(root, p), p) for p in found]
        targets = [Target(name, file=os.fspath(p)) for name, p in shown if name.endswith(NOTEBOOK)]
        others = [name for name, _ in shown if not name.endswith(NOTEBOOK)]
    return [t for t in targets if not policy.excludes(t.path) and in_shard(t.path, scope.shard)], others, listing


def _is_file(seen: Seen) -> bool:
    """Whether a path leads to a regular file (as `Path.is_file`, from what the run saw)."""
    return seen.status is not None and stat.S_ISREG(seen.status.st_mode)


def _staged_entries(root: Path, scope: Scope) -> list[gitrepo.IndexEntry]:
    """Index entries: those the commit changes (the default), every one (--all) or those under the named paths."""
    if scope.all or scope.paths:
        specs = [_shown(root, Path(p)) for p in scope.paths] if not scope.all else []
        return gitrepo.index_entries(specs, cwd=root)
    changed = {c.new_path for c in gitrepo.changed_files(["--cached"], [], cwd=root) if c.new_path and c.new_blob}
    return [e for e in gitrepo.index_entries([], cwd=root) if e.path in changed]


def _shown(root: Path | None, path: Path) -> str:
    """A path as shown and matched: repo-relative POSIX inside a repository, else as given."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


class Wiring(NamedTuple):
    """The `not-installed` findings and the shown paths for which git's clean filter is in effect."""

    problems: list[Problem]
    filtered: set[str]


def _wiring(root: Path | None, paths: list[str], report: bool, want_filtered: bool) -> Wiring:
    """Whether this clone runs nbgit's filter, and for which files (`git check-attr filter`).

    CI clones have no filters by design: there `not-installed` is not reported. Locally it is a
    warning: the checks still judge what would be committed.
    """
    wiring = Wiring([], set())
    if root is None or not paths or not (report or want_filtered):
        return wiring
    broken = installation_problem(root)
    if broken is not None:
        if report:
            wiring.problems.append(broken)
        return wiring
    attributes = gitrepo.attributes_of(paths, ("filter",), cwd=root)
    for path in paths:
        value = attributes.get(path, {}).get("filter", "unspecified")
        if value == "nbgit":
            wiring.filtered.add(path)
        elif report:
            wiring.problems.append(problem("not-installed", path, f'the nbgit filter is not in effect for this file (git check-attr: filter is "{value}")',
                                           hint="add `*.ipynb filter=nbgit diff=nbgit merge=nbgit` to .gitattributes (`nbgit install` writes it)"))
    return wiring


def filtered_paths(root: Path, paths: list[str]) -> set[str]:
    """The repo-relative paths for which git runs nbgit's clean filter in this clone (none when it is not wired)."""
    return _wiring(root, paths, report=False, want_filtered=True).filtered


def installation_problem(root: Path) -> Problem | None:
    """The `not-installed` problem of the clone as a whole: no filter configured, or its program missing."""
    entries = gitrepo.config_entries(FILTER_KEYS, cwd=root)
    if not entries:
        return problem("not-installed", "", "nbgit is not installed in this clone (no filter.nbgit.process in git config): notebooks are committed uncleaned")
    import shlex
    import shutil

    for entry in entries:
        try:
            words = shlex.split(entry.value) if entry.value.strip() else [""]
        except ValueError:  # an unclosed quote: the shell git runs it with refuses it too
            words = [entry.value]
        if shutil.which(words[0]) is None:
            return problem("not-installed", "", f"{entry.key} runs `{words[0]}`, which is not there: git stores notebooks uncleaned",
                           hint="run `nbgit install` again from the environment nbgit is installed in")
    return None


def _pairing(root: Path | None, policy: Policy, settings: Settings, scope: Scope) -> PairSettings | None:
    """The pair settings under which the pair checks will look for twins that working-tree notebooks'
    own formats place; None when they will not (or the settings are broken: the pair checks say so)."""
    if root is None or scope.staged or not (settings.enabled("unsynced") or settings.enabled("orphan")):
        return None
    from nbgit.pairing import settings as pair_settings

    try:
        return pair_settings(policy)
    except NbgitError:
        return None


def _judge_all(root: Path | None, targets: list[Target], policy: Policy, settings: Settings, verdicts: Verdicts | None,
               real: RealPaths, pairing: PairSettings | None = None) -> tuple[list[list[Problem]], OwnTwins]:
    """Judge every target: from the cache what it knows, the rest in worker processes (one per core) when many.

    A working-tree file whose blob id the cache knows by its stat data is not read at all; the
    others are read once, where they are judged. Where each file really is was looked at here, once
    (`real`), whether a link leads out of the repository included. With `pairing`, the workers also
    find where the notebooks they read place twins by their own formats, for the pair checks
    (`sync.plan.plan`'s `own_twins`), which then read none of them again.
    """
    results: list[list[Problem]] = [[] for _ in targets]
    inside = os.path.join(real.folder(root), "") if root is not None else None
    located = [_real_file(inside, target, real) for target in targets]
    misses = list(range(len(targets)))
    if verdicts is not None:
        misses = []
        for index, target in enumerate(targets):
            identity = _known_identity(root, target, located[index], verdicts)
            known = verdicts.get(entry_key(identity, target.path, target.filtered)) if identity is not None else None
            if known is None:
                misses.append(index)
            else:
                results[index] = known
    own_twins: OwnTwins = {}
    fastjson.expect(len(misses))
    work = partial(_judge_target, root=root, policy=policy, settings=settings, identify=verdicts is not None, pairing=pairing)
    for index, judged in zip(misses, map_on_all_cores(work, [(targets[i], located[i]) for i in misses], PARALLEL_FROM)):
        target, seen = targets[index], located[index]
        results[index] = judged.problems
        if judged.own is not None and judged.stamp is not None:
            own_twins[target.path] = (judged.stamp, judged.own[0])
        if verdicts is not None and judged.identity is not None:
            verdicts.put(entry_key(judged.identity, target.path, target.filtered), judged.problems)
            if judged.stamp is not None and seen is not None:
                verdicts.remember_blob(seen.real, judged.stamp, judged.identity)
    return results, own_twins


class Judged(NamedTuple):
    """One target's problems, with (to cache them under) the identity of the bytes judged and, for a
    working-tree file, its stat data when read (`cache.file_stamp`; None when it may not be remembered)
    and (the twin its own formats place,) when asked and found (`sync.pairs.own_twin_in`)."""

    problems: list[Problem]
    identity: str | None = None
    stamp: list[int] | None = None
    own: tuple[Twin | None] | None = None


def _known_identity(root: Path | None, target: Target, seen: Seen | None, verdicts: Verdicts) -> str | None:
    """What a target's verdict is cached under (`_identity`): a staged blob's id and its working-tree
    copy's, or a working-tree file's blob id, remembered by its stat data (as `seen`) or else read; None
    when the bytes may not be read, or when the cache is empty and they are not yet."""
    if target.data is not None:
        return _identity(target, target.data, _work_tree_copy(target, root))
    if seen is None or seen.status is None:
        return None
    if not verdicts.entries:  # an empty cache (a first run) knows no verdict: read where judged
        return verdicts.blob_of(seen.real, seen.status)
    known = file_identity(verdicts, seen.real, seen.status)
    return None if known is None else known[0]


def _real_file(inside: str | None, target: Target, real: RealPaths) -> Seen | None:
    """Where the target's working-tree file really is, and its stat data; None without one (or for a
    staged blob, whose bytes are given), or when it is a link that leads out of the repository, whose
    real path with a separator at its end is `inside` (never read)."""
    if target.file is None or target.data is not None:
        return None
    seen = real.look(target.file)
    return seen if inside is None or seen.real.startswith(inside) else None


def _judge_target(item: tuple[Target, Seen | None], root: Path | None, policy: Policy, settings: Settings, identify: bool = False,
                  pairing: PairSettings | None = None) -> Judged:
    """The problems of one target (with where its file really is, as `_real_file` saw it), with (when
    `identify`) the identity of the very bytes judged, to cache them under, and (with `pairing`) the
    twin a working-tree notebook's own formats place."""
    target, seen = item
    data, stamp = target.data, None
    if data is None and target.file is not None:
        if seen is None:
            return Judged([problem("invalid", target.path, "a symlink that leads out of the repository: not read",
                                   hint="nbgit never reads a file outside the repository through a link in it: remove the link")])
        try:  # the real path the link check let through, not the name again: a link swapped in since is not followed
            stamp = file_stamp(os.stat(seen.real)) if identify or pairing else None  # before reading: a later write shows
            data = Path(seen.real).read_bytes()
        except OSError as error:
            return Judged([problem("invalid", target.path, f"cannot be read ({error.strerror})")])
    from nbgit.check.judge import judge  # (only for what the cache does not know: parsing and cleaning cost imports)

    data = data or b""
    work_tree = _work_tree_copy(target, root)
    identity = _identity(target, data, work_tree) if identify else None
    judgement = judge(target.path, data, policy.for_path(target.path), settings, target.filtered, work_tree)
    own = _own_twin_from_bytes(root, target.path, data, pairing, judgement.notebook) if pairing is not None and root is not None and stamp is not None else None
    return Judged(judgement.problems, identity, stamp, own)


def _own_twin_from_bytes(root: Path, notebook: str, data: bytes, pairing: PairSettings, read: Notebook | None) -> tuple[Twin | None] | None:
    """(the twin the notebook's own formats place,), from the bytes at hand or the notebook `read` from
    them; None when that is an error (the pair checks report it, reading the file themselves)."""
    from nbgit.sync.pairs import own_twin_in

    try:
        return (own_twin_in(root, notebook, data, pairing, read.content.get("metadata") or {} if read is not None else None),)
    except NbgitError:
        return None


def _work_tree_copy(target: Target, root: Path | None) -> bytes | None:
    """For a staged notebook, the working-tree file it was staged from (execution counts included,
    which the filter stripped): hidden state is judged from it when it cleans to what is staged.
    Only a regular file inside the repository is read."""
    if target.entry is None or target.file is None or root is None:
        return None
    file = Path(target.file)
    try:
        if not file.is_file() or not file.resolve().is_relative_to(root.resolve()):
            return None
        return file.read_bytes()
    except OSError:
        return None


def _identity(target: Target, data: bytes, work_tree: bytes | None) -> str:
    """What a verdict depends on besides path, filter flag and fingerprint: the blob id of the bytes judged
    (git's, for a staged blob) and, for a staged blob, the working-tree copy it was staged from (its
    execution counts decide hidden-state)."""
    if target.entry is None or target.data is None:
        from nbgit.worktree.index import blob_id

        return blob_id(data, "sha1")
    return staged_identity(target.entry.blob, work_tree)


def _clean_target(root: Path | None, target: Target, policy: Policy) -> bool:
    """Clean one notebook: the working-tree file, or (staged) the index entry only, keeping the working copy."""
    from nbgit.clean import clean_bytes

    data = target.data if target.data is not None else Path(target.file).read_bytes() if target.file else b""
    cleaned = clean_bytes(data, target.path, policy.for_path(target.path))
    if target.entry is not None:
        gitrepo.stage_content(target.entry, cleaned, cwd=root)
    elif target.file is not None:
        write_atomic(Path(target.file), cleaned)
    else:
        return False
    return True


def _pair_problems(root: Path | None, policy: Policy, settings: Settings, wanted: Callable[[tuple[str, str]], bool], staged: bool, fix: bool,
                   remember: bool = False, listing: gitrepo.Listing | None = None, real: RealPaths | None = None,
                   own_twins: OwnTwins | None = None, skipped: frozenset[str] = frozenset()) -> Outcome:
    """Pairs out of step and orphaned twins among the pairs `wanted` accepts, as `nbgit sync` judges them:
    on disk, or with `staged` both files as git's index holds them (what the commit records).

    The pairs are found as `nbgit sync --all` finds them (the policy's, and jupytext twins where a twin
    belongs: naming a notebook does not pair it). jupytext is imported only for pairs not known to be
    in step. With `fix`, the pairs on disk that sync by themselves are synced. With `remember`, what was
    learnt (pairs in step, where notebooks' own formats place twins) is kept for the next run. `listing`:
    what git lists in the whole work tree, when the caller has it already; `real`: the files the run
    looked at already; `own_twins`: what it found their own formats place (`sync.plan.plan`); pairs in
    a state among `skipped` are not reported.
    """
    outcome = Outcome([], [])
    if root is None or not (settings.enabled("unsynced") or settings.enabled("orphan")):
        return outcome
    from nbgit.sync.plan import plan

    run = plan(root, policy, None, staged=staged, wanted=wanted, listed=listing.paths if listing is not None else None, real=real,
               own_twins=own_twins)
    run = run._replace(plans=[item for item in run.plans if not item.status.in_step and item.status.state not in skipped])
    fixed: set[int] = set()
    if fix and not staged:
        from nbgit.sync.apply import apply

        fixed = {id(item) for item in apply(run, None)}
    if remember:
        run.cache.save()
    for item in run.plans:
        found = _pair_problem(item, staged, root)
        if found is not None and settings.enabled(found.check):
            (outcome.fixed if id(item) in fixed else outcome.problems).append(found)
    return outcome


def _wanted(relative: tuple[str, str], names: set[str], folders: list[str], everything: bool, tracked: set[str] | None = None,
            shard: tuple[int, int] | None = None) -> bool:
    """Whether a pair is judged: a side named or under a folder named, or every pair (`--all`: those with
    a side git tracks, `tracked`), in the notebook's shard; never JupyterLab's `.ipynb_checkpoints` copies."""
    if any(CHECKPOINTS in PurePosixPath(side).parts for side in relative) or not in_shard(relative[0], shard):
        return False
    if tracked is not None and not any(side in tracked for side in relative):
        return False
    return everything or any(side in names or any(f in ("", ".") or side.startswith(f + "/") for f in folders) for side in relative)


def _pair_problem(item: Plan, staged: bool = False, root: Path | None = None) -> Problem | None:
    """The check's view of a pair's plan (its state is one of `nbgit.sync.model`'s constants).

    A `staged` pair that sync would bring in step is not fixed by `--fix` (it syncs the files on disk)
    nor by sync alone, which may have run already: what sync writes must be staged too."""
    from nbgit.sync import model as states

    (notebook, twin), state, detail = item.relative, item.status.state, item.status.detail
    take = f"take one side: `nbgit sync --take notebook {shell_word(notebook)}` or `--take text`"
    messages = {
        states.NOTEBOOK_CHANGED: ("unsynced", notebook, f"changed since its twin {twin} was last in step", None),
        states.TWIN_CHANGED: ("unsynced", notebook, f"its twin {twin} changed since the pair was last in step", None),
        states.MERGEABLE: ("unsynced", notebook, f"it and its twin {twin} both changed (the edits merge)", None),
        states.NEW_TWIN: ("unsynced", notebook, f"paired, but its twin {twin} does not exist yet", None),
        states.NEW_NOTEBOOK: ("unsynced", twin, f"a twin whose notebook {notebook} does not exist yet", None),
        **dict.fromkeys((states.ON_A_BRANCH, states.OUTSIDE_SPARSE),  # sync's detail: what is missing and why; the way out
                        ("unsynced", notebook if item.twin.data is None else twin, detail.split("; ", 1)[0], detail.split("; ", 1)[-1])),
        states.CONFLICT: ("unsynced", notebook, f"it and its twin {twin} were both edited in the same place", take),
        states.OUT_OF_STEP: ("unsynced", notebook, f"it and its twin {twin} disagree, and nothing tells which side changed since they were in step", take),
        states.MARKED: ("unsynced", notebook, f"it or its twin {twin} holds conflict markers, which sync never copies", detail.split("; ", 1)[-1]),
        states.NOT_STAGED: ("unsynced", notebook, f"staged without its twin {twin}", _add_hint(root, twin))
        if item.twin.data is None else ("unsynced", twin, f"a twin staged without its notebook {notebook}", _add_hint(root, notebook)),
        states.ORPHAN: ("orphan", twin, f"its notebook {notebook} was deleted", "delete the twin (`git rm PATH`) or rebuild the notebook: `nbgit sync --take text PATH`"),
        states.TWIN_DELETED: ("orphan", notebook, f"its twin {twin} was deleted", "recreate it (`nbgit sync --take notebook PATH`) or stop pairing the notebook ([pair] exclude)"),
    }
    if state in messages:
        check, path, message, hint = messages[state]
        if staged and state in states.AUTOMATIC:
            hint = _sparse_hint(root, (notebook, twin)) + f"run `nbgit sync {shell_word(notebook)}`, then stage both files: `git add {git_path_word(notebook)} {git_path_word(twin)}`"
        found = problem(check, path, message, hint=hint)
        return found._replace(fixable=found.fixable and state in states.AUTOMATIC and not staged)
    if state == states.ERROR:
        first = detail.splitlines()[0].removeprefix("nbgit: error: ") if detail else "cannot be judged"
        return problem("unsynced", notebook, f"the pair cannot be synced: {first}", hint="fix the file named, then run `nbgit sync PATH`")._replace(fixable=False)
    return None


def _sparse_hint(root: Path | None, pair: tuple[str, str]) -> str:
    """The first step for a staged pair with a side this sparse checkout keeps out of the work tree
    (sync cannot write it, git cannot stage it there); empty for every other pair."""
    away = sorted(gitrepo.outside_sparse_checkout(root, list(pair))) if root is not None else []
    if not away:
        return ""
    folder = PurePosixPath(away[0]).parent.as_posix()
    return f"{away[0]} is outside this sparse checkout: `git sparse-checkout add {shell_word(folder if folder != '.' else away[0])}`, then "


def _add_hint(root: Path | None, path: str) -> str:
    """How to stage the file of a pair that is not staged: `git add PATH`, which git refuses for a
    path its ignore rules match (the commit would be refused for good), so those are named."""
    rule = gitrepo.ignoring_rule(root, path) if root is not None else None
    if rule is None:
        return f"`git add {git_path_word(path)}`"
    return f"git ignores {path} ({rule}): `git add -f {git_path_word(path)}`, or stop ignoring it, or stop pairing the notebook ([pair] exclude)"


def pair_reminder(root: Path, policy: Policy, changed: list[str]) -> Outcome:
    """The pairs with a side among the `changed` paths that are out of step (for post-merge and post-checkout).

    A pair missing a file that a branch holds is left out: that is how the commit checked out was (an
    old commit, a step of a bisect), and sync does not create the file there (`sync.plan`)."""
    from nbgit.sync.model import ON_A_BRANCH, OUTSIDE_SPARSE

    outcome = _pair_problems(root, policy, Settings.from_policy(policy), partial(_wanted, names=set(changed), folders=[], everything=False), False, False,
                             skipped=frozenset({ON_A_BRANCH, OUTSIDE_SPARSE}))
    return outcome._replace(notebooks=len({p.path for p in outcome.problems}))
