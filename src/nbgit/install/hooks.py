"""nbgit's git hooks: written chained with any hook already there, removed putting that hook back."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from nbgit.errors import NbgitError
from nbgit.files import kind_of, read_file, write_atomic

HOOK_MARKER = "# nbgit: hook written by `nbgit install`"
HAND_HOOK_MARKER = "# nbgit: hook for wiring by hand"
CHAINED = ".nbgit-chained"
OWN_FILE_LIMIT = 1 << 16  # nbgit's hooks and managed files are a few hundred bytes: a larger file is someone else's
BLOCKING = frozenset({"pre-commit", "pre-merge-commit"})  # the hooks whose failure stops what git does
SH_SHEBANGS = "'#!/bin/sh'|'#!/bin/sh '|'#!/usr/bin/env sh'|'#!/usr/bin/env sh '"  # chained hooks run sourced, `$0` kept


def hook_script(name: str, nbgit: str) -> str:
    """nbgit's hook: run `nbgit hook NAME`, then any hook it replaced with the same arguments; fail if either fails.

    The hooks nbgit installs read nothing on stdin, so the chained hook gets git's stdin untouched;
    git's environment (GIT_INDEX_FILE for `commit -a`) passes through to both. A chained `sh` script
    runs sourced by a new `sh` whose `$0` is this hook's path, as git ran it: hook managers (husky)
    and dispatchers find the hook's name and folder through `$0`, and under its chained name husky
    found no hook to run and silently ran nothing. Any other hook is run as it is. When nbgit itself is
    gone (its environment deleted), the hook says so in one line with the way out instead of the
    shell's "not found": a commit is refused (nothing would clean it), a checkout or merge goes on.
    """
    chained = f'"$(dirname "$0")/{name}{CHAINED}"'
    program = " ".join(shlex.split(nbgit))
    if name in BLOCKING:
        gone = f"nbgit: {program} is gone, so this commit cannot be checked: reinstall nbgit, then run `nbgit install` here (or commit with --no-verify)"
    else:
        gone = f"nbgit: {program} is gone, so notebooks were not refreshed: reinstall nbgit, then run `nbgit install` here"
    return (
        f"#!/bin/sh\n{HOOK_MARKER}; it runs any hook that was here before, kept as {name}{CHAINED}\n"
        f"if [ -x {nbgit} ]; then\n"
        f'{nbgit} hook {name} "$@" </dev/null\nstatus=$?\n'
        f"else\necho {shlex.quote(gone)} >&2\nstatus={1 if name in BLOCKING else 0}\nfi\n"
        f"chained={chained}\n"
        'if [ -x "$chained" ]; then\n'
        'first=; IFS= read -r first < "$chained" || :\n'
        'case $first in\n'
        f"{SH_SHEBANGS}) sh -c 'nbgit_chained=$1; shift; . \"$nbgit_chained\"' \"$0\" \"$chained\" \"$@\" ;;\n"
        '*) "$chained" "$@" ;;\n'
        'esac || { code=$?; [ "$status" -eq 0 ] && status=$code; }\n'
        "fi\n"
        "exit $status\n"
    )


def is_ours(path: Path, marker: str = HOOK_MARKER) -> bool:
    """Whether the file at `path` is one nbgit wrote: a regular file holding `marker` near its top."""
    data = read_small(path)
    return data is not None and marker.encode() in data[:4096]


def read_small(path: Path) -> bytes | None:
    """The bytes of the regular file at `path` when it holds at most OWN_FILE_LIMIT; None for anything else
    (absent, unreadable, larger, no regular file). Read without waiting: a FIFO (named pipe) that a
    local tool or script left at a hook's path must not hang install, status or uninstall."""
    try:
        return read_file(path, OWN_FILE_LIMIT).data
    except NbgitError:
        return None


