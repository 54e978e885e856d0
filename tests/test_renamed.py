"""A notebook renamed by git: a teammate's `git mv` met through a pull (merge or rebase), or a branch
that renamed it checked out. git's filter is never told of a rename, so the checkout wrote the new
path as committed, without the outputs you had at the old one; nbgit's post-merge, post-checkout and
post-rewrite hooks put them back (cell by cell, only into a file exactly as committed), and
`git status` stays clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, nbgit, shared_clones

from nbgit.notebook import Notebook, parse, serialise

PLAIN = ("-c", "core.hooksPath=/dev/null")  # the teammate works without nbgit


def notebook(edits: dict[int, str], ran: bool, crlf: bool = False, unrun: tuple[int, ...] = ()) -> bytes:
    """Five code cells (`v{n} = n; print(v{n})`), `edits` replacing sources, every cell run when `ran` (but
    those `unrun`); as Jupyter writes it, with CRLF line endings when `crlf` (unrun, it is what nbgit
    would commit: the teammate's commits are clean)."""
    cells = [{"cell_type": "code", "execution_count": number + 1 if ran and number not in unrun else None, "id": f"c{number}", "metadata": {},
              "outputs": [{"name": "stdout", "output_type": "stream", "text": [f"ran {number}\n"]}] if ran and number not in unrun else [],
              "source": edits.get(number, f"v{number} = {number}\nprint(v{number})")} for number in range(5)]
    content = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
               "nbformat": 4, "nbformat_minor": 5}
    return serialise(Notebook(content, 4, crlf))


def outputs(path: Path) -> list[str | None]:
    return ["".join(cell["outputs"][0]["text"]) if cell["outputs"] else None for cell in parse(path.read_bytes()).content["cells"]]


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A shared repository with one notebook; your clone (nbgit installed) and a teammate's (plain git)."""
    return shared_clones(tmp_path, {"a.ipynb": notebook({}, ran=False)})


@pytest.mark.parametrize("how", ["--no-rebase", "--rebase"])
def test_a_teammates_rename_keeps_your_outputs(clones: tuple[Path, Path], how: str) -> None:
    """The teammate renames the notebook into a folder and edits cell 2; you run every cell and edit cell
    4. After the pull the notebook is at its new path with both edits and your outputs on every cell
    but the one the teammate changed (before: none at all)."""
    mine, theirs = clones
    git(theirs, "mv", "a.ipynb", "b.ipynb")
    (theirs / "b.ipynb").write_bytes(notebook({1: "v1 = 'theirs'"}, ran=False))
    git(theirs, *PLAIN, "commit", "-q", "-am", "renamed")
    git(theirs, "push", "-q", "origin", "main")
    (mine / "a.ipynb").write_bytes(notebook({3: "v3 = 'mine'"}, ran=True))
    git(mine, "commit", "-q", "-am", "mine")

    pulled = git(mine, "pull", "-q", how, "--no-edit", check=False)

    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert not (mine / "a.ipynb").exists()
    assert [cell["source"] for cell in parse((mine / "b.ipynb").read_bytes()).content["cells"]][1::2] == ["v1 = 'theirs'", "v3 = 'mine'"]
    assert outputs(mine / "b.ipynb") == ["ran 0\n", None, "ran 2\n", "ran 3\n", "ran 4\n"]
    assert git(mine, "status", "--porcelain", "--", "a.ipynb", "b.ipynb").stdout == b""
    assert b"ran " not in git(mine, "show", "HEAD:b.ipynb").stdout


def test_a_branch_that_renamed_it_checks_out_with_your_outputs(clones: tuple[Path, Path]) -> None:
    """A branch moves the notebook into a folder and edits cell 1; you ran it on main. Checking the branch
    out gives the moved notebook your outputs of the cells it did not change; back on main, the old path
    has them all again (its own version, exactly)."""
    mine, _ = clones
    (mine / "a.ipynb").write_bytes(notebook({}, ran=True))
    git(mine, "add", "a.ipynb")  # (nothing to commit: the blob holds no outputs; git has read the file)
    git(mine, "checkout", "-q", "-b", "moved")
    (mine / "notes").mkdir()
    git(mine, "mv", "a.ipynb", "notes/a.ipynb")
    (mine / "notes" / "a.ipynb").write_bytes(notebook({0: "v0 = 'moved'"}, ran=False))
    git(mine, "commit", "-q", "-am", "moved")
    git(mine, "checkout", "-q", "main")
    assert outputs(mine / "a.ipynb") == [f"ran {n}\n" for n in range(5)]

    git(mine, "checkout", "-q", "moved")

    assert outputs(mine / "notes" / "a.ipynb") == [None, "ran 1\n", "ran 2\n", "ran 3\n", "ran 4\n"]
    assert git(mine, "status", "--porcelain").stdout == b"?? .gitattributes\n"


