"""Keeping outputs beside the process filter rather than in git's way: a forked worker records them.

git waits for each answer of the filter before it stores the blob and sends the next notebook, and on
real notebooks a record (the skeleton encoded, files written) costs about what the clean itself
costs. So the process filter hands what it cleaned (the path, the work-tree bytes, the blob, when git
handed them over) to one worker, forked from it at its first record, over a pipe, and answers git's
next request while the worker records: the two run on two cores.

Nothing is recorded later than without the worker, as far as anyone can see: there is one worker,
which records in the order git cleaned; the filter waits for it to finish before it exits (and git
waits for the filter before it exits itself), and before it answers a smudge (a command that cleans
and then checks out, `git stash`, may check out what it just recorded). A worker that fails warns
once, like the keeper; the filter then records in its own process for the rest of the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

PIPE_SIZE = 1 << 20  # bytes the pipe to the worker holds (Linux's limit for anyone): the filter runs ahead by this much


class Worker:
    """A forked process that calls `work` with each item sent to it, in order, then `done` once its
    pipe is closed, and exits (never returning into the caller's code)."""

    def __init__(self, work: Callable[..., None], done: Callable[[], None]) -> None:
        read, write = os.pipe()
        _widen(write)
        sys.stderr.flush()  # (what is buffered is the parent's to write, not twice)
        try:
            pid = os.fork()
        except OSError:  # no process to be had (a limit on processes, on memory): the caller records itself
            os.close(read)
            os.close(write)
            raise
        if pid == 0:
            os.close(write)
            _serve(read, work, done)
        os.close(read)
        self.pid, self._pipe = pid, write

    def send(self, *parts: bytes) -> bool:
        """Hand one item (its parts) to the worker; False when it is gone (it said why on stderr)."""
        pieces = [b"%s\n" % b" ".join(b"%d" % len(part) for part in parts), *parts]
        try:
            written = os.writev(self._pipe, pieces)  # (no copy of the parts made to join them)
            whole = sum(map(len, pieces))
            if written < whole:  # a write cut short (a signal): the rest, as one piece
                rest = memoryview(b"".join(pieces))[written:]
                while rest:
                    rest = rest[os.write(self._pipe, rest) :]
        except OSError:
            return False
        return True

    def finish(self) -> str | None:
        """Wait until the worker has done every item sent to it and exited; what killed it when a signal
        did (a worker that fails otherwise says why itself), else None."""
        os.close(self._pipe)
        try:
            status = os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return None
        return f"the process keeping them was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else None


def _serve(pipe: int, work: Callable[..., None], done: Callable[[], None]) -> None:
    """The worker: items from `pipe` until it ends, then `done`; exits without running the parent's
    exit handlers or flushing its buffers (git's protocol stream among them)."""
    code = 1
    try:
        _let_go_of_git()
        with open(pipe, "rb", buffering=PIPE_SIZE) as stream:
            while header := stream.readline():
                sizes = [int(size) for size in header.split()]
                parts = [stream.read(size) for size in sizes]
                if [len(part) for part in parts] != sizes:
                    break  # the filter died mid-item: that one is not recorded
                work(*parts)
        done()
        code = 0
    except KeyboardInterrupt:
        pass  # Ctrl-C reached the whole process group: what was recorded is whole (records are renamed into place)
    except BaseException as error:  # noqa: BLE001 - a forked child must never return into the filter's code
        from nbgit.progress import warn

        warn(f"keeping outputs failed in the background ({type(error).__name__}: {error}); "
             "notebooks git cleaned since are kept without them")
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def _let_go_of_git() -> None:
    """Point the worker's stdin and stdout at /dev/null: git's protocol pipes stay the filter's alone
    (git must see them end when the filter does)."""
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)
    os.close(quiet)


def _widen(pipe: int) -> None:
    """Let the pipe hold `PIPE_SIZE` bytes where the system allows it (Linux), so the filter is not held
    up by a worker busy with one large notebook."""
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass
