"""`nbgit status` on the work tree: which notebooks git lists as modified changed only in outputs or volatile state."""

from __future__ import annotations

from pathlib import Path

from nbgit.errors import NbgitError
from nbgit.install.inspect import Finding
from nbgit.worktree.refresh import CHANGED, UNCHANGED, judge, names


def findings(cwd: Path) -> list[Finding]:
    """One `worktree` line for the phantoms (`nbgit refresh` clears them) and one for the real changes."""
    try:
        _, verdicts = judge(cwd, [])
    except NbgitError as error:
        return [Finding("worktree", "note", f"notebooks not judged: {error.message}")]
    phantoms = [v.path for v in verdicts if v.state == UNCHANGED]
    changed = [v.path for v in verdicts if v.state == CHANGED]
    said = []
    if phantoms:
        said.append(Finding("worktree", "note", f"{len(phantoms)} notebook(s) changed only in outputs or volatile state: {names(phantoms)} (git status lists them until `nbgit refresh`)"))
    if changed:
        said.append(Finding("worktree", "ok", f"{len(changed)} notebook(s) with real changes: {names(changed)}"))
    return said or [Finding("worktree", "ok", "git status lists no notebook for outputs or volatile state alone")]

