"""A teammate without nbgit, on another editor, commits a notebook you have (their plain git, or a hosting
site's web editor: no filter runs). What your clone does with it when git writes it out: the outputs
your cells had here come back where their source is unchanged, and the file reads back as its blob
(`git status` lists nothing you did not change)."""

from __future__ import annotations

import json
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
