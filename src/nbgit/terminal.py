"""Repository content made safe to print: control characters shown, file names quoted for a shell.

Everything nbgit prints can carry text from a repository (file names, cell sources, outputs,
kernel names), and a repository can come from anyone. A raw ESC can erase a line on screen and
show another one; OSC sequences set titles and hyperlinks; a newline in a file name forges a line of
output. So control characters are shown the way git quotes file names (`\\033`, `\\n`, `\\t`), and a
file name inserted into a command to run is quoted as a POSIX shell needs it.

`shown_streams` applies `visible` to everything a command prints, whoever wrote the line; the
functions apply it (and keep names on one line) where nbgit knows what it prints.

Only the standard library: git's textconv and the filter import this.
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import Any, Iterable, Iterator, TextIO

# C0 controls, DEL and C1 controls. Content keeps its tabs and line breaks; a line keeps nothing.
_CONTENT_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def _quoted(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or "".join(f"\\{byte:03o}" for byte in char.encode("utf-8"))


def visible(text: str) -> str:
    """Multi-line text (a rendered notebook, a report) with every control character but tab and
    newline shown as git shows it in a quoted name (ESC as `\\033`)."""
    return _CONTENT_CONTROLS.sub(_quoted, text) if _CONTENT_CONTROLS.search(text) else text


def one_line(text: str) -> str:
    """Text meant as one line (a message, a file name) with every control character shown, newlines and tabs too."""
    return _LINE_CONTROLS.sub(_quoted, text) if _LINE_CONTROLS.search(text) else text


def shell_word(path: str) -> str:
    """A file name as one shell word for commands printed in hints (`nbgit resolve 'x;rm -rf ~.ipynb'`);
    a relative name starting with `-` gets `./`, so that no command reads it as an option."""
    import shlex  # only hints need it; the filter and textconv import this module

    return shlex.quote(f"./{path}" if path.startswith("-") else path)


class _Shown:
    """A text stream whose writes show control characters (`visible`); everything else is the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.unfiltered = stream  # for the progress line, which draws with a carriage return

    def write(self, text: str) -> int:
        return self.unfiltered.write(visible(text))

    def writelines(self, lines: Iterable[str]) -> None:
        self.unfiltered.writelines(visible(line) for line in lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unfiltered, name)


@contextlib.contextmanager
def shown_streams() -> Iterator[None]:
    """For the duration, sys.stdout and sys.stderr show control characters instead of sending them: a
    command's own text has none, so only what came from a repository changes. Binary output
    (`sys.stdout.buffer`: a notebook, textconv) passes as it is."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Shown(sys.stdout), _Shown(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
