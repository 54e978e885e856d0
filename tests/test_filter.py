"""The git filter: real git driving `nbgit-filter-process`, and the protocol driven by hand over pipes.

The filter is wired by hand (`filter.nbgit.process` and a `.gitattributes` line), not by `nbgit
install`, so these tests pin the filter alone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS, NBGIT, copy_in, corpus_files, git, nbgit
from nbgit.clean import clean_bytes
from nbgit.filter import CAPABILITIES, MAX_PACKET, MAX_PAYLOAD, REQUIRED, Cleaner, ProtocolError, read_content, serve, write_content
from nbgit.errors import NbgitError
from nbgit.policy import Policy, policy_from_table

FILTER = NBGIT.with_name("nbgit-filter-process")
DEV = CORPUS / "dev"
# small real notebooks with outputs (and images, widget state, papermill and Colab metadata)
SAMPLES = [
    "JuliaAcademy+DataFrames/1. Environment setup.ipynb",
    "fastai+nbdev/tests/docs_test.ipynb",
    "Carl-McBride-Ellis+My-kaggle-notebooks/files/all-in-a-pickle-saving-the-titanic.ipynb",
    "googlecolab+colabtools/notebooks/Talk_to_Gemini_with_Google's_Speech_to_Text_API.ipynb",
]
CONFLICTED = CORPUS / "bad_inputs" / "derived" / "source-conflict.git-merge-file.ipynb"


# --- helpers -----------------------------------------------------------------------------------


def wire(repo: Path, process: str = str(FILTER)) -> None:
    """Wire the filter by hand and commit the attributes."""
    git(repo, "config", "filter.nbgit.process", process)
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "attributes")


def samples(repo: Path) -> list[Path]:
    """The sample notebooks copied into `repo` under simple names."""
    return [copy_in(DEV / name, repo, f"nb{i}.ipynb") for i, name in enumerate(SAMPLES)]


def clean(data: bytes, name: str = "x.ipynb") -> bytes:
    return clean_bytes(data, name, Policy())


def blob(repo: Path, spec: str) -> bytes:
    return git(repo, "cat-file", "-p", spec).stdout


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain").stdout.decode()


def edit_source(path: Path, text: str) -> None:
    """Append a code cell with `text` to a notebook, keeping the rest of the file as it is."""
    content = json.loads(path.read_bytes())
    content["cells"].append({"cell_type": "code", "execution_count": 7, "metadata": {}, "outputs": [], "source": [text]})
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def touch(paths: list[Path]) -> None:
    for path in paths:
        stamp = path.stat().st_mtime + 100
        os.utime(path, (stamp, stamp))


# --- through git -------------------------------------------------------------------------------


@pytest.fixture
def wired(repo: Path) -> Path:
    wire(repo)
    return repo


def test_add_commit_stores_clean_blobs_and_keeps_working_outputs(wired: Path) -> None:
    notebooks = samples(wired)
    originals = {p: p.read_bytes() for p in notebooks}
    git(wired, "add", "-A")
    assert git(wired, "diff", "--cached", "--stat").stdout  # staged
    git(wired, "commit", "-q", "-m", "notebooks")
    for path, data in originals.items():
        assert blob(wired, f"HEAD:{path.name}") == clean(data, path.name)
        assert clean(data, path.name) != data  # the samples really had something to strip
        assert path.read_bytes() == data  # the working copy keeps its outputs
    assert status(wired) == ""
    assert git(wired, "diff").stdout == b""
    assert git(wired, "diff", "--cached").stdout == b""


def test_touching_every_notebook_makes_no_spurious_changes(wired: Path) -> None:
    notebooks = samples(wired)
    git(wired, "add", "-A")
    git(wired, "commit", "-q", "-m", "notebooks")
    touch(notebooks)
    assert status(wired) == ""
    assert git(wired, "diff", "--stat").stdout == b""
    touch(notebooks)
    git(wired, "add", "-A")
    assert git(wired, "diff", "--cached", "--stat").stdout == b""


def test_diff_cached_shows_the_source_change_not_the_outputs(wired: Path) -> None:
    [first, *_] = samples(wired)
    git(wired, "add", "-A")
    git(wired, "commit", "-q", "-m", "notebooks")
    edit_source(first, "print('a new line of code')\n")
    assert status(wired) == " M nb0.ipynb\n"
    git(wired, "add", first.name)
    diff = git(wired, "diff", "--cached").stdout.decode()
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("a new line of code" in line for line in added)
    assert not any("image/png" in line or '"execution_count": 7' in line for line in added)
    assert blob(wired, f":{first.name}") == clean(first.read_bytes())


def test_stash_checkout_rebase_cherry_pick_and_archive(wired: Path) -> None:
    nb0, nb1, *_ = samples(wired)
    git(wired, "add", "-A")
    git(wired, "commit", "-q", "-m", "notebooks")

    # stash: git stores what the filter gives, so the stash holds the cleaned notebook; the work tree
    # gets back the committed version with its outputs (tests/test_restore.py tells the whole story)
    committed = nb0.read_bytes()
    edit_source(nb0, "stashed_edit = 1\n")
    stashed = nb0.read_bytes()
    git(wired, "stash", "-q")
    assert nb0.read_bytes() == committed
    assert status(wired) == ""
    assert clean(blob(wired, "stash@{0}:nb0.ipynb")) == blob(wired, "stash@{0}:nb0.ipynb") == clean(stashed)
    git(wired, "stash", "pop", "-q")
    assert nb0.read_bytes() == stashed
    git(wired, "commit", "-q", "-am", "edit nb0")

    # a feature branch and a diverging main
    git(wired, "checkout", "-q", "-b", "feature")
    edit_source(nb1, "feature_change = 2\n")
    git(wired, "commit", "-q", "-am", "feature: nb1")
    feature_commit = git(wired, "rev-parse", "HEAD").stdout.decode().strip()
    git(wired, "checkout", "-q", "main")
    assert "feature_change" not in nb1.read_text(encoding="utf-8")
    edit_source(nb0, "main_change = 3\n")
    git(wired, "commit", "-q", "-am", "main: nb0")

    git(wired, "checkout", "-q", "feature")
    git(wired, "rebase", "-q", "main")
    assert "main_change = 3" in nb0.read_text(encoding="utf-8")
    assert "feature_change = 2" in nb1.read_text(encoding="utf-8")
    assert status(wired) == ""

    git(wired, "checkout", "-q", "-b", "picked", "main")
    git(wired, "cherry-pick", feature_commit)
    assert "feature_change = 2" in nb1.read_text(encoding="utf-8")
    assert status(wired) == ""

    archive = git(wired, "-c", "nbgit.restore=false", "archive", "--format=tar", "HEAD").stdout  # as committed
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for name in ("nb0.ipynb", "nb1.ipynb", "nb2.ipynb"):
            member = tar.extractfile(name)
            assert member is not None and member.read() == blob(wired, f"HEAD:{name}")
    for spec in ("main", "feature", "picked"):
        for name in ("nb0.ipynb", "nb1.ipynb"):
            data = blob(wired, f"{spec}:{name}")
            assert clean(data) == data  # every committed notebook is clean
    git(wired, "fsck", "--no-progress")


def test_a_notebook_with_conflict_markers_is_added_unchanged_with_a_warning(wired: Path) -> None:
    path = copy_in(CONFLICTED, wired, "conflicted.ipynb")
    done = git(wired, "add", path.name)
    assert blob(wired, ":conflicted.ipynb") == path.read_bytes()
    warnings = done.stderr.decode().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("nbgit: warning: conflicted.ipynb: contains git conflict markers")
    assert "nbgit resolve conflicted.ipynb" in warnings[0]


def test_strict_refuses_but_git_stores_the_raw_bytes_unless_the_filter_is_required(wired: Path) -> None:
    (wired / ".nbgit.toml").write_text("strict = true\n")
    path = copy_in(CONFLICTED, wired, "conflicted.ipynb")
    done = git(wired, "add", path.name)  # not required: git takes the bytes as they are
    assert blob(wired, ":conflicted.ipynb") == path.read_bytes()
    assert "refused (strict = true)" in done.stderr.decode()
    git(wired, "rm", "-q", "--cached", path.name)

    git(wired, "config", "filter.nbgit.required", "true")
    done = git(wired, "add", path.name, check=False)
    assert done.returncode != 0
    assert b"clean filter 'nbgit' failed" in done.stderr
    assert git(wired, "ls-files", "conflicted.ipynb").stdout == b""


KILLER = """#!{python}
import os, signal
from nbgit.filter import Cleaner, serve
cleaner, seen = Cleaner.for_directory(os.path.realpath(".")), []
def die_on_third(command, path, data, request):
    seen.append(path)
    if len(seen) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return cleaner(command, path, data, request)
