"""`nbgit resolve [PATH...] [--take local|remote|base | --prefer local|remote]`: a valid notebook from
one broken by git's conflict markers, or the conflicts a merge marked inside a notebook settled one way.

Cells the merge left unchanged get back the outputs this clone kept for them, and the cells the policy
drops come back (nbgit.store).

When the notebook has a jupytext twin that git's text merge left with conflict markers, the twin is
written again from the repaired notebook, so both carry the same content (and the same conflicts).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgit import gitrepo
from nbgit.cli import EXIT_ERROR, EXIT_FOUND, EXIT_OK
from nbgit.commands.merge_driver import report
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.merge import describe_conflicts
from nbgit.notebook import Notebook, has_conflict_markers, parse
from nbgit.policy import Policy, find_root, load_policy
from nbgit.progress import tell, warn
from nbgit.repair import find_sides, repair
from nbgit.terminal import git_path_word, shell_word


def run(paths: list[str], take: str | None = None, prefer: str | None = None) -> int:
    """Rebuild each notebook of `paths` (default: every notebook git lists as unmerged) from its sides;
    the worst exit of them (an error about one is said, and the others are still resolved)."""
    if len(paths) == 1:
        return resolve(paths[0], take, prefer)
    paths = paths or gitrepo.unmerged_paths(".ipynb")
    if not paths:
        raise NbgitError("no notebook is in conflict here (git lists none as unmerged)", "name a notebook broken by conflict markers: `nbgit resolve PATH`")
    worst = EXIT_OK
    for path in paths:
        try:
            worst = max(worst, resolve(path, take, prefer))
        except NbgitError as error:
            print(error.render(), file=sys.stderr)
            worst = EXIT_ERROR
    return worst


def resolve(path: str, take: str | None = None, prefer: str | None = None) -> int:
    """Rebuild `path` from its sides (git's index stages, else its markers); see `nbgit resolve --help`."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise NbgitError(f"{path}: cannot read ({error.strerror})", "check the path") from None
    root = find_root(file)
    policy = load_policy(root)
    stages = gitrepo.conflict_stages(path)
    if stages and not (2 in stages and 3 in stages) and not has_conflict_markers(data):
        ours, theirs = ("their", "our") if 2 in stages else ("our", "their")
        raise NbgitError(
            f"{path}: deleted (or renamed) on {ours} side of the merge and changed on {theirs}s: there is no second notebook to merge it with",
            f"keep it as the work tree has it: `git add {git_path_word(path)}`; or delete it: `git rm {git_path_word(path)}`",
        )
    choice = f"--take {take}" if take else f"--prefer {prefer}" if prefer else None
    if not has_conflict_markers(data) and (choice is None or not stages):
        notebook = parse(data, path)  # a clear NotebookError when it is not a notebook at all
        if choice is None:
            _twin_in_step(root, file, notebook, data, policy, keep_sides=not describe_conflicts(notebook.content, 7))
        return _already_valid(notebook, path, bool(stages), choice)
    result = repair(find_sides(data, path, stages), path, policy, take, prefer=prefer)
    write_atomic(file, _with_outputs(root, file, result.data, policy))
    twin = _twin_in_step(root, file, parse(result.data, path), data, policy, keep_sides=choice is None and not result.conflicts)
    if result.conflicts:
        report(path, result)
        if twin is not None:
            both = f"{git_path_word(path)} {git_path_word(twin)}"
            tell(f"hint: its twin {twin} holds the same conflicts; settled in the notebook, `nbgit sync` writes it again; then `git add {both}`")
        return EXIT_FOUND
    both = " ".join(git_path_word(name) for name in (path, twin) if name is not None)
    done = _taken(take, stages, path, policy) if take else _settled(result.settled, prefer) if result.settled else "merged cell by cell"
    tell(f"nbgit: {path}: {done}; review it, then `git add {both}`")
    for where in result.settled:
        tell(f"  {where.split(' (', 1)[0]}")  # (without what marking it did)
    return EXIT_OK


def _settled(conflicts: list[str], prefer: str | None) -> str:
    """What `--prefer` did: the conflicts it settled are listed after it."""
    count = f"{len(conflicts)} conflict{'s' if len(conflicts) != 1 else ''}"
    return f"merged cell by cell, {count} settled {prefer}'s way, keeping the other edits"


def _taken(take: str, stages: dict[int, bytes], path: str, policy: Policy) -> str:
    """What `--take` did, naming the other side's edits it drops when git's index shows there were some:
    a side taken whole drops also those that merged without conflict (in a rebase, upstream's)."""
    other = {"local": (3, "remote"), "remote": (2, "local")}.get(take)
    if other is None or 1 not in stages or other[0] not in stages:
        return f"took {take}"
    from nbgit.merge import read_side

    try:
        changed = read_side(stages[1], path, policy).content != read_side(stages[other[0]], path, policy).content
    except NbgitError:
        changed = True
    if not changed:
        return f"took {take}"
    return f"took {take} whole: the edits {other[1]} made are not in it, also those that merged without conflict"


def _with_outputs(root: Path | None, file: Path, repaired: bytes, policy: Policy) -> bytes:
    """The repaired notebook with the outputs this clone kept for its unchanged cells (git does not
    smudge a file that nbgit writes; `git add` strips them again)."""
    if root is None:
        return repaired
    from nbgit.store.keeper import OutputKeeper
    from nbgit.pairing import relative_to_root

    relative = relative_to_root(file, root)
    return OutputKeeper(root).smudge(relative, repaired, policy.for_path(relative))


def _twin_in_step(root: Path | None, file: Path, notebook: Notebook, before: bytes, policy: Policy, keep_sides: bool = False) -> str | None:
    """Write the notebook's twin again where `_rewrite_conflicted_twin` says so; its path from here when written."""
    try:
        written = _rewrite_conflicted_twin(root, file, notebook, before, policy, keep_sides)
    except NbgitError as error:  # the notebook is repaired already: say what is left for the twin
        warn(f"{error.message}; its twin was not written again (run `nbgit sync` once this is fixed)")
        return None
    return os.path.relpath(written) if written is not None else None


def _already_valid(notebook: Notebook, path: str, in_conflict: bool, choice: str | None) -> int:
    """A valid notebook without git's markers: name the conflicts marked inside it and the way out.

    `--take` and `--prefer` (the `choice`) need the sides, which only git's index holds once markers
    are inside cells: after `git add` (or a GUI's "mark resolved") they are gone until `git checkout -m`
    brings them back."""
    conflicts = describe_conflicts(notebook.content, 7)
    if choice is not None:
        if not conflicts:
            raise NbgitError(f"{path}: not in conflict and without git conflict markers", "nothing to repair")
        raise NbgitError(
            f"{path}: conflicts are marked inside it ({conflicts[0]}), but git no longer holds its sides to {'take one from' if choice.startswith('--take') else 'settle them with'} (it was `git add`-ed)",
            f"while the merge is going on, `git checkout -m -- {git_path_word(path)}` brings them back, then `nbgit resolve {shell_word(path)} {choice}`; or edit the marked places in Jupyter",
        )
    if not conflicts:
        tell(f"nbgit: {path}: a valid notebook without conflict markers; nothing to repair")
        return EXIT_OK
    tell(f"nbgit: {path}: already a valid notebook; conflicts marked inside it:")
    for where in conflicts:
        tell(f"  {where}")
    if in_conflict:
        tell(f"hint: edit them in Jupyter, or settle each one way: `nbgit resolve {shell_word(path)} --prefer local|remote`")
    else:
        tell(f"hint: edit them in Jupyter; or, while the merge is going on, `git checkout -m -- {git_path_word(path)}` and then `nbgit resolve {shell_word(path)} --prefer local|remote`")
    return EXIT_FOUND


def _rewrite_conflicted_twin(root: Path | None, file: Path, notebook: Notebook, before: bytes, policy: Policy, keep_sides: bool) -> Path | None:
    """Write the twin again from the repaired notebook when git's merge left it in conflict (markers,
    or unmerged in the index), or when it was in step with the notebook before the repair. Every pair
    nbgit knows of counts, also those made by `nbgit pair` without `[pair] enabled`. The twin's path when written.

    `keep_sides` (no side taken, no conflict marked in the notebook): an error instead when a side of the
    twin's conflict in git's index holds an edit the notebook lacks, such as a teammate's edit of the
    twin alone, which git's merge of the notebook never saw."""
    from nbgit.pairing import inside_repository, relative_to_root
    from nbgit.sync.pairs import twin_of

    if root is None:
        return None
    relative = relative_to_root(file, root)
    twin = twin_of(root, policy, relative)
    if twin is None:
        return None
    path = inside_repository(root, twin.path)
    if not path.is_file():
        return None
    from nbgit.twins import twin_text

    text = path.read_bytes()
    stages = gitrepo.conflict_stages(twin.path, cwd=root)
    if not has_conflict_markers(text) and not stages and not _in_step(text, before, policy, relative, twin.format):
        return None
    written = twin_text(notebook.content, policy, relative, twin.format, notebook.major)
    lacking = _side_lacking(stages, written) if keep_sides else None
    if lacking is not None:
        raise NbgitError(f"{twin.path}: its conflict's {lacking} side holds edits that {relative} lacks: resolve the markers in {twin.path} by hand, keeping both sides' edits")
    write_atomic(path, written.encode("utf-8"))
    tell(f"nbgit: {twin.path}: written again from {relative}, to stay in step")
    return path


def _side_lacking(stages: dict[int, bytes], written: str) -> str | None:
    """The side of a twin's conflict ("ours", "theirs") whose edits from the base `written` (the twin
    text of the resolved notebook) lacks; None when it holds them all."""
    from nbgit.sync.model import twin_text_of

    try:
        texts = {stage: twin_text_of(data).replace("\r\n", "\n") for stage, data in stages.items()}
    except UnicodeDecodeError:
        return "ours" if 2 in stages else "theirs"
    for stage, side in ((2, "ours"), (3, "theirs")):
        if stage in texts:
            merged, clean = gitrepo.merge_texts(texts.get(1, ""), written, texts[stage], ("resolved", "base", side))
            if not clean or merged != written:
                return side
    return None


def _in_step(twin: bytes, before: bytes, policy: Policy, relative: str, fmt: str) -> bool:
    """Whether the twin was the text of the notebook as it was before the repair."""
    from nbgit.twins import twin_text

    try:
        notebook = parse(before, relative)
        return twin.decode("utf-8") == twin_text(notebook.content, policy, relative, fmt, notebook.major)
    except (NbgitError, UnicodeDecodeError):
        return False
