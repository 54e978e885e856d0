"""Hostile repositories: what a stranger's clone can hold, and what nbgit does with it.

Everything inside a repository is untrusted input: notebook metadata, the policy, file names,
symlinks, folders. Each case is a real repository committed with plain git (no nbgit: an attacker
has none) and cloned for real; nbgit runs in the clone. nbgit must never read or write outside the
work tree, never write into `.git/`, and answer each case with one line naming the file (exit 2 at
worst, never 70, never a traceback) while the rest of the work goes on.

One section per area; add new cases to the section of the code they exercise.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from conftest import git, nbgit

from nbgit.notebook import Notebook, serialise

PLAIN = ("-c", "core.hooksPath=/dev/null")  # the stranger commits without hooks


def notebook(sources: list[str], metadata: dict | None = None) -> bytes:
    """A small nbformat 4.5 notebook: one markdown cell, then code cells."""
    cells = [{"cell_type": "markdown", "id": "m0", "metadata": {}, "source": sources[0]}]
    cells += [
        {"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {}, "outputs": [], "source": source}
        for n, source in enumerate(sources[1:], 1)
    ]
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python", "file_extension": ".py"}}
    meta.update(metadata or {})
    return serialise(Notebook({"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, 4))


def stranger_clone(tmp_path: Path, files: dict[str, bytes | str], links: dict[str, str] | None = None) -> Path:
    """Commit `files` (and `links`, name -> symlink target) in a stranger's repository with plain git,
    and return a real clone of it: the victim's work tree."""
    origin = tmp_path / "stranger"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for name, data in files.items():
        path = origin / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    for name, target in (links or {}).items():
        path = origin / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    git(origin, "add", "-A")
    git(origin, *PLAIN, "commit", "-q", "-m", "looks harmless")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    return clone


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its bytes (nothing when the folder does not exist)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


def one_line_error(done: subprocess.CompletedProcess[bytes], *words: str) -> str:
    """The run failed as a user error (exit 2), no traceback or internal error, naming `words`."""
    err = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, done.stdout.decode(), err)
    assert "Traceback" not in err and "internal error" not in err, err
    for word in words:
        assert word in err, (word, err)
    return err


# --- pairs: twin paths, symlinks and folders (nbgit sync, pair, check, resolve) ---------------------

PAIRING = "[pair]\nenabled = true\n"
SECRET = "API_KEY = 'secret-from-outside'\n"
JUPYTEXT_HEADER = "# ---\n# jupytext:\n#   text_representation:\n#     extension: .py\n#     format_name: percent\n# ---\n\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the clone, outside the repository, holding a secret."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "settings_local.py").write_text(JUPYTEXT_HEADER + "# %%\n" + SECRET)
    return folder


def assert_untouched(outside: Path, before: dict[str, bytes]) -> None:
    assert files_under(outside) == before, "nothing outside the repository is created or changed"


@pytest.mark.parametrize(
    "extension",
    [
        "/../../outside/planted.py",  # escapes the work tree
        "/../.venv/lib/python3.11/site-packages/sitecustomize.py",  # stays inside, but is no extension
        "/../.git/hooks/post-checkout",  # into git's own folder
        ".py\u0000.sh",
        ".ipynb",  # the twin would be the notebook itself
        "." + "x" * 40,
    ],
)
@pytest.mark.parametrize("command", [("sync", "--all"), ("pair", "."), ("check", "--all", "--fix")])
def test_a_kernel_file_extension_is_never_a_path(tmp_path: Path, outside: Path, extension: str, command: tuple[str, ...]) -> None:
    hostile = notebook(["# Hi", "x = 1"], {"language_info": {"name": "python", "file_extension": extension}})
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "nb.ipynb": hostile, "ok.ipynb": notebook(["# Fine", "y = 2"])})
    before = files_under(outside)
    done = nbgit(clone, *command, env={**os.environ, "CI": "1"})
    assert done.returncode in (1, 2), done.stderr.decode()
    err = done.stderr.decode() + done.stdout.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    assert "nb.ipynb" in err and "file_extension" in err, err
    assert_untouched(outside, before)
    assert not (clone / ".venv").exists() and not (clone / ".git/hooks/post-checkout").exists()
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == [".nbgit.toml", "nb.ipynb", "ok.ipynb", "ok.py"]
    assert (clone / "nb.ipynb").read_bytes() == hostile


def test_a_file_outside_is_never_read_into_the_notebook(tmp_path: Path, outside: Path) -> None:
    """The reverse direction: a twin path that leads to an existing outside file, which sync would read."""
    hostile = notebook(["# Hi", "x = 1"], {"language_info": {"name": "python", "file_extension": "/../../outside/settings_local.py"}})
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "nb.ipynb": hostile})
    for command in (("sync", "--all"), ("sync", "nb.ipynb"), ("check", "--all")):
        done = nbgit(clone, *command, env={**os.environ, "CI": "1"})
        assert "secret-from-outside" not in (done.stdout + done.stderr).decode(), command
    assert (clone / "nb.ipynb").read_bytes() == hostile
    assert git(clone, "status", "--porcelain").stdout == b""


