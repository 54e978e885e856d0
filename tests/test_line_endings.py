"""Outputs that survive git where git converts line endings: `core.autocrlf=true` (Git for Windows'
default) or the attributes `text eol=crlf`. Real clones pulling, merging and rebasing a teammate's
change: the cells it left alone keep their outputs, and `git status` stays empty.

git runs the clean filter on the work tree's CRLF bytes and converts its CRLF output to LF before
storing the blob; it converts a blob to CRLF before the smudge filter sees it. The store records the
CRLF form (named by git's id of it, which git never stores); these tests are why it notes beside each
such record the blob git stores of it (`nbgit.store.eol`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import git, nbgit
from nbgit.notebook import Notebook, parse, serialise
from nbgit.store.disk import Store
from nbgit.store.evict import collect

NAME = "analysis.ipynb"
ATTRIBUTES = "*.ipynb text eol=crlf\n"


def notebook(sources: list[str], crlf: bool) -> bytes:
    """A notebook whose code cells have `sources`, each run (one output, a count), as Jupyter writes it."""
    cells = [
        {"cell_type": "code", "execution_count": index + 1, "id": f"cell-{index}", "metadata": {},
         "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"output of cell {index}\n"]}], "source": [source]}
        for index, source in enumerate(sources)
    ]
    content = {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
               "nbformat": 4, "nbformat_minor": 5}
    return serialise(Notebook(content, 4, crlf))


def outputs(path: Path) -> list[Any]:
    """The outputs of each code cell of the notebook at `path`."""
    return [cell.get("outputs") for cell in parse(path.read_bytes()).content["cells"]]


def edit(path: Path, index: int, source: str) -> None:
    """Give the `index`-th cell a new source, its outputs cleared, keeping the file's line endings."""
    data = path.read_bytes()
    notebook = parse(data)
    cell = notebook.content["cells"][index]
    cell["source"], cell["outputs"], cell["execution_count"] = [source], [], None
    path.write_bytes(serialise(notebook))


def make_clone(tmp_path: Path, origin: Path, name: str, how: str) -> Path:
    """A clone of `origin` converting line endings as `how` says ("autocrlf", "valueless": `core.autocrlf`
    with no value, or "attributes": committed `text eol=crlf`), with nbgit installed."""
    clone = tmp_path / name
    config = ["-c", "core.autocrlf=true"] if how in ("autocrlf", "valueless") else ["-c", "core.autocrlf=false"]
    git(tmp_path, "clone", "-q", *config, str(origin), str(clone))
    if how == "valueless":  # `[core] autocrlf` with no value, which git reads as true
        config_file = git_dir(clone) / "config"
        config_file.write_text(config_file.read_text(encoding="utf-8").replace("\tautocrlf = true\n", "\tautocrlf\n"), encoding="utf-8")
        assert git(clone, "config", "--type=bool-or-str", "core.autocrlf").stdout == b"true\n"
    done = nbgit(clone, "install", "--no-hooks")
    assert done.returncode == 0, done.stderr.decode()
    return clone


