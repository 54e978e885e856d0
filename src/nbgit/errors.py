"""The one error type a user can cause, and how it is shown."""

from __future__ import annotations

from nbgit.terminal import one_line


class NbgitError(Exception):
    """A problem the user can fix: a sentence saying what is wrong, and a hint saying how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The error as printed: `nbgit: error: ...` and an optional `hint: ...` line, each one line
        whatever file names they carry (control characters shown, see `nbgit.terminal`)."""
        text = f"nbgit: error: {one_line(self.message)}"
        return f"{text}\nhint: {one_line(self.hint)}" if self.hint else text
