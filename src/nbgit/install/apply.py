"""Install and uninstall: every capability's config, attributes, hooks and managed files, and the peers' wiring replaced."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import confined, write_atomic
from nbgit.install import peers
from nbgit.install.attributes import attribute_files, block_text, check_block, remove_block, write_block
from nbgit.install.config import RECORD, apply_config, keep_yours, remove_config
from nbgit.install.folders import forget_made, missing_folders, record_made, remove_if_empty
from nbgit.install.hooks import hook_script, install_hook, is_ours, ours_in, refuse_unwritable, refuse_what_is_no_hook, remove_hooks, to_write
from nbgit.install.inspect import DRIVERS, inspect
from nbgit.install.renormalize import restaging
from nbgit.install.target import Target, is_repository_file, shown_path
from nbgit.install.wiring import MANAGED_MARKER, ManagedFile, Setup, Wiring, nbgit_command


def write_file(root: Path, managed: ManagedFile) -> str | None:
    """Write (or, when no longer wanted, remove) a file nbgit manages; a file that is not nbgit's is left alone."""
    path = root / managed.path
    ours = is_ours(path, MANAGED_MARKER)
    if managed.text is None:
        if ours:
            path.unlink()
            return f"removed {managed.path} (no longer needed)"
        return None
    if path.exists() and not ours:
        return f"kept your own {managed.path} (not written by nbgit)"
    if ours and path.read_text(encoding="utf-8") == managed.text:
        return None
    write_atomic(path, managed.text.encode("utf-8"))
    return f"wrote {managed.path}"


def remove_file(root: Path, managed: ManagedFile) -> str | None:
    """Remove a managed file if it is nbgit's."""
    path = root / managed.path
    if is_ours(path, MANAGED_MARKER):
        path.unlink()
        return f"removed {managed.path}"
    return None


def install(wirings: list[Wiring], target: Target, setup: Setup, replace_peers: bool, with_hooks: bool) -> tuple[list[str], bool]:
    """Wire every capability into the target; the report, and whether a peer still overrides nbgit."""
    if not with_hooks:
        wirings = [w._replace(hooks=(), off="skipped (--no-hooks)") if w.hooks else w for w in wirings]
    nbgit = nbgit_command(setup)
    scripts = {name: hook_script(name, nbgit) for wiring in wirings for name in wiring.hooks}
    check_block(target.attributes)  # before anything is written
    confined(target.attributes)
    if target.hooks is not None:
        refuse_what_is_no_hook(target.hooks, list(scripts))
        refuse_unwritable(target.hooks, to_write(target.hooks, scripts))
    report = [f"warning: {w}" for wiring in wirings for w in wiring.warnings]
    hooks = [target.hooks] if target.hooks is not None and any(wiring.hooks for wiring in wirings) else []
    made = missing_folders([target.attributes.parent, *hooks])  # recorded once written, so that uninstall removes them
    if replace_peers:
        report += replace(target)
    keep_yours(wirings, target)
    for wiring in wirings:
        apply_config(wiring, target)
    if target.point_attributes_file:
        gitrepo.config_set("core.attributesFile", str(target.attributes), target.config, target.cwd)
        gitrepo.config_set(RECORD, "core.attributesfile", target.config, target.cwd, add=True)
    if write_block(target.attributes, block_text(wirings, target.macro)):
        report.append(f"attributes: wrote nbgit's block in {shown_path(target.attributes, target.root)}")
    for wiring in wirings:
        if wiring.hooks and target.hooks is not None:
            report += [install_hook(target.hooks, name, scripts[name]) for name in wiring.hooks]
        if target.root is not None:
            report += [said for f in wiring.files if (said := write_file(target.root, f))]
    record_made(made, target)
    for wiring in wirings:
        said = f"off: {wiring.off}" if wiring.off else f"broken: {wiring.broken}" if wiring.broken else wiring.summary
        report.append(f"{wiring.capability:<10} {said}")
    # what git really does now: a peer, or a later attribute line of yours (`*.ipynb filter=lfs`), may override nbgit
    found = [f for f in inspect(wirings, target.cwd) if f.capability == "peers" and f.state in ("broken", "note")
             or f.capability in DRIVERS and f.state == "broken"]
    report += [f"{f.state}: {f.capability}: {f.detail}" if f.capability in DRIVERS else f"{f.state}: {f.detail}" for f in found]
    return report, any(f.state == "broken" for f in found)


def next_step(target: Target, wirings: list[Wiring], setup: Setup) -> str:
    """What is left to do in a repository after install, as one command line ("" when nothing is).

    Committing the files the team shares (a `.gitattributes`, the policy file, nbgit's
    `jupytext.toml`) when they differ from what is committed, and, when tracked notebooks are stored
    with what the filter strips, `nbgit renormalize` first (by its full path when `nbgit` on PATH is
    not this one).
    """
    root = target.root
    if root is None:
        return ""
    to_commit = shared_to_commit(target, wirings)
    try:
        unclean = bool(restaging(root))
    except NbgitError:
        unclean = False  # nbgit's filter is not in effect here: renormalising would change nothing
    nbgit = nbgit_command(setup)
    on_path = shutil.which("nbgit")
    nbgit = "nbgit" if on_path and shlex.split(nbgit)[0] == str(Path(on_path).absolute()) else nbgit
    steps = ([f"{nbgit} renormalize"] if unclean else []) + (["git add " + " ".join(map(shlex.quote, to_commit))] if to_commit else [])
    return " && ".join([*steps, "git commit -m 'Store notebooks clean with nbgit'"]) if steps else ""


