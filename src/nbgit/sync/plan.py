"""Planning a sync: every pair under the paths given, both of its files read, and its status with
how to bring it in step (`plan`). A pair whose two files are byte for byte as nbgit last saw them in
step (`nbgit.sync.cache`) is in step as it is; only the others are judged (`nbgit.sync.judge`,
imported then and only then), so a re-run where nothing changed never loads jupytext, nor the judging.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.pairing import NOTEBOOK_SUFFIX, inside_repository, settings
from nbgit.sync.cache import PairCache
from nbgit.sync.model import (
    ERROR,
    IN_STEP,
    NEW_NOTEBOOK,
    NEW_TWIN,
    ON_A_BRANCH,
    ORPHAN,
    OUTSIDE_SPARSE,
    TWIN_DELETED,
    Member,
    PairStatus,
    Plan,
    Run,
    in_git,
)
from nbgit.sync.pairs import OwnTwins, find_pairs
from nbgit.terminal import git_path_word, shell_word

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbgit.files import RealPaths
    from nbgit.policy import Policy


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
    cache = PairCache.load(root, pair)
    for notebook_rel, (stamp, twin) in (own_twins or {}).items():
        cache.remember_own_twin(notebook_rel, stamp, twin)
    pairs, unknown = find_pairs(root, pair, paths, cache, listed, real)
    if wanted is not None:
        pairs = [relative for relative in pairs if wanted(relative)]
        unknown = [(name, error) for name, error in unknown if wanted((name, name))]
    plans: list[Plan] = []
    for notebook_rel, error in unknown:
        plans.append(_error_plan(root, (notebook_rel, notebook_rel), error))
    slow: list[Plan] = []
    located = _located(root, pairs)
    for relative in pairs:
        where = located.get(relative)
        if where is None:
            continue  # a twin found without its notebook, that is the twin of another pair through a symlink
        try:
            if isinstance(where, NbgitError):
                raise where
            notebook, twin = (Member.read(path, rel) for path, rel in zip(where, relative))
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
        # (imported here: a re-run where every pair is known in step never needs it)
        from nbgit.sync.judge import judge_pairs

        judge_pairs(root, policy, pair, slow, cache, staged)
        _leave_files_a_branch_holds(root, slow)
        if not staged:
            _mark_files_outside_the_sparse_checkout(root, slow)
    for item in plans:
        if item.status.in_step and not staged:
            cache.remember(item.relative, item.notebook.digest, item.twin.digest)
    return Run(plans, cache, policy, staged)


def _leave_files_a_branch_holds(root: Path, plans: list[Plan]) -> None:
    """Pairs missing a file (their twin, or their notebook) that a local branch holds are not completed
    by themselves: the file sync would create stays untracked here, and git refuses to check out a
    branch over an untracked file (`git checkout main` from an old commit, each step of a bisect, a
    rebase stopped at an old commit). Each such pair waits for `--take`, its detail saying why; it is
    how that older commit was, so it does not make `nbgit sync` fail (a bisect's script may run it)."""
    missing = {id(item): in_git(root, item)[1 if item.status.state == NEW_TWIN else 0] for item in plans if item.status.state in (NEW_TWIN, NEW_NOTEBOOK)}
    if not missing:
        return
    held = gitrepo.branches_holding(root, sorted(set(missing.values())))
    for item in plans:
        branch = held.get(missing.get(id(item), ""))
        if branch is None:
            continue
        notebook, twin = item.relative
        created, source, side = (twin, notebook, "notebook") if item.status.state == NEW_TWIN else (notebook, twin, "text")
        item.status = item.status._replace(state=ON_A_BRANCH, detail=(
            f"{created} is missing, and sync does not create it from {source}: branch {branch} holds it, and git checks out no branch over an "
            f"untracked file (`git checkout {branch}` would fail); to create it anyway and commit it here: `nbgit sync --take {side} {shell_word(source)}`, "
            f"then `git add {git_path_word(created)}`"))
        item.action, item.choices = None, frozenset({side})


def _mark_files_outside_the_sparse_checkout(root: Path, plans: list[Plan]) -> None:
    """A side missing from disk that git keeps out of the work tree (a sparse checkout) was not
    deleted: such a pair is not reported as a deletion to commit, but as out of reach, with the
    `git sparse-checkout add` that brings the file in."""
    missing = {id(item): in_git(root, item)[1 if item.status.state == TWIN_DELETED else 0] for item in plans if item.status.state in (TWIN_DELETED, ORPHAN)}
    if not missing:
        return
    sparse = gitrepo.outside_sparse_checkout(root, sorted(set(missing.values())))
    for item in plans:
        path = missing.get(id(item))
        if path not in sparse:
            continue
        notebook, twin = item.relative
        absent, present = (twin, notebook) if item.status.state == TWIN_DELETED else (notebook, twin)
        folder = PurePosixPath(path).parent.as_posix()
        item.status = item.status._replace(state=OUTSIDE_SPARSE, detail=(
            f"{absent} is outside this sparse checkout (git keeps it out of the work tree), so sync cannot keep it in step with {present}; "
            f"`git sparse-checkout add {shell_word(folder if folder != '.' else path)}` brings it in, then run nbgit sync"))
        item.action, item.choices = None, frozenset()


def _located(root: Path, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[Path, Path] | NbgitError]:
    """Where each pair's two files really are (symlinks inside the work tree followed), or the error that
    stops the pair: a file leading out of the work tree, a twin leading to a notebook, a twin that is
    one file with the twin of another notebook (syncing one pair would rewrite the other's notebook).

    A pair found through its twin alone (its notebook missing) whose twin is another pair's through a
    symlink is left out: that file is the other notebook's twin, not the text of a notebook to create.
    """
    located: dict[tuple[str, str], tuple[Path, Path] | NbgitError] = {}
    for relative in pairs:
        try:
            located[relative] = (inside_repository(root, relative[0]), inside_repository(root, relative[1]))
        except NbgitError as error:
            located[relative] = error
    found = {relative: where for relative, where in located.items() if not isinstance(where, NbgitError)}
    notebooks = {where[0] for where in found.values()}
    sharing: dict[Path, list[tuple[str, str]]] = {}
    for relative, where in found.items():
        sharing.setdefault(where[1], []).append(relative)
    for twin, relatives in sharing.items():
        if twin.suffix == NOTEBOOK_SUFFIX or twin in notebooks:
            for relative in relatives:
                located[relative] = NbgitError(
                    f"{relative[1]}: leads to a notebook ({twin.name}), not to a text twin of {relative[0]}",
                    f"replace the symlink {relative[1]} with a file (or delete it: nbgit sync then writes it), or exclude the notebook with [pair] exclude",
                )
            continue
        owners = [relative for relative in relatives if found[relative][0].exists()]
        for relative in relatives if len(relatives) > 1 else []:
            if owners and relative not in owners:
                del located[relative]
            elif len(owners) != 1:
                others = ", ".join(other[0] for other in relatives if other != relative)
                located[relative] = NbgitError(
                    f"{relative[1]}: the twin of {relative[0]} is one file with the twin of {others}; a twin belongs to one notebook",
                    f"give {relative[0]} a twin of its own (a file, not a symlink to another's; not a path its jupytext formats share), or exclude all but one of these notebooks with [pair] exclude",
                )
    return located


def _error_plan(root: Path, relative: tuple[str, str], error: NbgitError) -> Plan:
    """The plan of a pair that cannot be judged: its state ERROR, with the error's sentence."""
    paths = [root / rel for rel in relative]
    return Plan(PairStatus(*paths, ERROR, error.render()), Member(paths[0], None, None), Member(paths[1], None, None), relative)


def _staged(root: Path, policy: Policy, items: list[Plan], cache: PairCache) -> list[Plan]:
    """Swap each pair's files on disk for what git's index holds of them; returns the pairs still to
    judge: those whose staged files are not the pair on disk that nbgit last saw in step."""
    blobs = gitrepo.revision_files(root, [f":{rel}" for item in items for rel in in_git(root, item)])
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
