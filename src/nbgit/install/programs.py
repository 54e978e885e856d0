"""The programs that commands in git config run, and whether they can still start (`nbgit status`)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

# the characters that make git run a configured command through the shell (run-command.c)
SHELL_CHARACTERS = frozenset("|&;<>()$`\\\"' \t\n*?[#~=%")


def program_of(command: str) -> str | None:
    """The program a configured command runs (environment assignments and `exec` skipped); None when unparsable."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    return next((w for w in words if "=" not in w.split("/")[0] and w != "exec"), "")


def program_problem(command: str, cwd: Path | None = None) -> str | None:
    """Why the program a configured command runs (or its interpreter, or the file it runs) cannot
    start, found as git would find it, without running it: an absolute path; a relative one from
    `cwd` (git runs commands at the top of the work tree); a bare name on PATH. "X, which no longer
    exists", "X, which is not on PATH" or "X, which is not executable"; None when it can start, or
    when the command does not parse."""
    name = program_of(command)
    if not name:
        return None
    if "/" not in name:
        from shutil import which

        return None if which(name) else f"{name}, which is not on PATH"
    program = Path(cwd or ".", name)
    if not program.is_file():
        return f"{name}, which no longer exists"
    if not os.access(program, os.X_OK):
        return f"{name}, which is not executable"
    script = _script_of(command, name)
    if script is not None and not Path(script).is_file():
        return f"{script} (the file {name} runs), which no longer exists"
    with program.open("rb") as handle:
        first = handle.readline(512)
    if first.startswith(b"#!"):
        interpreter = first[2:].split()[0].decode("utf-8", "replace") if first[2:].split() else ""
        if interpreter and not Path(interpreter).exists():
            return f"{interpreter} (the interpreter of {name}), which no longer exists"
    return None


def runs_through_shell(command: str) -> bool:
    """Whether git hands `command` to `sh -c` (it holds a character the shell treats specially, a space
    included) instead of starting the program itself."""
    return any(character in SHELL_CHARACTERS for character in command)


def _script_of(command: str, program: str) -> str | None:
    """The file an interpreter is given to run (`python -S /path/nbgit_textconv.py --`: the first
    absolute path among the words after the program, before `--`), if any."""
    words = shlex.split(command)
    operands = words[words.index(program) + 1 :]
    return next((w for w in operands[: operands.index("--")] if os.path.isabs(w)), None) if "--" in operands else None