serve(open(0, "rb"), open(1, "wb"), die_on_third)
"""


@pytest.mark.parametrize("required", [False, True], ids=["not-required", "required"])
def test_a_filter_killed_mid_stream_leaves_git_with_an_error_and_an_intact_index(repo: Path, required: bool) -> None:
    killer = repo.parent / "killer.py"
    killer.write_text(KILLER.format(python=sys.executable))
    killer.chmod(0o755)
    wire(repo, str(killer))
    if required:
        git(repo, "config", "filter.nbgit.required", "true")
    notebooks = samples(repo)
    done = git(repo, "add", "-A", check=False)
    stderr = done.stderr.decode()
    assert "died of signal 9" in stderr
    git(repo, "fsck", "--no-progress")
    if required:
        assert done.returncode != 0
        assert git(repo, "ls-files", "*.ipynb").stdout == b""  # nothing half-added
        assert status(repo).count("?? ") == len(notebooks)
        return
    # not required: git restarts the filter for the next files and stores the killed one's bytes raw
    assert done.returncode == 0
    raw = [p for p in notebooks if blob(repo, f":{p.name}") == p.read_bytes()]
    assert len(raw) == 1
    for path in notebooks:
        if path not in raw:
            assert blob(repo, f":{path.name}") == clean(path.read_bytes())
    git(repo, "config", "filter.nbgit.process", str(FILTER))
    touch(notebooks)
    assert f"AM {raw[0].name}\n" in status(repo)  # once re-read, git status shows the raw one as not clean
    assert status(repo).count("AM ") == 1


def test_a_broken_policy_warns_once_and_git_stores_notebooks_unchanged(wired: Path) -> None:
    (wired / ".nbgit.toml").write_text("outputs = 'sometimes'\n")
    notebooks = samples(wired)
    done = git(wired, "add", "-A")
    warnings = done.stderr.decode().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("nbgit: warning: .nbgit.toml: `outputs` must be")
    for path in notebooks:
        assert blob(wired, f":{path.name}") == path.read_bytes()


def test_excluded_notebooks_are_stored_as_they_are(wired: Path) -> None:
    (wired / ".nbgit.toml").write_text('exclude = ["raw/**"]\n')
    kept = copy_in(DEV / SAMPLES[0], wired, "raw/kept.ipynb")
    cleaned = copy_in(DEV / SAMPLES[0], wired, "cooked/cleaned.ipynb")
    git(wired / "cooked", "add", "-A")  # from a subfolder: git runs the filter at the top, paths are the repo's
    assert blob(wired, ":raw/kept.ipynb") == kept.read_bytes()
    assert blob(wired, ":cooked/cleaned.ipynb") == clean(cleaned.read_bytes())


def test_overrides_apply_per_path(wired: Path) -> None:
    (wired / ".nbgit.toml").write_text('[[overrides]]\npaths = ["docs/**"]\noutputs = "keep"\n')
    documented = copy_in(DEV / SAMPLES[2], wired, "docs/page.ipynb")
    plain = copy_in(DEV / SAMPLES[2], wired, "plain.ipynb")
    git(wired, "add", "-A")
    keep_outputs = Policy(outputs="keep")
    assert blob(wired, ":docs/page.ipynb") == clean_bytes(documented.read_bytes(), "docs/page.ipynb", keep_outputs)
    assert blob(wired, ":plain.ipynb") == clean(plain.read_bytes())
    assert blob(wired, ":docs/page.ipynb") != blob(wired, ":plain.ipynb")


def test_the_cli_filter_process_command_serves_git_too(repo: Path) -> None:
    wire(repo, f"{NBGIT} filter-process")
    [first, *_] = samples(repo)
    git(repo, "add", "-A")
    assert blob(repo, f":{first.name}") == clean(first.read_bytes())


@pytest.mark.corpus
@pytest.mark.slow
def test_the_whole_dev_corpus_in_one_git_add(wired: Path) -> None:
    sources = corpus_files("dev")
    for source in sources:
        copy_in(source, wired, str(source.relative_to(DEV)))
    git(wired, "add", "-A")
    for source in sources:
        name = source.relative_to(DEV).as_posix()
        data = source.read_bytes()
        assert blob(wired, f":{name}") == _expected(data, name), name
    assert git(wired, "diff", "--name-only").stdout == b""  # the work tree agrees with what was staged


def _expected(data: bytes, name: str) -> bytes:
    """What the filter must give for `data`: the cleaned notebook, or the bytes unchanged."""
    try:
        return clean(data, name)
    except NbgitError:
        return data


# --- the protocol by hand ----------------------------------------------------------------------


def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def text(*lines: str) -> bytes:
    return b"".join(pkt(f"{line}\n".encode()) for line in lines) + b"0000"


def content(data: bytes, size: int = MAX_PAYLOAD) -> bytes:
    return b"".join(pkt(data[i : i + size]) for i in range(0, len(data), size)) + b"0000"


HANDSHAKE = text("git-filter-client", "version=2") + text("capability=clean", "capability=smudge", "capability=delay")


def request(path: str, data: bytes, command: str = "clean", extra: tuple[str, ...] = ()) -> bytes:
    return text(f"command={command}", f"pathname={path}", *extra) + content(data)


def packets(stream: bytes) -> list[bytes | None]:
    """Split a response stream into payloads (None for a flush), checking every packet's size."""
    result: list[bytes | None] = []
    at = 0
    while at < len(stream):
        length = int(stream[at : at + 4], 16)
        if length == 0:
            result.append(None)
            at += 4
            continue
        assert 4 < length <= MAX_PACKET
        result.append(stream[at + 4 : at + length])
        at += length
    return result


