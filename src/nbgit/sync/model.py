"""What sync works with: the states a pair can be in, each side of a pair as read (`Member`), a pair
with its status and how to bring it in step (`Plan`), the plans of one run (`Run`), and the digests
that tell whether a file changed since nbgit last saw it.

Nothing heavier than the standard library: a run whose every pair is known in step (`nbgit.sync.cache`)
needs these and no more.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nbgit.errors import NbgitError

if TYPE_CHECKING:
    from nbgit.notebook import Notebook
    from nbgit.policy import Policy
    from nbgit.sync.cache import PairCache

PAIRS_PER_WORKER = 8  # a pair costs jupytext about 10 ms, starting a worker process about 30 ms

# States of a pair. IN_STEP needs nothing; the next five sync by themselves; the rest need a person.
IN_STEP = "in step"
NOTEBOOK_CHANGED = "notebook changed"
TWIN_CHANGED = "twin changed"
MERGEABLE = "both changed, edits merge"
NEW_TWIN = "twin missing"
NEW_NOTEBOOK = "notebook missing"
ON_A_BRANCH = "missing here, on a branch"  # NEW_TWIN or NEW_NOTEBOOK whose file a branch holds: created only on request
OUTSIDE_SPARSE = "outside the sparse checkout"  # a side git tracks but keeps out of the work tree: not deleted
CONFLICT = "conflict"
OUT_OF_STEP = "never in step"
MARKED = "conflict markers"
NOT_STAGED = "not staged"
ORPHAN = "orphaned twin"
TWIN_DELETED = "twin deleted"
ERROR = "error"
AUTOMATIC = frozenset({NOTEBOOK_CHANGED, TWIN_CHANGED, MERGEABLE, NEW_TWIN, NEW_NOTEBOOK})
TAKES = {"notebook": {"notebook"}, "text": {"text"}, "merge": {"notebook", "text"}}  # the sides an action copies from


class PairStatus(NamedTuple):
    """Where one pair stands: its two paths (absolute), its state (one of the constants above) and a sentence."""

    notebook: Path
    twin: Path
    state: str
    detail: str

    @property
    def in_step(self) -> bool:
        """True when nothing needs doing."""
        return self.state == IN_STEP


class Member:
    """One side of a pair as read (from disk, or from git's index): its bytes (None when absent) and
    the stat seen then. `path` is where it lives on disk, symlinks inside the work tree resolved.
    (Plain classes here, not dataclasses: importing `dataclasses` costs a cached `nbgit check` run
    more than all its pairs.)"""

    def __init__(self, path: Path, data: bytes | None, stat: tuple[int, int] | None) -> None:
        self.path, self.data, self.stat = path, data, stat

    @classmethod
    def read(cls, path: Path, shown: str) -> Member:
        """Read a regular file and remember its size and mtime, to notice a change before overwriting
        it; an error naming `shown` for a folder or anything else that is no file."""
        try:
            st = path.stat()
            if stat.S_ISDIR(st.st_mode):
                raise NbgitError(f"{shown}: a directory, where a file of the pair belongs", "move the directory away, or exclude the notebook from pairing ([pair] exclude)")
            if not stat.S_ISREG(st.st_mode):
                raise NbgitError(f"{shown}: not a regular file", "replace it with a file, or exclude the notebook from pairing ([pair] exclude)")
            return cls(path, path.read_bytes(), (st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            return cls(path, None, None)
        except OSError as error:
            raise NbgitError(f"{shown}: cannot be read ({error.strerror})", "check its permissions") from None

    def unchanged_on_disk(self) -> bool:
        """Whether the file is still exactly as read (or still absent)."""
        try:
            now = Member.read(self.path, str(self.path))
        except NbgitError:
            return False
        return now.data == self.data and now.stat == self.stat

    @property
    def digest(self) -> str | None:
        """sha1 of the bytes read (None when absent)."""
        return None if self.data is None else sha1(self.data)

    def text(self, shown: str) -> str:
        """The bytes read, as UTF-8 text (a twin's); an error naming `shown` when they are not."""
        assert self.data is not None
        try:
            return twin_text_of(self.data)
        except UnicodeDecodeError:
            raise NbgitError(f"{shown}: not UTF-8 text", "save the twin as UTF-8, or take the notebook side: nbgit sync --take notebook") from None


class Base(NamedTuple):
    """A version of the pair where both files were in step: its two files' bytes and what it is called."""

    notebook: bytes
    twin: bytes
    name: str  # "staged", "committed" (HEAD), "commit 1a2b3c4"


class Plan:
    """A pair, its status, and how to bring it in step: `action` syncs by itself, `choices` need --take."""

    def __init__(self, status: PairStatus, notebook: Member, twin: Member, relative: tuple[str, str]) -> None:
        self.status, self.notebook, self.twin, self.relative = status, notebook, twin, relative
        self.action: str | None = None  # "notebook" (rewrite the twin), "text" (update the notebook), "merge"
        self.choices: frozenset[str] = frozenset()
        self.report = ""
        self.fmt = ""
        self.nb_text = ""
        self.current: Notebook | None = None
        self.merged: dict[Path, bytes] = {}


class Run(NamedTuple):
    """The plans of one sync or check, and the cache of pairs seen in step that they update.
    A `staged` run judges what git's index holds and writes nothing."""

    plans: list[Plan]
    cache: PairCache
    policy: Policy
    staged: bool = False


def in_git(root: Path, item: Plan) -> tuple[str, str]:
    """The pair's paths as git tracks its content: a symlink inside the work tree stands for its target."""
    top = root.resolve()
    return tuple(member.path.relative_to(top).as_posix() for member in (item.notebook, item.twin))  # type: ignore[return-value]


def twin_text_of(data: bytes) -> str:
    """A twin's bytes as text: UTF-8, without the byte order mark some editors save first (jupytext
    would read the header behind it as a cell); UnicodeDecodeError when they are no UTF-8."""
    return data.decode("utf-8").removeprefix("\ufeff")


def sha1(data: bytes) -> str:
    """The sha1 of `data`, in hex: what the cache of pairs in step remembers a file by."""
    import hashlib  # (only for pairs: a check whose repository has none never loads it)

    return hashlib.sha1(data).hexdigest()


def file_digest(path: Path) -> str | None:
    """The sha1 of a regular file's bytes; None for anything else, or a file that cannot be read."""
    if not path.is_file():
        return None  # nothing to read, or nothing to read safely (a FIFO would block)
    try:
        return sha1(path.read_bytes())
    except OSError:
        return None
