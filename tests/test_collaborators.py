"""A teammate without nbgit, on another editor, commits a notebook you have (their plain git, or a hosting
site's web editor: no filter runs). What your clone does with it when git writes it out: the outputs
your cells had here come back where their source is unchanged, and the file reads back as its blob
(`git status` lists nothing you did not change)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import git, nbgit

from nbgit.notebook import parse

PLAIN = ("-c", "core.hooksPath=/dev/null")  # the teammate commits without nbgit's hooks
SOURCES = ["x = 1", "y = x + 1", "print(y)"]


def notebook(sources: list[str], metadata: dict[str, object] | None = None) -> dict[str, object]:
    """A notebook of code cells never run, as content."""
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {}, "outputs": [], "source": source.splitlines(True)}
        for n, source in enumerate(sources)
    ]
    kernel = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": {**kernel, **(metadata or {})}, "nbformat": 4, "nbformat_minor": 5}


def jupyter(content: dict[str, object]) -> bytes:
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def colab(sources: list[str]) -> bytes:
    """As Colab saves it with "omit code cell output": two-space indent, its own key order, its metadata."""
    content = notebook(sources, {"colab": {"provenance": []}})
    content = {"nbformat": 4, "nbformat_minor": 0, "metadata": content["metadata"], "cells": content["cells"]}
    return (json.dumps(content, indent=2) + "\n").encode()


def cleared_in_jupyter(sources: list[str]) -> bytes:
    """As Jupyter saves it after "Clear All Outputs": no outputs, no counts, but the kernel's exact
    Python version and a cell's folded output area, which the filter strips."""
    content = notebook(sources, {"language_info": {"name": "python", "version": "3.11.4", "mimetype": "text/x-python"}})
    content["cells"][0]["metadata"] = {"collapsed": True}
    return jupyter(content)


def minified(sources: list[str]) -> bytes:
    """As a script writing `json.dumps(notebook)` saves it."""
    return json.dumps(notebook(sources)).encode()


EDITORS = {"jupyter": cleared_in_jupyter, "script": minified}


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A shared repository holding a notebook nbgit stored, your clone (nbgit installed) and the
    teammate's (plain git)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    assert nbgit(seed, "install").returncode == 0
    (seed / "a.ipynb").write_bytes(jupyter(notebook(SOURCES)))
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "--no-verify", "-m", "a notebook, stored by nbgit")
    git(seed, "push", "-q", "origin", "main")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    for clone in (mine, theirs):
        git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert nbgit(mine, "install").returncode == 0
    return mine, theirs


def push(theirs: Path, data: bytes, message: str) -> None:
    (theirs / "a.ipynb").write_bytes(data)
    git(theirs, *PLAIN, "commit", "-q", "-am", message)
    git(theirs, "push", "-q", "origin", "main")


def status(repo: Path) -> bytes:
    return git(repo, "status", "--porcelain", "--untracked-files=no").stdout


def at_a_seconds_start() -> None:
    """git then writes the file in the second it writes its index: the entry is racily clean, and the
    next git command compares the file's content with the index through the clean filter."""
    time.sleep(1.02 - time.time() % 1)


def rebase_onto_theirs_then_touch(mine: Path) -> None:
    """`git pull --rebase` at a second's start goes through and lists nothing; nor does `git status` once
    the notebook is touched (git then compares its content through the clean filter)."""
    at_a_seconds_start()
    pulled = git(mine, "pull", "--rebase", check=False)
    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert status(mine) == b""
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert status(mine) == b""


@pytest.mark.parametrize("editor", EDITORS)
def test_a_notebook_a_teammates_editor_saved_is_no_change_of_yours(clones: tuple[Path, Path], editor: str) -> None:
    """No outputs and no counts, yet not what nbgit stores: git writes it as it is, and reads it back
    as that blob, also once touched; the next pull goes through."""
    mine, theirs = clones
    save = EDITORS[editor]
    push(theirs, save(["x = 'theirs'", *SOURCES[1:]]), "saved in my editor")
    at_a_seconds_start()
    git(mine, "pull", "-q", "--ff-only")
    assert status(mine) == b"", "git wrote it: nothing of yours changed"
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))  # touched: git compares the content
    assert status(mine) == b""

    push(theirs, save(["x = 'theirs'", SOURCES[1], "print(y, 'again')"]), "and again")
    at_a_seconds_start()
    pulled = git(mine, "pull", "--ff-only", check=False)
    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert status(mine) == b""
    assert (mine / "a.ipynb").read_bytes() == save(["x = 'theirs'", SOURCES[1], "print(y, 'again')"])


