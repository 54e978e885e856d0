"""Hostile repositories: what a stranger's clone can hold, and what nbgit does with it.

Everything inside a repository is untrusted input: notebook metadata, the policy, file names,
symlinks, folders. Each case is a real repository committed with plain git (no nbgit: an attacker
has none) and cloned for real; nbgit runs in the clone. nbgit must never read or write outside the
work tree, never write into `.git/`, and answer each case with one line naming the file (exit 2 at
worst, never 70, never a traceback) while the rest of the work goes on.

One section per area; add new cases to the section of the code they exercise.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import NBGIT, copy_in, git, nbgit, rerunnable, within

from nbgit.clean import clean_bytes
from nbgit.notebook import Notebook, parse, serialise
from nbgit.policy import Policy

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


@pytest.mark.parametrize("checkout", ["submodule-checked-out", "submodule-not-checked-out", "folder-linked-into-a-submodule"])
def test_a_twin_folder_in_a_submodule_is_refused(tmp_path: Path, checkout: str) -> None:
    """`pair.folders` naming a submodule's folder (or a folder linked into one) made sync, pair and
    `check --fix` write twins into the submodule: another repository's tree, where git tracks nothing
    of this one's (`git add scripts/a.py`: "is in submodule")."""
    library = tmp_path / "library"
    library.mkdir()
    git(library, "init", "-q", "-b", "main")
    (library / "README").write_text("their library\n")
    git(library, "add", "README")
    git(library, *PLAIN, "commit", "-q", "-m", "library")
    linked = checkout == "folder-linked-into-a-submodule"
    policy = PAIRING + f'[pair.folders]\nnotebooks = "{"scripts" if linked else "vendor"}"\n'
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "notebooks/a.ipynb": notebook(["# A", "x = 1"])}, {"scripts": "vendor"} if linked else None)
    origin = tmp_path / "stranger"
    git(origin, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "vendor")
    git(origin, *PLAIN, "commit", "-q", "-m", "vendored")
    git(clone, "pull", "-q")
    if checkout != "submodule-not-checked-out":
        git(clone, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init")
    before = files_under(clone / "vendor")
    for command in (("sync", "--all"), ("pair", "notebooks")):
        one_line_error(nbgit(clone, *command), f"{'scripts' if linked else 'vendor'}/a.py", "lies in another repository (the submodule or clone at vendor)")
    done = nbgit(clone, "check", "--all", "--fix")
    assert done.returncode == 1 and "lies in another repository" in done.stdout.decode() and "[unsynced]" in done.stdout.decode(), done.stdout.decode()
    assert files_under(clone / "vendor") == before, "nothing is written into the submodule"


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


@pytest.mark.parametrize("command", [("sync", "--all"), ("sync", "--all", "--take", "notebook"), ("sync", "--all", "--take", "text"), ("check", "--fix")])
def test_a_twin_linked_to_a_notebook_never_overwrites_a_notebook(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A twin that is a symlink to its own notebook, or to another one: the notebook's JSON would be
    read as the twin's text and a notebook overwritten with text (or with a cell holding its own JSON)."""
    files = {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"]), "b.ipynb": notebook(["# B", "y = 2"])}
    clone = stranger_clone(tmp_path, files, {"a.py": "a.ipynb", "b.py": "a.ipynb"})
    before = files_under(clone)
    done = nbgit(clone, *command)
    said = (done.stdout + done.stderr).decode()
    assert done.returncode in (1, 2) and "Traceback" not in said, said
    assert "a.py: leads to a notebook (a.ipynb)" in said and "b.py: leads to a notebook (a.ipynb)" in said, said
    after = files_under(clone)
    assert {name: after.get(name) for name in before} == before, "no notebook is rewritten"
    assert {name for name in set(after) - set(before) if not name.startswith(".git/")} == set(), "nothing is created from a notebook's JSON"


def test_a_twin_linked_to_another_pairs_twin_never_carries_one_notebook_into_the_other(tmp_path: Path) -> None:
    """b.py is a symlink to a.py, the twin of a.ipynb: syncing b.ipynb would write a.py, and the next
    sync would then rewrite a.ipynb with b.ipynb's cells. Both pairs are errors naming the other notebook."""
    files = {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"]), "b.ipynb": notebook(["# A", "x = 1"])}
    clone = stranger_clone(tmp_path, files, {"b.py": "a.py"})
    assert nbgit(clone, "sync", "a.ipynb").returncode == 0  # a.py written, committed in step with both notebooks
    git(clone, "add", "-A")
    git(clone, *PLAIN, "commit", "-q", "-m", "twins")
    a_before = (clone / "a.ipynb").read_bytes()
    (clone / "b.ipynb").write_bytes(notebook(["# B", "x = 1"]))
    for _ in range(2):
        err = one_line_error(nbgit(clone, "sync", "--all"), "b.py: the twin of b.ipynb is one file with the twin of a.ipynb", "a.py: the twin of a.ipynb is one file with the twin of b.ipynb")
        assert "Traceback" not in err
    assert (clone / "a.ipynb").read_bytes() == a_before, "b.ipynb's edit never reaches a.ipynb"
    assert "# A" in (clone / "a.py").read_text()


def test_a_twin_reached_through_a_symlink_is_not_taken_for_a_notebook_to_create(tmp_path: Path) -> None:
    """a.py links to scripts/a_twin.py: that file is a.ipynb's twin, not the twin of a missing
    scripts/a_twin.ipynb, which sync would create (a second notebook sharing a.ipynb's twin)."""
    files = {".nbgit.toml": PAIRING, "a.ipynb": notebook(["# A", "x = 1"]), "scripts/README": "twins live here\n"}
    clone = stranger_clone(tmp_path, files, {"a.py": "scripts/a_twin.py"})
    for said in (b"created a.py from a.ipynb\n", b""):
        done = nbgit(clone, "sync", "--all")
        assert (done.returncode, done.stdout) == (0, said), done.stderr.decode()
    assert not (clone / "scripts/a_twin.ipynb").exists()


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


def test_the_jupytext_config_install_writes_holds_the_policys_names_and_nothing_more(tmp_path: Path) -> None:
    """jupytext.toml is written from the stranger's policy: a quote in a mirror folder's name broke the
    TOML for jupytext, and a quote and newline in a key path added a setting of their own to it."""
    folder, key = 'note"books', 'x"\nnotebook_metadata_filter = "-all"\n#'
    policy = f"extra_keys = {json.dumps(['cell.metadata.' + key])}\n{PAIRING}folders = {{{json.dumps(folder)} = \"scripts\"}}\n"
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "notebooks/a.ipynb": notebook(["# A", "x = 1"])})
    assert nbgit(clone, "install", "--no-hooks").returncode == 0
    import tomllib

    config = tomllib.loads((clone / "jupytext.toml").read_text())
    assert sorted(config) == ["cell_metadata_filter", "formats"]
    assert config["formats"] == f"{folder}///ipynb,scripts///auto:percent"
    assert f"-{key}" in config["cell_metadata_filter"].split(",")


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


# --- files on disk and the one-shot commands: symlinks, FIFOs, races, closed pipes, full disks, signals ---
# (nbgit clean, nbgit check's walk, nbgit diff -o; notebooks built here, so no corpus is needed)


def dirty_notebook(cells: int = 3, output: str = "42", **metadata: Any) -> bytes:
    """A dirty v4.5 notebook: every code cell ran and keeps an output, as Jupyter saves it."""
    content = {
        "cells": [
            {"cell_type": "code", "execution_count": n + 1, "id": f"c{n}", "metadata": {"scrolled": True},
             "outputs": [{"name": "stdout", "output_type": "stream", "text": [output]}], "source": [f"print({n})"]}
            for n in range(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, **metadata},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(content, indent=1).encode() + b"\n"


DIRTY = dirty_notebook()
CLEANED = clean_bytes(DIRTY, "x.ipynb", Policy())


def leftovers(folder: Path) -> list[Path]:
    """Temporary files nbgit left behind anywhere below `folder`."""
    return sorted(folder.rglob("*.nbgit-tmp"))


def only_errors(stderr: bytes) -> list[str]:
    """stderr's lines, each checked to be nbgit's own (never a traceback or an internal error)."""
    lines = stderr.decode().splitlines()
    assert "Traceback" not in stderr.decode() and "internal error" not in stderr.decode(), lines
    return lines


# Paused runs: nbgit's own main() in a child process that stops at one function, so that the test can
# act at exactly that moment (an editor saving, a signal arriving) instead of hoping for the timing.
PAUSED = """
import importlib, sys
where, name = sys.argv[1].rsplit(".", 1)
module = importlib.import_module(where)
real = getattr(module, name)
def paused(*args, **kwargs):
    sys.__stdout__.write("paused\\n")
    sys.__stdout__.flush()
    sys.stdin.readline()
    return real(*args, **kwargs)
setattr(module, name, paused)
from nbgit.cli import main
sys.exit(main(sys.argv[2:]))
"""


def start_paused(cwd: Path, at: str, *args: str) -> subprocess.Popen[bytes]:
    """Start `nbgit ARGS` and return once it is stopped on entering `at` (`module.function`)."""
    child = subprocess.Popen([sys.executable, "-c", PAUSED, at, *args], cwd=cwd,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"paused\n"
    return child


def resume(child: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """Let a paused run go on; its exit code and stderr."""
    _, stderr = child.communicate(b"\n", timeout=60)
    return child.returncode, stderr


def test_clean_writes_through_a_symlink_inside_the_repository(repo: Path) -> None:
    """nbdev links getting_started.ipynb to index.ipynb: cleaning the link cleans index.ipynb, the link stays."""
    (repo / "index.ipynb").write_bytes(DIRTY)
    (repo / "getting_started.ipynb").symlink_to("index.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "nbdev layout")
    for args in (["getting_started.ipynb"], ["."]):
        (repo / "index.ipynb").write_bytes(DIRTY)
        done = nbgit(repo, "clean", *args)
        assert done.returncode == 0, done.stderr
        assert (repo / "getting_started.ipynb").is_symlink()
        assert os.readlink(repo / "getting_started.ipynb") == "index.ipynb"
        assert (repo / "index.ipynb").read_bytes() == CLEANED
        assert git(repo, "status", "--porcelain").stdout.decode() == " M index.ipynb\n"
        assert leftovers(repo) == []


def test_clean_refuses_symlinks_that_leave_the_work_tree(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.ipynb"
    outside.write_bytes(DIRTY)
    (repo / "out.ipynb").symlink_to(outside)
    (repo / "config.ipynb").symlink_to(".git/config")
    (repo / "mine.ipynb").write_bytes(DIRTY)
    config = (repo / ".git/config").read_bytes()
    done = nbgit(repo, "clean", ".")
    assert done.returncode == 2
    lines = only_errors(done.stderr)
    assert lines == [
        f"nbgit: error: config.ipynb: a symbolic link to {repo / '.git/config'}, inside .git; not followed",
        "hint: replace the link with the file itself, or run nbgit where the file really lives",
        f"nbgit: error: out.ipynb: a symbolic link to {outside}, outside the repository's work tree; not followed",
        "hint: replace the link with the file itself, or run nbgit where the file really lives",
    ]
    assert outside.read_bytes() == DIRTY and (repo / ".git/config").read_bytes() == config
    assert (repo / "out.ipynb").is_symlink() and (repo / "config.ipynb").is_symlink()
    assert (repo / "mine.ipynb").read_bytes() == CLEANED, "the other notebooks are still cleaned"


def test_diff_output_onto_links_and_descriptors(repo: Path, tmp_path: Path) -> None:
    """`nbgit diff -o`: a link inside the repository is written through, one leading out is refused,
    descriptors and devices (`/dev/stdout`, `/proc/self/fd/1`, `/dev/full`) are written into, never replaced."""
    (repo / "a.ipynb").write_bytes(CLEANED)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a")
    (repo / "a.ipynb").write_bytes(dirty_notebook(cells=4))
    report = nbgit(repo, "diff").stdout
    assert b"a.ipynb" in report

    (repo / "reports").mkdir()
    (repo / "latest.txt").symlink_to("reports/2024.txt")
    done = nbgit(repo, "diff", "-o", "latest.txt")
    assert done.returncode == 0, done.stderr
    assert (repo / "latest.txt").is_symlink() and (repo / "reports/2024.txt").read_bytes() == report

    elsewhere = tmp_path / "elsewhere.txt"
    (repo / "away.txt").symlink_to(elsewhere)
    done = nbgit(repo, "diff", "-o", "away.txt")
    assert done.returncode == 2 and not elsewhere.exists()
    assert only_errors(done.stderr)[0].endswith("outside the repository's work tree; not followed")

    for descriptor in ("/dev/stdout", "/proc/self/fd/1"):
        done = nbgit(repo, "diff", "-o", descriptor)  # stdout is a pipe here
        assert (done.returncode, done.stdout) == (0, report), done.stderr
    assert os.path.islink("/dev/stdout")
    with open(tmp_path / "log.txt", "wb") as log:
        log.write(b"earlier\n")
        log.flush()
        done = subprocess.run([str(NBGIT), "diff", "-o", "/dev/stdout"], cwd=repo, stdout=log, stderr=subprocess.PIPE)
    assert done.returncode == 0 and (tmp_path / "log.txt").read_bytes() == b"earlier\n" + report

    done = nbgit(repo, "diff", "-o", "/dev/full")
    assert done.returncode == 2
    assert only_errors(done.stderr) == ["nbgit: error: /dev/full: cannot write (No space left on device)",
                                        "hint: free some space and run it again; the file was left as it was"]
    assert leftovers(repo) == []


def test_fifos_are_not_notebooks(repo: Path) -> None:
    """A FIFO named *.ipynb would block whoever opens it: folder walks skip it, naming it is an error."""
    os.mkfifo(repo / "pipe.ipynb")
    (repo / "dirty.ipynb").write_bytes(DIRTY)
    check = subprocess.run([str(NBGIT), "check", "."], cwd=repo, capture_output=True, timeout=60)
    assert check.returncode == 1 and b"dirty.ipynb" in check.stdout and b"pipe.ipynb" not in check.stdout
    clean = subprocess.run([str(NBGIT), "clean", "."], cwd=repo, capture_output=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert (repo / "dirty.ipynb").read_bytes() == CLEANED
    for name, kind in (("pipe.ipynb", "a FIFO (named pipe)"), ("/dev/null", "a character device")):
        for command in ("clean", "check"):
            done = subprocess.run([str(NBGIT), command, name], cwd=repo, capture_output=True, timeout=60)
            assert done.returncode == 2
            assert only_errors(done.stderr) == [f"nbgit: error: {name}: {kind}, not a notebook file",
                                                "hint: name notebook files or folders that hold them"]


def test_a_read_limit_bounds_what_is_read_not_what_is_allocated(tmp_path: Path) -> None:
    """`files.read_file` with a limit of 4 GiB reads a small file in a process that may not map 1 GiB
    (as under `ulimit -v`, or with strict overcommit): its buffer is sized by the file."""
    (tmp_path / "small").write_bytes(b"x" * 100)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); from pathlib import Path; "
            "from nbgit.files import read_file; print(len(read_file(Path(sys.argv[1]), 4 << 30).data))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "small")], capture_output=True, timeout=60, check=False)
    assert done.stdout == b"100\n", done.stderr.decode()


def test_reading_a_folder_is_an_error_naming_it_that_keeps_nothing_open(tmp_path: Path) -> None:
    """`files.read_file` of a folder (which opens, as a FIFO does) is its NbgitError naming a folder,
    as its callers expect (`.git/nbgit-pairs.json` made a folder is no cache), not a file object's
    IsADirectoryError; and no descriptor is left open, however often it is asked."""
    from nbgit.errors import NbgitError
    from nbgit.files import read_file

    descriptors = Path("/proc/self/fd")
    opened = len(list(descriptors.iterdir())) if descriptors.is_dir() else 0
    for _ in range(3):
        with pytest.raises(NbgitError, match="a folder, not a notebook file"):
            read_file(tmp_path, 1 << 20)
    assert (len(list(descriptors.iterdir())) if descriptors.is_dir() else 0) == opened


def test_clean_keeps_an_edit_saved_while_it_runs(repo: Path) -> None:
    """An editor saves between nbgit's read and its write: the edit stays, nbgit says so and exits 2."""
    path = repo / "edited.ipynb"
    path.write_bytes(DIRTY)
    (repo / "other.ipynb").write_bytes(DIRTY)
    child = start_paused(repo, "nbgit.commands.clean.clean_bytes", "clean", "edited.ipynb", "other.ipynb")
    edit = dirty_notebook(cells=5, output="the user's new result")
    path.write_bytes(edit)  # saved in place, as Jupyter does
    code, stderr = resume(child)
    assert path.read_bytes() == edit
    assert code == 2
    assert only_errors(stderr) == [
        "nbgit: error: edited.ipynb: changed on disk while nbgit was working on it; left as it is now",
        "hint: run the command again to include the newer content",
    ]
    assert (repo / "other.ipynb").read_bytes() == CLEANED
    assert leftovers(repo) == []
    assert nbgit(repo, "clean", "edited.ipynb").returncode == 0
    assert path.read_bytes() == clean_bytes(edit, "x", Policy())


def test_a_notebook_replaced_by_a_folder_while_clean_runs_is_one_error_and_the_walk_goes_on(repo: Path) -> None:
    """Between the walk and the read, a notebook becomes a folder of its name: opening a folder works, so
    the read itself must tell (it wrapped the descriptor first, which raised IsADirectoryError)."""
    (repo / "a.ipynb").write_bytes(DIRTY)
    (repo / "b.ipynb").write_bytes(DIRTY)
    child = start_paused(repo, "nbgit.files.read_file", "clean", "a.ipynb", "b.ipynb")
    (repo / "a.ipynb").unlink()
    (repo / "a.ipynb").mkdir()
    code, stderr = resume(child)
    assert code == 2
    assert only_errors(stderr) == ["nbgit: error: a.ipynb: a folder, not a notebook file",
                                   "hint: name notebook files or folders that hold them"]
    assert (repo / "b.ipynb").read_bytes() == CLEANED


@pytest.mark.parametrize(("command", "reader"), [
    (["clean", "--check", "."], "head -1"),
    (["clean", "--check", "."], "(exec <&-; sleep 1)"),
    (["check", "."], "(exec <&-; sleep 1)"),
])
def test_a_reader_that_leaves_does_not_turn_a_failure_into_success(repo: Path, command: list[str], reader: str) -> None:
    """`nbgit clean --check . | head -1` under pipefail: the verdict (1) survives the closed pipe."""
    (repo / "many.ipynb").write_bytes(dirty_notebook(cells=20_000))  # a megabyte of findings: more than a pipe holds
    for n in range(60):  # and more `nbgit check` findings than one write buffer
        (repo / f"{'a-notebook-with-a-long-name-' * 4}{n}.ipynb").write_bytes(DIRTY)
    script = f"set -o pipefail; {NBGIT} {' '.join(command)} | {reader}"
    done = subprocess.run(["bash", "-c", script], cwd=repo, capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == (1 if reader.startswith("head") else 0)
    assert b"Error" not in done.stderr and b"Traceback" not in done.stderr


def without_read_override() -> list[str]:
    """A command prefix under which file permissions hold (root reads anything unless it drops that power)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_an_unreadable_notebook_is_one_error_and_the_walk_goes_on(repo: Path) -> None:
    locked = repo / "a-locked.ipynb"
    locked.write_bytes(DIRTY)
    locked.chmod(0)
    (repo / "b-dirty.ipynb").write_bytes(DIRTY)
    done = subprocess.run([*without_read_override(), str(NBGIT), "clean", "."], cwd=repo, capture_output=True)
    assert done.returncode == 2
    assert only_errors(done.stderr) == ["nbgit: error: a-locked.ipynb: cannot read (Permission denied)",
                                        "hint: check the file's and its folder's permissions"]
    assert (repo / "b-dirty.ipynb").read_bytes() == CLEANED
    check = subprocess.run([*without_read_override(), str(NBGIT), "check", "."], cwd=repo, capture_output=True)
    assert check.returncode == 1 and b"a-locked.ipynb: cannot be read (Permission denied) [invalid]" in check.stdout
    only_errors(check.stderr)


def test_a_full_disk_is_one_error_naming_the_file(repo: Path) -> None:
    """A write that the disk refuses (here a file-size limit: EFBIG, as ENOSPC would be) leaves the file whole."""
    big = repo / "a-big.ipynb"
    big.write_bytes(dirty_notebook(cells=2000))
    before = big.read_bytes()
    assert len(clean_bytes(before, "x", Policy())) > 200_000
    (repo / "b-small.ipynb").write_bytes(DIRTY)

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    done = subprocess.run([str(NBGIT), "clean", "."], cwd=repo, capture_output=True, preexec_fn=limit_file_size)
    assert done.returncode == 2
    assert only_errors(done.stderr) == [
        "nbgit: error: a-big.ipynb: cannot write (File too large)",
        "hint: the file is larger than this process may write (ulimit -f); the file was left as it was",
    ]
    assert big.read_bytes() == before and leftovers(repo) == []
    assert (repo / "b-small.ipynb").read_bytes() == CLEANED


@pytest.mark.parametrize("depth", [900, 5000])
def test_deeply_nested_metadata_is_judged_not_a_crash(repo: Path, depth: int) -> None:
    deep = '{"a": ' * depth + "1" + "}" * depth
    data = CLEANED.replace(b'"metadata": {', b'"metadata": {\n  "deep": ' + deep.encode() + b",", 1)
    (repo / "deep.ipynb").write_bytes(data)
    git(repo, "add", "deep.ipynb")
    for args in (["check", "deep.ipynb"], ["check", "--staged"], ["check", "--all"], ["clean", "deep.ipynb"], ["diff"]):
        done = nbgit(repo, *args)
        only_errors(done.stderr)
        assert done.returncode in (0, 1), (args, done.stderr)
        if depth == 5000 and args[0] == "check":
            assert b"deep.ipynb: JSON nested too deeply [invalid]" in done.stdout


def test_sigterm_during_the_write_leaves_no_temporary_file(repo: Path) -> None:
    """Stopped just before the rename, with the temporary file complete: SIGTERM removes it."""
    path = repo / "nb.ipynb"
    path.write_bytes(DIRTY)
    child = start_paused(repo, "os.replace", "clean", "nb.ipynb")
    assert [p.name for p in leftovers(repo)] == [f".nb.ipynb.{child.pid}.nbgit-tmp"]
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM
    assert only_errors(stderr) == ["nbgit: stopped by SIGTERM"]
    assert leftovers(repo) == [] and path.read_bytes() == DIRTY


def test_sigterm_at_any_moment_leaves_whole_files_and_no_temporary_ones(repo: Path) -> None:
    """Real signals at random moments of a real run: each notebook is either as it was or cleaned."""
    big = dirty_notebook(cells=3000, output="x" * 200)
    cleaned = clean_bytes(big, "x", Policy())
    chance = random.Random(16)
    for _ in range(8):
        for n in range(4):
            (repo / f"nb{n}.ipynb").write_bytes(big)
        child = subprocess.Popen([str(NBGIT), "clean", "."], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(chance.uniform(0.05, 0.6))
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
        # 0: done before the signal; 143: stopped by nbgit's handler; -15: killed before Python had set it up
        assert child.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), stderr
        assert leftovers(repo) == []
        assert all((repo / f"nb{n}.ipynb").read_bytes() in (big, cleaned) for n in range(4))


def test_sigterm_to_a_parallel_check_ends_it_promptly(repo: Path) -> None:
    """The whole process group signalled (as a terminal or CI runner does) while worker processes start or judge."""
    for n in range(300):
        (repo / f"nb{n}.ipynb").write_bytes(DIRTY)
    for delay in (0.2, 0.4, 0.6, 0.8, 1.0):
        child = subprocess.Popen([str(NBGIT), "check", "."], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 start_new_session=True)
        time.sleep(delay)
        os.killpg(child.pid, signal.SIGTERM)
        time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)  # and once more (a supervisor insisting): the cleanup goes on
        _, stderr = child.communicate(timeout=60)  # never waits on a worker that will not come back
        assert child.returncode in (1, 128 + signal.SIGTERM, -signal.SIGTERM), stderr
        only_errors(stderr)


# One process per moment: a real signal raised at the n-th Python call of some loading, under nbgit's
# own handlers (`run_guarded`). Python runs a handler there, also inside an import: msgspec's C
# start-up took nbgit's exception for a failed import of its own, lost the signal and crashed the
# process at its first typed decoder (SIGSEGV, seen in CI); a class body turned it into a RuntimeError
# (an internal error, exit 70); importlib's callbacks dropped it.
SIGNAL_WHILE_LOADING = """
import os, signal, sys
from nbgit import cli

code, number = sys.argv[1], getattr(signal, sys.argv[2])

def calls_made(at):
    calls = 0
    def hook(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1
            if calls == at:
                signal.raise_signal(number)
    sys.setprofile(hook)
    try:
        exec(code, {})
    finally:
        if sys.getprofile() is hook:
            sys.setprofile(None)
    return calls

def outcome(at):
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        made = []
        status = cli.run_guarded(lambda: made.append(calls_made(at)) or 0)
        os._exit(status or (99 if made[0] >= at else 0))  # 99: the signal was lost; 0: the loading ended before
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

reading, writing = os.pipe()
if os.fork() == 0:
    os.write(writing, str(calls_made(0)).encode())
    os._exit(0)
total = int(os.read(reading, 100))
moments = range(1, total + 1, max(1, total // 200))
print(total, len(moments), *sorted({outcome(at) for at in moments}))
"""
LOADING_MSGSPEC = """
from nbgit import fastjson
from nbgit.check import fingerprints
fastjson._load()
fingerprints._code_cells_fast(b'{"cells": [{"cell_type": "code", "source": "x", "metadata": {}}], "metadata": {}}')
"""


@pytest.mark.skipif(sys.platform != "linux", reason="forks a process per moment")
@pytest.mark.parametrize(
    ("code", "name", "status"),
    [
        (LOADING_MSGSPEC, "SIGTERM", 128 + 15),
        ("import nbgit.commands.check", "SIGHUP", 128 + 1),  # (what `nbgit check` loads before it reads a notebook)

        ("import ipaddress, uuid, platform", "SIGINT", 130),  # (class bodies whose __set_name__ wraps what they catch)
    ],
    ids=["msgspec", "check-command", "class-bodies"],
)
def test_a_signal_while_modules_load_stops_the_command_once_they_have(code: str, name: str, status: int) -> None:
    """Every moment sampled: the command stops by the signal with its own exit code (never loses it,
    never reports an internal error, never crashes)."""
    if "msgspec" in code:
        pytest.importorskip("msgspec")
    # (-B: every process loads the same way; one writing bytecode would make Python calls the others do not)
    done = subprocess.run([sys.executable, "-B", "-c", SIGNAL_WHILE_LOADING, code, name], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    total, sampled, *outcomes = map(int, done.stdout.split())
    assert total > 1000 and sampled >= 200  # (each loading runs thousands of Python calls)
    assert set(outcomes) - {0} == {status}, done.stdout  # 99: signal lost; 70: internal error; negative: killed (-11: crashed)


WRAPPED_BY_A_CLASS_BODY = """
import signal, sys
from nbgit import cli

class Named:
    def __set_name__(self, owner, name):
        signal.raise_signal(signal.SIGTERM)
        self.name = name  # (the handler runs here: Python wraps what it raises in a RuntimeError)

def work():
    type("Made", (), {"field": Named()})  # a class made while the command runs, not by an import
    return 0

sys.exit(cli.run_guarded(work))
"""


def test_a_signal_wrapped_in_another_error_still_stops_the_command() -> None:
    done = subprocess.run([sys.executable, "-c", WRAPPED_BY_A_CLASS_BODY], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (128 + signal.SIGTERM, b"nbgit: stopped by SIGTERM\n")


# --- what git runs, policies, names, terminals and reports (filter, drivers, hooks, check, diff) -------

FILTER = NBGIT.with_name("nbgit-filter-process")


def run_notebook(*sources: str, outputs: bool = True, count: int | None = 1, metadata: dict | None = None) -> bytes:
    """A small nbformat 4.5 notebook, one code cell per source, as Jupyter writes it."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": count,
            "id": f"cell{k}",
            "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"out {k}\n"]}] if outputs else [],
            "source": source,
        }
        for k, source in enumerate(sources)
    ]
    content = {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def installed(repo: Path, *options: str) -> Path:
    done = nbgit(repo, "install", *options)
    assert done.returncode == 0, done.stderr.decode()
    return repo


def git_within(seconds: float, repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Real git that must finish within `seconds`: a hang fails the test, killing git with the filters,
    drivers and hooks it started (conftest's `within`)."""
    return within(seconds, repo, "git", *args)


def nbgit_within(seconds: float, repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real CLI, which must finish within `seconds` (conftest's `within`)."""
    return within(seconds, repo, str(NBGIT), *args)


def test_a_command_past_its_time_is_killed_with_what_it_started(tmp_path: Path) -> None:
    """`git_within` (and `nbgit_within`) killed only git on a timeout: what git had started (a hook, a
    driver, a filter) ran on after the test, holding the files it had open."""
    started = tmp_path / "started"
    with pytest.raises(pytest.fail.Exception, match="took more than"):
        git_within(2, tmp_path, "-c", f"alias.hang=!echo $$ > {started}; exec sleep 60", "hang")
    pid = int(started.read_text())
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid), "what git started runs on"


def _running(pid: int) -> bool:
    """Whether the process `pid` runs (a zombie left for a parent that never reaps it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def blob(repo: Path, spec: str) -> bytes:
    return git(repo, "cat-file", "blob", spec).stdout


# Policies git meets inside a clone. None may stop git: the filter completes its handshake, warns once
# and git stores notebooks unchanged.
BROKEN_POLICIES = {
    "tool-not-a-table": ("pyproject.toml", 'tool = "oops"\n'),
    "tool-nbgit-not-a-table": ("pyproject.toml", '[tool]\nnbgit = "oops"\n'),
    "not-toml": (".nbgit.toml", "outputs = = 'keep'\n"),
    "nested-too-deeply": (".nbgit.toml", "x = " + "[" * 20_000 + "]" * 20_000 + "\n"),
    "unknown-key": (".nbgit.toml", "outputs_please = 'keep'\n"),
    "strips-sources": (".nbgit.toml", 'extra_keys = ["cell.source"]\n'),  # would commit cells without their code
    "strips-attachments": (".nbgit.toml", 'extra_keys = ["cell.metadata.tags", "cell.attachments"]\n'),
    "strips-an-attachment": (".nbgit.toml", 'extra_keys = ["cell.attachments.image.png"]\n'),  # a pasted image
}


def _write_policy(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)


def _unreadable_policy(repo: Path) -> None:
    """A policy file that cannot be read: no permission, or (as root, who may read anything) an I/O error."""
    policy = repo / ".nbgit.toml"
    if os.geteuid() == 0:
        policy.symlink_to("/proc/self/mem")  # a regular file whose read fails with EIO
    else:
        policy.write_text("outputs = 'keep'\n")
        policy.chmod(0)


def _git_survives_the_filter(repo: Path) -> None:
    """`git add`, `git diff`, `git commit -a` and `git stash` all work and store the notebook unchanged."""
    raw = run_notebook("print(1)")
    (repo / "a.ipynb").write_bytes(raw)
    done = git(repo, "add", "a.ipynb")
    warnings = [line for line in done.stderr.decode().splitlines() if line]
    assert len(warnings) == 1 and warnings[0].startswith("nbgit: warning: "), warnings
    assert not warnings[0].endswith("()")
    assert blob(repo, ":a.ipynb") == raw
    git(repo, "commit", "-q", "-m", "a")
    (repo / "a.ipynb").write_bytes(run_notebook("print(2)"))
    assert b"print(2)" in git(repo, "diff").stdout
    git(repo, "commit", "-q", "-a", "-m", "b")
    assert blob(repo, "HEAD:a.ipynb") == run_notebook("print(2)")
    (repo / "a.ipynb").write_bytes(run_notebook("print(3)"))
    git(repo, "stash")
    assert (repo / "a.ipynb").read_bytes() == run_notebook("print(2)")


@pytest.mark.parametrize("name", BROKEN_POLICIES)
def test_a_broken_policy_never_stops_git(repo: Path, name: str) -> None:
    installed(repo, "--no-hooks")
    _write_policy(repo, *BROKEN_POLICIES[name])
    _git_survives_the_filter(repo)


def test_an_unreadable_policy_never_stops_git(repo: Path) -> None:
    installed(repo, "--no-hooks")
    _unreadable_policy(repo)
    _git_survives_the_filter(repo)


@pytest.mark.parametrize("name", [".nbgit.toml", "pyproject.toml"])
def test_a_policy_linked_out_of_the_repository_is_never_read(repo: Path, tmp_path: Path, name: str) -> None:
    """A clone's policy may be a symlink to a file of yours (git itself ignores a linked .gitattributes):
    nbgit would obey it and show its values in errors. It is a broken policy, read neither by the
    filter nor textconv (whose memo would copy it into .git) nor the commands."""
    installed(repo, "--no-hooks")
    table = "tool.nbgit." if name == "pyproject.toml" else ""
    yours = tmp_path / "yours.toml"
    yours.write_text(("[tool.nbgit]\n" if table else "") + f'outputs = "keep"\n[{table}check]\ndisable = ["token-from-outside"]\n')
    (repo / name).symlink_to(yours)
    _git_survives_the_filter(repo)  # stored unchanged with a warning, as under any broken policy
    for args in (["check", "--all"], ["diff"], ["textconv", "a.ipynb"]):
        done = nbgit(repo, *args)
        said = (done.stdout + done.stderr).decode()
        assert "symbolic link" in said and "not followed" in said and "token-from-outside" not in said, (args, said)
    assert not (repo / ".git/nbgit/textconv-policy").exists()


@pytest.mark.parametrize("name", ["pyproject.toml", ".nbgit.toml"])
def test_a_policy_file_larger_than_a_policy_may_be_is_a_broken_policy(repo: Path, name: str) -> None:
    """A policy file of more than 1 MiB (valid TOML, naming nbgit) is not read: TOML at about 5 MB a second
    made an 18 MB pyproject.toml hold up every git command that starts the filter by seconds. The
    filter stores notebooks unchanged with one warning, `nbgit check` stops with one error naming the
    file and the way out, and textconv renders with the defaults; for pyproject.toml, a .nbgit.toml
    beside it is the way out (it is read instead)."""
    from nbgit.policy_files import MAX_POLICY_BYTES

    installed(repo, "--no-hooks")
    table = "tool.nbgit." if name == "pyproject.toml" else ""
    filler = "".join(f"# line {n:040} of a long comment\n" for n in range(MAX_POLICY_BYTES // 60))  # valid TOML, a valid policy
    text = f'{"[tool.nbgit]" if table else ""}\noutputs = "keep"\n[{table}check]\ndisable = ["untitled"]\n{filler}'
    assert len(text) > MAX_POLICY_BYTES
    _write_policy(repo, name, text)
    _git_survives_the_filter(repo)  # stored unchanged with a warning, as under any broken policy
    done = nbgit_within(60, repo, "check", "--all")
    said = one_line_error(done, f"nbgit: error: {name}: {len(text)} bytes, more than the 1 MiB a policy file may hold; not read", f"hint: shrink {name}")
    assert len(said.splitlines()) == 2
    shown = nbgit_within(60, repo, "textconv", "a.ipynb")
    assert shown.returncode == 0 and b"more than the 1 MiB" in shown.stderr and b"rendering with the default policy" in shown.stderr
    if name == "pyproject.toml":
        assert "or put nbgit's policy in .nbgit.toml" in said
        _write_policy(repo, ".nbgit.toml", "")
        assert nbgit_within(60, repo, "check", "--all").returncode in (0, 1)
        (repo / "b.ipynb").write_bytes(run_notebook("print(4)"))
        assert b"warning" not in git_within(60, repo, "add", "b.ipynb").stderr
        assert blob(repo, ":b.ipynb") != run_notebook("print(4)")  # cleaned again


def test_a_filter_whose_interpreter_cannot_import_nbgit_never_stops_git(repo: Path, tmp_path: Path) -> None:
    """The installed filter program run by an interpreter without nbgit (a virtualenv upgraded to
    another Python, an editable checkout moved away): it still answers git's handshake."""
    installed(repo, "--no-hooks")
    stranded = tmp_path / "nbgit-filter-process"
    lines = FILTER.read_text().splitlines(keepends=True)
    assert lines[0].startswith("#!")
    stranded.write_text(f"#!{sys.executable} -S\n" + "".join(lines[1:]))  # -S: no site-packages, so no nbgit
    stranded.chmod(0o755)
    git(repo, "config", "filter.nbgit.process", str(stranded))
    _git_survives_the_filter(repo)


def test_a_textconv_whose_interpreter_cannot_import_nbgit_never_stops_git_diff(repo: Path, tmp_path: Path) -> None:
    """The installed textconv (nbgit_textconv.py, run without site) where nbgit is not beside it:
    git diff goes on, showing the files as they are, with one warning per file saying what to do."""
    installed(repo, "--no-hooks")
    wired = shlex.split(git(repo, "config", "diff.nbgit.textconv").stdout.decode())
    stranded = tmp_path / "nbgit_textconv.py"
    entry = wired.index("-S") + 1
    stranded.write_bytes(Path(wired[entry]).read_bytes())  # alone: no nbgit in its folder, and no site-packages (-S)
    wired[entry] = str(stranded)
    git(repo, "config", "diff.nbgit.textconv", shlex.join(wired))
    (repo / "a.ipynb").write_bytes(run_notebook("print(1)"))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "a")
    (repo / "a.ipynb").write_bytes(run_notebook("print(2)"))
    done = git(repo, "diff")
    assert any(line.startswith("+") and "print(2)" in line for line in done.stdout.decode().splitlines())  # the JSON as it is
    warnings = done.stderr.decode().splitlines()
    assert warnings and all(line.startswith("nbgit: warning: textconv cannot load nbgit (ModuleNotFoundError") for line in warnings), warnings
    assert "Traceback" not in done.stderr.decode()


FAULTY_FILTER = """#!{python}
import sys
import nbgit.policy
def broken(root):
    raise {error}
nbgit.policy.load_policy = broken
import nbgit.filter
nbgit.filter.load_policy = broken
sys.exit(nbgit.filter.main())
"""


@pytest.mark.parametrize("error", ["AttributeError('a bug in nbgit')", "MemoryError()", "RecursionError()"])
def test_any_exception_while_loading_the_policy_is_caught_at_the_handshake(repo: Path, tmp_path: Path, error: str) -> None:
    installed(repo, "--no-hooks")
    faulty = tmp_path / "faulty-filter"
    faulty.write_text(FAULTY_FILTER.format(python=sys.executable, error=error))
    faulty.chmod(0o755)
    git(repo, "config", "filter.nbgit.process", str(faulty))
    _git_survives_the_filter(repo)


@pytest.mark.parametrize("name", ["tool-not-a-table", "not-toml"])
def test_the_one_shot_clean_filter_passes_notebooks_through_a_broken_policy(repo: Path, name: str) -> None:
    installed(repo, "--no-hooks")
    git(repo, "config", "--unset", "filter.nbgit.process")  # git runs `nbgit filter clean` per file
    _write_policy(repo, *BROKEN_POLICIES[name])
    raw = run_notebook("print(1)")
    done = nbgit(repo, "filter", "clean", "a.ipynb", input=raw)
    assert done.returncode == 0 and done.stdout == raw
    assert done.stderr.decode().count("nbgit: warning:") == 1
    _git_survives_the_filter(repo)


# A notebook with its outputs, as git reads it from the work tree: the filter keeps the outputs in the
# clone's store in time linear in the notebook (it took time quadratic in its cells).


def test_a_notebook_of_many_identical_cells_is_kept_and_restored_in_linear_time(repo: Path) -> None:
    installed(repo, "--no-hooks")
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": []}
    content = {"cells": [cell] * 60_000, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}  # 4.4: no cell ids
    raw = (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()
    (repo / "big.ipynb").write_bytes(raw)
    assert git_within(10, repo, "add", "big.ipynb").returncode == 0  # 29 s before: each cell copied the rest's places
    assert b'"execution_count": 1' not in blob(repo, ":big.ipynb")
    (repo / "big.ipynb").unlink()
    assert git_within(10, repo, "checkout", "--", "big.ipynb").returncode == 0
    assert (repo / "big.ipynb").read_bytes() == raw  # the execution counts are back, byte for byte


def test_a_notebook_of_many_top_level_keys_comes_back_cell_by_cell_in_linear_time(repo: Path, tmp_path: Path) -> None:
    """A teammate's change to a notebook that holds, beside 20,000 cells, 200,000 keys of its own at the
    top (6 MB): the checkout puts the outputs back cell by cell in seconds. Each cell was cleaned in a
    copy of the notebook's top level: 78 s."""
    installed(repo, "--no-hooks")
    cells = [{"cell_type": "code", "execution_count": k + 1, "id": f"c{k}", "metadata": {},
              "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"{k}\n"]}], "source": [f"x = {k}"]} for k in range(20_000)]
    content = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **{f"k{k:06d}": 0 for k in range(200_000)}}
    ran = (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()
    (repo / "big.ipynb").write_bytes(ran)
    git(repo, "add", "big.ipynb")
    git(repo, "commit", "-q", "-m", "ran")
    teammate = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(repo), str(teammate))
    (teammate / "big.ipynb").write_bytes(blob(repo, "HEAD:big.ipynb").replace(b'"x = 0"', b'"x = -1"'))
    git(teammate, "commit", "-q", "-am", "edited")
    git(repo, "fetch", "-q", str(teammate), "main:elsewhere")
    assert git_within(20, repo, "checkout", "-q", "elsewhere").returncode == 0
    back = json.loads((repo / "big.ipynb").read_bytes())["cells"]
    assert back[0]["outputs"] == [] and [cell["outputs"] for cell in back[1:]] == [cell["outputs"] for cell in cells[1:]]


@pytest.mark.parametrize("minor", [None, "5", [5], {"minor": 5}])
def test_a_notebook_whose_minor_version_is_no_number_costs_no_other_notebook_its_outputs(repo: Path, minor: Any) -> None:
    """A stranger's policy numbering ids (`ids = "sequential"`) and a notebook of theirs whose `nbformat_minor`
    is no number: it is cleaned as any minor that is not a number is read (0), never an internal error, and a
    merge bringing it in gives the user's other notebooks the outputs of their unchanged cells (the
    store was turned off for the rest of the merge, so those came out bare)."""
    installed(repo, "--no-hooks")
    (repo / ".nbgit.toml").write_text('ids = "sequential"\n')
    (repo / "a.ipynb").write_bytes(run_notebook("a = 1"))
    (repo / "b.ipynb").write_bytes(run_notebook("b = 1", "c = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "run here")
    git(repo, "checkout", "-q", "-b", "stranger")
    theirs = json.loads(blob(repo, "HEAD:a.ipynb"))
    theirs["nbformat_minor"] = minor
    mine = json.loads(blob(repo, "HEAD:b.ipynb"))
    mine["cells"][1]["source"] = ["c = 2"]
    for name, content in (("a.ipynb", theirs), ("b.ipynb", mine)):
        blob_bytes = (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
        git(repo, "update-index", "--cacheinfo", f"100644,{git(repo, 'hash-object', '-w', '--stdin', input=blob_bytes).stdout.decode().strip()},{name}")
    git(repo, *PLAIN, "commit", "-q", "-m", "the stranger's change")  # (their blobs, committed without the work tree)
    git(repo, "checkout", "-q", "-f", "main")
    assert b"out 0" in (repo / "b.ipynb").read_bytes()
    merged = git_within(60, repo, "merge", "-q", "stranger")
    said = merged.stderr.decode()
    assert merged.returncode == 0 and "internal error" not in said and "keeping outputs failed" not in said, said
    assert b"out 0" in (repo / "b.ipynb").read_bytes()  # the unchanged cell's output is back
    (repo / "a.ipynb").write_bytes(run_notebook("a = 1").replace(b'"nbformat_minor": 5', b'"nbformat_minor": ' + json.dumps(minor).encode()))
    added = git(repo, "add", "a.ipynb").stderr.decode()
    assert "internal error" not in added and b"out 0" not in blob(repo, ":a.ipynb"), added


# The store on a disk that takes no more: what it holds still comes back.


def _edited_as_jupyter_writes(data: bytes, cell: int, source: str) -> bytes:
    """`data` with one cell's source replaced and that cell's outputs and count cleared, as Jupyter writes it."""
    notebook = parse(data)
    notebook.content["cells"][cell].update(source=source, outputs=[], execution_count=None)
    return serialise(notebook)


UNWRITABLE_STORE = """#!{python}
import os, resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))  # files are read, none can be written (a full disk, a read-only one)
{forks}
from nbgit import filter
sys.exit(filter.main())
"""
NO_FORK = "del os.fork  # as where no process can be forked (Windows): the filter records in its own process"


def two_notebooks_run_and_committed(repo: Path) -> dict[str, bytes]:
    """nbgit installed, and two notebooks of two run cells each committed: their bytes by name."""
    installed(repo, "--no-hooks")
    ran = {name: run_notebook(f"{name[0]} = 1", f"{name[0]} = 2") for name in ("a.ipynb", "b.ipynb")}
    for name, data in ran.items():
        (repo / name).write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ran")
    return ran


@pytest.mark.parametrize("back", ["exactly", "cell by cell", "cell by cell, after a record failed"])
def test_a_store_that_takes_no_more_still_gives_back_what_it_holds(repo: Path, tmp_path: Path, back: str) -> None:
    """A full disk costs the versions it cannot keep, never the ones kept: a checkout writes what the
    store holds, exactly (also when a new policy has each record checked and stamped again) and cell
    by cell (when the result cannot be recorded for the next time; also after the checkout failed to
    record a notebook it read first, in a filter that records in its own process), for every notebook
    of the command, with one warning. A failed write used to cost them all: the checkout wrote every
    notebook without its outputs, and the next `git status` recorded those over the versions the store held."""
    ran = two_notebooks_run_and_committed(repo)
    if back == "exactly":  # a policy that cleans to the same blobs: every record is checked again before it is trusted
        for name in ran:
            (repo / name).unlink()  # (not read again by git before the checkout, which would record them anew)
        (repo / ".nbgit.toml").write_text('extra_keys = ["metadata.not_in_these_notebooks"]\n')
        git(repo, "add", ".nbgit.toml")
        git(repo, "commit", "-q", "-m", "policy")
        command, expected = ["checkout", "--", *ran], ran
    else:  # a teammate's commit: the second cell of each edited (blobs this clone never recorded)
        teammate = tmp_path / "teammate"
        git(tmp_path, "clone", "-q", str(repo), str(teammate))
        for name, data in ran.items():
            (teammate / name).write_bytes(clean_bytes(_edited_as_jupyter_writes(data, 1, "edited = 1"), name, Policy()))
        git(teammate, "commit", "-q", "-am", "edited")
        git(repo, "fetch", "-q", str(teammate), "main:elsewhere")
        command = ["checkout", "-q", "elsewhere"]
        expected = {name: _edited_as_jupyter_writes(data, 1, "edited = 1") for name, data in ran.items()}
        if back.endswith("after a record failed"):  # run again, as large: git reads it to see that it holds no change of its own
            (repo / "a.ipynb").write_bytes(ran["a.ipynb"].replace(b"out 0", b"out 9"))
    script = tmp_path / "unwritable-store.py"
    script.write_text(UNWRITABLE_STORE.format(python=sys.executable, forks=NO_FORK if back.endswith("after a record failed") else ""))
    script.chmod(0o755)
    store = {path: path.read_bytes() for path in (repo / ".git" / "nbgit" / "outputs").rglob("*") if path.is_file()}
    done = git(repo, "-c", f"filter.nbgit.process={script}", *command)
    assert {name: (repo / name).read_bytes() for name in ran} == expected
    warnings = only_errors(done.stderr)
    assert len(warnings) == 1 and warnings[0].startswith("nbgit: warning: ") and "File too large" in warnings[0], warnings
    assert {path: path.read_bytes() for path in store if path.exists()} == store  # (nothing written, nothing lost)
    assert git(repo, "status", "--porcelain").stdout == b""


def test_a_store_that_cannot_be_changed_at_all_still_gives_back_what_it_holds(repo: Path, read_only: callable) -> None:
    """A store whose folders cannot be changed (a read-only mount, a clone of another user's) holding a
    damaged record: that notebook comes out as committed, with one warning, the others with their
    outputs. The damaged record could not be removed, and that failure turned the store off for the
    rest of the checkout."""
    ran = two_notebooks_run_and_committed(repo)
    store = repo / ".git" / "nbgit" / "outputs"
    key = git(repo, "rev-parse", "HEAD:a.ipynb").stdout.decode().strip()
    (store / "notebooks" / key[:2] / key).write_bytes(b"garbage")
    for folder in [store, *(path for path in store.rglob("*") if path.is_dir())]:
        read_only(folder)
    for name in ran:
        (repo / name).unlink()
    done = git(repo, "checkout", "--", *ran)
    assert (repo / "a.ipynb").read_bytes() == blob(repo, "HEAD:a.ipynb") and (repo / "b.ipynb").read_bytes() == ran["b.ipynb"]
    warnings = only_errors(done.stderr)
    assert len(warnings) == 1 and "is damaged" in warnings[0] and "ignored and left (the store cannot be changed)" in warnings[0], warnings


# Two git commands at once in one clone (an editor's background `git diff`, the user's `git stash`).

SLOW_KEEPER = """#!{python}
import sys, time
from nbgit.store.keeper import OutputKeeper
kept = OutputKeeper.clean
def clean(self, *args, **kwargs):
    open({log!r}, "a").write("handed over\\n")
    time.sleep(3)
    kept(self, *args, **kwargs)
OutputKeeper.clean = clean
from nbgit import filter
sys.exit(filter.main())
"""


@contextlib.contextmanager
def slow_background_diff(repo: Path, tmp_path: Path) -> Iterator[None]:
    """An editor's `git diff` in the background (taking no optional lock, as editors run it) reads the
    notebooks, and the worker keeping their outputs takes 3 s a record; the body runs once it has the
    first one, and the diff is waited for at the end."""
    log, script = tmp_path / "slow.log", tmp_path / "slow-keeper.py"
    script.write_text(SLOW_KEEPER.format(python=sys.executable, log=str(log)))
    script.chmod(0o755)
    background = subprocess.Popen(["git", "--no-optional-locks", "-c", f"filter.nbgit.process={script}", "diff", "--quiet"],
                                  cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if log.exists():
                break
            time.sleep(0.05)
        assert log.exists(), "the background diff never cleaned the notebook"
        yield
    finally:
        background.wait(timeout=60)


def test_a_version_git_read_earlier_never_replaces_one_it_read_later(repo: Path, tmp_path: Path) -> None:
    """A background `git diff` reads a notebook; meanwhile it is run again and `git stash` keeps the new
    run. The slow record arrives last, and used to replace the newer one: `git stash pop` gave back
    the earlier run."""
    installed(repo, "--no-hooks")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1", outputs=False, count=None))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "base")
    first = run_notebook("x = 2")
    again = first.replace(b"out 0", b"out 0, run again")
    (repo / "a.ipynb").write_bytes(first)
    with slow_background_diff(repo, tmp_path):
        (repo / "a.ipynb").write_bytes(again)  # run again, saved
        git(repo, "stash", "-q")
    git(repo, "stash", "pop", "-q")
    assert (repo / "a.ipynb").read_bytes() == again


def test_a_version_git_read_earlier_never_goes_before_one_it_read_later(repo: Path, tmp_path: Path) -> None:
    """As above, with a cell edited before the new run is committed: the slow record of the earlier
    run (another blob) arrives last, and used to go first in the notebook's history, so a teammate's
    change pulled later got the earlier run's outputs back in the cells it left alone."""
    installed(repo, "--no-hooks")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1", "y = 1", outputs=False, count=None))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1", "y = 1"))
    again = run_notebook("x = 1", "y = 2").replace(b"out 0", b"out 0, run again")
    with slow_background_diff(repo, tmp_path):
        (repo / "a.ipynb").write_bytes(again)  # the second cell edited, all run again
        git(repo, "commit", "-q", "-am", "y = 2")
    teammate = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(repo), str(teammate))
    (teammate / "a.ipynb").write_bytes(clean_bytes(_edited_as_jupyter_writes(again, 1, "y = 3"), "a.ipynb", Policy()))
    git(teammate, "commit", "-q", "-am", "y = 3")
    git(repo, "pull", "-q", "--ff-only", str(teammate), "main")
    assert json.loads((repo / "a.ipynb").read_bytes())["cells"][0]["outputs"] == json.loads(again)["cells"][0]["outputs"]


def test_records_of_the_format_before_the_time_read_are_used_and_replaced(repo: Path) -> None:
    """Records written by the nbgit before records said when their version was read (`nbgit-outputs 3`)
    give their notebooks back, and a newer version read replaces them."""
    installed(repo, "--no-hooks")
    first = run_notebook("x = 1")
    (repo / "a.ipynb").write_bytes(first)
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "ran")
    records = list((repo / ".git" / "nbgit" / "outputs" / "notebooks").rglob("*"))
    for path in (p for p in records if p.is_file()):
        head, fingerprint, fields, rest = path.read_bytes().split(b"\n", 3)
        assert head == b"nbgit-outputs 4"
        path.write_bytes(b"\n".join([b"nbgit-outputs 3", fingerprint, fields.rpartition(b" ")[0], rest]))
    (repo / "a.ipynb").unlink()
    git(repo, "checkout", "--", "a.ipynb")
    assert (repo / "a.ipynb").read_bytes() == first
    again = first.replace(b"out 0", b"out 0, run again")
    (repo / "a.ipynb").write_bytes(again)
    git(repo, "add", "a.ipynb")
    (repo / "a.ipynb").unlink()
    git(repo, "checkout", "--", "a.ipynb")
    assert (repo / "a.ipynb").read_bytes() == again


def test_records_of_a_newer_nbgit_are_left_alone(repo: Path) -> None:
    """Records a newer nbgit wrote (one sharing the clone: the Jupyter environment's, upgraded first) are
    no records to this one, never damaged ones: checkouts write the notebook as committed and say
    nothing, and neither they nor `nbgit gc` remove the records or any object they may use."""
    installed(repo, "--no-hooks")
    ran = run_notebook("x = 1").replace(b'"out 0\\n"', b'"' + b"o" * 2000 + b'\\n"')  # (a long line: an object)
    (repo / "a.ipynb").write_bytes(ran)
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "ran")
    store = repo / ".git" / "nbgit" / "outputs"
    records = [p for p in (store / "notebooks").rglob("*") if p.is_file()]
    objects = [p for p in (store / "objects").rglob("*") if p.is_file()]
    assert records and objects
    for path in records:
        path.write_bytes(b"nbgit-outputs 99\n" + path.read_bytes().partition(b"\n")[2])
    for path in objects:
        os.utime(path, (time.time() - 7200, time.time() - 7200))  # (gc removes an object no record refers to after an hour)
    kept = {path: path.read_bytes() for path in records + objects}
    (repo / "a.ipynb").unlink()
    done = git(repo, "checkout", "--", "a.ipynb")
    assert done.stderr == b"" and (repo / "a.ipynb").read_bytes() == blob(repo, "HEAD:a.ipynb")
    assert nbgit(repo, "gc").returncode == 0
    assert {path: path.read_bytes() for path in kept if path.exists()} == kept


# JSON that json.loads reads and no notebook writer can write back: unreadable, said as for broken JSON.
UNWRITABLE = [
    pytest.param(b'"execution_count": 1', b'"execution_count": ' + b"9" * 5000, "holds a number too long to read (thousands of digits)", id="integer-too-long",
                 marks=pytest.mark.skipif(not hasattr(sys, "get_int_max_str_digits"), reason="this Python converts integers of any length")),
    pytest.param(b'"x = 1"', b'"x = \'\\ud83d\'"', "holds a lone surrogate escape", id="half-a-surrogate-pair"),
]


def test_a_long_run_of_backslashes_is_read_in_linear_time(repo: Path) -> None:
    """An output of 60,000 backslashes (120 KB of JSON): the search for lone surrogate escapes tried
    the run from each of its backslashes, about 50 s for `git add` (hours for a megabyte)."""
    installed(repo, "--no-hooks")
    raw = run_notebook("print('\\\\' * 60_000)").replace(b'"out 0\\n"', b'"' + b"\\\\" * 60_000 + b'\\n"')
    (repo / "a.ipynb").write_bytes(raw)
    assert git_within(10, repo, "add", "a.ipynb").returncode == 0
    assert blob(repo, ":a.ipynb") == clean_bytes(raw, "a.ipynb", Policy())
    checked = nbgit_within(10, repo, "check", "a.ipynb")
    assert checked.returncode == 0 and not only_errors(checked.stderr)


@pytest.mark.parametrize(("plain", "hostile", "said"), UNWRITABLE)
def test_json_no_writer_can_write_back_is_unreadable_never_an_internal_error(repo: Path, plain: bytes, hostile: bytes, said: str) -> None:
    """An integer of more than 4300 digits, which json.loads refuses as nbformat's reader does (Python
    3.11, 3.10.7+), and a lone `\\ud83d`, which it reads but no UTF-8 writer writes: such a file is
    as unreadable as broken JSON, and every entry point says so as it does."""
    installed(repo)
    raw = run_notebook("x = 1").replace(plain, hostile)
    (repo / "bad.ipynb").write_bytes(raw)
    done = git(repo, "add", "bad.ipynb")  # the filter stores it unchanged, saying why
    assert done.stderr.decode().startswith(f"nbgit: warning: bad.ipynb: {said}") and blob(repo, ":bad.ipynb") == raw
    runs = [git(repo, "diff", "--cached"), git(repo, "commit", "-m", "bad", check=False)]  # textconv; the pre-commit hook
    runs += [nbgit(repo, *args) for args in (["check", "--all"], ["clean", "--check", "bad.ipynb"], ["diff"])]
    for done in runs:
        output = (done.stdout + done.stderr).decode()
        assert not any(bug in output for bug in ("internal error", "bug in nbgit", "Traceback", "cannot render (ValueError")), output
    assert runs[1].returncode == 1 and f"bad.ipynb: {said}" in runs[1].stderr.decode() and "[invalid]" in runs[1].stderr.decode()  # never committed
    assert runs[2].returncode == 1 and runs[3].returncode == 1


def test_a_file_name_that_is_not_utf8_is_shown_as_git_shows_it(repo: Path) -> None:
    """File names are bytes: `caf\\xe9.ipynb` (Latin-1) stopped the pre-commit hook, `nbgit check`,
    `clean` and `refresh` (names were sent to git as strict UTF-8), and printing it where stdout is
    strict UTF-8 (Python's default in a UTF-8 locale other than C.UTF-8; PYTHONIOENCODING sets it here)."""
    installed(repo)
    strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    name = os.fsdecode(b"caf\xe9.ipynb")
    (repo / name).write_bytes(run_notebook("x = 1"))
    git(repo, "add", "-A")
    done = subprocess.run(["git", "commit", "-q", "-m", "latin-1"], cwd=repo, env=strict, capture_output=True)  # the pre-commit hook
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    (repo / name).write_text("{broken")
    for args in (["check"], ["check", "--all"], ["clean", "."], ["refresh"], ["diff"], ["diff", "--format", "html", "-o", "report.html"]):
        done = nbgit(repo, *args, env=strict)
        said = (done.stdout + done.stderr).decode()
        assert done.returncode in (0, 1) and "internal error" not in said, (args, said)
        if args == ["check"]:
            assert "caf\\351.ipynb: invalid JSON" in said, said  # as git quotes it
    report = (repo / "report.html").read_bytes()
    assert b"caf\\351.ipynb" in report and report.decode("utf-8")  # as git shows it; the page is UTF-8 throughout


# Patterns from the policy run against every path: none may hang git, nbgit check or the pre-commit hook.
DEEP_PATH = "/".join(["d"] * 40) + "/nb.ipynb"
BACKTRACKING_GLOB = "**/" * 30 + "x.ipynb"


@pytest.mark.parametrize("key", ["exclude", "overrides", "pair.include", "pair.exclude"])
def test_globs_with_many_double_stars_hang_neither_git_nor_check(repo: Path, key: str) -> None:
    installed(repo, "--no-hooks")
    glob = json.dumps([BACKTRACKING_GLOB])
    policy = {
        "exclude": f"exclude = {glob}\n",
        "overrides": f"[[overrides]]\npaths = {glob}\noutputs = 'keep'\n",
        "pair.include": f"[pair]\nenabled = true\ninclude = {glob}\n",
        "pair.exclude": f"[pair]\nenabled = true\nexclude = {glob}\n",
    }[key]
    (repo / ".nbgit.toml").write_text(policy)
    target = repo / DEEP_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(run_notebook("print(1)"))
    assert git_within(30, repo, "add", DEEP_PATH).returncode == 0  # hung for minutes with the old glob compiler
    assert b'"outputs": []' in blob(repo, f":{DEEP_PATH}")  # not excluded, not overridden: cleaned
    if key.startswith("pair."):  # pairs are selected when nbgit judges them
        assert nbgit_within(60, repo, "check", "--all").returncode in (0, 1)


@pytest.mark.parametrize("stars", [150, 333], ids=["time-quadratic-in-depth", "recursion-too-deep"])
def test_hundreds_of_double_stars_match_deep_paths_at_once_and_never_recurse(repo: Path, stars: int) -> None:
    """`**/` x 150 took seconds per path 400 folders deep (every `**` tried every start), so that git
    add stalled; x 333 (1000 characters, accepted) overflowed the stack on every path."""
    installed(repo, "--no-hooks")
    (repo / ".nbgit.toml").write_text(f"exclude = {json.dumps(['**/' * stars + 'x'])}\n")
    deep = "/".join(["d"] * 400) + "/nb.ipynb"
    (repo / deep).parent.mkdir(parents=True)
    (repo / deep).write_bytes(run_notebook("print(1)"))
    done = git_within(10, repo, "add", "-A")
    assert (done.returncode, done.stderr) == (0, b"")
    assert b'"outputs": []' in blob(repo, f":{deep}")  # not excluded: cleaned
    assert nbgit_within(10, repo, "check", "--all").returncode == 0
    done = nbgit_within(10, repo, "clean", "--check", ".")
    assert done.returncode == 1 and deep in done.stdout.decode() + done.stderr.decode() and b"internal error" not in done.stderr


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(a|a)*$"], ids=["nested-repetition", "ambiguous-alternation"])
def test_a_backtracking_untitled_pattern_fails_fast_naming_its_key(repo: Path, pattern: str) -> None:
    """Nested repetition is refused when the policy is read; what passes that (an ambiguous
    alternation) runs out of its time limit on the first path it backtracks on."""
    installed(repo)
    (repo / ".nbgit.toml").write_text(f"[check]\nuntitled_pattern = '{pattern}'\n")
    name = "a" * 40 + "!.ipynb"
    (repo / name).write_bytes(run_notebook("print(1)", outputs=False, count=None))
    done = nbgit_within(30, repo, "check", name)
    assert done.returncode == 2
    assert "`check.untitled_pattern`" in done.stderr.decode() and "Traceback" not in done.stderr.decode()
    git(repo, "add", name)
    done = git_within(30, repo, "commit", "-m", "x")  # the pre-commit hook runs the same check
    assert done.returncode != 0 and b"`check.untitled_pattern`" in done.stderr


def test_a_backtracking_volatile_pattern_fails_fast_naming_its_key(repo: Path) -> None:
    """`[diff] volatile_patterns` run on output text (nbgit diff, the merge driver): under the same time limit."""
    installed(repo, "--no-hooks")
    (repo / ".nbgit.toml").write_text("outputs = 'keep'\n[diff]\nvolatile_patterns = ['^(a|a)*$']\n")
    (repo / "a.ipynb").write_bytes(run_notebook("print('a' * 40)"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a")
    content = json.loads((repo / "a.ipynb").read_bytes())
    content["cells"][0]["outputs"][0]["text"] = ["a" * 40 + "!\n"]
    (repo / "a.ipynb").write_text(json.dumps(content))
    done = nbgit_within(30, repo, "diff")
    assert done.returncode == 2 and "`diff.volatile_patterns` takes more than 1 s" in done.stderr.decode()


@pytest.mark.parametrize("key", ["exclude", "pair.include", "check.untitled_pattern"])
def test_an_overlong_pattern_is_refused_naming_its_key(repo: Path, key: str) -> None:
    section, _, name = key.rpartition(".")
    long = "*" * 5000
    value = f"'{long}'" if name == "untitled_pattern" else f"['{long}']"
    (repo / ".nbgit.toml").write_text((f"[{section}]\n" if section else "") + f"{name} = {value}\n")
    done = nbgit(repo, "check", "--all")
    assert done.returncode == 2 and f"`{key}` must be" in done.stderr.decode()


# File names git hands nbgit's drivers: options, spaces, unicode, newlines, shell syntax.
HOSTILE_NAMES = ["-rf.ipynb", "a b.ipynb", "ünïcode.ipynb", "new\nline.ipynb", "x;rm -rf ~.ipynb", "--fix.ipynb"]


def _edited(data: bytes, cell: int, source: str) -> bytes:
    content = json.loads(data)
    content["cells"][cell]["source"] = source
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _branches(repo: Path, name: str, base: bytes, local: bytes, remote: bytes) -> None:
    (repo / name).write_bytes(base)
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "branch", "other")
    (repo / name).write_bytes(local)
    git(repo, "commit", "-q", "-am", "local")
    git(repo, "checkout", "-q", "other")
    (repo / name).write_bytes(remote)
    git(repo, "commit", "-q", "-am", "remote")
    git(repo, "checkout", "-q", "main")


def _one_line_each(stderr: bytes) -> None:
    """Every line nbgit printed is a line of its own: no file name broke one in two, no escape came through raw."""
    for line in stderr.decode().splitlines():
        assert "\x1b" not in line
        assert not line.startswith("line.ipynb"), stderr.decode()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_filter_textconv_and_hooks_take_any_file_name(repo: Path, name: str) -> None:
    installed(repo)
    (repo / name).write_bytes(run_notebook("x = 1", "y = 2"))
    done = git(repo, "add", "--", name)  # the filter
    assert b'"outputs": []' in blob(repo, f":{name}")
    git(repo, "commit", "-q", "-m", "add")  # the pre-commit hook judges the staged notebook
    (repo / name).write_bytes(run_notebook("x = 1", "y = 3"))
    diff = git(repo, "diff")  # textconv of the work tree file and of the committed blob
    assert b"-y = 2\n+y = 3\n" in diff.stdout, diff.stderr.decode()
    assert b"error" not in diff.stderr and b"fatal" not in diff.stderr
    git(repo, "commit", "-q", "-am", "y")
    assert b"-y = 2\n+y = 3\n" in git(repo, "log", "-p", "-1").stdout  # textconv of two blobs
    _one_line_each(done.stderr + diff.stderr)


@pytest.mark.parametrize("name", [*HOSTILE_NAMES, "caf\udce9 latin-1.ipynb"])  # (the last: bytes that are not UTF-8)
def test_outputs_kept_under_any_file_name_come_back(repo: Path, name: str) -> None:
    """The filter hands each notebook's name to the worker that keeps its outputs: any name a file
    system allows comes back from the store as it went in."""
    installed(repo)
    data = run_notebook("x = 1", "y = 2")
    (repo / name).write_bytes(data)
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "--no-verify", "-m", "add")
    (repo / name).unlink()
    git(repo, "checkout", "--", name)
    assert (repo / name).read_bytes() == data


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_diff_driver_takes_any_file_name(repo: Path, name: str) -> None:
    installed(repo, "--no-hooks", "--diff", "nbdime")
    (repo / name).write_bytes(run_notebook("x = 1", "y = 2"))
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", "add")
    (repo / name).write_bytes(run_notebook("x = 1", "y = 3"))
    diff = git(repo, "diff")
    assert b"y = 3" in diff.stdout, diff.stderr.decode()
    assert b"error" not in diff.stderr.lower() and b"usage:" not in diff.stderr


def test_the_diff_driver_shows_a_text_diff_of_a_notebook_too_deep_for_nbdime(repo: Path) -> None:
    """Metadata nested 700 deep reads and cleans, but nbdime (and showing its strings) recurses past
    Python's limit: the external diff must still answer, or git stops the whole `git diff` there."""
    installed(repo, "--no-hooks", "--diff", "nbdime")
    (repo / "deep.ipynb").write_bytes(run_notebook("x = 1"))
    (repo / "z.ipynb").write_bytes(run_notebook("z = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add")
    deep = json.loads(run_notebook("x = 2"))
    for _ in range(700):
        deep["metadata"] = {"deep": deep["metadata"]}
    (repo / "deep.ipynb").write_text(json.dumps(deep))
    (repo / "z.ipynb").write_bytes(run_notebook("z = 2"))
    done = git_within(60, repo, "diff")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().startswith("nbgit: warning: deep.ipynb: nbdime's diff failed (RecursionError"), done.stderr.decode()
    assert b"-x = 1\n+x = 2" in done.stdout  # the text diff, alone: no half of nbdime's
    assert b"nbdiff a/z.ipynb b/z.ipynb" in done.stdout  # and git went on to the next file


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_merge_driver_takes_any_file_name(repo: Path, name: str) -> None:
    installed(repo, "--no-hooks")
    base = run_notebook("a = 1", "b = 1", "c = 1", outputs=False, count=None)
    _branches(repo, name, base, _edited(base, 0, "a = 2"), _edited(base, 2, "c = 3"))
    done = git_within(60, repo, "merge", "--no-edit", "other")
    assert done.returncode == 0, done.stderr.decode()
    merged = json.loads((repo / name).read_bytes())
    assert ["".join(c["source"]) for c in merged["cells"]] == ["a = 2", "b = 1", "c = 3"]
    git(repo, "checkout", "-q", "other")  # a conflict this time: the same cell changed on both sides
    (repo / name).write_bytes(_edited(base, 1, "b = 3"))
    git(repo, "commit", "-q", "-am", "theirs")
    git(repo, "checkout", "-q", "main")
    (repo / name).write_bytes(_edited((repo / name).read_bytes(), 1, "b = 2"))
    git(repo, "commit", "-q", "-am", "mine")
    done = git_within(60, repo, "merge", "--no-edit", "other")
    assert done.returncode == 1 and b"usage:" not in done.stderr
    merged = json.loads((repo / name).read_bytes())  # still a notebook, the conflict inside the cell
    assert "b = 2\n=======\nb = 3" in "".join(merged["cells"][1]["source"])
    stderr = done.stderr.decode()
    assert f"`git add {shlex.quote('./' + name if name.startswith('-') else name)}`".replace("\n", "\\n") in stderr
    _one_line_each(done.stderr)


# Names git reads as patterns or pathspec magic: whatever nbgit runs or tells the user to run touches that file alone.
PATTERN_NAMES = ["*.ipynb", ":!b.ipynb", "[ab].ipynb"]


def _hinted(said: str, command: str) -> str:
    """The `command ...` a hint tells the user to run, exactly as printed."""
    found = re.search(rf"`({command} [^`]*)`", said)
    assert found, said
    return found.group(1)


@pytest.mark.parametrize("name", PATTERN_NAMES)
def test_resolve_and_its_hints_take_only_the_file_named_like_a_pattern(repo: Path, name: str) -> None:
    """`nbgit resolve '*.ipynb'` rebuilt the notebook from another notebook's index stages (git
    matched the name as a pattern), and following its `git add` hint marked every conflict resolved."""

    def side(file: str, which: str) -> bytes:
        return run_notebook(f"# {file}: {which}", outputs=False, count=None)

    names = (name, "a.ipynb", "b.ipynb")
    for which in ("base", "theirs", "ours"):  # no nbgit merge driver here: git leaves its text markers
        git(repo, "checkout", "-q", *(["-b", "other"] if which == "theirs" else ["main"]))
        for file in names:
            (repo / file).write_bytes(side(file, which))
        git(repo, "--literal-pathspecs", "add", "-A")
        git(repo, "commit", "-q", "-m", which)
    assert git(repo, "merge", "other", check=False).returncode == 1
    done = nbgit(repo, "resolve", name, "--take", "remote")
    assert done.returncode == 0, done.stderr.decode()
    assert "".join(json.loads((repo / name).read_bytes())["cells"][0]["source"]) == f"# {name}: theirs"
    subprocess.run(_hinted(done.stderr.decode(), "git add"), shell=True, cwd=repo, check=True)
    unmerged = git(repo, "ls-files", "-u", "-z").stdout.split(b"\0")
    assert {line.split(b"\t")[1] for line in unmerged if line} == {b"a.ipynb", b"b.ipynb"}, "the other conflicts are still to resolve"


@pytest.mark.parametrize("name", PATTERN_NAMES)
def test_the_hint_that_brings_back_a_conflict_touches_only_the_file_named_like_a_pattern(repo: Path, name: str) -> None:
    """After `git add` of a conflicted notebook, `nbgit resolve --take` says `git checkout -m -- NAME`
    brings its sides back: for a name git reads as a pattern, that recreated the conflict in every
    notebook it matches, throwing away the edit that resolved another one."""
    names = (name, "a.ipynb", "b.ipynb")
    for which in ("base", "theirs", "ours"):
        git(repo, "checkout", "-q", *(["-b", "other"] if which == "theirs" else ["main"]))
        for file in names:
            (repo / file).write_bytes(run_notebook(f"# {file}: {which}", outputs=False, count=None))
        git(repo, "--literal-pathspecs", "add", "-A")
        git(repo, "commit", "-q", "-m", which)
    assert git(repo, "merge", "other", check=False).returncode == 1
    resolved = run_notebook("# a.ipynb: resolved by hand", outputs=False, count=None)
    (repo / "a.ipynb").write_bytes(resolved)  # the user's resolution, not staged yet
    assert nbgit(repo, "resolve", name).returncode == 1  # a valid notebook, its conflicting cell marked inside
    git(repo, "--literal-pathspecs", "add", name)
    done = nbgit(repo, "resolve", name, "--take", "remote")
    assert done.returncode != 0
    subprocess.run(_hinted(done.stderr.decode(), "git checkout -m --"), shell=True, cwd=repo, check=True)
    assert (repo / "a.ipynb").read_bytes() == resolved
    assert nbgit(repo, "resolve", name, "--take", "remote").returncode == 0


def test_the_restore_hint_restores_only_the_file_named_like_pathspec_magic(repo: Path) -> None:
    """A stranger's broken `:!b.ipynb`: the hint `git checkout -- ':!b.ipynb'` restored every other
    file, throwing away the user's unsaved edits."""
    name = ":!b.ipynb"
    for file in (name, "a.ipynb"):
        (repo / file).write_bytes(run_notebook("x = 1"))
    git(repo, "--literal-pathspecs", "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / name).write_text("{broken")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 'my unsaved work'"))
    done = nbgit(repo, "check", "--all")
    assert done.returncode == 1
    subprocess.run(_hinted(done.stdout.decode(), "git checkout --"), shell=True, cwd=repo, check=True)
    assert (repo / name).read_bytes() == run_notebook("x = 1")
    assert b"my unsaved work" in (repo / "a.ipynb").read_bytes()


# What reaches a terminal: control characters are shown (`\033`), never sent raw.
ERASE = "\x1b[2K\r"  # erases the line on screen, then prints over it
TITLE = "\x1b]0;owned\x07"  # an OSC sequence: sets the terminal's title
ESCAPED_NAME = "\x1b[31mred.ipynb"


def _escaped(text: str) -> bool:
    return "\x1b" not in text and "\x07" not in text and "\\033" in text


def test_textconv_git_diff_and_nbgit_diff_show_escapes_instead_of_sending_them(repo: Path) -> None:
    installed(repo, "--no-hooks")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1"))
    git(repo, "add", "a.ipynb")
    git(repo, "commit", "-q", "-m", "a")
    (repo / "a.ipynb").write_bytes(run_notebook(f"x = 1  # fine{ERASE}x = 2  # what the screen shows{TITLE}"))
    for command in (["git", "diff"], ["git", "diff", "--no-ext-diff"], [str(NBGIT), "diff"], [str(NBGIT), "textconv", "--", "a.ipynb"]):
        shown = subprocess.run(command, cwd=repo, capture_output=True).stdout.decode()
        assert _escaped(shown) and "\\033]0;owned\\a" in shown and "\r" not in shown, (command, shown)
        assert re.search(r"(?m)^[ +]*x = 2  # what the screen shows", shown)  # a carriage return ends a line, as in Python


def test_names_in_warnings_and_check_output_show_their_control_characters(repo: Path) -> None:
    installed(repo, "--no-hooks")
    (repo / ESCAPED_NAME).write_bytes(b"<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other\n")
    done = git(repo, "add", "--", ESCAPED_NAME)  # the filter warns: conflict markers, stored unchanged
    assert _escaped(done.stderr.decode()) and "\\033[31mred.ipynb" in done.stderr.decode()
    checked = nbgit(repo, "check", "--all")
    assert checked.returncode == 1 and _escaped(checked.stdout.decode())
    assert "nbgit resolve '\\033[31mred.ipynb'" in checked.stdout.decode()  # the hint's command, quoted for a shell
    for fmt in ("github", "json"):
        assert "\x1b" not in nbgit(repo, "check", "--all", "--format", fmt).stdout.decode()


# Trojan Source: bidirectional controls make a line show in another order than it runs in (here the
# comparison reads as ending before the comment; it runs as one string); zero width spaces hide in names.
TROJAN_SOURCE = 'access_level = "user"\nif access_level != "user\u202e \u2066# Check if admin\u2069 \u2066":\n    print("admin")\n'
TROJAN_NAME = "admin\u200b\u202egnp.ipynb"


def test_bidirectional_and_invisible_characters_are_shown_in_every_diff_and_listing(repo: Path) -> None:
    installed(repo, "--no-hooks")
    (repo / TROJAN_NAME).write_bytes(run_notebook("x = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a")
    (repo / TROJAN_NAME).write_bytes(run_notebook(TROJAN_SOURCE))
    git(repo, "commit", "-q", "-am", "b")
    commands = (["git", "diff", "HEAD~1"], ["git", "log", "-p", "-1"], [str(NBGIT), "textconv", "--", TROJAN_NAME],
                *([str(NBGIT), "diff", "HEAD~1", "--format", fmt] for fmt in ("text", "markdown")))  # fmt: skip
    for command in commands:
        shown = subprocess.run(command, check=False, cwd=repo, capture_output=True).stdout.decode()
        assert not any(char in shown for char in "\u202e\u2066\u2069\u200b"), command
        assert '"user\\342\\200\\256 \\342\\201\\246# Check if admin\\342\\201\\251 \\342\\201\\246":' in shown, (command, shown)
    (repo / TROJAN_NAME).write_bytes(b"{")
    checked = nbgit(repo, "check", "--all").stdout.decode()
    assert "admin\\342\\200\\213\\342\\200\\256gnp.ipynb" in checked and "\u202e" not in checked, checked


# Characters str.splitlines breaks a line at and Python does not: a line shown after one looks like code,
# and Python reads it as the rest of the comment.
PYTHON_READS_IN_LINE = "\x0c\x0b\x1c\x1d\x1e\x85\u2028\u2029"


def test_a_comment_cannot_show_code_on_a_line_of_its_own(repo: Path, tmp_path: Path) -> None:
    import ast

    installed(repo, "--no-hooks")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a")
    sources = [f"# validate input{separator}check_permissions(user)\ndelete_everything()\n" for separator in PYTHON_READS_IN_LINE]
    assert not any("check_permissions" in ast.dump(ast.parse(source)) for source in sources)  # never called
    (repo / "a.ipynb").write_bytes(run_notebook(*sources))
    git(repo, "commit", "-q", "-am", "b")
    assert nbgit(repo, "diff", "HEAD~1", "--format", "html", "-o", str(tmp_path / "report.html")).returncode == 0
    shown = {"html": (tmp_path / "report.html").read_text()}
    for command in (["git", "diff", "HEAD~1"], [str(NBGIT), "textconv", "--", "a.ipynb"],
                    *([str(NBGIT), "diff", "HEAD~1", "--format", fmt] for fmt in ("text", "markdown"))):  # fmt: skip
        shown[command[1]] = subprocess.run(command, check=False, cwd=repo, capture_output=True).stdout.decode()
    for name, text in shown.items():
        assert not any(separator in text for separator in PYTHON_READS_IN_LINE), name
        assert not re.search(r"(?m)^[ +\-]*check_permissions|<span[^>]*>[ +\-]*check_permissions", text), name
        for shown_separator in ("\\f", "\\v", "\\034", "\\302\\205", "\\342\\200\\250", "\\342\\200\\251"):
            assert f"# validate input{shown_separator}check_permissions(user)" in text, (name, shown_separator)


def test_metadata_cannot_show_a_line_of_its_own(repo: Path) -> None:
    """NEL and U+2028 inside a metadata string are no line break in JSON: a diff splitting there showed
    a forged key line (`"approved_by": "security-team"`) in a string."""
    installed(repo, "--no-hooks")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a")
    forged = {"review": 'pending\u2028 "approved_by": "security-team",\x85 "signed_off": true'}
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1", metadata=forged))
    for fmt in ("text", "markdown", "html"):
        shown = nbgit(repo, "diff", "--format", fmt).stdout.decode()
        assert not re.search(r'(?m)^[ +\->]*(\\?"approved_by|\\?"signed_off)', shown), (fmt, shown)
        whole_line = '"review": "pending\\342\\200\\250 \\"approved_by\\": \\"security-team\\",\\302\\205 \\"signed_off\\": true"'
        assert whole_line in shown.replace("&quot;", '"'), (fmt, shown)


# Markdown for pull requests: names and metadata must not write headings, break the table or mention anyone.
HOSTILE_TITLE = "evil\n## Injected @octocat #1 <img src=x> | x\n.ipynb"


def test_the_markdown_report_escapes_names_metadata_and_mentions(repo: Path) -> None:
    from markdown_it import MarkdownIt

    installed(repo, "--no-hooks")
    kernel = {"kernelspec": {"display_name": "Py\n# Owned by @octocat", "language": "python", "name": "py\n### x"}}
    (repo / HOSTILE_TITLE).write_bytes(run_notebook("x = 1", metadata=kernel))
    (repo / "plain.ipynb").write_bytes(run_notebook("y = 1"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / HOSTILE_TITLE).write_bytes(run_notebook("x = 1\nprint('@octocat')", "# @octocat see #1", metadata=kernel))
    (repo / "plain.ipynb").write_bytes(run_notebook("y = 2"))
    report = nbgit(repo, "diff", "--format", "markdown").stdout.decode()
    assert "\x1b" not in report
    tokens = MarkdownIt("commonmark").enable("table").parse(report)
    headings = [tokens[k + 1].content for k, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) == 3 and headings[0] == "Notebook diff"  # the report's own, one per notebook: nothing injected
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 3  # the header and one row per notebook: no name broke the table
    for token in tokens:
        for child in token.children or []:
            if child.type == "text":  # mentions and references only inside code, where GitHub leaves them alone
                assert "@octocat" not in child.content and "#1" not in child.content, child.content
            assert child.type != "html_inline", child.content
        assert token.type != "html_block", token.content


def test_the_markdown_report_draws_no_mathematics_from_names(repo: Path) -> None:
    """GitHub reads `$...$` and `$$...$$` as mathematics, which can draw text of any size in the comment."""
    installed(repo, "--no-hooks")
    kernel = {"kernelspec": {"display_name": "$$\\Huge\\text{Approved: safe to merge}$$", "language": "python", "name": "$x$"}}
    (repo / "a.ipynb").write_bytes(run_notebook("x = 1", metadata=kernel))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "a.ipynb").write_bytes(run_notebook("x = 2", metadata=kernel))
    report = nbgit(repo, "diff", "--format", "markdown").stdout.decode()
    outside_code = re.sub(r"(?s)\n(`{3,})diff\n.*?\n\1\n|`[^`\n]*`", "", report)
    assert "\\$\\$\\\\Huge" in outside_code and not re.search(r"(?<!\\)\$", outside_code), outside_code


@pytest.mark.parametrize("name", ["-rf.ipynb", "new\nline.ipynb"])
def test_the_post_checkout_hook_names_any_pair(repo: Path, name: str) -> None:
    """With pairing, checking out a branch where a notebook moved on without its twin: a reminder, one line per pair."""
    (repo / ".nbgit.toml").write_text('[pair]\nenabled = true\nformat = "py:percent"\n')
    installed(repo)
    (repo / name).write_bytes(run_notebook("x = 1", outputs=False, count=None))
    assert nbgit(repo, "sync", "--all").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pair")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / name).write_bytes(run_notebook("x = 2", outputs=False, count=None))
    git(repo, "commit", "-q", "--no-verify", "-am", "notebook only")  # as a collaborator without nbgit would
    git(repo, "checkout", "-q", "main")
    done = git(repo, "checkout", "other")
    stderr = done.stderr.decode()
    assert "pairs are out of step" in stderr and "error" not in stderr.lower(), stderr
    _one_line_each(done.stderr)


def test_the_pre_commit_framework_hooks_take_file_names_starting_with_a_dash(repo: Path) -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    hooks = [{**hook, "language": "system", "entry": hook["entry"].replace("nbgit", str(NBGIT), 1)} for hook in manifest if hook["id"] in ("nbgit-check", "nbgit-clean")]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "framework")
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    assert subprocess.run([str(NBGIT.with_name("pre-commit")), "install"], cwd=repo, env=env, capture_output=True).returncode == 0
    (repo / "-rf.ipynb").write_bytes(run_notebook("x = 1"))  # outputs: nbgit-clean strips them, as a fixer
    git(repo, "add", "--", "-rf.ipynb")
    done = subprocess.run(["git", "commit", "-m", "dash"], cwd=repo, env=env, capture_output=True, text=True)
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "files were modified by this hook" in said and "unrecognized arguments" not in said, said
    git(repo, "add", "--", "-rf.ipynb")
    done = subprocess.run(["git", "commit", "-m", "dash"], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_real_paths_are_realpaths_and_each_file_is_looked_at_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`files.RealPaths.look`, which every check shares per notebook: the real path `os.path.realpath`
    gives and the stat data of what it leads to, through links to files and folders, out of the tree,
    dangling, `..` and doubled separators; a file changed after it was looked at is seen by the next run."""
    from nbgit.files import RealPaths

    base = Path(os.path.realpath(tmp_path))
    (base / "a" / "b").mkdir(parents=True)
    (base / "a" / "b" / "x.ipynb").write_text("{}")
    (base / "link").symlink_to(base / "a")
    (base / "a" / "b" / "y.ipynb").symlink_to("x.ipynb")
    (base / "a" / "b" / "out.ipynb").symlink_to(tmp_path.parent)
    (base / "a" / "b" / "dangling.ipynb").symlink_to("nowhere")
    names = ["a/b/x.ipynb", "a/b/y.ipynb", "a/b/out.ipynb", "a/b/dangling.ipynb", "a/b/none.ipynb", "link/b/x.ipynb", "link/b/y.ipynb",
             "a//b/x.ipynb", "a/b/../b/x.ipynb", "a/b/.", "a/b/..", "a/b/", "link"]
    real = RealPaths()
    for name in names * 2:  # the second time from memory
        seen, expected = real.look(f"{base}/{name}"), os.path.realpath(f"{base}/{name}")
        assert seen.real == expected, name
        assert (seen.status.st_ino if seen.status else None) == (os.stat(expected).st_ino if os.path.exists(expected) else None), name
    monkeypatch.chdir(base / "a")
    assert real.look("b/y.ipynb").real == str(base / "a" / "b" / "x.ipynb")  # relative to the current folder
    before = real.look(base / "a" / "b" / "x.ipynb")
    (base / "a" / "b" / "x.ipynb").unlink()
    assert real.look(base / "a" / "b" / "x.ipynb") == before and RealPaths().look(base / "a" / "b" / "x.ipynb").status is None


@pytest.mark.parametrize("name", [b"repo ", b"caf\xe9"], ids=["trailing-space", "not-utf-8"])
def test_a_repository_whose_folder_name_ends_in_a_space_or_is_not_utf8_is_that_repository(tmp_path: Path, name: bytes) -> None:
    """git prints the top of the work tree as it is, ending in "\\n": a folder name that ends in a space
    or holds bytes that are not UTF-8 is still that folder, for every command (before: another,
    missing folder, so `install` and `status` failed; or an internal error)."""
    sources = rerunnable(1)
    if not sources:
        pytest.skip("needs the corpus of real notebooks")
    os.mkdir(bytes(tmp_path) + b"/" + name)
    repo = Path(os.fsdecode(bytes(tmp_path) + b"/" + name))
    git(repo, "init", "-q", "-b", "main")
    copy_in(sources[0], repo, "a.ipynb")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-qm", "with outputs, before nbgit")
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    step = [line for line in done.stdout.decode(errors="surrogateescape").splitlines() if line.startswith("next: ")]
    assert len(step) == 1 and step[0].endswith(" renormalize && git add .gitattributes && git commit -m 'Store notebooks clean with nbgit'"), step
    subprocess.run(["bash", "-c", step[0].removeprefix("next: ")], cwd=repo, check=True, capture_output=True)
    for args in (("check", "--all"), ("status",), ("refresh",), ("gc",)):
        done = nbgit(repo, *args)
        assert done.returncode == 0 and not done.stderr, (args, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    assert git(repo, "status", "--porcelain").stdout == b""
    assert (repo / ".git" / "nbgit" / "outputs").is_dir()  # the store of this clone, in its own .git
