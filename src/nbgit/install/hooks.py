"""nbgit's git hooks: written chained with any hook already there, removed putting that hook back."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from nbgit.errors import NbgitError
from nbgit.files import write_atomic

HOOK_MARKER = "# nbgit: hook written by `nbgit install`"
HAND_HOOK_MARKER = "# nbgit: hook for wiring by hand"
CHAINED = ".nbgit-chained"


BLOCKING = frozenset({"pre-commit", "pre-merge-commit"})  # the hooks whose failure stops what git does


def hook_script(name: str, nbgit: str) -> str:
    """nbgit's hook: run `nbgit hook NAME`, then any hook it replaced with the same arguments; fail if either fails.

    The hooks nbgit installs read nothing on stdin, so the chained hook gets git's stdin untouched;
    git's environment (GIT_INDEX_FILE for `commit -a`) passes through to both. When nbgit itself is
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
        f'if [ -x {chained} ]; then {chained} "$@" || {{ code=$?; [ "$status" -eq 0 ] && status=$code; }}; fi\n'
        "exit $status\n"
    )


def is_ours(path: Path, marker: str = HOOK_MARKER) -> bool:
    try:
        with path.open("rb") as handle:
            return marker.encode() in handle.read(4096)
    except OSError:
        return False


def install_hook(hooks: Path, name: str, script: str) -> str:
    """Install one hook, keeping a hook already there as NAME.nbgit-chained (run after nbgit's); what was done."""
    hook, chained = hooks / name, hooks / f"{name}{CHAINED}"
    if is_ours(hooks / f"{name}.legacy"):
        return f"{name}: nbgit's hook already runs through the pre-commit framework's hook (as {name}.legacy)"
    if is_ours(hook, HAND_HOOK_MARKER):
        return f"{name}: kept nbgit's hand-wired hook {hook}"
    said = f"{name}: installed in {hook.parent}"
    if os.path.lexists(hook) and not is_ours(hook):
        if os.path.lexists(chained):
            raise NbgitError(f"{hook} is not nbgit's and {chained} already exists", "move one of them away, then run `nbgit install` again")
        os.replace(hook, chained)
        said = f"{name}: installed; your existing hook is kept as {chained.name} and still runs after nbgit's"
    elif is_ours(hook) and hook.read_text() == script:
        return f"{name}: already installed"
    hooks.mkdir(parents=True, exist_ok=True)
    write_atomic(hook, script.encode())
    hook.chmod(0o755)
    return said


def remove_hooks(hooks: Path) -> list[str]:
    """Remove nbgit's hooks from a hooks folder, putting back each hook they had chained, byte for byte."""
    said = []
    for hook in sorted(hooks.iterdir()) if hooks.is_dir() else []:
        if hook.name.endswith(CHAINED) or not is_ours(hook):
            continue
        name = hook.name.removesuffix(".legacy")
        chained = hooks / f"{name}{CHAINED}"
        if os.path.lexists(chained):
            os.replace(chained, hook)
            said.append(f"{hook.name}: restored the hook that was there before nbgit")
        else:
            hook.unlink()
            said.append(f"{hook.name}: removed")
    return said