def shared_to_commit(target: Target, wirings: list[Wiring]) -> list[str]:
    """The files install writes for the whole team (a `.gitattributes`, the policy file, nbgit's
    `jupytext.toml`) that differ from what is committed, untracked ones included, as paths for `git add`
    run where the command was."""
    from nbgit.policy import POLICY_FILE

    root = target.root
    if root is None:
        return []
    shared = [target.attributes] if target.attributes.name == ".gitattributes" else []
    shared += [root / POLICY_FILE] if (root / POLICY_FILE).is_file() else []
    shared += [root / f.path for w in wirings for f in w.files if f.text is not None and is_ours(root / f.path, MANAGED_MARKER)]
    return [os.path.relpath(root / path, target.cwd) for path in gitrepo.uncommitted([shown_path(p, root) for p in shared], root)]


def uninstall(wirings: list[Wiring], target: Target) -> list[str]:
    """Remove exactly what install wrote to the target: config keys, the attribute block, hooks, managed
    files, and the folders it created for them once they are empty."""
    check_block(target.attributes)  # before anything is removed
    if target.hooks is not None and target.config != ("--global",):
        refuse_unwritable(target.hooks, [hook.name for hook in ours_in(target.hooks)], removing=True)
    made = forget_made(target)
    report = [f"config: removed {key}" for key in remove_config(wirings, target)]
    if (report or made) and target.config == ("--global",):
        _drop_if_empty(Path.home() / ".gitconfig")
    if remove_block(target.attributes):
        report.append(f"attributes: removed nbgit's block from {shown_path(target.attributes, target.root)}")
    if target.hooks is not None and target.config != ("--global",):
        report += remove_hooks(target.hooks)
    if target.root is not None and target.config != ("--global",):
        report += [said for w in wirings for f in w.files if (said := remove_file(target.root, f))]
    return report + remove_if_empty(made)


def forget_outputs(root: Path) -> list[str]:
    """Remove the clone's output store (the outputs the filter kept); say what went."""
    from nbgit.store.evict import forget
    from nbgit.store.location import shown_size, store_dir

    directory = store_dir(root)
    if directory is None or not directory.exists():
        return []
    held = forget(directory)
    return [f"outputs: removed the output store {directory} ({shown_size(held.bytes)} in {held.files} files)"]


def forget_notes(root: Path) -> list[str]:
    """Remove the clone's notes of the notebooks a checkout wrote as committed (`location.notes_dir`:
    `--no-restore` keeps them, `nbgit uninstall` does not); say what went."""
    from nbgit.store.evict import forget
    from nbgit.store.location import notes_dir, shown_size

    directory = notes_dir(root)
    if directory is None or not directory.exists():
        return []
    held = forget(directory)
    try:
        directory.parent.rmdir()  # (nbgit's folder in git's, once nothing else is in it)
    except OSError:
        pass
    return [f"outputs: removed the notes of notebooks written as committed {directory} ({shown_size(held.bytes)} in {held.files} files)"]


def _drop_if_empty(path: Path) -> None:
    """A config file nbgit's removals left empty goes too (install created it, or it held only nbgit's)."""
    if path.is_file() and not path.read_bytes().strip():
        path.unlink()


def replace(target: Target) -> list[str]:
    """Remove the peers' wiring that the target's scope owns (its config file, its attribute files); say what went."""
    configs = peers.find_config(target.cwd)
    lines = peers.find_lines(attribute_files(target.cwd), configs)
    report = []
    mine = _scope_files(target)
    removable = [line for line in lines if line.file in mine]
    peers.remove_lines(removable)
    report += [f"removed {line.peer}'s `{' '.join(line.tokens)}` from {shown_path(line.file, target.root)}:{line.number}" for line in removable]
    scopes = ("global",) if target.config == ("--global",) else ("local", "worktree")
    for item in configs:
        if item.scope in scopes and peers.remove_config(item, target.cwd):
            report.append(f"removed {item.peer}'s [{item.section}] from {item.file}")
        else:
            report.append(f"kept {item.peer}'s [{item.section}] in {item.file} ({item.scope} config; remove it there if it clashes)")
    return report


def _scope_files(target: Target) -> set[Path]:
    """The attribute files a local install owns (the work tree's and info/attributes), or --global's one file."""
    if target.config == ("--global",):
        return {target.attributes.resolve()}
    return {p for p in attribute_files(target.cwd) if is_repository_file(p, target.cwd)}
