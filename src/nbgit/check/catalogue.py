"""What `nbgit check` can find: the catalogue of checks, the problem record, the policy's `[check]`
settings. Light to import: a re-run whose verdicts all come from the cache needs these, and not the
judging itself (`nbgit.check.judge`, which parses and cleans notebooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from nbgit.errors import NbgitError
from nbgit.patterns import UserRegex, user_regex
from nbgit.terminal import shell_word

if TYPE_CHECKING:
    from nbgit.check.duplicates import CopyGroup
    from nbgit.policy import Policy


class Check(NamedTuple):
    """One kind of problem: its id (for `[check] disable` and the reports), what it catches, how to fix it."""

    id: str
    catches: str
    hint: str
    fixable: bool = False
    warning: bool = False  # reported, exit code unaffected, unless `[check] errors` names it


CHECKS: dict[str, Check] = {
    c.id: c
    for c in (
        Check("not-clean", "outputs or volatile metadata would be committed, or the JSON is not in Jupyter's layout",
              "run `nbgit check --fix` (or `nbgit clean PATH`), or `nbgit install` so that git cleans notebooks as they are added", True),
        Check("invalid", "unreadable: not JSON, not a notebook, or not valid for nbformat's schema",
              "open and re-save it in Jupyter, or fix it by hand (`git checkout -- PATH` restores the committed one)"),
        Check("conflict", "merge conflict markers: git's, nbdime's inline markers or `nbdime-conflicts` metadata, nbdev's marker cells, an attachment's two versions",
              "open it, keep the side you want in each marked place and delete the marker lines or marker cells"),
        Check("unsynced", "a notebook and its text twin are out of step", "run `nbgit sync PATH` (or `nbgit check --fix`)", True),
        Check("orphan", "a text twin whose notebook is gone (or a notebook whose twin is gone)",
              "delete or rename the twin with its notebook, or run `nbgit sync` to recreate the missing side"),
        Check("hidden-state", "kept outputs that a fresh \"Restart and run all\" would not reproduce (execution counts out of order)",
              "restart the kernel, run all cells and save; or strip outputs and counts (`outputs = \"strip\"`)"),
        Check("untitled", "a notebook left with a default name (Untitled3.ipynb, analysis-Copy1.ipynb, Copy of x.ipynb)",
              "give it a name that says what it does: `git mv PATH NEW_NAME.ipynb`"),
        Check("output-size", "an output larger than `[check] max_output_bytes`",
              "clear or shrink that output (a smaller figure, fewer rows) or raise `[check] max_output_bytes`"),
        Check("notebook-size", "a notebook larger than `[check] max_notebook_bytes`",
              "clear large outputs, split the notebook, or raise `[check] max_notebook_bytes`"),
        Check("not-installed", "nbgit's filter is not wired into this clone, or not in effect for the file",
              "run `nbgit install` (it writes the git config and the .gitattributes line)", warning=True),
        Check("duplicate-code", "code of at least `[check] duplicate_min_lines` lines copied between notebooks, or from a module into a notebook",
              "import the code instead of copying it; to keep a copy on purpose, tag its cell `nbgit:allow-copy` "
              "or list the path in `[check] duplicate_exclude`", warning=True),
    )
}

class Problem(NamedTuple):
    """One problem found: which check, where (path, cell numbered from 1, line when known), what, how to fix it."""

    check: str
    path: str
    cell: int | None
    message: str
    hint: str
    fixable: bool = False
    warning: bool = False
    line: int | None = None
    copied: CopyGroup | None = None  # duplicate-code: every place of the copied code and the way out

    def text(self) -> str:
        """`path cell 3: message`, the one-line form."""
        where = f"{self.path} cell {self.cell}" if self.cell is not None else self.path
        return f"{where}: {self.message}" if where else self.message


class Settings(NamedTuple):
    """The `[check]` table of the policy, validated and ready to use."""

    disabled: frozenset[str]
    untitled: UserRegex | None
    max_output_bytes: int | None
    max_notebook_bytes: int | None
    execution_order: str
    errors: frozenset[str] = frozenset()

    @classmethod
    def from_policy(cls, policy: Policy) -> Settings:
        """Read `[check]`; an unknown check id or a broken pattern is an error naming the key."""
        table = policy.section("check")
        for key in ("disable", "errors"):
            unknown = [name for name in table[key] if name not in CHECKS]
            if unknown:
                raise NbgitError(
                    f"{policy.source}: `check.{key}` names unknown checks: {', '.join(unknown)}",
                    "known checks: " + ", ".join(CHECKS),
                )
        pattern = table["untitled_pattern"]
        untitled = user_regex(pattern, "check.untitled_pattern", policy.source) if pattern else None
        return cls(
            frozenset(table["disable"]),
            untitled,
            table["max_output_bytes"] if table["max_output_bytes"] is not False else None,
            table["max_notebook_bytes"] if table["max_notebook_bytes"] is not False else None,
            table["execution_order"],
            frozenset(table["errors"]),
        )

    def enabled(self, check: str) -> bool:
        """Whether the policy lets `check` run."""
        return check not in self.disabled

    def severity(self, found: Problem) -> Problem:
        """The problem as the policy ranks it: a warning that `[check] errors` names becomes an error."""
        return found._replace(warning=False) if found.warning and found.check in self.errors else found


def problem(check: str, path: str, message: str, cell: int | None = None, line: int | None = None, hint: str | None = None) -> Problem:
    """A Problem of a catalogued check, with its hint (`PATH` replaced by the file, quoted for a shell) and fixability."""
    info = CHECKS[check]
    return Problem(check, path, cell, message, (hint or info.hint).replace("PATH", shell_word(path)), info.fixable, info.warning, line)