def settled(repo: Path) -> None:
    """Make the notebook's index entry one git trusts without reading the file (written well before
    the index), as it is whenever a pull comes a while after the last save: git then hands the filter
    nothing of the work tree before writing the new version (when it does, the bytes it handed over
    would give the cells their outputs back on their own: `OutputKeeper._blobs`)."""
    past = time.time() - 10
    os.utime(repo / NAME, (past, past))
    git(repo, "update-index", "-q", "--refresh")


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(params=["autocrlf", "attributes"])
def clones(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    """Two clones of one origin, converting line endings (`request.param`): in `mine`, a notebook run and
    saved with CRLF line endings, committed and pushed; `theirs` cloned after that."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    mine = make_clone(tmp_path, origin, "mine", request.param)
    if request.param == "attributes":
        with open(mine / ".gitattributes", "a", encoding="utf-8") as attributes:
            attributes.write(ATTRIBUTES)
    git(mine, "checkout", "-q", "-b", "main")
    (mine / NAME).write_bytes(notebook(["a = 1", "b = 2", "c = 3"], crlf=True))
    commit(mine, "a notebook saved with CRLF line endings")
    git(mine, "push", "-q", "origin", "main")
    assert b"\r\n" not in git(mine, "cat-file", "-p", f"HEAD:{NAME}").stdout  # git converted them
    theirs = make_clone(tmp_path, origin, "theirs", request.param)
    return mine, theirs


def their_change(theirs: Path, index: int, source: str) -> None:
    """The teammate changes one cell and pushes."""
    assert b"\r\n" in (theirs / NAME).read_bytes()
    edit(theirs / NAME, index, source)
    commit(theirs, f"cell {index} changed")
    git(theirs, "push", "-q", "origin", "main")


def assert_untouched_cells_keep_outputs(mine: Path, changed: tuple[int, ...], had: bytes) -> None:
    """Every cell but the `changed` ones has its outputs from `had`; the changed ones have none; the file
    keeps its CRLF line endings and `git status` is empty."""
    data = (mine / NAME).read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")
    before = [cell.get("outputs") for cell in parse(had).content["cells"]]
    expected = [[] if index in changed else old for index, old in enumerate(before)]
    assert outputs(mine / NAME) == expected
    assert git(mine, "status", "--porcelain").stdout == b""


def test_a_pull_keeps_the_outputs_of_the_cells_it_left_alone(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    had = (mine / NAME).read_bytes()
    their_change(theirs, 1, "b = 20")
    settled(mine)
    git(mine, "pull", "-q", "--ff-only")
    assert_untouched_cells_keep_outputs(mine, (1,), had)
    assert "b = 20" in (mine / NAME).read_text(encoding="utf-8")


def test_a_merge_and_a_rebase_keep_the_outputs_of_the_cells_they_left_alone(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    edit(mine / NAME, 2, "c = 30")  # mine changes the last cell and runs it again
    cells = parse((mine / NAME).read_bytes())
    cells.content["cells"][2]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["ran here\n"]}]
    (mine / NAME).write_bytes(serialise(cells))
    had = (mine / NAME).read_bytes()
    commit(mine, "cell 2 changed")
    git(mine, "branch", "-q", "before-merge")
    their_change(theirs, 1, "b = 20")
    settled(mine)
    git(mine, "pull", "-q", "--no-rebase", "--no-edit")
    assert_untouched_cells_keep_outputs(mine, (1,), had)
    git(mine, "reset", "-q", "--hard", "before-merge")
    assert (mine / NAME).read_bytes() == had  # exactly, as recorded
    settled(mine)
    git(mine, "pull", "-q", "--rebase")
    assert_untouched_cells_keep_outputs(mine, (1,), had)
    assert [line for line in (mine / NAME).read_text(encoding="utf-8").splitlines() if "= 20" in line or "= 30" in line]


def test_an_lf_notebook_in_an_autocrlf_clone_keeps_its_outputs(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    mine = make_clone(tmp_path, origin, "mine", "autocrlf")
    git(mine, "checkout", "-q", "-b", "main")
    (mine / NAME).write_bytes(notebook(["a = 1", "b = 2", "c = 3"], crlf=False))
    commit(mine, "a notebook saved with LF line endings")
    git(mine, "push", "-q", "origin", "main")
    had = (mine / NAME).read_bytes()
    assert not (git_dir(mine) / "nbgit" / "outputs" / "eols").exists()  # nothing noted for LF notebooks
    theirs = make_clone(tmp_path, origin, "theirs", "autocrlf")
    edit(theirs / NAME, 1, "b = 20")
    commit(theirs, "cell 1 changed")
    git(theirs, "push", "-q", "origin", "main")
    settled(mine)
    git(mine, "pull", "-q", "--ff-only")
    before = [cell.get("outputs") for cell in parse(had).content["cells"]]
    assert outputs(mine / NAME) == [before[0], [], before[2]]
    assert git(mine, "status", "--porcelain").stdout == b""
    assert (mine / NAME).read_bytes().count(b"\r\n") > 0  # (git writes CRLF here from now on: noted as such)


def git_dir(repo: Path) -> Path:
    return repo / ".git"


def test_a_note_that_names_another_blob_is_never_trusted(clones: tuple[Path, Path]) -> None:
    """A note is a hint: one pointing at any other blob (a damaged or hostile store) costs the outputs
    of that pull, never a wrong restore."""
    mine, theirs = clones
    notes = sorted((git_dir(mine) / "nbgit" / "outputs" / "eols").glob("*/*"))
    assert notes
    other = git(mine, "rev-parse", "HEAD:.gitattributes").stdout.strip()
    for note in notes:
        note.write_bytes(other)
    their_change(theirs, 1, "b = 20")
    settled(mine)
    git(mine, "pull", "-q", "--ff-only")
    assert outputs(mine / NAME) == [[], [], []]
    assert git(mine, "status", "--porcelain").stdout == b""
    assert not [note for note in notes if note.exists()]  # found damaged: removed


def test_gc_keeps_the_notes_histories_name_and_drops_the_rest(clones: tuple[Path, Path]) -> None:
    mine, _ = clones
    directory = git_dir(mine) / "nbgit" / "outputs"
    kept = sorted((directory / "eols").glob("*/*"))
    assert kept and all(len(note.read_bytes().strip()) == 40 for note in kept)
    stray = directory / "eols" / "ab" / ("ab" + "0" * 38)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"not a blob id")
    orphan = directory / "eols" / "ab" / ("ab" + "1" * 38)  # a version no history names, noted two hours ago
    orphan.write_bytes(b"f" * 40)
    os.utime(orphan, (time.time() - 7200, time.time() - 7200))
    collect(Store(directory))
    assert sorted((directory / "eols").glob("*/*")) == kept
    done = nbgit(mine, "gc")
    assert done.returncode == 0, done.stderr.decode()
    assert sorted((directory / "eols").glob("*/*")) == kept


def rerun(path: Path, count: int) -> None:
    """Run the notebook again: only execution counts change (a size git sees, without reading the file)."""
    notebook = parse(path.read_bytes())
    for cell in notebook.content["cells"]:
        cell["execution_count"] = count
    path.write_bytes(serialise(notebook))


def test_refresh_settles_a_rerun_crlf_notebook(clones: tuple[Path, Path]) -> None:
    """`nbgit refresh` (and Jupyter's save hook, which runs it) names the cleaned notebook as git stores it,
    line endings converted: a re-run with no source change is no change."""
    mine, _ = clones
    rerun(mine / NAME, 100)
    assert git(mine, "status", "--porcelain").stdout != b""
    done = nbgit(mine, "refresh")
    assert done.returncode == 0, done.stderr.decode()
    assert git(mine, "status", "--porcelain").stdout == b""


def converting_nothing(tmp_path: Path) -> Path:
    """A clone of a new bare origin where git converts no line endings, NAME committed with LF ones."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    mine = make_clone(tmp_path, origin, "mine", "none")
    git(mine, "checkout", "-q", "-b", "main")
    (mine / NAME).write_bytes(notebook(["a = 1"], crlf=False))
    commit(mine, "an LF notebook")
    return mine


def test_refresh_keeps_a_line_ending_change_git_would_store(tmp_path: Path) -> None:
    """Where git converts nothing, a notebook saved anew with CRLF line endings is a change git stores:
    it stays modified."""
    mine = converting_nothing(tmp_path)
    (mine / NAME).write_bytes(notebook(["a = 1"], crlf=True))
    done = nbgit(mine, "refresh")
    assert done.returncode == 0, done.stderr.decode()
    assert git(mine, "status", "--porcelain").stdout == b" M analysis.ipynb\n"


def test_a_version_recorded_before_notes_gets_one_when_git_writes_it_out(clones: tuple[Path, Path]) -> None:
    """A store an nbgit before notes wrote (no `eols`) keeps working; git writing the version out again
    (`checkout -- FILE`, a switch back) notes it, and a pull past it then brings the outputs back."""
    mine, theirs = clones
    had = (mine / NAME).read_bytes()
    shutil.rmtree(git_dir(mine) / "nbgit" / "outputs" / "eols")
    (mine / NAME).unlink()
    git(mine, "checkout", "--", NAME)  # git writes the version out again
    assert (mine / NAME).read_bytes() == had
    assert sorted((git_dir(mine) / "nbgit" / "outputs" / "eols").glob("*/*"))
    their_change(theirs, 1, "b = 20")
    settled(mine)
    git(mine, "pull", "-q", "--ff-only")
    assert_untouched_cells_keep_outputs(mine, (1,), had)


def test_nbgit_restore_puts_back_what_a_bare_checkout_wrote_with_crlf(clones: tuple[Path, Path]) -> None:
    """A checkout without the store (`nbgit.restore=false`; a broken filter) writes the blob as git
    converts it, CRLF: that is exactly as committed, and `nbgit restore` (and `nbgit status`) know it."""
    mine, _ = clones
    had = (mine / NAME).read_bytes()
    (mine / NAME).unlink()
    git(mine, "-c", "nbgit.restore=false", "checkout", "--", NAME)
    assert outputs(mine / NAME) == [[], [], []]
    assert b"1 notebook(s) are as committed, without the outputs this clone keeps" in nbgit(mine, "status").stdout
    done = nbgit(mine, "restore")
    assert done.returncode == 0, done.stderr.decode()
    assert (mine / NAME).read_bytes() == had
    assert git(mine, "status", "--porcelain").stdout == b""


def script_saved(sources: list[str]) -> bytes:
    """A notebook never run, as a script writing `json.dumps(notebook, indent=1)` saves it: Jupyter's indent
    and line endings (LF), keys in the script's order; nothing else the filter strips."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell-{index}", "metadata": {}, "outputs": [], "source": [source]}
             for index, source in enumerate(sources)]
    content = {"cells": [dict(reversed(cell.items())) for cell in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(content, indent=1) + "\n").encode()


def teammate_without_nbgit(tmp_path: Path, mine: Path, name: str, data: bytes) -> None:
    """A teammate whose clone runs no filter commits `data` at `name` and pushes; `mine` pulls it."""
    plain = tmp_path / "plain"
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=false", str(tmp_path / "origin.git"), str(plain))
    (plain / name).write_bytes(data)
    commit(plain, "written by a script")
    git(plain, "push", "-q", "origin", "main")
    settled(mine)
    git(mine, "pull", "-q", "--ff-only")


def touched(path: Path) -> None:
    """Its modification time moved on: git compares its content with the index through the clean filter."""
    later = path.stat().st_mtime + 5
    os.utime(path, (later, later))


@pytest.mark.parametrize("written_by", ["a pull", "the clone, before nbgit was installed"])
def test_a_teammates_notebook_in_a_key_order_of_its_own_reads_back_as_its_blob(clones: tuple[Path, Path], tmp_path: Path, written_by: str) -> None:
    """A notebook committed without nbgit, clean but for its keys' order, written out as git converts it
    (CRLF): by a pull (the smudge notes it as written) or by the clone before nbgit was installed (nothing
    noted: the clean finds the index's blob in the file, `keeper.staged_as_is`). `git status` lists
    nothing, also once it is touched, and `git add` stores nothing new."""
    mine, _ = clones
    script = script_saved(["x = 1", "y = 2"])
    teammate_without_nbgit(tmp_path, mine, "script.ipynb", script)
    if written_by != "a pull":
        how = "autocrlf" if git(mine, "config", "core.autocrlf").stdout == b"true\n" else "attributes"
        mine = make_clone(tmp_path, tmp_path / "origin.git", "fresh", how)  # git wrote it, nbgit then installed
    assert (mine / "script.ipynb").read_bytes() == script.replace(b"\n", b"\r\n")
    touched(mine / "script.ipynb")
    assert git(mine, "status", "--porcelain", "script.ipynb").stdout == b""
    git(mine, "add", "script.ipynb")
    assert git(mine, "diff", "--cached", "--name-only").stdout == b""


def test_a_teammates_notebook_saved_anew_with_crlf_where_git_converts_nothing_is_stored_clean(tmp_path: Path) -> None:
    """Where git converts no line endings, that notebook saved with CRLF line endings is not the index's
    blob: a change git stores, cleaned (keys sorted, CRLF kept)."""
    mine = converting_nothing(tmp_path)
    git(mine, "push", "-q", "origin", "main")
    script = script_saved(["x = 1", "y = 2"])
    teammate_without_nbgit(tmp_path, mine, "script.ipynb", script)
    assert (mine / "script.ipynb").read_bytes() == script
    (mine / "script.ipynb").write_bytes(script.replace(b"\n", b"\r\n"))
    assert git(mine, "status", "--porcelain").stdout == b" M script.ipynb\n"
    git(mine, "add", "script.ipynb")
    stored = git(mine, "cat-file", "-p", ":script.ipynb").stdout
    assert stored == serialise(parse(script.replace(b"\n", b"\r\n")))
    assert b"\r\n" in stored


def test_a_valueless_autocrlf_converts_as_git_reads_it(tmp_path: Path) -> None:
    """`[core] autocrlf` with no value is true to git (it converts): `nbgit refresh` settles a re-run CRLF
    notebook there, and `nbgit status` and `nbgit restore` know a bare checkout's CRLF form as committed."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    mine = make_clone(tmp_path, origin, "mine", "valueless")
    git(mine, "checkout", "-q", "-b", "main")
    (mine / NAME).write_bytes(notebook(["a = 1", "b = 2"], crlf=True))
    commit(mine, "a notebook saved with CRLF line endings")
    assert b"\r\n" not in git(mine, "cat-file", "-p", f"HEAD:{NAME}").stdout  # git converted them
    rerun(mine / NAME, 100)
    had = (mine / NAME).read_bytes()
    assert git(mine, "status", "--porcelain").stdout != b""
    done = nbgit(mine, "refresh")
    assert done.returncode == 0, done.stderr.decode()
    assert git(mine, "status", "--porcelain").stdout == b""
    (mine / NAME).unlink()
    git(mine, "-c", "nbgit.restore=false", "checkout", "--", NAME)
    assert outputs(mine / NAME) == [[], []]
    assert b"1 notebook(s) are as committed, without the outputs this clone keeps" in nbgit(mine, "status").stdout
    done = nbgit(mine, "restore")
    assert done.returncode == 0, done.stderr.decode()
    assert (mine / NAME).read_bytes() == had
    assert git(mine, "status", "--porcelain").stdout == b""


@pytest.mark.parametrize("attributes", ["", "text", "-text", "text=auto", "eol=crlf", "eol=lf", "text eol=lf", "-text eol=crlf",
                                        "text=auto eol=crlf", "crlf", "-crlf", "crlf=input", "binary"])
@pytest.mark.parametrize("autocrlf", ["", "true", "input", "false", "Input", "2", "0", "= ", "(no value)"])
def test_which_line_endings_git_converts_is_told_as_git_tells_it(tmp_path: Path, attributes: str, autocrlf: str) -> None:
    """`eol.converting` (`eol.converts`) against git itself: a CRLF text file added under each attribute
    and `core.autocrlf` as a config file may hold it ("= ": an empty value, false to git; "(no value)":
    the key alone, true to git)."""
    from nbgit.store.eol import converting

    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    if autocrlf:
        line = {"(no value)": "\tautocrlf\n", "= ": "\tautocrlf =\n"}.get(autocrlf, f"\tautocrlf = {autocrlf}\n")
        with open(git_dir(repo) / "config", "a", encoding="utf-8") as config:
            config.write(f"[core]\n{line}")
    (repo / ".gitattributes").write_text(f"*.ipynb {attributes}\n" if attributes else "")
    (repo / NAME).write_bytes(notebook(["a = 1"], crlf=True))
    git(repo, "add", NAME)
    stored = git(repo, "cat-file", "-p", f":{NAME}").stdout
    assert converting(repo, [NAME]) == (set() if b"\r\n" in stored else {NAME})


def test_only_notebooks_whose_line_endings_all_are_crlf_are_noted() -> None:
    from nbgit.store.eol import lf_form, plain_lf_form

    assert lf_form(b'{\r\n "a": 1\r\n}\r\n') == b'{\n "a": 1\n}\n'
    assert lf_form(b'{\n "a": 1\r\n}\r\n') is None  # LF first: an LF notebook
    assert lf_form(b'{\r\n "a": 1\n}\r\n') is None  # a lone LF would come back as CRLF
    assert lf_form(b'{\r\n "a": "\r"\r\n}\r\n') == b'{\n "a": "\r"\n}\n'
    assert plain_lf_form(b'{\r\n "a": "\r"\r\n}\r\n') is None  # a lone CR: git, guessing, takes it for binary
