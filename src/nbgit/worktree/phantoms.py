"""`nbgit status` on the work tree: which notebooks git lists as modified changed only in outputs or volatile state."""

from __future__ import annotations

from pathlib import Path

from nbgit.errors import NbgitError
from nbgit.gitrepo import WorkTree
from nbgit.install.inspect import Finding
from nbgit.worktree.index import find_entries, listed_by_size
from nbgit.worktree.refresh import CHANGED, UNCHANGED, Verdict, judge, names, stored_unclean


def findings(cwd: Path) -> list[Finding]:
    """One `worktree` line for the phantoms (`nbgit refresh` clears them) and one for the real changes."""
    try:
        tree, verdicts = judge(cwd, [])
        changed = [v.path for v in verdicts if v.state == CHANGED]
        unclean = stored_unclean(tree.root, changed)
    except NbgitError as error:
        return [Finding("worktree", "note", f"notebooks not judged: {error.message}")]
    phantoms = _listed_by_git_status(tree, [v for v in verdicts if v.state == UNCHANGED])
    changed = [path for path in changed if path not in unclean.paths or path in unclean.edited]
    said = []
    if phantoms:
        said.append(Finding("worktree", "note", f"{len(phantoms)} notebook(s) changed only in outputs or volatile state: {names(phantoms)} (git status lists them until `nbgit refresh`)"))
    if unclean.paths:
        said.append(Finding("worktree", "note", f"{len(unclean.paths)} notebook(s) committed with outputs or volatile state (without nbgit's filter): {names(unclean.paths)} "
                            "(git status lists them, re-run here or not, until `nbgit renormalize` and a commit store them clean)"))
    if changed:
        said.append(Finding("worktree", "ok", f"{len(changed)} notebook(s) with real changes: {names(changed)}"))
    return said or [Finding("worktree", "ok", "git status lists no notebook for outputs or volatile state alone")]



def _listed_by_git_status(tree: WorkTree, unchanged: list[Verdict]) -> list[str]:
    """The unchanged notebooks `git status` lists: those whose size differs from the one the index
    recorded. git compares the content of the others (only touched, or an entry smudged as racily
    clean), finds the blob, and lists nothing."""
    try:
        data = tree.index.read_bytes()
        entries = find_entries(data, tree.object_format, [v.path for v in unchanged]).entries
    except (OSError, NbgitError):
        return [v.path for v in unchanged]  # (unreadable now: as git diff-files listed them)
    return [v.path for v in unchanged if v.path not in entries or v.stat is None or listed_by_size(data, entries[v.path], v.stat)]