def responses(stream: bytes) -> list[tuple[str, bytes | None, list[bytes]]]:
    """The server's handshake checked, then per request (status, content or None, content packets)."""
    items = packets(stream)
    assert items[:3] == [b"git-filter-server\n", b"version=2\n", None]
    assert items[3:6] == [b"capability=clean\n", b"capability=smudge\n", None]
    at, result = 6, []
    while at < len(items):
        status_line = items[at]
        assert status_line is not None and status_line.startswith(b"status=") and items[at + 1] is None
        status = status_line.decode().strip().removeprefix("status=")
        at += 2
        if status != "success":
            result.append((status, None, []))
            continue
        chunks = []
        while items[at] is not None:
            chunks.append(items[at])
            at += 1
        assert items[at + 1] is None  # the empty status list after the content: success stands
        at += 2
        result.append((status, b"".join(chunks), chunks))
    return result


def run_filter(stream: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(FILTER)], input=stream, capture_output=True, cwd=cwd)


def test_the_process_announces_clean_and_smudge_and_is_not_required(tmp_path: Path) -> None:
    offer = text("git-filter-client", "version=2", "version=3") + text("capability=smudge", "capability=invented-later", "capability=clean")
    done = run_filter(offer, tmp_path)
    assert CAPABILITIES == ("clean", "smudge") and REQUIRED is False
    assert done.returncode == 0 and done.stderr == b""
    assert responses(done.stdout) == []


def test_unknown_keys_are_read_and_ignored(tmp_path: Path) -> None:
    data = (DEV / SAMPLES[0]).read_bytes()
    extra = ("ref=refs/heads/main", "treeish=1234567890abcdef", "blob=deadbeef", "can-delay=1", "future-key=x=y")
    done = run_filter(HANDSHAKE + request("a.ipynb", data, extra=extra), tmp_path)
    assert done.returncode == 0 and done.stderr == b""
    assert [(s, c) for s, c, _ in responses(done.stdout)] == [("success", clean(data))]


def test_an_empty_blob_comes_back_empty_with_a_warning(tmp_path: Path) -> None:
    done = run_filter(HANDSHAKE + request("empty.ipynb", b""), tmp_path)
    assert done.returncode == 0
    assert [(s, c) for s, c, _ in responses(done.stdout)] == [("success", b"")]
    assert done.stderr.decode().startswith("nbgit: warning: empty.ipynb: empty file")


def notebook_of_size(size: int) -> bytes:
    """A clean notebook (cleaning leaves it as it is) of exactly `size` bytes."""
    def build(fill: int) -> bytes:
        cell = {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["x" * fill]}
        return clean(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode())
    data = build(size - len(build(1)) + 1)
    assert len(data) == size and clean(data) == data
    return data


@pytest.mark.parametrize("size", [MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 3 * MAX_PAYLOAD, 3 * MAX_PAYLOAD + 1])
def test_blobs_at_and_across_packet_boundaries(tmp_path: Path, size: int) -> None:
    data = notebook_of_size(size)
    odd = request("odd.ipynb", data)[:-len(content(data))] + content(data, 1000)  # git may use any packet size
    done = run_filter(HANDSHAKE + request("a.ipynb", data) + odd, tmp_path)
    assert done.returncode == 0 and done.stderr == b""
    for status, result, chunks in responses(done.stdout):
        assert (status, result) == ("success", data)
        assert [len(c) for c in chunks] == [MAX_PAYLOAD] * (size // MAX_PAYLOAD) + ([size % MAX_PAYLOAD] if size % MAX_PAYLOAD else [])


def test_many_files_in_one_session_and_an_unknown_command(tmp_path: Path) -> None:
    notebooks = [(DEV / name).read_bytes() for name in SAMPLES]
    stream = HANDSHAKE
    for i in range(200):
        stream += request(f"dir/n{i}.ipynb", notebooks[i % len(notebooks)])
    stream += request("x.ipynb", notebooks[0], command="frobnicate")  # never announced: an error, and go on
    stream += request("last.ipynb", notebooks[1])
    done = run_filter(stream, tmp_path)
    assert done.returncode == 0 and done.stderr == b""
    results = responses(done.stdout)
    assert [(s, c) for s, c, _ in results[:200]] == [("success", clean(notebooks[i % len(notebooks)])) for i in range(200)]
    assert [(s, c) for s, c, _ in results[200:]] == [("error", None), ("success", clean(notebooks[1]))]


BROKEN_STREAMS = {
    "truncated-length": (request("a.ipynb", b"{}")[:-3], ""),
    "truncated-payload": (text("command=clean", "pathname=a.ipynb") + b"0100{\"cells\"", ""),
    "eof-inside-keys": (text("command=clean")[:-4], ""),
    "eof-before-content-flush": (text("command=clean", "pathname=a.ipynb") + pkt(b"{}"), ""),
    "oversize-length": (text("command=clean", "pathname=a.ipynb") + b"fff1" + b"x" * 65530, "invalid packet length 65521"),
    "length-below-4": (text("command=clean", "pathname=a.ipynb") + b"0003", "invalid packet length 3"),
    "not-hex": (b"zz10" + b"x" * 100, "malformed packet length"),
    "int-prefix-tricks": (b"0x10" + b"x" * 100, "malformed packet length"),
    "sign-and-space": (b"+010 " + b"x" * 100, "malformed packet length"),
}


@pytest.mark.parametrize("case", list(BROKEN_STREAMS))
def test_a_broken_stream_ends_the_process_without_a_traceback(tmp_path: Path, case: str) -> None:
    tail, message = BROKEN_STREAMS[case]
    good = (DEV / SAMPLES[0]).read_bytes()
    done = run_filter(HANDSHAKE + request("good.ipynb", good) + tail, tmp_path)
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
    if message:
        assert done.stderr.decode().startswith(f"nbgit: error: filter protocol: {message}")
        assert done.stderr.count(b"\n") == 1
    else:
        assert done.stderr == b""  # git went away: git itself reports the failed filter
    # the answer to the good request went out whole before the stream broke
    assert [(s, c) for s, c, _ in responses(done.stdout)] == [("success", clean(good))]


@pytest.mark.parametrize(
    "stream",
    [b"", text("git-filter-clint", "version=2"), text("git-filter-client", "version=3"), b"0016git-filter-client\n"],
    ids=["nothing", "misspelt-welcome", "unknown-version", "eof-in-handshake"],
)
def test_a_bad_handshake_is_refused(tmp_path: Path, stream: bytes) -> None:
    done = run_filter(stream, tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.startswith(b"nbgit: error: filter protocol: ") and done.stderr.count(b"\n") == 1


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 4 * MAX_PAYLOAD + 3), seed=st.binary(min_size=1, max_size=64))
def test_framing_round_trips_any_size(size: int, seed: bytes) -> None:
    data = (seed * (size // len(seed) + 1))[:size]
    framed = io.BytesIO()
    write_content(framed, data)
    stream = io.BufferedReader(io.BytesIO(framed.getvalue()))
    assert read_content(stream) == data
    assert stream.read() == b""


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(max_size=600), keys=st.lists(st.sampled_from(["command=clean", "pathname=a.ipynb", "x=y", "can-delay=1"])))
def test_random_bytes_after_the_handshake_end_the_session_only_with_a_protocol_error(garbage: bytes, keys: list[str]) -> None:
    stream = io.BufferedReader(io.BytesIO(HANDSHAKE + (text(*keys) if keys else b"") + garbage))
    try:
        serve(stream, io.BytesIO(), Cleaner(None))
    except ProtocolError:
        pass  # the only way out besides a normal end; never another exception


@pytest.mark.parametrize("key", ["exclude", "overrides"])
def test_a_glob_that_cannot_be_matched_leaves_the_notebook_unchanged_with_one_warning_naming_its_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """Matching the policy's globs cannot fail today (nbgit.patterns neither recurses nor backtracks);
    if it ever does, as the recursive matcher overflowed on `**/` x 333, git still gets the file back.
    The failure is injected: no glob the policy accepts makes the matcher fail any more."""
    import nbgit.policy

    def overflow(path: str, patterns: object) -> bool:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(nbgit.policy, "glob_matches", overflow)
    table = {"exclude": ["x/**"]} if key == "exclude" else {"overrides": [{"paths": ["x/**"], "outputs": "keep"}]}
    raw = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    assert Cleaner(policy_from_table(table, ".nbgit.toml"))("clean", "a.ipynb", raw) == ("success", raw)
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"nbgit: warning: a.ipynb: `{key}` in .nbgit.toml cannot be matched against it (RecursionError)")
    assert warning.endswith(f"stored unchanged (simplify `{key}` in .nbgit.toml)")


