"""Repository content made safe to print: control characters shown, file names quoted for a shell.

Everything nbgit prints can carry text from a repository (file names, cell sources, outputs,
kernel names), and a repository can come from anyone. A raw ESC can erase a line on screen and
show another one; OSC sequences set titles and hyperlinks; a newline in a file name forges a line of
output; Unicode's bidirectional controls reorder what a line shows (Trojan Source: U+202E makes code
read differently from how it runs) and zero-width characters hide in names and strings. So control
characters, bidirectional controls and invisible characters are shown the way git quotes file names
(`\\033`, `\\n`, `\\t`, U+202E as `\\342\\200\\256`), and a file name inserted into a command to run is
quoted as a POSIX shell needs it.

`shown_streams` applies `visible` to everything a command prints, whoever wrote the line; the
functions apply it (and keep names on one line) where nbgit knows what it prints. A reader that
leaves early (`nbgit ... | head`, `git log -p` quit in the pager) ends nothing with an error
(`survive_reader_leaving`).

Only the standard library: git's textconv and the filter import this.
"""

from __future__ import annotations

import io
import sys

TYPE_CHECKING = False  # typing imports re, enum and more: milliseconds in each textconv process
if TYPE_CHECKING:
    from typing import Any, Iterable, TextIO

_NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def _shown(char: str) -> str:
    return _NAMED.get(char) or "".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape"))


# Unicode's bidirectional formatting characters (ALM, LRM, RLM, LRE-RLO, LRI-PDI), the invisible ones
# that no text needs (zero width space, word joiner, invisible operators, zero width no-break space),
# and the line and paragraph separators, which some viewers break a line at and Python does not.
# Zero width joiners and variation selectors stay: emoji and scripts such as Persian need them.
_BIDI_AND_INVISIBLE = (
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, *range(0x2060, 0x2065), 0xFEFF, 0x2028, 0x2029,
)  # fmt: skip

# C0 controls, DEL and C1 controls, the characters above, each with how it is shown, and the bytes of
# a file name that are not UTF-8 (which Python reads as U+DC80-U+DCFF, and no UTF-8 stream can write),
# shown as git shows them (`caf\\351.ipynb`). A line keeps none; content keeps its tabs and line breaks.
# (`str.translate` rather than a regular expression: no `re` to import.) Made when first needed: most
# text has none, and textconv starts a process per notebook.
_SHOWN_IN_LINE: dict[int, str] = {}
_SHOWN_IN_TEXT: dict[int, str] = {}


def _tables() -> tuple[dict[int, str], dict[int, str]]:
    """(_SHOWN_IN_LINE, _SHOWN_IN_TEXT), filled at the first call."""
    if not _SHOWN_IN_LINE:
        codes = (*range(0x20), *range(0x7F, 0xA0), *_BIDI_AND_INVISIBLE, *range(0xDC80, 0xDD00))
        _SHOWN_IN_LINE.update({code: _shown(chr(code)) for code in codes})
        _SHOWN_IN_TEXT.update({code: shown for code, shown in _SHOWN_IN_LINE.items() if chr(code) not in "\t\n"})
    return _SHOWN_IN_LINE, _SHOWN_IN_TEXT


def visible(text: str) -> str:
    """Multi-line text (a rendered notebook, a report) with every control character but tab and
    newline, and every bidirectional or invisible character, shown as git shows it in a quoted name
    (ESC as `\\033`, U+202E as `\\342\\200\\256`)."""
    if text.replace("\t", " ").replace("\n", " ").isprintable():
        return text  # no control character (the common case), and nothing for translate to walk
    # translate looks every character up one by one: only the lines holding something unprintable
    # (a control, or a format character such as U+2060 that isprintable also refuses) go through it
    in_text = _tables()[1]
    return "\n".join(line if line.replace("\t", " ").isprintable() else line.translate(in_text) for line in text.split("\n"))


def one_line(text: str) -> str:
    """Text meant as one line (a message, a file name) with every control character shown, newlines and
    tabs too, and every bidirectional or invisible character."""
    return text if text.isprintable() else text.translate(_tables()[0])


def utf8_text(text: str) -> str:
    """`text` with the bytes of a file name that are not UTF-8 (U+DC80-U+DCFF as Python reads them,
    which no UTF-8 output can hold, and JSON only as a lone surrogate) shown as git shows them
    (`caf\\351.ipynb`), and nothing else changed: for reports that escape the rest themselves (JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate({code: _shown(chr(code)) for code in range(0xDC80, 0xDD00)})
    return text


def shell_word(path: str) -> str:
    """A file name as one shell word for commands printed in hints (`nbgit resolve 'x;rm -rf ~.ipynb'`);
    a relative name starting with `-` gets `./`, so that no command reads it as an option."""
    import shlex  # only hints need it; the filter and textconv import this module

    return shlex.quote(f"./{path}" if path.startswith("-") else path)


def git_path_word(path: str) -> str:
    """A file name as one shell word for the git commands printed in hints (`git add`, `git checkout --`):
    a name git would read as a pattern or as pathspec magic (`*.ipynb`, `:!x.ipynb`) is marked literal,
    so that following the hint touches that file alone, never every notebook."""
    if path.startswith(":") or any(char in path for char in "*?[\\"):
        return shell_word(f":(literal){path}")
    return shell_word(path)


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


class shown_streams:  # noqa: N801 - used as a function: `with shown_streams():`
    """For the duration, sys.stdout and sys.stderr show control characters instead of sending them: a
    command's own text has none, so only what came from a repository changes. Binary output
    (`sys.stdout.buffer`: a notebook, textconv) passes as it is."""

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Shown(sys.stdout), _Shown(sys.stderr)  # type: ignore[assignment]

    def __exit__(self, *exc_info: object) -> None:
        sys.stdout, sys.stderr = self.saved


class _ReaderMayLeave(io.FileIO):
    """stdout or stderr whose reader may go away: later writes go to /dev/null instead of failing."""

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            import os  # textconv starts without it (python -S): only a reader that leaves needs it

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.fileno())
            os.close(devnull)
            return memoryview(data).nbytes


def survive_reader_leaving(name: str) -> None:
    """Give the process's own `sys.stdout` / `sys.stderr` (not one a caller put in their place) a _ReaderMayLeave."""
    stream = getattr(sys, name)
    if stream is None or stream is not getattr(sys, f"__{name}__"):
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return
    stream.flush()
    raw = _ReaderMayLeave(fd, "w", closefd=False)
    binary = raw if isinstance(stream.buffer, io.RawIOBase) else io.BufferedWriter(raw)  # unbuffered stays so (-u)
    setattr(sys, name, io.TextIOWrapper(binary, encoding=stream.encoding, errors=stream.errors,  # type: ignore[arg-type]
                                        line_buffering=stream.line_buffering, write_through=stream.write_through))
