"""Folders `nbgit install` creates for what it writes (`~/.config/git/` for --global's attribute file,
a hooks folder that `core.hooksPath` names), recorded in the config file it writes, so that
`nbgit uninstall` removes them once they are empty and never touches a folder you had before."""

from __future__ import annotations

from pathlib import Path

from nbgit import gitrepo
from nbgit.install.target import Target

MADE = "nbgit.made"  # folders install created (multi-valued), innermost removed first by uninstall


def missing_folders(folders: list[Path]) -> list[Path]:
    """Each of `folders` and its ancestors that do not exist yet: what writing into them will create."""
    missing: list[Path] = []
    for folder in folders:
        for path in (folder.absolute(), *folder.absolute().parents):
            if path.exists() or path.is_symlink():
                break
            missing.append(path)
    return list(dict.fromkeys(missing))


def record_made(folders: list[Path], target: Target) -> None:
    """Record in the target's config the folders of `folders` that exist now (install created them)."""
    recorded = set(made_folders(target))
    for folder in folders:
        if folder.is_dir() and folder not in recorded:
            gitrepo.config_set(MADE, str(folder), target.config, target.cwd, add=True)


def made_folders(target: Target) -> list[Path]:
    """The folders install recorded creating in the target's config."""
    return [Path(e.value) for e in gitrepo.config_entries("^" + MADE.replace(".", r"\.") + "$", target.config, target.cwd)]


def forget_made(target: Target) -> list[Path]:
    """The folders install recorded creating, their record removed from the target's config."""
    made = made_folders(target)
    if made:
        gitrepo.config_unset(MADE, target.config, target.cwd)
    return made


def remove_if_empty(folders: list[Path]) -> list[str]:
    """Remove each folder that is empty now, innermost first (a parent emptied by its child's removal
    goes too); a folder holding anything stays. Say what went."""
    said = []
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        try:
            folder.rmdir()  # fails unless it is an empty folder (a file or a symbolic link is no folder)
        except OSError:
            continue
        said.append(f"removed the folder {folder} (install created it; it is empty now)")
    return said