@pytest.mark.slow
@pytest.mark.corpus
def test_the_whole_corpus_through_one_session(tmp_path: Path) -> None:
    files = corpus_files("dev") + corpus_files("bad_inputs", "**/*")
    files = [f for f in files if f.is_file() and f.name != "MANIFEST.tsv"]
    stream = HANDSHAKE + b"".join(request(f.relative_to(CORPUS).as_posix(), f.read_bytes()) for f in files)
    done = run_filter(stream, tmp_path)
    assert done.returncode == 0
    results = responses(done.stdout)
    assert len(results) == len(files)
    unreadable = 0
    for path, (status, result, _) in zip(files, results):
        data = path.read_bytes()
        expected = _expected(data, path.relative_to(CORPUS).as_posix())
        unreadable += expected is data
        assert (status, result) == ("success", expected), path
    assert done.stderr.decode().count("nbgit: warning: ") == unreadable > 0
    assert b"Traceback" not in done.stderr


def test_the_filter_imports_nothing_heavy() -> None:
    code = "import sys, nbgit.filter; print(' '.join(sorted(sys.modules)))"
    modules = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    heavy = {"nbformat", "jupytext", "nbdime", "git", "jsonschema", "argparse", "nbgit.cli"}
    assert not heavy & modules
    assert "nbgit.clean" in modules


# --- one-shot clean and smudge -----------------------------------------------------------------


def test_one_shot_clean_prints_only_the_notebook(repo: Path) -> None:
    data = (DEV / SAMPLES[1]).read_bytes()
    done = nbgit(repo, "filter", "clean", "nb.ipynb", input=data)
    assert (done.returncode, done.stdout, done.stderr) == (0, clean(data), b"")
    done = nbgit(repo, "filter", "clean", input=data)  # no path, as nbdime runs it
    assert (done.returncode, done.stdout, done.stderr) == (0, clean(data), b"")


def test_one_shot_smudge_passes_bytes_through(repo: Path) -> None:
    data = CONFLICTED.read_bytes()
    done = nbgit(repo, "filter", "smudge", "nb.ipynb", input=data)
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")


def test_one_shot_clean_passes_bad_input_through_and_warns_only_where_it_cannot_corrupt(repo: Path) -> None:
    data = CONFLICTED.read_bytes()
    done = nbgit(repo, "filter", "clean", "c.ipynb", input=data)
    assert (done.returncode, done.stdout) == (0, data)
    assert done.stderr.decode().startswith("nbgit: warning: c.ipynb: contains git conflict markers")
    # nbdime runs the clean command with stderr mixed into stdout: a warning would corrupt the content
    merged = subprocess.run([str(NBGIT), "filter", "clean"], input=data, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert (merged.returncode, merged.stdout) == (0, data)


def test_one_shot_clean_in_strict_mode_refuses(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text("strict = true\n")
    done = nbgit(repo, "filter", "clean", "c.ipynb", input=CONFLICTED.read_bytes())
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().startswith("nbgit: error: c.ipynb: contains git conflict markers")


def test_one_shot_clean_serves_as_git_clean_filter(repo: Path) -> None:
    git(repo, "config", "filter.nbgit.clean", f"{NBGIT} filter clean %f")
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")
    notebooks = samples(repo)
    git(repo, "add", "-A")
    for path in notebooks:
        assert blob(repo, f":{path.name}") == clean(path.read_bytes())
