"""The programs that commands in git config run, and whether they are still there (`nbgit status`)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path


def program_of(command: str) -> str | None:
    """The program a configured command runs (environment assignments and `exec` skipped); None when unparsable."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    return next((w for w in words if "=" not in w.split("/")[0] and w != "exec"), "")


def missing_program(command: str) -> str | None:
    """The program (or its interpreter, or the file it runs) a configured command runs, when it no
    longer exists; None when it does."""
    name = program_of(command)
    if name is None:
        return None
    if not os.path.isabs(name):
        from shutil import which

        return None if which(name) else name
    program = Path(name)
    if not program.is_file():
        return str(program)
    script = _script_of(command, name)
    if script is not None and not Path(script).is_file():
        return f"{script} (the file {program} runs)"
    with program.open("rb") as handle:
        first = handle.readline(512)
    if first.startswith(b"#!"):
        interpreter = first[2:].split()[0].decode("utf-8", "replace") if first[2:].split() else ""
        if interpreter and not Path(interpreter).exists():
            return f"{interpreter} (the interpreter of {program})"
    return None


def _script_of(command: str, program: str) -> str | None:
    """The file an interpreter is given to run (`python -S /path/nbgit_textconv.py --`: the first
    absolute path among the words after the program, before `--`), if any."""
    words = shlex.split(command)
    operands = words[words.index(program) + 1 :]
    return next((w for w in operands[: operands.index("--")] if os.path.isabs(w)), None) if "--" in operands else None
