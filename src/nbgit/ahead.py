"""Answering the notebooks git asks for next on the other core, while git stores the last one.

git hands its process filter one file at a time and waits for each answer; on a real notebook the
clean takes about as long as git's own work on the file (reading it, hashing and compressing the
blob). `git add -A`, `git add .` and `git status` after a touch ask for the notebooks of a folder
one after the other, in git's order (by name, bytewise). Once git has asked for two notebooks of
one folder in that order, a process forked from the filter (the cleaner ahead) reads the next few
of that folder from the work tree and makes their answers (the blob the store knows for them, else
the clean), so that an answer is ready when git asks: the filter then only checks that git handed
over the very bytes the answer was made of (compared whole) and sends it. Anything else (a file git
does not ask for, one changed in between, one that does not clean without a problem) is answered by
the filter itself as before: an answer is always what the filter makes of git's own bytes.

It runs where the filter records no outputs (a clone with `nbgit.restore=false`, a policy whose
outputs stay): elsewhere the worker keeping the outputs has the other core (nbgit.store.background),
and a record costs about twice a clean, so cleaning there too made git wait longer, not less.

The cleaner ahead plans at most `LEAD` notebooks past the one git asked for last, only while git
asks for them in turn (a `git status` that finds a few changed notebooks among many asks for the
others not at all), and only reads: regular files of the folder git is in, never through a symbolic
link, at most `LARGEST` bytes each. It writes nothing but its answers to the filter, which ends it
when git is done or checks out.
"""

from __future__ import annotations

import bisect
import os
import select
import signal
import stat
import struct
import sys
from collections import deque
from collections.abc import Callable

LEAD = 3  # notebooks cleaned ahead of the one git asked for last
LARGEST = 8 << 20  # bytes: a larger notebook is left to the filter (little to gain, much to hold)
PIPE_SIZE = 1 << 20  # bytes the pipe of answers holds (Linux's limit for anyone)
WAIT_SECONDS = 5.0  # the longest the filter waits for a notebook the cleaner ahead is cleaning

_FRAME = struct.Struct("!cIII")  # a frame's kind, then the sizes of its path, the content and the answer

# (path, content) -> the answer and whether it was known to the output store (not cleaned), None on any problem
Answer = Callable[[str, bytes], "tuple[bytes, bool] | None"]


class CleanerAhead:
    """The filter's side: `take` the answer made ahead for each request git makes."""

    def __init__(self, root: str, answer: Answer) -> None:
        self.root = root
        self._answer = answer
        self._last: str | None = None  # the path git asked for last, before the process is started
        self._process: _Process | None = None
        self._failed = False

    def take(self, path: str, data: bytes) -> tuple[bytes, bool] | None:
        """The answer made ahead for `path` (and whether the store knew it), when it was made of exactly
        `data`; else None. Every request git makes passes through here, answered ahead or not: it is
        how the cleaner ahead knows where git is (started once git asks for a second notebook of a
        folder after the first, in git's order)."""
        if self._failed:
            return None
        try:
            if self._process is None:
                self._start(path)
                return None
            return self._process.answer(path, data)
        except (OSError, ValueError, struct.error):  # the cleaner ahead died or broke its framing: the filter cleans alone
            self.stop()
            self._failed = True
            return None

    def stop(self) -> None:
        """End the cleaner ahead and wait for it to exit."""
        if self._process is not None:
            process, self._process = self._process, None
            process.close()

    def _start(self, path: str) -> None:
        last, self._last = self._last, path
        if last is None or os.path.dirname(last) != os.path.dirname(path) or not os.fsencode(last) < os.fsencode(path):
            return
        self._process = _Process(self.root, self._answer)
        self._process.tell(last, path)
        self._process.planned()


