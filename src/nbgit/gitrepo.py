"""Every call into git lives here.

Plain `git` subprocesses for the few quick questions on fast paths; GitPython (imported lazily,
it costs about 0.1 s) where an object model helps.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from nbgit.errors import NbgitError


def git(*args: str, cwd: Path | str | None = None, input: bytes | None = None, check: bool = True) -> bytes:
    """Run `git ARGS` and return its stdout; raise NbgitError with git's message when it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True)
    except FileNotFoundError:
        raise NbgitError("git is not installed or not on PATH", "install git 2.39 or newer") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NbgitError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def ignored_paths(paths: list[Path]) -> set[Path]:
    """Those of `paths` that git ignores (none when outside a work tree)."""
    if not paths:
        return set()
    done = subprocess.run(
        ["git", "check-ignore", "-z", "--stdin"],
        input=b"\0".join(str(p).encode() for p in paths),
        capture_output=True,
    )
    if done.returncode not in (0, 1):  # 128: not a repository
        return set()
    return {Path(p.decode()) for p in done.stdout.split(b"\0") if p}
