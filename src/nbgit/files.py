"""Files on disk: reading and writing them safely, and finding the notebooks a command should look at.

Repository content is not trusted: a committed symbolic link may point anywhere, a file named
`*.ipynb` may be a FIFO that blocks whoever opens it, and an editor may save while nbgit works.
Everything nbgit writes goes through `write_atomic`, and folder walks through `find_notebooks`, so
that each of those gets one answer.
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path
from typing import Callable, NamedTuple, TypeVar

from nbgit.errors import NbgitError

RACY_SECONDS = 2  # coarser than any file system's clock but FAT's (which keeps no change time)

SKIPPED_DIRS = frozenset({".git", ".ipynb_checkpoints", "__pycache__", ".venv", "node_modules"})
T = TypeVar("T")
TEMPORARY_SUFFIX = ".nbgit-tmp"
_DESCRIPTOR = re.compile(r"/(proc/[^/]+|dev)/fd/\d+")


class Snapshot(NamedTuple):
    """A file's bytes as read, and the stat data that tells whether it changed since."""

    data: bytes
    stamp: tuple[int, int, int, int]  # device, inode, size, modification time in ns


class FileChanged(NbgitError):
    """The file changed on disk after nbgit read it: the newer content is kept, nothing is written."""


def read_file(path: Path, limit: int | None = None) -> Snapshot:
    """A regular file's bytes; anything else (a FIFO, a device, a folder), a file of more than `limit`
    bytes (when given) or a failed read is an NbgitError.

    The file is opened without blocking, so a FIFO named like a notebook is refused instead of
    waiting forever for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise _os_error(path, "cannot read", error) from None
    try:  # the type checked before the descriptor is wrapped: wrapping a folder's raises IsADirectoryError
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise not_a_file(path, status.st_mode)
        if limit is not None and status.st_size > limit:
            raise too_big(path, limit)
    except BaseException as error:
        os.close(fd)
        if isinstance(error, OSError):
            raise _os_error(path, "cannot read", error) from None
        raise
    with os.fdopen(fd, "rb", buffering=0) as handle:  # one read sized by fstat: twice as fast as buffered
        try:
            data = handle.read() if limit is None else handle.read(min(status.st_size, limit) + 1)  # (+1: a file grown since says so)
            if limit is not None and status.st_size < len(data) <= limit:  # grown since: the rest, up to the limit
                data += handle.read(limit + 1 - len(data))
        except OSError as error:
            raise _os_error(path, "cannot read", error) from None
    if limit is not None and len(data) > limit:
        raise too_big(path, limit)
    return Snapshot(data, _stamp(status))


def too_big(path: Path | str, limit: int) -> NbgitError:
    """The error for a file larger than a reader's `limit`."""
    return NbgitError(f"{path}: larger than {limit} bytes, not read", "a file this large is no notebook or module to read whole")


def not_a_file(path: Path | str, mode: int) -> NbgitError:
    """The error for a path that exists but is no regular file, so no notebook."""
    return NbgitError(f"{path}: {kind_of(mode)}, not a notebook file", "name notebook files or folders that hold them")


def kind_of(mode: int) -> str:
    """What a file that is no regular file is, in words (`a folder`), from its stat mode."""
    kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


def write_atomic(path: Path, data: bytes, expected: Snapshot | None = None) -> None:
    """Replace the file at `path` by `data` (a temporary file beside it, then a rename), keeping its permissions.

    - A symbolic link is written through and stays a link (nbdev links `getting_started.ipynb` to
      `index.ipynb`), but only when it leads to a place inside the work tree that holds it, outside
      `.git`; a link out of it is refused (`confined`).
    - What is not a regular file (a terminal, a pipe: `-o /dev/stdout`) is written into, not replaced.
    - With `expected`, the file must still be as it was read: an edit saved meanwhile is kept and
      FileChanged is raised instead.
    - Failures (a full disk, a read-only folder) are NbgitErrors naming the file; the temporary file
      is removed on every way out, a SIGTERM included (`nbgit.cli` turns it into an exception).
    """
    target = confined(path)
    try:
        status = path.stat()  # through the link as the kernel follows it (`/proc/self/fd/1` of a pipe)
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise _os_error(path, "cannot write", error) from None
    if status is not None and (not stat.S_ISREG(status.st_mode) or _names_a_descriptor(path)):
        if stat.S_ISDIR(status.st_mode) or expected is not None:
            raise not_a_file(path, status.st_mode)
        _write_into(path, data)
        return
    mode = stat.S_IMODE(status.st_mode) if status else 0o666 & ~_umask()
    temporary = target.with_name(f".{target.name}.{os.getpid()}{TEMPORARY_SUFFIX}")
    try:
        fd = _create(temporary)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        if expected is not None and not _unchanged(target, expected):
            raise FileChanged(f"{path}: changed on disk while nbgit was working on it; left as it is now",
                              "run the command again to include the newer content")
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _os_error(path, "cannot write", error) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class Seen(NamedTuple):
    """A path as one run saw it: its real path, and the stat data of what it leads to (None: nothing there)."""

    real: str
    status: os.stat_result | None


