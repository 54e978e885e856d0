"""`nbgit hook NAME`: what nbgit does inside a git hook (the installed hook scripts call this).

- `pre-commit` (and `pre-merge-commit`): judge the staged notebooks and their twins as they will be
  committed (git's `GIT_INDEX_FILE` is honoured, so `commit -a` is judged on its temporary index);
  print the problems and refuse the commit (exit 1) when any is left.
- `post-merge`, `post-checkout`: a reminder (never a refusal: git ignores these hooks' exit codes)
  when notebooks and their twins changed by the merge or checkout are out of step.
- `pre-commit`, `post-merge` and `post-checkout` also refresh the notebooks they touch (those
  committed, merged or checked out), so `git status` does not list them for outputs alone; a
  problem there is one warning, never a refused commit.
- `check-install`: fail when nbgit's filter is not wired into this clone (for the pre-commit
  framework's `nbgit-check-install` hook); skipped in CI, where clones have no filters.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgit import gitrepo
from nbgit.check.formats import render
from nbgit.check.runner import (
    Outcome,
    Scope,
    installation_problem,
    pair_reminder,
    run_checks,
)
from nbgit.cli import EXIT_FOUND, EXIT_OK, HOOKS
from nbgit.errors import NbgitError
from nbgit.policy import find_root, load_policy
from nbgit.progress import warn
from nbgit.terminal import one_line
from nbgit.worktree.refresh import refresh

HOOK_WAIT = 1.0  # seconds a hook waits for another git command's index lock before skipping the refresh
NOTEBOOK = ".ipynb"


def run(name: str, args: list[str]) -> int:
    """Run hook `name` with git's hook arguments `args`; returns the hook's exit code."""
    if name not in HOOKS:
        raise NbgitError(f"unknown hook `{name}`", "nbgit's hooks: " + ", ".join(HOOKS))
    root = find_root(Path.cwd()) or _root_from_git()
    if root is None:
        raise NbgitError("`nbgit hook` runs inside a git repository (git runs hooks at the top of the work tree)")
    if name == "check-install":
        return _check_install(root)
    if name in ("post-merge", "post-checkout"):
        return _remind(root, name, args)
    if name == "post-rewrite":
        changes = _changes(root, ["ORIG_HEAD", "HEAD"]) if args[:1] == ["rebase"] else None  # (not `commit --amend`)
        if changes:
            _outputs_of_renamed(root, changes)
            _refresh(root, changes)
        return EXIT_OK
    _refresh(root, _changes(root, ["--cached"]) or [])
    try:
        policy = load_policy(root)
    except NbgitError as error:  # (nothing can be judged by a policy nbgit cannot read: a typo, a stranger's)
        raise NbgitError(f"commit refused: {error.message}", f"{error.hint}; or commit with --no-verify to skip nbgit's checks once") from None
    outcome = run_checks(root, policy, Scope(staged=True))
    if not outcome.problems:
        return EXIT_OK
    sys.stderr.write(render(outcome, "text", root))
    if not outcome.failed:
        return EXIT_OK
    sys.stderr.write(refusal(outcome))
    return EXIT_FOUND


def _root_from_git() -> Path | None:
    """The top of the work tree as git names it, for one without a `.git` entry: git found its repository
    through `GIT_DIR` and `GIT_WORK_TREE` (`git --git-dir=... --work-tree=...`, a dotfiles repository),
    which it hands down to its hooks. None outside a work tree."""
    try:
        return gitrepo.work_tree(Path.cwd()).root
    except NbgitError:
        return None


def refusal(outcome: Outcome) -> str:
    """The last line of a refused commit, which names the first problem: GUI clients (VS Code, GitHub
    Desktop) often show a failed hook's last line alone, and "fix the problems above" then named none."""
    errors = [p for p in outcome.problems if not p.warning]
    more = f" (and {len(errors) - 1} more above)" if len(errors) > 1 else ""
    return (
        f"nbgit: commit refused: {one_line(errors[0].text())} [{errors[0].check}]{more}; fix and `git add` the notebooks again "
        "(or commit with --no-verify to skip the checks)\n"
    )


