"""Shared fixtures: the corpus, real git repositories in temporary folders, running nbgit for real."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The corpus of real notebooks; NBGIT_CORPUS names another place (a missing one runs the suite without it).
CORPUS = Path(os.environ.get("NBGIT_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus")
CORPUS_ABSENT = f"needs the corpus of real notebooks, expected at {CORPUS} (or set NBGIT_CORPUS)"
NBGIT = Path(sys.executable).with_name("nbgit")


def corpus_files(folder: str, pattern: str = "**/*.ipynb") -> list[Path]:
    """Every file of a corpus folder matching `pattern`, sorted (empty when the corpus is absent).

    A test parametrized with none of them is skipped saying where the corpus is expected (see
    `pytest_collection_modifyitems`); a test that lists or counts the corpus in its body carries
    `@pytest.mark.corpus`.
    """
    return sorted((CORPUS / folder).glob(pattern))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the corpus, tests left with an empty parameter set say where the corpus is expected."""
    if CORPUS.is_dir():
        return
    for item in items:
        if any("got empty parameter set" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skip")):
            item.add_marker(pytest.mark.skip(reason=CORPUS_ABSENT), append=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    if item.get_closest_marker("corpus") and not CORPUS.is_dir():  # tests that count or list the corpus
        pytest.skip(CORPUS_ABSENT)
    with _corpus_or_skip():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    with _corpus_or_skip():
        return (yield)


@contextlib.contextmanager
def _corpus_or_skip() -> Iterator[None]:
    """A test (or its fixtures) reading the absent corpus skips, with one line saying where it is expected."""
    try:
        yield
    except FileNotFoundError as error:
        if CORPUS.is_dir() or not str(error.filename or "").startswith(str(CORPUS)):
            raise
        pytest.skip(CORPUS_ABSENT)


def corpus_id(path: Path) -> str:
    """A short test id for a corpus file."""
    return str(path.relative_to(CORPUS))


_RUNNER_VARIABLES = {"CI", "GITLAB_CI", "PRE_COMMIT"}  # and GIT_*, GITHUB_*, CI_*, NBGIT_* but NBGIT_CORPUS


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees a git without the user's global or system config, and no CI job around it."""
    for name in list(os.environ):  # the machine running the tests may be a CI job, or inside git or a hook
        if name in _RUNNER_VARIABLES or name.startswith(("GIT_", "GITHUB_", "CI_")) or name.startswith("NBGIT_") and name != "NBGIT_CORPUS":
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    # the venv's console scripts (nbgit, nbgit-filter-process) must be found by git and hooks
    monkeypatch.setenv("PATH", f"{NBGIT.parent}{os.pathsep}{os.environ['PATH']}")


def git(repo: Path, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run real git in `repo`."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, input=input)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return done


def nbgit(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed `nbgit` command for real in `cwd`."""
    return subprocess.run([str(NBGIT), *args], cwd=cwd, capture_output=True, input=input, env=env)


def within(seconds: float, cwd: Path, *command: str) -> subprocess.CompletedProcess[bytes]:
    """Run `command` in `cwd`; past `seconds` it is killed with every process it started (git's drivers and
    hooks hold its pipes open, so killing git alone would wait for them) and the test fails."""
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"{' '.join(command)} took more than {seconds} s")
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def shared_clones(tmp_path: Path, files: dict[str, bytes], installed: tuple[str, ...] = ("mine",)) -> tuple[Path, Path]:
    """A bare origin whose first commit (made without any hook) holds `files`, and two clones of it,
    `mine` and `theirs`, with nbgit installed in those `installed` names."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    for name, data in files.items():
        (seed / name).write_bytes(data)
    git(seed, "add", "-A")
    git(seed, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "the first commit")
    git(seed, "push", "-q", "origin", "main")
    clones = tmp_path / "mine", tmp_path / "theirs"
    for clone in clones:
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        if clone.name in installed:
            done = nbgit(clone, "install")
            assert done.returncode == 0, done.stderr.decode()
    return clones


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository (branch main) with one empty commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "root")
    return path


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only, for root too (`chattr +i`), undone at the end; skips where neither works."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode != 0:
                pytest.skip("cannot make a folder read-only for root here (chattr +i)")
        else:
            folder.chmod(0o555)
        made.append(folder)
        try:
            (folder / ".probe").write_text("")
        except OSError:
            return
        pytest.skip("this file system lets the folder be written anyway")

    yield make
    for folder in made:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
        folder.chmod(0o755)


def copy_in(source: Path, repo: Path, name: str | None = None) -> Path:
    """Copy a corpus file into `repo` (the corpus is read-only) and return the copy."""
    target = repo / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def track_many(repo: Path, count: int, per_folder: int = 1000) -> None:
    """Commit `count` more small files to `repo` (`bulk/dNNN/fNNNNNN.txt`), for an index as large as a
    big repository's, in a few seconds: each folder's files are hard links of one file, and the
    index gets their entries from `git update-index --index-info` (git hashes one blob, not `count`)
    and their stat data from `git update-index --refresh`, so `git status` lists none of them."""
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"x\n").stdout.decode().strip()
    names = [f"bulk/d{number // per_folder:03d}/f{number:06d}.txt" for number in range(count)]
    for number, name in enumerate(names):
        if number % per_folder == 0:
            first = repo / name
            first.parent.mkdir(parents=True)
            first.write_bytes(b"x\n")
        else:
            os.link(first, repo / name)
    git(repo, "update-index", "--index-info", input="".join(f"100644 {blob}\t{name}\n" for name in names).encode())
    git(repo, "update-index", "-q", "--refresh")
    git(repo, "commit", "-q", "--no-verify", "-m", f"{count} small files")


def corpus_contents() -> list[object]:
    """Every readable notebook file of dev/ and bad_inputs/, as stored (JSON as loaded, whatever it
    holds) and in memory form (nbgit's parse), read once per test process."""
    if not _CORPUS_CONTENTS:
        import json

        from nbgit.errors import NbgitError
        from nbgit.notebook import parse

        for path in corpus_files("dev") + corpus_files("bad_inputs"):
            data = path.read_bytes()
            try:
                _CORPUS_CONTENTS.extend([json.loads(data), parse(data, "x").content])
            except (ValueError, NbgitError):
                continue
    return _CORPUS_CONTENTS


_CORPUS_CONTENTS: list[object] = []


def rerunnable(count: int, sizes: tuple[int, int] = (15_000, 90_000)) -> list[Path]:
    """`count` real notebooks with outputs, valid nbformat 4, of more than `sizes[0]` and less than
    `sizes[1]` bytes (15-90 KB unless told), from the corpus (empty when it is absent)."""
    manifest = CORPUS / "dev" / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    found = []
    for line in manifest.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split("\t")
        if "outputs" in fields[12].split(",") and not fields[14] and fields[6].startswith("4") and sizes[0] < int(fields[5]) < sizes[1]:
            found.append(CORPUS / "dev" / fields[0])
    return found[:count]


def rerun(data: bytes, seed: int = 0) -> bytes:
    """A v4 notebook as Jupyter saves it after every code cell ran again with no source change.

    New execution counts, JupyterLab's per-cell timings, other numbers in text outputs and one
    more line of them ("Wall time"), other image bytes, another interpreter version (where one is
    recorded): the size
    changes, and nothing nbgit's filter keeps does.
    """
    import base64
    import json
    import random
    import re

    rng = random.Random(seed)
    content = json.loads(data)
    count = rng.randint(1, 40)
    stamp = f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T1{rng.randint(0, 9)}:{rng.randint(10, 59)}:0{rng.randint(0, 9)}.{rng.randint(100000, 999999)}Z"
    for cell in content["cells"]:
        if cell.get("cell_type") != "code":
            continue
        count += 1
        cell["execution_count"] = count
        cell.setdefault("metadata", {})["execution"] = {key: stamp for key in ("iopub.execute_input", "iopub.status.busy", "iopub.status.idle", "shell.execute_reply")}
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count
            if output.get("output_type") == "stream":
                text = "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
                text = re.sub(r"\d+", lambda m: str(rng.randint(0, 10 ** (len(m.group()) + 1))), text)
                output["text"] = (text + f"Wall time: {rng.random():.3f} s\n").splitlines(True)
            for mime, value in output.get("data", {}).items():
                if mime in ("image/png", "image/jpeg"):
                    encoded = "".join(value) if isinstance(value, list) else value
                    output["data"][mime] = base64.b64encode(base64.b64decode(encoded) + rng.randbytes(rng.randint(16, 400))).decode()
    language = content.get("metadata", {}).get("language_info")
    if isinstance(language, dict) and "version" in language:
        language["version"] = f"3.{rng.randint(8, 13)}.{rng.randint(0, 9)}"
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