class _Process:
    """The forked cleaner ahead, and the two pipes to it: news of where git is, and its answers.

    News are paths, each after a byte saying whether the filter waits for the cleaner ahead's answer
    (`=`) or answers git otherwise (`-`), and ended by a NUL. Answers are frames, sizes first: `P path`
    (planned: it will answer for it), `A path data answer` and `K path data answer` (its answer,
    cleaned or known to the store), `N path` (none: gone past, not a regular file, or no clean without
    a problem) and `W` (done planning after the first news it read). The filter waits for the answer for a
    path that is planned, and answers any other itself.
    """

    def __init__(self, root: str, answer: Answer) -> None:
        to_child, from_parent = os.pipe()
        from_child, to_parent = os.pipe()
        _widen(to_parent)
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            for end in (to_child, from_parent, from_child, to_parent):
                os.close(end)
            raise
        if pid == 0:
            os.close(from_parent)
            os.close(from_child)
            _run(root, to_child, to_parent, answer)
        os.close(to_child)
        os.close(to_parent)
        os.set_blocking(from_parent, False)
        self.pid, self._news, self._answers = pid, from_parent, from_child
        self._planned: set[bytes] = set()
        self._ready: dict[bytes, tuple[bytes, bytes, bool] | None] = {}
        self._planning_done = False

    def tell(self, *paths: str, waiting: bool = False) -> None:
        """Say where git is. (A full pipe drops the news: the cleaner ahead is busy, and finds git further
        on at the next news it reads; news the filter waits on never fill it, as it waits for nothing else.)"""
        news = b"".join((b"=" if waiting else b"-") + os.fsencode(path) + b"\0" for path in paths)
        try:
            os.write(self._news, news)
        except BlockingIOError:
            if waiting:
                raise OSError("the cleaner ahead reads no news") from None

    def planned(self) -> None:
        """Wait until the cleaner ahead has planned after the first news it read."""
        while not self._planning_done:
            self._wait()

    def answer(self, path: str, data: bytes) -> tuple[bytes, bool] | None:
        """The answer for `path`, waited for when it is planned, if it was made of these very bytes;
        answers for paths git went past are dropped."""
        name = os.fsencode(path)
        while select.select([self._answers], [], [], 0)[0]:
            self._take_frame()
        waiting = name in self._planned
        self.tell(path, waiting=waiting)
        while name in self._planned:
            self._wait()
        made = self._ready.pop(name, None)
        for passed in [p for p in self._ready if p < name]:
            del self._ready[passed]
        return (made[1], made[2]) if made is not None and made[0] == data else None

    def _wait(self) -> None:
        if not select.select([self._answers], [], [], WAIT_SECONDS)[0]:
            raise OSError("the cleaner ahead is stuck")
        self._take_frame()

    def _take_frame(self) -> None:
        """Read one frame (its rest is on its way when its start is there) and take it in."""
        kind, *lengths = _FRAME.unpack(_read_exactly(self._answers, _FRAME.size))
        path, data, made = (_read_exactly(self._answers, length) for length in lengths)
        if kind == b"W":
            self._planning_done = True
        elif kind == b"P":
            self._planned.add(path)
        else:
            self._planned.discard(path)
            self._ready[path] = (data, made, kind == b"K") if kind in (b"A", b"K") else None

    def close(self) -> None:
        """End the cleaner ahead at once (it only reads files and writes answers: nothing is left half
        done) and reap it."""
        os.close(self._news)
        os.close(self._answers)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _run(root: str, news: int, answers: int, answer: Answer) -> None:
    """The cleaner ahead: follow git's news, clean the next notebooks of its folder, answer; exits."""
    code = 1
    try:
        quiet = os.open(os.devnull, os.O_RDWR)  # git's protocol pipes stay the filter's alone, warnings its own
        for standard in (0, 1, 2):
            os.dup2(quiet, standard)
        os.close(quiet)
        low, high = sorted((news, answers))  # and no other pipe of the filter's (its worker's) is held open here
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, max(high + 1, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024))
        _follow(root, news, answers, answer)
        code = 0
    finally:  # a forked child never returns into the filter's code, whatever happened: the filter cleans alone then
        os._exit(code)