def test_with_the_output_store_off_nothing_is_written(clones: tuple[Path, Path]) -> None:
    mine, theirs = clones
    git(mine, "config", "nbgit.restore", "false")
    git(theirs, "mv", "a.ipynb", "b.ipynb")
    git(theirs, *PLAIN, "commit", "-q", "-m", "renamed")
    git(theirs, "push", "-q", "origin", "main")
    pulled = git(mine, "pull", "-q", "--no-rebase")
    assert pulled.stderr == b""
    assert (mine / "b.ipynb").read_bytes() == git(mine, "show", "HEAD:b.ipynb").stdout


@pytest.fixture
def converting(tmp_path: Path) -> tuple[Path, Path]:
    """As `clones`, your clone converting line endings (`core.autocrlf=true`, Git for Windows' default): git
    writes notebooks there with CRLF line endings and stores them with LF."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(origin), str(seed))
    (seed / "a.ipynb").write_bytes(notebook({}, ran=False))
    git(seed, "add", "-A")
    git(seed, *PLAIN, "commit", "-q", "-m", "the first commit")
    git(seed, "push", "-q", "origin", "main")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=true", str(origin), str(mine))
    git(tmp_path, "clone", "-q", str(origin), str(theirs))
    done = nbgit(mine, "install")
    assert done.returncode == 0, done.stderr.decode()
    assert (mine / "a.ipynb").read_bytes() == notebook({}, ran=False, crlf=True)
    return mine, theirs


@pytest.mark.parametrize("how", ["--no-rebase", "--rebase"])
def test_a_teammates_rename_keeps_your_outputs_where_git_converts_line_endings(converting: tuple[Path, Path], how: str) -> None:
    """As `test_a_teammates_rename_keeps_your_outputs`, in a clone where git writes CRLF line endings: the
    notebook comes back at its new path byte for byte as Jupyter writes it there, CRLF line endings and
    your outputs on every cell but the one the teammate changed."""
    mine, theirs = converting
    git(theirs, "mv", "a.ipynb", "b.ipynb")
    (theirs / "b.ipynb").write_bytes(notebook({1: "v1 = 'theirs'"}, ran=False))
    git(theirs, *PLAIN, "commit", "-q", "-am", "renamed")
    git(theirs, "push", "-q", "origin", "main")
    (mine / "a.ipynb").write_bytes(notebook({3: "v3 = 'mine'"}, ran=True, crlf=True))
    git(mine, "commit", "-q", "-am", "mine")

    pulled = git(mine, "pull", "-q", how, "--no-edit", check=False)

    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    assert not (mine / "a.ipynb").exists()
    assert (mine / "b.ipynb").read_bytes() == notebook({1: "v1 = 'theirs'", 3: "v3 = 'mine'"}, ran=True, crlf=True, unrun=(1,))
    assert git(mine, "status", "--porcelain", "--", "a.ipynb", "b.ipynb").stdout == b""
    assert b"ran " not in git(mine, "show", "HEAD:b.ipynb").stdout
    assert b"\r\n" not in git(mine, "show", "HEAD:b.ipynb").stdout


def test_a_branch_that_renamed_it_checks_out_with_your_outputs_where_git_converts_line_endings(converting: tuple[Path, Path]) -> None:
    """As `test_a_branch_that_renamed_it_checks_out_with_your_outputs`, in a clone where git writes CRLF line
    endings: byte for byte as Jupyter writes the moved notebook there."""
    mine, _ = converting
    (mine / "a.ipynb").write_bytes(notebook({}, ran=True, crlf=True))
    git(mine, "add", "a.ipynb")  # (nothing to commit: the blob holds no outputs; git has read the file)
    git(mine, "checkout", "-q", "-b", "moved")
    (mine / "notes").mkdir()
    git(mine, "mv", "a.ipynb", "notes/a.ipynb")
    (mine / "notes" / "a.ipynb").write_bytes(notebook({0: "v0 = 'moved'"}, ran=False, crlf=True))
    git(mine, "commit", "-q", "-am", "moved")
    git(mine, "checkout", "-q", "main")
    assert (mine / "a.ipynb").read_bytes() == notebook({}, ran=True, crlf=True)

    git(mine, "checkout", "-q", "moved")

    assert (mine / "notes" / "a.ipynb").read_bytes() == notebook({0: "v0 = 'moved'"}, ran=True, crlf=True, unrun=(0,))
    assert git(mine, "status", "--porcelain").stdout == b"?? .gitattributes\n"
    git(mine, "checkout", "-q", "main")
    assert (mine / "a.ipynb").read_bytes() == notebook({}, ran=True, crlf=True)
