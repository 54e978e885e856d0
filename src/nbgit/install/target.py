"""Where `nbgit install` / `uninstall` write (a repository or the user's git config), and the Setup of a run."""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.install.wiring import Setup


class Target(NamedTuple):
    """Where install writes: a config file, an attribute file, a hooks folder and a work tree."""

    config: gitrepo.ConfigFile  # ("--local",) or ("--global",)
    attributes: Path
    macro: bool  # git reads macros (`[attr]nbgit ...`) from this attribute file
    root: Path | None  # the top of the work tree, None for --global outside a repository
    hooks: Path | None
    point_attributes_file: bool  # core.attributesFile must be set to `attributes`
    cwd: Path


@functools.lru_cache(maxsize=8)
def repository_root(cwd: Path) -> Path | None:
    """The top of the work tree holding `cwd`, or None outside a repository."""
    try:
        return gitrepo.top_level(cwd).resolve()
    except NbgitError:
        return None


def default_global_attributes() -> Path:
    """The attribute file git reads when core.attributesFile is unset."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "git" / "attributes"


def target_for(global_: bool, attributes: str | None, cwd: Path) -> Target:
    """Where install / uninstall write, from `--global` and `--attributes`; errors for files git never reads."""
    root = repository_root(cwd)
    given = (cwd / attributes).resolve() if attributes else None
    if global_:
        configured = gitrepo.config_path("core.attributesFile", ("--global",), cwd)
        if configured and given and configured.resolve() != given:
            raise NbgitError(
                f"core.attributesFile already names {configured}, not {attributes}",
                "drop --attributes to use that file, or change core.attributesFile first",
            )
        path = given or configured or default_global_attributes()
        return Target(("--global",), path, True, root, None, given is not None and configured is None, cwd)
    if root is None:
        raise _no_work_tree(cwd)
    info = gitrepo.git_dir_path("info/attributes", cwd).resolve()
    path = given or root / ".gitattributes"
    if path != info and (path.name != ".gitattributes" or not path.is_relative_to(root)):
        raise NbgitError(
            f"{attributes}: git does not read attributes from this file",
            "give a .gitattributes file inside the work tree, or .git/info/attributes (not committed)",
        )
    macro = path in (info, root / ".gitattributes")  # git ignores macros in nested .gitattributes files
    return Target(("--local",), path, macro, root, gitrepo.git_dir_path("hooks", cwd), False, cwd)


def _no_work_tree(cwd: Path) -> NbgitError:
    """Why there is no work tree here for install to wire, as git says it: git refusing a repository another
    user owns (safe.directory), a bare repository, or none at all."""
    said = gitrepo.top_level_refusal(cwd)
    if "dubious ownership" in said:
        top = said.split("'")[1] if said.count("'") >= 2 else str(cwd)
        return NbgitError(f"git refuses the repository at {top}: another user owns it (dubious ownership)",
                          f"if you trust it: git config --global --add safe.directory {shlex.quote(top)}; then run the command again")
    if "must be run in a work tree" in said:
        return NbgitError("this is a bare repository: it has no work tree for notebooks, nor a checkout for hooks to act on",
                          "run `nbgit install` in a clone with a work tree, or `nbgit install --global`")
    return NbgitError("not inside a git repository", "run `nbgit install` inside a clone, or use `nbgit install --global`")


def config_values(where: gitrepo.ConfigFile, cwd: Path) -> dict[str, gitrepo.ConfigValue]:
    """Every entry of one config file (or, with `where` empty, as git resolves them), by lower-cased key."""
    if where == ("--local",) and repository_root(cwd) is None:
        return {}
    return {entry.key.lower(): entry for entry in gitrepo.config_entries(".", where, cwd)}


def is_repository_file(path: Path, cwd: Path) -> bool:
    root = repository_root(cwd)
    return root is not None and (path.is_relative_to(root) or path == info_attributes(cwd))


@functools.lru_cache(maxsize=8)
def info_attributes(cwd: Path) -> Path | None:
    return gitrepo.git_dir_path("info/attributes", cwd).resolve() if repository_root(cwd) else None


def shown_path(path: Path, root: Path | None) -> str:
    """`path` relative to the work tree when it is inside it (for messages), else absolute."""
    if root is not None and path.resolve().is_relative_to(root):
        return path.resolve().relative_to(root).as_posix()
    return str(path)


def make_setup(
    target_root: Path | None, global_: bool, diff: str | None, config: gitrepo.ConfigFile, cwd: Path, lenient: bool = False, restore: bool | None = None
) -> Setup:
    """The Setup for this run: nbgit's folder, the policy, the diff driver and whether the clone keeps
    outputs (each: the flag, else what is wired, else the policy or the default).

    `lenient` (uninstall, status): a broken policy or config value falls back to the defaults instead of stopping.
    """
    from nbgit.install.wiring import interpreter_bin_dir
    from nbgit.store.location import ENABLED_KEY, parse_bool
    from nbgit.policy import Policy, load_policy

    try:
        policy = load_policy(target_root)
    except NbgitError:
        if not lenient:
            raise
        policy = Policy()
    wired = config_values(config, cwd)
    if diff is None:
        diff = "nbdime" if "diff.nbgit.command" in wired or policy.section("diff")["driver"] == "nbdime" else "text"
    if restore is None:
        said = wired.get(ENABLED_KEY.lower())
        try:
            restore = said is None or parse_bool(said.value, ENABLED_KEY)
        except NbgitError:
            if not lenient:
                raise
            restore = True
    return Setup(interpreter_bin_dir(), policy, diff, global_, restore, target_root)