def _follow(root: str, news: int, answers: int, answer: Answer) -> None:
    """Plan and answer the next notebooks after where git is, as long as the filter sends news."""
    follower, pending = _Follower(os.fsencode(root)), b""
    queue: deque[bytes] = deque()
    started = False
    while True:
        if select.select([news], [], [], 0 if queue else None)[0]:
            chunk = os.read(news, 1 << 16)
            if not chunk:
                return  # the filter is done
            *items, pending = (pending + chunk).split(b"\0")
            for item in items:
                follower.asked(item[1:])
                if item[:1] == b"-" and item[1:] in queue:  # the filter answered it otherwise
                    queue.remove(item[1:])
                    _write(answers, b"N", item[1:])
            for path in follower.plan():
                queue.append(path)
                _write(answers, b"P", path)
            if not started:
                _write(answers, b"W")  # (the filter waits for the first plan alone)
                started = True
            continue
        path = queue.popleft()
        data = None if follower.passed(path) else _read_regular(os.path.join(follower.root, path))
        made = answer(os.fsdecode(path), data) if data is not None else None
        if data is None or made is None:
            _write(answers, b"N", path)
        else:
            _write(answers, b"K" if made[1] else b"A", path, data, made[0])


class _Follower:
    """Where git is in the folders it asks for notebooks of, and which notebooks to clean: the next
    ones of the folder, while git asks for them one after the other (a `git status` that finds a few
    changed notebooks among many asks for none that are not, and none is cleaned ahead)."""

    def __init__(self, root: bytes) -> None:
        self.root = root
        self._at: tuple[bytes, int] = (b"", -1)  # the folder and place of the notebook git asked for last
        self._in_turn = False  # whether git asked for it right after the one before it
        self._planned: set[bytes] = set()
        self._folders: dict[bytes, list[bytes]] = {}

    def asked(self, path: bytes) -> None:
        """git asked for `path`."""
        folder, name = os.path.split(path)
        names = self._names(folder, os.path.splitext(name)[1])
        place = bisect.bisect_left(names, name)
        self._in_turn = (folder, place - 1) == self._at and place < len(names) and names[place] == name
        self._at = (folder, place)

    def plan(self) -> list[bytes]:
        """The notebooks to clean next, not planned before: up to LEAD after git's, while git asks in turn."""
        if not self._in_turn:
            return []
        folder, place = self._at
        paths = [os.path.join(folder, name) if folder else name for name in self._folders[folder][place + 1 : place + 1 + LEAD]]  # (after git's)
        new = [path for path in paths if path not in self._planned]
        self._planned.update(new)
        return new

    def passed(self, path: bytes) -> bool:
        """Whether git has gone past `path` (asked for a later notebook of its folder, or another folder)."""
        folder, name = os.path.split(path)
        at_folder, place = self._at
        return folder != at_folder or bisect.bisect_left(self._folders[folder], name) < place

    def _names(self, folder: bytes, suffix: bytes) -> list[bytes]:
        if folder not in self._folders:
            self._folders[folder] = _names(os.path.join(self.root, folder), suffix)
        return self._folders[folder]


def _names(folder: bytes, suffix: bytes) -> list[bytes]:
    """The names of the regular files of `folder` ending in `suffix`, in git's order."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.name.endswith(suffix) and e.is_file(follow_symlinks=False))
    except OSError:
        return []


def _read_regular(path: bytes) -> bytes | None:
    """The content of a regular file of at most LARGEST bytes, never through a symbolic link."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > LARGEST:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return stream.read(LARGEST + 1)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _write(pipe: int, kind: bytes, path: bytes = b"", data: bytes = b"", made: bytes = b"") -> None:
    """One frame to the filter: its kind and the sizes of its three parts, then the parts."""
    pieces = [_FRAME.pack(kind, len(path), len(data), len(made)), path, data, made]
    written, whole = os.writev(pipe, pieces), sum(map(len, pieces))
    if written < whole:  # cut short (a full pipe, a signal): the rest, as one piece
        rest = memoryview(b"".join(pieces))[written:]
        while rest:
            rest = rest[os.write(pipe, rest) :]


def _read_exactly(pipe: int, size: int) -> bytes:
    """`size` bytes from the pipe (waiting for them); OSError when it ends first."""
    data = os.read(pipe, size) if size else b""
    if len(data) == size:
        return data
    pieces = [data]
    while size > (got := sum(map(len, pieces))):
        piece = os.read(pipe, size - got)
        if not piece:
            raise OSError("the cleaner ahead is gone")
        pieces.append(piece)
    return b"".join(pieces)


def _widen(pipe: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass
