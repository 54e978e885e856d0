"""Cell ids minted apart: Jupyter gives every cell a random id the first time it saves a notebook of
nbformat 4.4 or older as 4.5, so two people who both open an old notebook give the same cells
different ids (and some tools mint new ones on every save). Their edits to different cells must still
merge cell by cell through real pulls, and your outputs must stay in your work tree."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from conftest import git, shared_clones

from nbgit.notebook import parse

SOURCES = ["import math", "radius = 2\narea = math.pi * radius ** 2", "print(area)", "half = area / 2", "print(half)"]


def old_notebook(sources: list[str]) -> bytes:
    """A notebook as Jupyter wrote it before cell ids (nbformat 4.4)."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source} for source in sources]
    content = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
               "nbformat": 4, "nbformat_minor": 4}
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def saved_by_new_jupyter(data: bytes, edits: dict[int, str], ran: bool) -> bytes:
    """The notebook opened and saved by a Jupyter that writes nbformat 4.5: a new random id on every cell,
    `edits` made, and every cell run when `ran` (an output and a count each)."""
    content = json.loads(data)
    content["nbformat_minor"] = 5
    for number, cell in enumerate(content["cells"]):
        cell["id"] = uuid.uuid4().hex[:8]
        cell["source"] = edits.get(number, cell["source"])
        if ran:
            cell["execution_count"] = number + 1
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [f"ran cell {number}\n"]}]
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A shared repository holding an nbformat 4.4 notebook; your clone and a teammate's, both with nbgit."""
    return shared_clones(tmp_path, {"a.ipynb": old_notebook(SOURCES)}, installed=("mine", "theirs"))


@pytest.mark.parametrize("how", ["--no-rebase", "--rebase"])
def test_edits_to_different_cells_merge_when_both_sides_minted_ids(clones: tuple[Path, Path], how: str) -> None:
    """Both open the old notebook in a new Jupyter: the teammate edits cell 4 and pushes, you edit and run
    cell 2 (every cell run) and commit. The pull merged nothing cell by cell before (a conflict over the
    whole notebook: no cell shared an id); now both edits are in, your outputs stay in your file,
    `git status` is clean and git's blob holds no output."""
    mine, theirs = clones
    (theirs / "a.ipynb").write_bytes(saved_by_new_jupyter((theirs / "a.ipynb").read_bytes(), {3: "half = area / 3"}, ran=False))
    git(theirs, "commit", "-q", "-am", "a third")
    git(theirs, "push", "-q", "origin", "main")
    (mine / "a.ipynb").write_bytes(saved_by_new_jupyter((mine / "a.ipynb").read_bytes(), {1: "radius = 3\narea = math.pi * radius ** 2"}, ran=True))
    git(mine, "commit", "-q", "-am", "radius 3")
    mine_ids = [cell["id"] for cell in parse((mine / "a.ipynb").read_bytes()).content["cells"]]

    pulled = git(mine, "pull", how, "--no-edit", check=False)

    assert pulled.returncode == 0, (pulled.stdout + pulled.stderr).decode()
    content = parse((mine / "a.ipynb").read_bytes()).content
    assert [cell["source"] for cell in content["cells"]] == [SOURCES[0], "radius = 3\narea = math.pi * radius ** 2", SOURCES[2], "half = area / 3", SOURCES[4]]
    ids = [cell["id"] for cell in content["cells"]]
    assert len(set(ids)) == 5 and content["nbformat_minor"] == 5
    if how == "--no-rebase":
        assert ids == mine_ids, "a merge keeps your ids"
    ran = [cell["outputs"][0]["text"] if cell["outputs"] else None for cell in content["cells"]]
    assert ran == ["ran cell 0\n", "ran cell 1\n", "ran cell 2\n", None, "ran cell 4\n"], "your outputs stay, but on the cell the teammate changed"
    assert git(mine, "status", "--porcelain", "a.ipynb").stdout == b""
    assert b"ran cell" not in git(mine, "show", "HEAD:a.ipynb").stdout
