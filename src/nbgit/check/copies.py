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
the files it has not seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.check.duplicates import NOTEBOOK, CopyGroup, copy_groups, grown_windows
from nbgit.check.fingerprint_index import FingerprintIndex, Job
from nbgit.check.catalogue import Problem, problem
from nbgit.errors import NbgitError
from nbgit.pairing import notebook_relpath
from nbgit.pairing import settings as pair_settings
from nbgit.policy import Policy, glob_matches
from nbgit.worktree.index import blob_id

MODULES = {".py": "python", ".R": "r", ".r": "r", ".jl": "julia"}
REGULAR_FILES = ("100644", "100755")
CHECKPOINTS = ".ipynb_checkpoints/"


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
    """A file's content at one state: its blob id, and its bytes when read from the work tree."""

    key: str
    data: bytes | None = None


def duplicate_code(root: Path | None, policy: Policy, staged: bool, everything: bool, named: list[str]) -> list[Problem]:
    """The `duplicate-code` problems: one per group of copied code, largest first (see the module's docstring)."""
    copies = CopySettings.from_policy(policy)
    after, before = _states(root, policy, copies, staged, everything, named)
    keep = _kept([*after, *(before or {})], policy, copies)
    after = {path: source for path, source in after.items() if path in keep}
    before = None if before is None else {path: source for path, source in before.items() if path in keep}
    index = FingerprintIndex.open(root)
    jobs = {path: _job(path, source) for path, source in after.items()}
    old_jobs = {path: _job(path, source) for path, source in (before or {}).items() if source is not None}
    units = index.fingerprints(root, [*jobs.values(), *old_jobs.values()])
    index.save()
    files = {path: units[job.key] for path, job in jobs.items()}
    if before is None:
        groups = copy_groups(files, copies.min_lines)
    else:
        old = {path: units[old_jobs[path].key] if path in old_jobs else () for path in before}
        grown = grown_windows(old, files, copies.min_lines)
        groups = copy_groups(files, copies.min_lines, only=grown, first=sorted(before)) if grown else []
    return [_problem(group) for group in groups]


def _states(root: Path | None, policy: Policy, copies: CopySettings, staged: bool, everything: bool, named: list[str]) -> tuple[dict[str, Source], dict[str, Source | None] | None]:
    """The files compared, and (unless every group is wanted) the changed ones as they are in HEAD
    (None for a file HEAD does not have)."""
    if root is None:
        return _on_disk(Path.cwd(), named), None
    if everything:
        tracked = [p for p in gitrepo.tracked_files(".", cwd=root) if _compared(p)]
        return _on_disk(root, sorted(_kept(tracked, policy, copies))), None
    after = {e.path: Source(e.blob) for e in gitrepo.index_entries([], cwd=root) if e.mode in REGULAR_FILES and _compared(e.path)}
    head = {path: blob for path, blob in gitrepo.tree_blobs("HEAD", cwd=root).items() if _compared(path)}
    if staged:
        changed = set(after) | set(head)
    else:
        after.update(_on_disk(root, named))
        changed = {path for path in named if path in after} | (set(head) - set(after))  # deletions: a rename is no copy
    before = {path: Source(head[path]) if path in head else None for path in changed if path not in after or after[path].key != head.get(path)}
    return after, before


def _compared(path: str) -> bool:
    """Whether a path is a notebook or module the check compares (by its name)."""
    return (path.endswith(NOTEBOOK) or Path(path).suffix in MODULES) and CHECKPOINTS not in f"/{path}"


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


def _on_disk(root: Path, paths: list[str]) -> dict[str, Source]:
    """The notebooks and modules among `paths` as they are on disk (missing ones and symbolic links,
    which may point outside the repository, left out)."""
    found = {}
    for path in paths:
        if _compared(path):
            try:
                if (root / path).is_symlink():
                    continue
                data = (root / path).read_bytes()
            except OSError:
                continue
            found[path] = Source(blob_id(data, "sha1"), data)
    return found


def _job(path: str, source: Source) -> Job:
    suffix = NOTEBOOK if path.endswith(NOTEBOOK) else Path(path).suffix
    return Job(f"{source.key}{suffix}", source.key, MODULES.get(suffix), source.data)


def _problem(group: CopyGroup) -> Problem:
    """The group as one problem, at its first place (a notebook the change touches, when there is one)."""
    first = group.places[0]
    mine = [place for place in group.places if place.path == first.path]
    here = f" (here in {len(mine)} cells)" if len(mine) > 1 else ""
    message = f"the same {group.lines} lines of code{here} are also in {group.where(skip_first=True)}: {group.way_out()}"
    found = problem("duplicate-code", first.path, message, cell=first.cell)
    return found._replace(copied=group)