def unsorted(sources: list[str]) -> bytes:
    """As a script writing `json.dumps(notebook, indent=1)` saves it: Jupyter's indent, keys in the script's order."""
    content = notebook(sources)
    content["cells"] = [dict(reversed(cell.items())) for cell in content["cells"]]
    return (json.dumps(content, indent=1) + "\n").encode()


def test_a_teammates_notebook_you_ran_before_reads_back_as_its_blob(clones: tuple[Path, Path]) -> None:
    """This clone remembers the notebook (you ran it), so the checkout cleans the teammate's version to
    put your outputs back cell by cell: one that is not clean (here in a way the scan of blobs does not
    look for, the keys' order) is recorded as it is there too."""
    mine, theirs = clones
    (mine / "a.ipynb").write_bytes(ran((mine / "a.ipynb").read_bytes()))
    git(mine, "add", "a.ipynb")  # git reads it: this clone keeps its outputs
    push(theirs, unsorted(["x = 'theirs'", *SOURCES[1:]]), "written by a script")
    git(mine, "pull", "-q", "--ff-only")
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert status(mine) == b""


def ran(data: bytes) -> bytes:
    """The notebook with every code cell run (an output and a count each)."""
    content = parse(data).content
    for count, cell in enumerate(content["cells"], 1):
        cell.update(execution_count=count, outputs=[{"name": "stdout", "output_type": "stream", "text": [f"ran {count}\n"]}])
    return jupyter(content)


def without_ids(sources: list[str]) -> bytes:
    """As Colab saves a notebook: nbformat 4.0, so its cells carry no ids (Colab keeps its own in their metadata)."""
    content = json.loads(colab(sources))
    for cell in content["cells"]:
        cell["metadata"]["id"] = cell.pop("id") + "-colab"
    return (json.dumps(content, indent=2) + "\n").encode()


@pytest.mark.parametrize("how", ["--no-rebase", "--rebase"])
def test_outputs_come_back_into_cells_a_teammates_editor_took_the_ids_of(clones: tuple[Path, Path], how: str) -> None:
    """You ran the notebook and edited its last cell; the teammate edited its first cell in Colab, which
    saves nbformat 4.0 without cell ids. The merge (or rebase) has no ids either: the cell nobody
    edited still gets its outputs back, matched by its source as a cell of an nbformat 4.4 notebook is.
    A rebase first writes the teammate's commit as it is (and records it, so that git reads it back as
    its blob): its cells that never ran there must not take away the outputs they had here."""
    mine, theirs = clones
    push(theirs, without_ids(["x = 'theirs'", *SOURCES[1:]]), "edited in Colab")
    (mine / "a.ipynb").write_bytes(ran(jupyter(notebook([*SOURCES[:2], "print(y, 'mine')"]))))
    git(mine, "commit", "-q", "--no-verify", "-am", "mine, run")
    pulled = git(mine, "pull", how, "--no-edit", check=False)
    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    cells = parse((mine / "a.ipynb").read_bytes()).content["cells"]
    assert [c["source"] for c in cells] == ["x = 'theirs'", "y = x + 1", "print(y, 'mine')"]
    assert [c["outputs"] for c in cells][1:] == [[{"name": "stdout", "output_type": "stream", "text": f"ran {n}\n"}] for n in (2, 3)]
    assert cells[0]["outputs"] == [], "the cell the teammate edited never ran here"
    assert status(mine) == b""