def not_a_hook_file(path: Path) -> str | None:
    """What is at a hook's `path` when it exists but is no regular file (`a FIFO (named pipe)`), which no
    hook can be (git cannot run it) nor be kept as the hook nbgit's runs after its own; None otherwise."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # absent, or a dangling link: kept and chained as any hook already there
    return None if stat.S_ISREG(mode) else kind_of(mode)


def refuse_what_is_no_hook(hooks: Path, names: list[str]) -> None:
    """Raise an NbgitError when something that is no regular file sits at one of the hooks' paths: install
    neither reads it, nor moves it aside, nor writes over it; whoever put it there decides."""
    for name in names:
        kind = not_a_hook_file(hooks / name)
        if kind is not None:
            raise NbgitError(f"{hooks / name}: {kind}, not a hook script; left as it is",
                             "move it away (git cannot run it as a hook either), then run `nbgit install` again")


def to_write(hooks: Path, scripts: dict[str, str]) -> list[str]:
    """The hooks of `scripts` (name: nbgit's script) that install would write: not already nbgit's as they are."""
    return [
        name for name, script in scripts.items()
        if read_small(hooks / name) != script.encode() and not is_ours(hooks / f"{name}.legacy") and not is_ours(hooks / name, HAND_HOOK_MARKER)
    ]


def refuse_unwritable(hooks: Path, names: list[str], removing: bool = False) -> None:
    """Raise an NbgitError when the hooks folder (or, while it does not exist, the folder it would be made in)
    cannot be written and `names` are to be written (or `removing`, removed) there: install (uninstall)
    stops before changing anything else."""
    if not names:
        return
    existing = next(p for p in (hooks, *hooks.parents) if p.exists())
    if os.access(existing, os.W_OK | os.X_OK):
        return
    shown = ", ".join(names)
    if removing:
        raise NbgitError(f"{existing}: cannot remove nbgit's hooks ({shown}) from this folder; nothing was removed",
                         "make the folder writable, then run `nbgit uninstall` again")
    raise NbgitError(f"{existing}: cannot write nbgit's hooks ({shown}) into this folder; nothing was installed",
                     "make the folder writable, or run `nbgit install --no-hooks`")


def install_hook(hooks: Path, name: str, script: str) -> str:
    """Install one hook, keeping a hook already there as NAME.nbgit-chained (run after nbgit's); what was done."""
    hook, chained = hooks / name, hooks / f"{name}{CHAINED}"
    refuse_what_is_no_hook(hooks, [name])
    if is_ours(hooks / f"{name}.legacy"):
        return f"{name}: nbgit's hook already runs through the pre-commit framework's hook (as {name}.legacy)"
    if is_ours(hook, HAND_HOOK_MARKER):
        return f"{name}: kept nbgit's hand-wired hook {hook}"
    said = f"{name}: installed in {hook.parent}"
    if os.path.lexists(hook) and not is_ours(hook):
        if _same_hook_again(hook, chained):
            write_atomic(hook, script.encode())
            hook.chmod(0o755)
            return f"{name}: installed again; the hook written over nbgit's is the one already kept as {chained.name}"
        if os.path.lexists(chained):
            raise NbgitError(f"{hook} is not nbgit's and {chained} already exists", "move one of them away, then run `nbgit install` again")
        os.replace(hook, chained)
        said = f"{name}: installed; your existing hook is kept as {chained.name} and still runs after nbgit's"
    elif read_small(hook) == script.encode():
        return f"{name}: already installed"
    hooks.mkdir(parents=True, exist_ok=True)
    write_atomic(hook, script.encode())
    hook.chmod(0o755)
    return said


def _same_hook_again(hook: Path, chained: Path) -> bool:
    """Whether `hook` is a copy of the hook nbgit already chains: its manager wrote it again over nbgit's
    (husky does on every `npm install`). Regular files with the same bytes only; a link is never taken for one."""
    if hook.is_symlink() or chained.is_symlink():
        return False
    data = read_small(hook)
    return data is not None and data == read_small(chained)


def ours_in(hooks: Path) -> list[Path]:
    """nbgit's hooks in a hooks folder (as `.legacy` too, where the pre-commit framework moved one)."""
    return [hook for hook in sorted(hooks.iterdir()) if not hook.name.endswith(CHAINED) and is_ours(hook)] if hooks.is_dir() else []


def remove_hooks(hooks: Path) -> list[str]:
    """Remove nbgit's hooks from a hooks folder, putting back each hook they had chained, byte for byte."""
    said = []
    for hook in ours_in(hooks):
        name = hook.name.removesuffix(".legacy")
        chained = hooks / f"{name}{CHAINED}"
        if os.path.lexists(chained):
            os.replace(chained, hook)
            said.append(f"{hook.name}: restored the hook that was there before nbgit")
        else:
            hook.unlink()
            said.append(f"{hook.name}: removed")
    return said
