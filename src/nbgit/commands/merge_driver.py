"""`nbgit merge-driver %O %A %B %L %P`: git's merge driver for notebooks (merge.nbgit.driver).

The result goes into %A, atomically. Exit 0 for a clean merge, 1 when conflicts remain (marked inside
the notebook, which stays valid JSON). Never a traceback and never an exit code above 128 (git 2.42+
reads that as a failed merge): whatever goes wrong, both sides are kept and the merge is a conflict.
"""

from __future__ import annotations

import os
from pathlib import Path

from nbgit import gitrepo
from nbgit.cli import EXIT_FOUND, EXIT_OK
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.merge import UNREADABLE_SIDE, Markers, MergeResult, merge_bytes, text_merge
from nbgit.policy import find_root, load_policy
from nbgit.progress import tell, warn
from nbgit.terminal import git_path_word, one_line, shell_word


def run(base: str, local: str, remote: str, marker_size: int = 7, path: str | None = None) -> int:
    """Merge %B into %A with %O as the base; see `nbgit merge-driver --help`."""
    name = path or local
    try:
        result = _merge(Path(base), Path(local), Path(remote), _markers(marker_size), name)
        write_atomic(Path(local), result.data)
    except Exception as error:  # noqa: BLE001 - git must get a conflict, never a crash
        tell(f"nbgit: error: merging {name} failed ({type(error).__name__}: {error}); local version left in place")
        tell(f"hint: `git checkout --theirs -- {git_path_word(name)}` or `--ours` picks a side; please report this")
        return EXIT_FOUND
    report(name, result)
    return EXIT_FOUND if result.conflicts else EXIT_OK


def _markers(size: int) -> Markers:
    """git's marker size, and the labels git writes on the text files of this merge (a notebook's twin)."""
    labels = gitrepo.merge_labels(dict(os.environ))
    if labels is None:
        return Markers(size)
    return Markers(size, one_line(labels[0]), "base", one_line(labels[1]))


def _merge(base: Path, local: Path, remote: Path, markers: Markers, name: str) -> MergeResult:
    sides = base.read_bytes(), local.read_bytes(), remote.read_bytes()
    try:
        policy = load_policy(find_root(Path.cwd()))
    except NbgitError as error:
        return text_merge(*sides, markers, f"{error.message}; merged as text by git merge-file instead")
    if policy.excludes(name):
        return text_merge(*sides, markers, "excluded by the policy: merged as text by git merge-file")
    try:
        return merge_bytes(*sides, name, policy.for_path(name), markers)
    except Exception as error:  # noqa: BLE001 - keep both sides rather than fail
        return text_merge(*sides, markers, f"notebook merge failed ({type(error).__name__}: {error}); merged as text instead")


def report(name: str, result: MergeResult) -> None:
    """Notes and remaining conflicts on stderr, with what to do next."""
    for note in result.notes:
        warn(f"{name}: {note}")
    if not result.conflicts:
        return
    count = f"{len(result.conflicts)} conflict{'s' if len(result.conflicts) != 1 else ''}"
    as_text = result.how in ("text merge", UNREADABLE_SIDE)
    kind = "left as git's text conflict markers" if as_text else "kept inside the notebook (valid JSON)"
    tell(f"nbgit: {name}: {count} {kind}:")
    for where in result.conflicts:
        tell(f"  {where}")
    shown = shell_word(name)
    if result.how == UNREADABLE_SIDE:  # resolve cannot rebuild a side that is not a notebook
        tell(f"hint: both sides' edits are in {name} as text: fix its JSON by hand in an editor, then `git add {git_path_word(name)}`; "
             f"or take one side whole: `nbgit resolve {shown} --take local|remote`")
    elif as_text:
        tell(f"hint: `nbgit resolve {shown}` rebuilds a valid notebook from both sides")
    else:
        tell(f"hint: edit the marked places in Jupyter, then `git add {git_path_word(name)}`; "
             f"or settle each conflict one way, keeping the other edits: `nbgit resolve {shown} --prefer local|remote`; "
             f"or take one side whole, dropping the other side's edits everywhere: `nbgit resolve {shown} --take local|remote`")