def _check_install(root: Path) -> int:
    if os.environ.get("CI"):
        print("nbgit: check-install skipped in CI (CI clones run no filters)")
        return EXIT_OK
    broken = installation_problem(root)
    if broken is None:
        return EXIT_OK
    print(f"{broken.message}\nhint: {broken.hint}", file=sys.stderr)
    return EXIT_FOUND


def _remind(root: Path, name: str, args: list[str]) -> int:
    """After a merge or a branch checkout: name the pairs the change left out of step. Never fails."""
    if name == "post-merge":
        revisions = ["ORIG_HEAD", "HEAD"]
    elif len(args) >= 3 and args[2] == "1" and args[0] != args[1] and args[0].strip("0"):
        revisions = [args[0], args[1]]
    else:
        return EXIT_OK  # a file checkout, nothing changed, or a clone (from the null commit: git wrote every file itself)
    changes = _changes(root, revisions)
    if changes is None:
        return EXIT_OK
    if not _rebasing(root):  # (a rebase's checkout of its base goes on with the index it holds: a file written now stops it; post-rewrite does it)
        _outputs_of_renamed(root, changes)
    _refresh(root, changes)
    try:
        outcome = pair_reminder(root, load_policy(root), [c.new_path for c in changes if c.new_path])
    except NbgitError as error:
        warn(error.message)  # (one line: a stranger's policy key or file name may hold newlines)
        return EXIT_OK
    if outcome.problems:
        sys.stderr.write(f"nbgit: after this {name.removeprefix('post-')}, pairs are out of step:\n" + render(outcome, "text", root))
    return EXIT_OK


def _changes(root: Path, revisions: list[str]) -> list[gitrepo.FileChange] | None:
    """The paths changed between `revisions` (renames found); None, with one warning, when git cannot say."""
    try:
        return gitrepo.changed_files(revisions, [], cwd=root)
    except NbgitError as error:
        warn(f"{error.message}; notebooks were not refreshed (`git status` may list re-run notebooks until `nbgit refresh`)")
        return None


def _outputs_of_renamed(root: Path, changes: list[gitrepo.FileChange]) -> None:
    """Put back the outputs of the notebooks the merge, checkout or rebase renamed (`changes`), from those
    this clone kept at their old paths (git's filter is never told of a rename: the checkout wrote them
    without); only notebooks exactly as committed are written. A problem is one warning, never a failed hook."""
    from nbgit.store.location import clone_settings
    from nbgit.worktree.bare import put_back

    renamed = {c.new_path: c.old_path for c in changes
               if c.status == "R" and c.old_path and c.new_path and c.new_path.endswith(NOTEBOOK) and c.old_path.endswith(NOTEBOOK)}
    try:
        if renamed and clone_settings(root).enabled:
            put_back(root, [f":(literal){path}" for path in renamed], wait=HOOK_WAIT, renamed_from=renamed)
    except NbgitError as error:
        warn(f"{error.message}; the outputs of renamed notebooks were not put back", "run them again to see their outputs")


def _rebasing(root: Path) -> bool:
    """Whether a rebase is going on in the work tree at `root` (or git's directory cannot be found)."""
    from nbgit.store.location import git_dir

    folder = git_dir(root)
    return folder is None or any((folder / state).is_dir() for state in ("rebase-merge", "rebase-apply"))


def _refresh(root: Path, changes: list[gitrepo.FileChange]) -> None:
    """`nbgit refresh` of the notebooks among `changes` (those a hook commits, merged, checked out or
    rebased); a problem is one warning, never a failed hook."""
    try:
        notebooks = [c.new_path for c in changes if c.new_path and c.new_blob and c.new_path.endswith(NOTEBOOK)]
        if notebooks:
            refresh(root, notebooks, HOOK_WAIT, literal=True)
    except NbgitError as error:
        warn(f"{error.message}; `git status` may list re-run notebooks until `nbgit refresh`")
