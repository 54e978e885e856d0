"""Re-clean what the index holds for every tracked notebook, as nbgit's filter would store it."""

from __future__ import annotations

from pathlib import Path

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.install.target import repository_root
from nbgit.install.wiring import NOTEBOOKS


def renormalize(cwd: Path) -> list[str]:
    """Re-clean what the index holds for every tracked notebook, as nbgit's filter would store it; the paths changed.

    Works on the staged blobs themselves (like `git add --renormalize`, but edits in the working
    tree stay unstaged), with the very code and policy the filter process runs.
    """
    changed = restaging(cwd, remember=True)
    gitrepo.stage_many(changed, repository_root(cwd))
    return [entry.path for entry, _ in changed]


def restaging(cwd: Path, only: set[str] | None = None, remember: bool = False) -> list[tuple[gitrepo.IndexEntry, bytes]]:
    """The index entries of tracked notebooks that nbgit's filter would store differently, with what it
    would store; `only`: just these repo-relative paths. Notebooks outside a sparse checkout are left
    out, as `git add --renormalize` leaves them: a partial clone would fetch each (`nbgit install` asks
    this of every notebook). `remember`: the outputs of those staged with any are kept in the store as
    the filter keeps them, so that a work-tree file that is the old blob reads back as the new one."""
    from nbgit.filter import Cleaner
    from nbgit.progress import progress

    root = repository_root(cwd)
    if root is None:
        raise NbgitError("not inside a git repository", "run `nbgit renormalize` inside the repository")
    entries = [e for e in gitrepo.index_entries([NOTEBOOKS], root, sparse=True) if not e.outside and (only is None or e.path in only)]
    wired = gitrepo.filtered_paths([e.path for e in entries] or ["nbgit-probe.ipynb"], "nbgit", root)
    if not wired:
        raise NbgitError("nbgit's filter is not wired here, so renormalising would change nothing", "run `nbgit install` first")
    cleaner = Cleaner.for_directory(root)
    cleaner.anew = True  # (a notebook git wrote out as committed without nbgit is otherwise read back as that blob)
    if cleaner.problem is not None:
        raise cleaner.problem
    staged = gitrepo.read_blobs([e.blob for e in entries], root)
    changed = []
    for entry in progress(entries, "renormalizing"):
        if entry.path not in wired:
            continue  # git would not run nbgit's filter on this one either
        state, data = cleaner("clean", entry.path, staged[entry.blob])
        if state == "success" and data is not None and data != staged[entry.blob]:
            changed.append((entry, data))
    if remember:
        cleaner.wait()
    return changed