def with_outputs(sources: list[str], size: int = 20_000) -> bytes:
    """As a teammate's Jupyter saves the notebook after running it: outputs (`size` bytes of text) and counts."""
    content = notebook(sources)
    for count, cell in enumerate(content["cells"], 1):
        cell.update(execution_count=count, outputs=[{"name": "stdout", "output_type": "stream", "text": [f"{count}" * (size // 3) + "\n"]}])
    return jupyter(content)


def turn_the_store_off(mine: Path, how: str) -> None:
    if how == "store on":
        return
    if how == "--no-restore":
        assert nbgit(mine, "install", "--no-restore").returncode == 0
    else:
        git(mine, "config", "nbgit.restore", "false")


def files_under(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


STORE_OFF = ["--no-restore", "git config"]


@pytest.mark.parametrize("how", STORE_OFF)
def test_with_the_store_off_a_rebase_onto_a_teammates_outputs_goes_through(clones: tuple[Path, Path], how: str) -> None:
    """A clone that turned the output store off keeps no outputs, yet git must not list a teammate's
    notebook it just wrote as a change of yours, nor stop `git pull --rebase` over it: the checkout
    notes the blob it wrote as committed (a few hundred bytes, nothing of its outputs), and no output
    store appears."""
    mine, theirs = clones
    (mine / "a.ipynb").write_bytes(ran(jupyter(notebook([*SOURCES[:2], "print(y, 'mine')"]))))
    git(mine, "add", "a.ipynb")  # with the store on, git reads it: its outputs are kept
    had = files_under(mine / ".git/nbgit/outputs")
    turn_the_store_off(mine, how)
    git(mine, "commit", "-q", "--no-verify", "-m", "mine")
    push(theirs, with_outputs(["x = 'theirs'", *SOURCES[1:]]), "run and committed with outputs")
    rebase_onto_theirs_then_touch(mine)
    assert files_under(mine / ".git/nbgit/outputs") == ({} if how == "--no-restore" else had), "nothing of the output store is written"
    notes = files_under(mine / ".git/nbgit/committed")
    assert {name.split("/")[0] for name in notes} <= {"notebooks", "histories", "usage"}
    assert sum(notes.values()) < 2000, "the notes hold none of the 20 KB of outputs"


@pytest.mark.parametrize("how", ["store on", *STORE_OFF])
def test_a_teammates_notebook_pulled_stays_unlisted_through_stash_and_switch(clones: tuple[Path, Path], how: str) -> None:
    """Store on or off: a teammate's notebook with outputs, pulled, is no change of yours; an edit of it stashed
    away leaves it as committed and unlisted, and pops back; a switch to a branch without it and back
    writes it again, unlisted."""
    mine, theirs = clones
    turn_the_store_off(mine, how)
    git(mine, "branch", "before")
    push(theirs, with_outputs(["x = 'theirs'", *SOURCES[1:]]), "run and committed with outputs")
    at_a_seconds_start()
    git(mine, "pull", "-q", "--ff-only")
    assert status(mine) == b""
    pulled = (mine / "a.ipynb").read_bytes()
    (mine / "a.ipynb").write_bytes(pulled.replace(b"print(y)", b"print(y, 'mine')"))
    at_a_seconds_start()
    git(mine, "stash", "-q")
    assert (mine / "a.ipynb").read_bytes() == pulled
    assert status(mine) == b""
    git(mine, "stash", "pop", "-q")
    assert b"print(y, 'mine')" in (mine / "a.ipynb").read_bytes()
    git(mine, "checkout", "-q", "--", "a.ipynb")
    for branch in ("before", "main"):
        at_a_seconds_start()
        git(mine, "switch", "-q", branch)
        assert status(mine) == b"", branch
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert status(mine) == b""


def test_no_restore_keeps_the_notes_and_uninstall_removes_them(clones: tuple[Path, Path]) -> None:
    """The notes are no outputs: `nbgit install --no-restore` removes the output store and keeps them (a
    notebook pulled before stays unlisted), `nbgit uninstall` removes them with everything else."""
    mine, theirs = clones
    push(theirs, with_outputs(["x = 'theirs'", *SOURCES[1:]]), "run and committed with outputs")
    git(mine, "pull", "-q", "--ff-only")
    done = nbgit(mine, "install", "--no-restore")
    assert done.returncode == 0 and b"removed the output store" in done.stdout, done.stdout.decode()
    assert not (mine / ".git/nbgit/outputs").exists() and (mine / ".git/nbgit/committed").is_dir()
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert status(mine) == b""
    done = nbgit(mine, "uninstall")
    assert done.returncode == 0 and b"removed the notes of notebooks written as committed" in done.stdout, done.stdout.decode()
    assert not (mine / ".git/nbgit").exists()


def test_a_web_editors_commit_is_no_change_of_yours_with_the_store_off(clones: tuple[Path, Path]) -> None:
    """A hosting site's web editor commits through git's plumbing (no filter, no hook: the bytes as typed);
    a clone with the store off pulls it at a second's start and lists nothing."""
    mine, theirs = clones
    turn_the_store_off(mine, "git config")
    origin = theirs.parent / "origin.git"
    blob = git(origin, "hash-object", "-w", "--no-filters", "--stdin", input=with_outputs(["x = 'web'", *SOURCES[1:]])).stdout.decode().strip()
    listed = git(origin, "ls-tree", "main").stdout.decode().splitlines()
    entries = [line for line in listed if not line.endswith("\ta.ipynb")] + [f"100644 blob {blob}\ta.ipynb"]
    tree = git(origin, "mktree", input="\n".join(entries).encode() + b"\n").stdout.decode().strip()
    commit = git(origin, "commit-tree", tree, "-p", "main", "-m", "edited on the web").stdout.decode().strip()
    git(origin, "update-ref", "refs/heads/main", commit)
    at_a_seconds_start()
    git(mine, "pull", "-q", "--ff-only")
    assert status(mine) == b""
    later = (mine / "a.ipynb").stat().st_mtime + 5
    os.utime(mine / "a.ipynb", (later, later))
    assert status(mine) == b""


def worktree_lines(repo: Path) -> list[str]:
    done = nbgit(repo, "status")
    return [line for line in done.stdout.decode().splitlines() if line.startswith("worktree")]


def test_a_teammates_notebook_with_outputs_run_again_here_is_listed_and_status_says_why(clones: tuple[Path, Path]) -> None:
    """Run again here, a teammate's notebook committed with outputs is listed by git status: committing it
    stores it clean, without their outputs, a real change to what the repository holds (no refresh
    can hide it). `nbgit status` says why and what to do; an edit of yours in it is named as a real
    change too, never hidden behind that line."""
    mine, theirs = clones
    push(theirs, with_outputs(["x = 'theirs'", *SOURCES[1:]], size=300), "run and committed with outputs")
    git(mine, "pull", "-q", "--ff-only")
    (mine / "a.ipynb").write_bytes(ran((mine / "a.ipynb").read_bytes()))
    assert status(mine) == b" M a.ipynb\n"
    lines = worktree_lines(mine)
    assert len(lines) == 1 and "committed with outputs or volatile state (without nbgit's filter): a.ipynb" in lines[0], lines
    assert "re-run here or not, until `nbgit renormalize` and a commit store them clean" in lines[0], lines

    (mine / "a.ipynb").write_bytes((mine / "a.ipynb").read_bytes().replace(b"print(y)", b"print(y, 'mine')"))
    lines = worktree_lines(mine)
    assert len(lines) == 2 and "1 notebook(s) with real changes: a.ipynb" in lines[1], lines
    said = nbgit(mine, "refresh").stdout.decode()
    assert "1 notebook(s) really changed and stay modified: a.ipynb" in said, said


@pytest.mark.parametrize("how", ["store on", "git config"])
def test_a_teammates_notebook_in_a_key_order_of_its_own_is_no_change_of_yours(clones: tuple[Path, Path], how: str) -> None:
    """A script saved the notebook at Jupyter's indent with its own key order and nothing else the filter
    strips: the checkout does not look for that (it would cost every checkout), so nothing notes it; the
    clean finds the file is the very blob the index holds, and git reads it back as that blob. A pull
    --rebase over it goes through; your edit of it is stored clean."""
    mine, theirs = clones
    turn_the_store_off(mine, how)
    (mine / "a.ipynb").write_bytes(jupyter(notebook([*SOURCES[:2], "print(y, 'mine')"])))
    git(mine, "commit", "-q", "--no-verify", "-am", "mine")
    push(theirs, unsorted(["x = 'theirs'", *SOURCES[1:]]), "written by a script")
    rebase_onto_theirs_then_touch(mine)
    assert (mine / "a.ipynb").read_bytes() == jupyter(notebook(["x = 'theirs'", SOURCES[1], "print(y, 'mine')"])), "the rebase's result, clean"
    at_a_seconds_start()
    git(mine, "switch", "-q", "--detach", "HEAD~1")  # the teammate's commit, written as they committed it
    assert (mine / "a.ipynb").read_bytes() == unsorted(["x = 'theirs'", *SOURCES[1:]])
    assert status(mine) == b""

    (mine / "a.ipynb").write_bytes((mine / "a.ipynb").read_bytes().replace(b"x = 'theirs'", b"x = 'edited'"))
    assert status(mine) == b" M a.ipynb\n"
    git(mine, "commit", "-q", "--no-verify", "-am", "an edit")
    assert git(mine, "show", "HEAD:a.ipynb").stdout == clean_of((mine / "a.ipynb").read_bytes()), "stored clean"


def clean_of(data: bytes) -> bytes:
    return jupyter(json.loads(data))