class RealPaths:
    """Real paths (symbolic links resolved, as `os.path.realpath` gives them) of many files, each folder
    resolved once and each file looked at once: judging a thousand notebooks of one folder does not
    walk its links a thousand times, and finding a notebook, judging it and pairing it share one
    `lstat` (which, for a file that is no link, is its stat data too).

    For one run, over files that run does not write: a folder replaced by a link after it was
    resolved, or a file changed after it was looked at, is seen by the next run (a new RealPaths).
    """

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}
        self.files: dict[str, Seen] = {}
        self.inside: dict[str, str] = {}  # a file's path up to its name: its folder's real path, a separator at its end
        self.repositories: dict[str, bool] = {}  # real folder path: whether another repository's work tree starts there

    def of(self, path: Path | str) -> str:
        """The real path of `path` (relative to the current folder when not absolute)."""
        return self.look(path).real

    def look(self, path: Path | str) -> Seen:
        """The real path of `path` and the stat data of the file it leads to, looked at once per run."""
        return _once(self.files, path, self._look)

    def _look(self, text: str) -> Seen:
        above, _, name = text.rpartition(os.sep)
        inside = self.inside.get(above)
        if inside is not None and name not in ("", ".", ".."):
            joined = inside + name  # as below, from what an earlier file of its folder found
        else:
            folder, name = os.path.split(text)
            if name in ("", ".", "..") or ".." in folder.split(os.sep):
                real = os.path.realpath(text)
                return Seen(real, _stat(real))
            inside = self.inside[above] = os.path.join(self.folder(folder), "")
            joined = inside + name  # os.path.join(self.folder(folder), name)
        try:
            status = os.lstat(joined)
        except OSError:
            return Seen(joined, None)
        if not stat.S_ISLNK(status.st_mode):
            return Seen(joined, status)
        real = os.path.realpath(joined)
        return Seen(real, _stat(real))

    def folder(self, path: Path | str) -> str:
        """The real path of a folder (the work tree's top, say), resolved once like the folders of files."""
        return _once(self.folders, path, os.path.realpath)


def _once(known: dict[str, T], path: Path | str, find: Callable[[str], T]) -> T:
    """`find` of `path` made absolute, asked once per path: `known` keeps the answers under absolute
    paths only (a relative one never matches, so the current folder is asked for it each time)."""
    text = os.fspath(path)
    found = known.get(text)
    if found is None:
        if not os.path.isabs(text):
            return _once(known, os.path.join(os.getcwd(), text), find)
        found = known[text] = find(text)
    return found


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def file_stamp(status: os.stat_result) -> list[int] | None:
    """What facts about a regular file's bytes (its blob id, what it names) are remembered under, as git's
    index remembers blob ids: its stat data (size, modification and change times in nanoseconds,
    inode, device). Any write moves the change time, which no program can set back. None for anything
    but a regular file, and for one written within the last `RACY_SECONDS` (take the stat before
    reading the file): a second write within the same tick of its file system's clock could keep
    every field."""
    recent = time.time_ns() - RACY_SECONDS * 1_000_000_000
    if not stat.S_ISREG(status.st_mode) or status.st_mtime_ns >= recent or status.st_ctime_ns >= recent:
        return None
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]


def confined(path: Path) -> Path:
    """Where writing `path` really lands; an NbgitError when a symbolic link leads out of its work tree.

    The work tree is the one holding `path` as named (its nearest folder with a `.git`); no `.git`
    folder is ever a target. Outside any work tree nothing is confined: the path is the user's own
    choice on the command line, not repository content.
    """
    named = Path(os.path.abspath(path))
    real = Path(os.path.realpath(named))
    if real == named:
        return named
    top = _work_tree(named.parent)
    if top is None:
        return real
    inside = Path(os.path.realpath(top))
    try:
        relative = real.relative_to(inside)
    except ValueError:
        relative = None
    if relative is None or any(part.lower() == ".git" for part in relative.parts):  # as pairing.inside_repository
        where = "outside the repository's work tree" if relative is None else "inside .git"
        raise NbgitError(f"{path}: a symbolic link to {real}, {where}; not followed",
                         "replace the link with the file itself, or run nbgit where the file really lives")
    return real


