"""`nbgit pair`: give notebooks that lack one a jupytext text twin."""

from __future__ import annotations

import sys
from pathlib import Path

from nbgit.cli import EXIT_ERROR, EXIT_OK
from nbgit.commands.sync import repository_root
from nbgit.files import find_notebooks, read_file, write_atomic
from nbgit.notebook import parse, serialise
from nbgit.pairing import PairSettings, relative_to_root, settings, twin_relpath
from nbgit.policy import glob_matches, load_policy
from nbgit.progress import warn
from nbgit.sync.apply import apply
from nbgit.sync.model import ERROR, NEW_TWIN, ON_A_BRANCH
from nbgit.sync.plan import plan


def run(paths: list[str], twin_format: str | None = None) -> int:
    """Create twins for the notebooks under `paths`; pairs that exist are left as they are (see `nbgit sync`).

    `twin_format` (`--format md`) overrides the policy's `[pair] format` for this run.
    """
    root = repository_root(paths)
    own_policy = load_policy(root)
    policy = own_policy.with_flags({"pair.format": twin_format})
    pair = settings(policy)
    named = {relative_to_root(Path(p), root) for p in paths if Path(p).is_file() or Path(p).is_symlink()}
    chosen: list[Path] = []
    for path in find_notebooks(paths):
        if not (path.is_file() or path.is_symlink()):
            continue  # a FIFO or device named like a notebook: nothing to pair
        relative = relative_to_root(path, root)
        if glob_matches(relative, pair.exclude):
            if relative in named:
                warn(f"{path}: excluded from pairing by the policy ([pair] exclude or exclude); not paired")
            continue
        if pair.folders and twin_relpath(relative, ".x", pair) is None:
            if relative in named:
                warn(f"{path}: not under `{pair.folders[0][0]}/`, the mirrored folder of [pair] folders; not paired")
            continue
        if relative in named or glob_matches(relative, pair.include):
            chosen.append(path)
    if twin_format and chosen:  # a notebook paired in the policy's format keeps that pair
        paired = {item.notebook.path.resolve() for item in plan(root, own_policy, chosen).plans if item.status.state != NEW_TWIN}
        chosen = [path for path in chosen if path.resolve() not in paired]
    if not chosen:
        return EXIT_OK
    work = plan(root, policy, chosen)
    if twin_format:
        fresh = [item.notebook.path for item in work.plans if item.status.state == NEW_TWIN]
        for path in fresh:
            _record_format(path, pair)
        work = plan(root, policy, chosen) if fresh else work
    for item in work.plans:
        if item.status.state != NEW_TWIN:
            item.action = None  # pairs that exist are synced by `nbgit sync`, not here
    applied = {id(item) for item in apply(work, None)}
    failed = False
    for item in work.plans:
        if id(item) in applied:
            print(f"paired {item.relative[0]} with {item.relative[1]}")
        elif item.status.state == ERROR:
            failed = True
            print(item.status.detail, file=sys.stderr)
        elif item.status.state == ON_A_BRANCH:
            print(item.status.detail)
        elif not item.status.in_step:
            print(f"{item.relative[0]} is paired with {item.relative[1]} but {item.status.state}: run nbgit sync {item.relative[0]}")
    return EXIT_ERROR if failed else EXIT_OK


def _record_format(path: Path, pair: PairSettings) -> None:
    """Name the twin's format in the notebook (`metadata.jupytext.formats`), as `jupytext --set-formats` does.

    The format given for one run then stays with the notebook: jupytext (in JupyterLab too) writes
    that twin on every save, not the one the policy names.
    """
    before = read_file(path)
    notebook = parse(before.data, str(path))
    metadata = notebook.content.setdefault("metadata", {})
    if not isinstance(metadata.get("jupytext"), dict):
        metadata["jupytext"] = {}
    if pair.folders:
        notebooks, twins = (folder.strip("/") for folder in pair.folders[0])
        metadata["jupytext"]["formats"] = f"{notebooks}///ipynb,{twins}///{pair.format}"
    else:
        metadata["jupytext"]["formats"] = f"ipynb,{pair.format}"
    write_atomic(path, serialise(notebook), expected=before)
