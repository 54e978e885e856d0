"""git's long-running filter (`filter.nbgit.process`): one warm process per git command.

Three layers, kept apart as git-lfs keeps them:

- pkt-line framing (`read_packet`, `write_text`, `write_content`): a packet is a 4-digit hex length
  (which counts itself) and a payload of at most 65,516 bytes; `0000` is a flush.
- the conversation (`serve`): the version-2 handshake, capability negotiation, then one request
  after another: the keys git sends until a flush, the content until a flush, one response.
- the domain work (`Cleaner`): clean a notebook per the repository's policy, loaded once at start,
  and (through `nbgit.store`) remember its outputs on clean and put them back on smudge when git
  writes the work tree (`into_work_tree`: not for `git archive`). Where no outputs are recorded, the
  next notebooks git asks for are cleaned ahead on the other core (`nbgit.ahead`).

Only protocol bytes go to stdout; warnings go to stderr, one line per file. A file that cannot be
cleaned is passed through unchanged with a warning (or refused with `status=error` when the policy
is strict); no exception escapes the per-blob loop. A stream that breaks off or breaks the protocol
ends the process with a non-zero exit and git reports the failed filter; git's index is untouched.

Only the standard library is imported: git waits for this process to start.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, BinaryIO, Callable

from nbgit.clean import CleanError, clean_bytes
from nbgit.errors import NbgitError
from nbgit.notebook import NotebookError
from nbgit.policy import Policy, load_policy, root_of
from nbgit.progress import warn
from nbgit.store.keeper import OutputKeeper

if TYPE_CHECKING:
    from pathlib import Path

    from nbgit.ahead import CleanerAhead
    from nbgit.store.background import Worker

# What the process announces, and whether the installer sets `filter.nbgit.required`. `smudge` puts
# back the outputs this clone had, and the cells the policy drops (nbgit.store). Never required: a
# broken nbgit (a deleted virtualenv) never blocks git; checkouts then write notebooks without
# outputs, and the raw notebook git then stores is caught by `nbgit check` in pre-commit and CI.
CAPABILITIES: tuple[str, ...] = ("clean", "smudge")
REQUIRED = False

MAX_PACKET = 65520  # bytes, including the 4-byte length
MAX_PAYLOAD = MAX_PACKET - 4
FLUSH = b"0000"
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_BUFFER = 1 << 18  # reads and writes in large blocks: few syscalls per blob

EXIT_OK, EXIT_BROKEN, EXIT_INTERRUPTED = 0, 2, 130


class ProtocolError(Exception):
    """The stream from git broke off or broke the protocol: the session cannot go on."""


class StreamEnded(ProtocolError):
    """The stream ended: normal between two requests (`at_boundary`), a broken-off session elsewhere."""

    def __init__(self, message: str, at_boundary: bool) -> None:
        super().__init__(message)
        self.at_boundary = at_boundary


# --- pkt-line framing -------------------------------------------------------------------------


def read_packet(stream: BinaryIO) -> bytes | None:
    """The next packet's payload, or None for a flush; ProtocolError on a short or malformed packet.

    `stream` must be buffered: a buffered read(n) returns fewer than n bytes only at the end.
    """
    header = stream.read(4)
    if len(header) != 4:
        raise StreamEnded(f"the stream ended ({len(header)} bytes of a packet length)", at_boundary=not header)
    if header.translate(None, _HEX_DIGITS):
        raise ProtocolError(f"malformed packet length {header!r}")
    length = int(header, 16)
    if length == 0:
        return None
    if length < 4 or length > MAX_PACKET:
        raise ProtocolError(f"invalid packet length {length} (a packet holds 4 to {MAX_PACKET} bytes)")
    payload = stream.read(length - 4)
    if len(payload) != length - 4:
        raise StreamEnded(f"the stream ended inside a packet ({len(payload)} of {length - 4} bytes)", at_boundary=False)
    return payload


def read_text_list(stream: BinaryIO, payload: bytes | None = None) -> list[str]:
    """Text packets up to the next flush (from `payload`, when already read), without trailing newlines."""
    lines = []
    if payload is None:
        payload = read_packet(stream)
    while payload is not None:
        lines.append(payload.decode("utf-8", "surrogateescape").removesuffix("\n"))
        payload = read_packet(stream)
    return lines


def read_content(stream: BinaryIO) -> bytes:
    """Content packets up to the next flush, joined."""
    chunks = []
    while (payload := read_packet(stream)) is not None:
        chunks.append(payload)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def write_text(stream: BinaryIO, *lines: str) -> None:
    """Text packets (a newline added to each) followed by a flush."""
    for line in lines:
        payload = f"{line}\n".encode("utf-8", "surrogateescape")
        stream.write(b"%04x" % (len(payload) + 4))
        stream.write(payload)
    stream.write(FLUSH)


def write_content(stream: BinaryIO, data: bytes) -> None:
    """`data` as packets of at most MAX_PAYLOAD bytes, sliced without copying, then a flush."""
    view = memoryview(data)
    for start in range(0, len(view), MAX_PAYLOAD):
        chunk = view[start : start + MAX_PAYLOAD]
        stream.write(b"%04x" % (len(chunk) + 4))
        stream.write(chunk)
    stream.write(FLUSH)


# --- the conversation -------------------------------------------------------------------------

# A handler answers one request: (command, pathname, content, every key git sent) -> (status, content or None).
Handler = Callable[[str, str, bytes, dict[str, str]], tuple[str, bytes | None]]


def serve(stdin: BinaryIO, stdout: BinaryIO, handler: Handler, capabilities: tuple[str, ...] = CAPABILITIES,
          settle: Callable[[], None] | None = None) -> None:
    """Talk git's filter protocol v2 until git closes the stream (return) or breaks it (ProtocolError).

    `settle` runs after each answer is sent: work git need not wait for (keeping the outputs), done
    while git stores the blob it got (git waits for this process to end before it exits itself).
    """
    _handshake(stdin, stdout, capabilities)
    while True:
        try:
            first = read_packet(stdin)
        except StreamEnded as end:
            if end.at_boundary:
                return  # git closed the stream between two requests: the normal end
            raise
        keys = read_text_list(stdin, first) if first is not None else []
        request = dict(key.partition("=")[::2] for key in keys)
        command = request.get("command", "")
        data = read_content(stdin)
        status, result = _answer(handler, command, data, request) if command in capabilities else ("error", None)
        del data
        if result is None:
            write_text(stdout, f"status={status}")
        else:
            write_text(stdout, "status=success")
            write_content(stdout, result)
            stdout.write(FLUSH)  # an empty status list: the success stands
        stdout.flush()
        if settle is not None:
            settle()


def _answer(handler: Handler, command: str, data: bytes, request: dict[str, str]) -> tuple[str, bytes | None]:
    """The handler's answer; an exception it lets through is one warning and `status=error` for that file
    (git then stores it unchanged), never the end of the session: git would abort the whole command."""
    path = request.get("pathname", "")
    try:
        return handler(command, path, data, request)
    except Exception as error:  # noqa: BLE001 - the boundary: nothing may cost git its filter
        warn(f"{path}: internal error {type(error).__name__}: {error}; stored unchanged", "this is a bug in nbgit: please report it")
        return "error", None


def _handshake(stdin: BinaryIO, stdout: BinaryIO, capabilities: tuple[str, ...]) -> None:
    try:
        welcome = read_text_list(stdin)
    except StreamEnded:
        raise ProtocolError("the stream ended before the handshake") from None
    if not welcome or welcome[0] != "git-filter-client" or "version=2" not in welcome[1:]:
        raise ProtocolError(f"unexpected handshake {welcome[:3]!r} (expected git-filter-client, version=2)")
    write_text(stdout, "git-filter-server", "version=2")
    stdout.flush()
    offered = {line.removeprefix("capability=") for line in read_text_list(stdin)}
    write_text(stdout, *(f"capability={c}" for c in capabilities if c in offered))
    stdout.flush()


# --- the domain work --------------------------------------------------------------------------


def clean_blob(data: bytes, path: str, policy: Policy) -> tuple[bytes, NbgitError | None]:
    """`data` cleaned per `policy` (or as it is when excluded), or unchanged with the reason it could not be.

    Never raises: the filter and `nbgit filter clean` decide what a failure means (strict or not).
    """
    own, problem = own_policy(path, policy)
    return clean_as(data, path, own) if own is not None else (data, problem)


def own_policy(path: str, policy: Policy) -> tuple[Policy | None, NbgitError | None]:
    """The policy `path` is cleaned under, None when `policy` excludes it or its globs cannot be matched
    against it (then with the reason). Never raises."""
    key = "exclude"
    try:  # the policy's globs come with the repository: whatever matching them costs, git keeps the file
        if policy.excludes(path):
            return None, None
        key = "overrides"
        return policy.for_path(path), None
    except Exception as error:  # noqa: BLE001 - a glob that cannot be matched must not cost git the file
        return None, NbgitError(f"{path}: `{key}` in {policy.source} cannot be matched against it ({type(error).__name__})", f"simplify `{key}` in {policy.source}")


def clean_as(data: bytes, path: str, own: Policy) -> tuple[bytes, NbgitError | None]:
    """`data` cleaned per `own` (the path's own policy), or unchanged with the reason it could not be."""
    try:
        return clean_bytes(data, path, own), None
    except (NotebookError, CleanError) as error:
        return data, error
    except RecursionError:
        return data, NbgitError(f"{path}: nested too deeply to clean", "open and re-save it in Jupyter")
    except Exception as error:  # noqa: BLE001 - a bug in nbgit must not cost git the file
        return data, NbgitError(f"{path}: internal error {type(error).__name__}: {error}", "this is a bug in nbgit: please report it")


def into_work_tree(root: Path | str, request: dict[str, str] | None) -> bool:
    """Whether what a smudge answers goes into the work tree at `root`, so its outputs may come back.

    `git archive` smudges too (with `treeish`, as a checkout), and its archive must hold the commit
    as it is, not this clone's outputs: a smudge naming a `treeish` while no git command holds the
    index lock (which every git command writing the work tree holds) is an archive. Without keys
    (`request` None: the one-shot filter) the lock alone decides, so `git archive`, a diff tool's
    copy of an old version and a run by hand get the blob. A request naming only its `blob`
    (`checkout -- FILE`; a diff's copy of an old version, for an external diff tool) gets the outputs.
    """
    if request is not None and "treeish" not in request:
        return True
    from pathlib import Path

    from nbgit.store.location import index_locked

    return index_locked(Path(root))


class Cleaner:
    """Answers filter requests for one repository: clean per its policy (loaded once), recording the
    outputs; smudge restores them (`keeper`; without one, smudge passes the blob through)."""

    def __init__(self, policy: Policy | None, problem: NbgitError | None = None, keeper: OutputKeeper | None = None) -> None:
        self.policy = policy or Policy()
        self.problem = problem
        self.keeper = keeper
        self._unsettled: list[tuple[str, bytes, bytes, Policy, int]] = []  # cleaned (when git handed it over), outputs not kept yet
        self.background = False  # whether outputs are kept by a forked worker (the process filter's: see nbgit.store.background)
        self.anew = False  # whether every notebook is cleaned, never answered as recorded (`nbgit renormalize`: see `clean`)
        self._worker: Worker | None = None
        self.looks_ahead = False  # whether the next notebooks are cleaned ahead of git where nothing is recorded (the process filter's)
        self._ahead: CleanerAhead | None = None  # (made at the first request that may use it: see `_ahead_of_git`)

    @classmethod
    def for_directory(cls, directory: Path | str, one_command: bool = False) -> Cleaner:
        """The cleaner for the repository holding `directory` (git runs filters at the work tree top);
        `one_command`: it serves one git command, no longer (the process filter: see `OutputKeeper.cleaned`).

        Never raises: whatever stops the policy from loading (a broken policy file, an unreadable
        one, a bug) is kept as the problem every clean request then answers with `abort`.
        """
        try:
            root = root_of(directory)
            return cls(load_policy(root), keeper=OutputKeeper(root, count_at_exit=True, one_command=one_command) if root is not None else None)
        except NbgitError as error:
            return cls(None, error)
        except Exception as error:  # noqa: BLE001 - git must still get its handshake and an answer
            return cls(None, NbgitError(f"cannot load the policy ({type(error).__name__}: {error})", "this is a bug in nbgit: please report it"))

    def clean(self, path: str, data: bytes, keep: bool = True) -> tuple[bytes, NbgitError | None]:
        """`data` cleaned as `clean_blob` cleans it; with `keep`, its outputs go to the store at the next
        `settle` (after the answer is sent).

        Bytes this clone cleaned last at `path` are not cleaned again: the store rebuilds their blob
        from them (`git status` after a save that changed nothing, `git add` after `git status`); and
        bytes git wrote out as committed without nbgit clean to that very blob (`restore.restore`;
        `keeper.staged_as_is` for those a checkout does not look at), unless the cleaner cleans `anew`.
        """
        read_at = time.time_ns()  # (git reads a notebook just before it hands it over: one read after this is read later)
        own, problem = own_policy(path, self.policy)
        if own is None:
            return data, problem
        records = keep and self.keeper is not None and self.keeper.keeps(path, own)  # (nothing handed over where nothing would be recorded)
        ahead = self._ahead_of_git(records) if keep else None
        made = ahead.take(path, data) if ahead is not None else None
        if made is not None and self.keeper is not None:
            self.keeper.handed_over(path, data, own)  # (as `cleaned` below notes what it is asked)
        if made is not None and made[1]:
            return made[0], None  # known to the store, as below
        if made is None and self.keeper is not None and keep and not self.anew:
            known = self.keeper.cleaned(path, data, own)
            if known is not None:
                return known, None
        result, problem = (made[0], None) if made is not None else clean_as(data, path, own)
        if problem is None and self.keeper is not None and keep:
            if len(result) == len(data) and result != data and not self.anew and self.keeper.staged_as_is(path, data, own):  # (keys reordered: as long)
                return data, None
            if records:
                self._unsettled.append((path, data, result, own, read_at))
        return result, problem

    def settle(self) -> None:
        """Keep the outputs of what was cleaned since the last time: handed to the worker when there is
        one, else here (never raises: see OutputKeeper)."""
        while self._unsettled and self.keeper is not None:
            path, worktree, cleaned, own, read_at = self._unsettled.pop(0)
            if not self._hand_over(self.keeper, path, worktree, cleaned, read_at):
                self.keeper.clean(path, worktree, cleaned, own, read_at)

    def wait(self) -> None:
        """Keep every output handed over so far before going on: the worker finishes and exits (a later
        record starts another)."""
        if self._ahead is not None:
            self._ahead.stop()  # (first: it holds the worker's pipe open when it was forked after it)
        self.settle()
        self._stop_worker()

    def _stop_worker(self) -> None:
        """Wait for the worker to finish and exit; one warning when a signal killed it."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            failure = worker.finish()
            if failure is not None:
                warn(f"keeping outputs failed: {failure}; notebooks this command cleaned may come back without their outputs")

    def _hand_over(self, keeper: OutputKeeper, path: str, worktree: bytes, cleaned: bytes, read_at: int) -> bool:
        """Give one record to the worker (started at the first); False when there is none to give it to."""
        if not self.background:
            return False
        try:
            if self._worker is None:
                from nbgit.store.background import Worker

                self._worker = Worker(self._keep, keeper.flush)
            if self._worker.send(path.encode("utf-8", "surrogatepass"), worktree, cleaned, b"%d" % read_at):
                return True
        except Exception:  # noqa: BLE001 - no process to be had (a limit on processes, on memory), a bug: this one records
            pass
        self._stop_worker()
        self.background = False  # the worker is gone (or never came): this process records from now on
        return False

    def _ahead_of_git(self, records: bool) -> CleanerAhead | None:
        """The cleaner ahead (nbgit.ahead), made at the first request it may serve; None where it looks
        not ahead, or where the notebook's outputs are recorded (`records`) by the worker, which then has
        the other core: the cleaner ahead would only take turns with it there (a record costs twice what
        a clean does), and git would wait for both."""
        if not self.looks_ahead or (records and self.background):
            return None
        if self._ahead is None:
            from nbgit.ahead import CleanerAhead

            self._ahead = CleanerAhead(os.getcwd(), self.answer_ahead)
        return self._ahead

    def answer_ahead(self, path: str, data: bytes) -> tuple[bytes, bool] | None:
        """In the cleaner ahead: what `clean` answers for `data` (and whether the store knew it), None
        when it is excluded or has a problem (the filter says so itself when git asks for it)."""
        own = own_policy(path, self.policy)[0]
        if own is None:
            return None
        known = self.keeper.cleaned(path, data, own) if self.keeper is not None and not self.anew else None
        if known is not None:
            return known, True
        result, problem = clean_as(data, path, own)
        return (result, False) if problem is None else None

    def _keep(self, path: bytes, worktree: bytes, cleaned: bytes, read_at: bytes) -> None:
        """In the worker: keep the outputs of one notebook the filter cleaned (under the path's own policy)."""
        name = path.decode("utf-8", "surrogatepass")
        own = own_policy(name, self.policy)[0]
        if own is not None and self.keeper is not None:
            self.keeper.clean(name, worktree, cleaned, own, int(read_at))

    def __call__(self, command: str, path: str, data: bytes, request: dict[str, str] | None = None) -> tuple[str, bytes | None]:
        """One request: (status, content); never raises (a failure is a warning and a pass-through or an error).

        `request` is every key git sent with it (the process filter's), None when git says nothing
        (the one-shot filter): see `into_work_tree`.
        """
        if command != "clean":
            self.wait()  # (what this command recorded may be what it now checks out: `git stash`)
            if self.keeper is None or not into_work_tree(self.keeper.root, request):
                return "success", data
            return "success", self.keeper.smudge(path, data, self.policy.for_path(path))
        if self.problem is not None:
            # a broken policy: say so once, then git stops sending (and stores notebooks unchanged)
            warn(f"{self.problem.message}; notebooks are stored unchanged until it is fixed", self.problem.hint)
            return "abort", None
        result, problem = self.clean(path, data)
        if problem is None:
            return "success", result
        if self.policy.strict:
            warn(f"{problem.message}; refused (strict = true), so git keeps it as it is unless filter.nbgit.required is true", problem.hint)
            return "error", None
        warn(f"{problem.message}; stored unchanged", problem.hint)
        return "success", result


# --- the process ------------------------------------------------------------------------------


def main(capabilities: tuple[str, ...] = CAPABILITIES) -> int:
    """The `nbgit-filter-process` console script: serve git on stdin/stdout until it hangs up.

    `capabilities` is for measuring the alternative (`("clean", "smudge")`, see benchmarks/bench_filter.py).
    """
    stdin = open(sys.stdin.fileno(), "rb", buffering=_BUFFER, closefd=False)
    stdout = open(sys.stdout.fileno(), "wb", buffering=_BUFFER, closefd=False)
    sys.stdout = sys.stderr  # a stray print() must never corrupt the protocol
    cleaner = Cleaner.for_directory(os.getcwd(), one_command=True)  # (never raises)
    cleaner.background = hasattr(os, "fork")
    cleaner.looks_ahead = cleaner.background and cleaner.problem is None
    try:
        serve(stdin, stdout, cleaner, capabilities, cleaner.settle)
    except StreamEnded:
        return EXIT_BROKEN  # git went away mid-request (killed, interrupted); it reports that itself
    except ProtocolError as error:
        sys.stderr.write(f"nbgit: error: filter protocol: {error}\n")
        return EXIT_BROKEN
    except BrokenPipeError:
        return EXIT_BROKEN  # git went away mid-answer; it reports the failed filter itself
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - mid-stream the session cannot go on: one line, no traceback
        sys.stderr.write(f"nbgit: error: filter: internal error {type(error).__name__}: {error}\n")
        return EXIT_BROKEN
    finally:
        _close_quietly(stdout)
        cleaner.wait()  # git waits for this process: the outputs it was given are kept when git is done
    return EXIT_OK


def _close_quietly(stream: BinaryIO) -> None:
    try:
        stream.close()
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