def _work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` (as named, links not resolved) that holds a `.git` entry."""
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def _names_a_descriptor(path: Path) -> bool:
    """Whether `path` reaches its file through an open file descriptor (`/dev/stdout`, `/proc/self/fd/1`)."""
    seen = Path(os.path.abspath(path))
    for _ in range(40):
        if _DESCRIPTOR.fullmatch(str(seen)):
            return True
        if not seen.is_symlink():
            return False
        seen = Path(os.path.abspath(seen.parent / os.readlink(seen)))
    return False


def _write_into(path: Path, data: bytes) -> None:
    """Write into what is not a file to replace: a terminal, a pipe, a device, an open descriptor.

    Appending, so that `-o /dev/stdout >> log` adds to the log as the shell's own redirection would.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as error:
        raise _os_error(path, "cannot write", error) from None


def replace_own_in_folder(path: str, data: bytes) -> None:
    """`replace_own`, making the file's folder first when it is not there yet."""
    try:
        replace_own(path, data)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_own(path, data)


def replace_own(path: str, data: bytes) -> None:
    """Replace the file at `path` by `data` (a temporary file beside it, then a rename), where `path` is
    a name nbgit made itself inside git's own directory (an output store entry), never one taken from
    repository content: none of `write_atomic`'s checks for links, pipes and kept permissions, which
    cost more than the write, and no file object (a record is written on git's every clean). The file
    gets the mode any new file gets (0666 less the umask); the temporary one is removed on every way out."""
    folder, name = os.path.split(path)
    temporary = f"{folder}/.{name}.{os.getpid()}{TEMPORARY_SUFFIX}"
    fd = _create(temporary, 0o666)
    try:
        try:
            write_whole(fd, data)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_whole(fd: int, data: bytes) -> None:
    """Write all of `data` to the file descriptor `fd`; OSError when the disk takes no more."""
    written = os.write(fd, data)  # (one write: a history line is appended whole)
    while written < len(data):  # cut short: the disk is full, or a signal came
        more = os.write(fd, memoryview(data)[written:])
        if not more:
            raise OSError("a short write (is the disk full?)")
        written += more


def _create(temporary: Path | str, mode: int = 0o600) -> int:
    """Create the temporary file exclusively (never through a link planted at its name).

    A leftover of the same name can only come from a dead process that had this process id: removed.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(temporary, flags, mode)
    except FileExistsError:
        os.unlink(temporary)
        return os.open(temporary, flags, mode)


def _unchanged(path: Path, expected: Snapshot) -> bool:
    """Whether the file is still exactly as read: the same stat data (cheap), then the same bytes."""
    try:
        if _stamp(path.stat()) != expected.stamp:
            return False
        return read_file(path).data == expected.data
    except (OSError, NbgitError):
        return False


def _stamp(status: os.stat_result) -> tuple[int, int, int, int]:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _os_error(path: Path, doing: str, error: OSError) -> NbgitError:
    reason = error.strerror or type(error).__name__
    hints = {
        "No space left on device": "free some space and run it again; the file was left as it was",
        "File too large": "the file is larger than this process may write (ulimit -f); the file was left as it was",
        "Permission denied": "check the file's and its folder's permissions",
        "Read-only file system": "the file lives on a read-only file system",
    }
    return NbgitError(f"{path}: {doing} ({reason})", hints.get(reason, "check the path and the file's permissions"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def find_notebooks(paths: list[str], suffix: str = ".ipynb") -> list[Path]:
    """Files named in `paths`, and every `*.ipynb` file below the folders among them, minus what git ignores.

    Only regular files are notebooks (a FIFO named `x.ipynb` would block whoever reads it); in a
    folder anything else is skipped, named directly it is an error. Folders named
    `.ipynb_checkpoints` (Jupyter's autosaves) and `.git` are never entered. A file named explicitly
    is always included; a missing path is an error.
    """
    found: list[Path] = []
    walked: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
                candidates = (Path(folder) / f for f in sorted(files) if f.endswith(suffix))
                walked.extend(p for p in candidates if p.is_file())
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise not_a_file(name, path.stat().st_mode)
        else:
            raise NbgitError(f"{name}: no such file or folder", "check the path")
    if walked:
        from nbgit import gitrepo  # subprocess costs start-up time; only folders need git

        ignored = gitrepo.ignored_paths(walked)
        found.extend(p for p in walked if p not in ignored)
    return list(dict.fromkeys(found))