@pytest.mark.parametrize("target", ["../outside/settings_local.py", "{outside}/settings_local.py"])
@pytest.mark.parametrize("command", [("sync", "--all"), ("sync", "--take", "text", "a.ipynb"), ("check", "--all", "--fix"), ("pair", "a.ipynb")])
def test_a_twin_that_is_a_symlink_out_of_the_repository_is_never_read_or_written(
    tmp_path: Path, outside: Path, target: str, command: tuple[str, ...]
) -> None:
    target = target.format(outside=outside)
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"])}, {"a.py": target})
    before = files_under(outside)
    done = nbgit(clone, *command, env={**os.environ, "CI": "1"})
    said = (done.stdout + done.stderr).decode()
    assert done.returncode in (1, 2) and "Traceback" not in said and "internal error" not in said, said
    assert "secret-from-outside" not in said
    assert "a.py" in said and "outside the repository" in said, said
    assert_untouched(outside, before)
    assert (clone / "a.py").is_symlink() and git(clone, "status", "--porcelain").stdout == b""


def test_a_dangling_symlink_twin_is_not_created_outside(tmp_path: Path, outside: Path) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"])}, {"a.py": "../outside/new/planted.py"})
    before = files_under(outside)
    one_line_error(nbgit(clone, "sync", "--all"), "a.py", "outside the repository")
    assert_untouched(outside, before)
    assert not (outside / "new").exists()


def test_a_notebook_that_is_a_symlink_out_of_the_repository_is_never_read(tmp_path: Path, outside: Path) -> None:
    (outside / "real.ipynb").write_bytes(notebook(["# Outside", SECRET]))
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING}, {"nb.ipynb": "../outside/real.ipynb"})
    before = files_under(outside)
    for command in (("sync", "--all"), ("pair", "nb.ipynb"), ("check", "--all", "--fix")):
        done = nbgit(clone, *command, env={**os.environ, "CI": "1"})
        said = (done.stdout + done.stderr).decode()
        assert "secret-from-outside" not in said and "Traceback" not in said and "internal error" not in said, said
        assert done.returncode in (1, 2) and "nb.ipynb" in said and "outside the repository" in said, (command, said)
    assert_untouched(outside, before)
    assert not (clone / "nb.py").exists()


def test_check_never_reads_a_notebook_linked_out_of_the_repository(tmp_path: Path, outside: Path) -> None:
    dirty = json.loads(notebook(["# Outside", "x = 1"]))
    dirty["cells"][1].update(execution_count=3, outputs=[{"name": "stdout", "output_type": "stream", "text": "secret-from-outside\n"}])
    (outside / "real.ipynb").write_text(json.dumps(dirty))
    clone = stranger_clone(tmp_path, {"ok.ipynb": notebook(["# Fine", "y = 2"])}, {"nb.ipynb": "../outside/real.ipynb"})
    before = files_under(outside)
    for args in (("--all",), ("nb.ipynb",), ("--fix", "--all")):
        done = nbgit(clone, "check", *args, env={**os.environ, "CI": "1"})
        said = (done.stdout + done.stderr).decode()
        assert done.returncode == 1 and "nb.ipynb: a symlink that leads out of the repository: not read [invalid]" in said, said
        assert "not clean" not in said and "secret-from-outside" not in said
    assert_untouched(outside, before)


def test_a_twin_folder_that_is_a_symlink_out_of_the_repository_is_refused(tmp_path: Path, outside: Path) -> None:
    policy = PAIRING + '[pair.folders]\nnotebooks = "scripts"\n'
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "notebooks/a.ipynb": notebook(["# A", "x = 1"])}, {"scripts": "../outside"})
    before = files_under(outside)
    one_line_error(nbgit(clone, "sync", "--all"), "scripts/a.py", "outside the repository")
    assert_untouched(outside, before)


def test_a_symlink_inside_the_repository_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    """A twin linked to another file of the same work tree is read and written through the link."""
    files = {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"]), "scripts/README": "twins live here\n"}
    clone = stranger_clone(tmp_path, files, {"a.py": "scripts/a_twin.py"})
    done = nbgit(clone, "sync", "--all")
    assert (done.returncode, done.stdout) == (0, b"created a.py from a.ipynb\n"), done.stderr.decode()
    assert (clone / "a.py").is_symlink() and "x = 1" in (clone / "scripts/a_twin.py").read_text()
    (clone / "scripts/a_twin.py").write_text((clone / "scripts/a_twin.py").read_text().replace("x = 1", "x = 2"))
    done = nbgit(clone, "sync", "--all")
    assert done.returncode == 0, done.stderr.decode()
    assert '"x = 2"' in (clone / "a.ipynb").read_text()
    assert (clone / "a.py").is_symlink(), "the link is never replaced by a file"
    assert git(clone, "status", "--porcelain", "a.py").stdout == b""


@pytest.mark.parametrize(
    ("folders", "words"),
    [
        ('{notebooks = ".git"}', ["pair.folders", ".git"]),
        ('{".git" = "scripts"}', ["pair.folders", ".git"]),
        ('{notebooks = ".GIT"}', ["pair.folders", ".GIT"]),
        ('{notebooks = "a\\u0000b"}', ["pair.folders", "\\x00"]),
        ('{notebooks = ".."}', ["pair.folders", ".."]),
        ('{notebooks = "/etc"}', ["pair.folders", "/etc"]),
        ('{notebooks = "a/../.."}', ["pair.folders"]),
    ],
)
def test_pair_folders_never_name_git_or_leave_the_repository(tmp_path: Path, folders: str, words: list[str]) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": f"{PAIRING}folders = {folders}\n", "notebooks/a.ipynb": notebook(["# A", "x = 1"])})
    for command in (("sync", "--all"), ("pair", "notebooks"), ("check", "--all")):
        one_line_error(nbgit(clone, *command), *words)
    assert files_under(clone / ".git" / "notebooks") == {} and git(clone, "status", "--porcelain").stdout == b""


def test_a_directory_at_the_twins_path_is_one_error_and_the_walk_goes_on(tmp_path: Path) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"]), "a.py/README": "a folder\n", "b.ipynb": notebook(["# B", "y = 1"])})
    for command in (("sync", "--all"), ("check", "--all", "--fix")):
        done = nbgit(clone, *command, env={**os.environ, "CI": "1"})
        said = (done.stdout + done.stderr).decode()
        assert done.returncode in (1, 2) and "Traceback" not in said and "internal error" not in said, said
        assert "a.py" in said and "directory" in said, said
    assert (clone / "b.py").is_file(), "the other pair is synced"


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[callable]:
    """Make a folder read-only, for root too (`chattr +i`), undone at the end; skips where neither works."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
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
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def test_a_read_only_folder_during_sync_is_one_error_and_the_walk_goes_on(tmp_path: Path, read_only: callable) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "locked/a.ipynb": notebook(["# A", "x = 1"]), "b.ipynb": notebook(["# B", "y = 1"])})
    read_only(clone / "locked")
    done = nbgit(clone, "sync", "--all")
    err = one_line_error(done, "locked/a.py")
    assert len([line for line in err.splitlines() if line.startswith("nbgit: error:")]) == 1
    assert (clone / "b.py").is_file() and b"created b.py from b.ipynb" in done.stdout
    assert not (clone / "locked/a.py").exists()
    assert list(clone.rglob("*.nbgit-tmp")) == []


@pytest.mark.parametrize("policy", [PAIRING, ""])
@pytest.mark.parametrize("formats", ["ipynb,../outside//py:percent", "ipynb,.git/hooks//py:percent", "ipynb,sub/.Git//py"])
def test_a_notebooks_own_formats_never_lead_out_of_the_work_tree_or_into_git(tmp_path: Path, outside: Path, formats: str, policy: str) -> None:
    hostile = notebook(["# Hi", "x = 1"], {"jupytext": {"formats": formats}})
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "nb.ipynb": hostile})
    before = files_under(outside)
    for command in (("sync", "--all"), ("sync", "nb.ipynb"), ("pair", "nb.ipynb")):
        err = one_line_error(nbgit(clone, *command), "nb.ipynb")
        assert "metadata.jupytext.formats" in err or ".git" in err, err
    assert_untouched(outside, before)
    assert not list((clone / ".git" / "hooks").glob("nb.*")) and git(clone, "status", "--porcelain", "--ignored").stdout == b""


def test_fifos_named_like_a_pair_never_block_sync_or_check(tmp_path: Path) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"])})
    for name in ("a.py", "b.py", "c.ipynb"):
        os.mkfifo(clone / name)
    for command in (("sync", "--all"), ("check", "--all"), ("pair", "."), ("sync", "a.ipynb")):
        try:
            done = subprocess.run([str(Path(os.environ["PATH"].split(os.pathsep)[0]) / "nbgit"), *command], cwd=clone, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"nbgit {' '.join(command)} blocked on a FIFO")
        said = (done.stdout + done.stderr).decode()
        assert "Traceback" not in said and "internal error" not in said, said
        if command[0] != "check":
            assert done.returncode == 2 and "a.py: not a regular file" in said, (command, said)
