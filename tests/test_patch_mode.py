"""Hunks taken out of a re-run notebook (`git checkout -p`, `git restore -p`, `git stash push -p`): the cells
left alone keep the outputs the work tree had.

git runs `git apply -R` for these: it cleans the notebook, patches the blob and writes the result
out, a blob nobody ever cleaned, so the filter restores it cell by cell from the path's recent
versions. The newest one, the notebook as it was just read, is a blob git never stored (`git diff`
cleaned it, nothing added it): the cells came back with the outputs of the version committed before
the re-run (or none: a cell edited since and kept).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, copy_in, git, nbgit, rerun

NOTEBOOK = CORPUS / "dev" / "Carl-McBride-Ellis+My-kaggle-notebooks" / "files" / "feature-selection-using-the-boruta-shap-package.ipynb"
TAKEN, KEPT = 0, 3  # the code cells edited: the hunk of the first is taken out, the other one stays


def code_cells(path: Path) -> list[dict[str, Any]]:
    return [cell for cell in json.loads(path.read_bytes())["cells"] if cell["cell_type"] == "code"]


def edit(path: Path, index: int, line: str) -> None:
    """Append `line` to the `index`-th code cell and give the cell an output of its own, as a run does."""
    content = json.loads(path.read_bytes())
    cell = [cell for cell in content["cells"] if cell["cell_type"] == "code"][index]
    source = "".join(cell["source"]).rstrip("\n") + "\n" + line
    cell["source"] = source.splitlines(True)
    cell["outputs"], cell["execution_count"] = [{"output_type": "stream", "name": "stdout", "text": [line + " ran\n"]}], 99
    path.write_bytes((json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode())


@pytest.mark.parametrize("command", [("checkout", "-p"), ("restore", "-p"), ("stash", "push", "-p")], ids=lambda c: " ".join(c))
def test_taking_a_hunk_out_keeps_the_outputs_of_the_cells_left_alone(repo: Path, command: tuple[str, ...]) -> None:
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    copy_in(NOTEBOOK, repo, "nb.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notebook")
    committed = code_cells(repo / "nb.ipynb")
    notebook = repo / "nb.ipynb"
    notebook.write_bytes(rerun(notebook.read_bytes(), seed=3))
    edit(notebook, TAKEN, "taken = 1")
    edit(notebook, KEPT, "kept = 2")
    had = code_cells(notebook)
    assert git(repo, "diff", "--no-textconv").stdout.count(b"\n@@ ") == 2  # two hunks, one per edited cell
    git(repo, *command, "--", "nb.ipynb", input=b"y\nn\n")  # the first hunk out, the second one kept
    now = code_cells(notebook)
    assert "taken = 1" not in "".join(now[TAKEN]["source"]) and "kept = 2" in "".join(now[KEPT]["source"])
    for index, (cell, before) in enumerate(zip(now, had)):
        if index == TAKEN:  # its source is the committed one again: the outputs it had then
            assert (cell["outputs"], cell["execution_count"]) == (committed[index]["outputs"], committed[index]["execution_count"])
        else:  # left alone: the outputs of the re-run, the kept cell's own included
            assert (cell["outputs"], cell["execution_count"]) == (before["outputs"], before["execution_count"]), f"cell {index}"
    assert git(repo, "status", "--porcelain").stdout == b" M nb.ipynb\n"


def test_hunks_taken_out_of_several_notebooks_keep_the_outputs_of_the_cells_left_alone(repo: Path) -> None:
    """The same through several notebooks of one folder at once, which git hands the filter in turn (its
    answers then made ahead: nbgit.ahead, which the bytes git handed over are kept for all the same)."""
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    names = ["a.ipynb", "b.ipynb", "c.ipynb", "d.ipynb"]
    for name in names:
        copy_in(NOTEBOOK, repo, name)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notebooks")
    had = {}
    for seed, name in enumerate(names):
        notebook = repo / name
        notebook.write_bytes(rerun(notebook.read_bytes(), seed=seed + 3))
        edit(notebook, TAKEN, "taken = 1")
        edit(notebook, KEPT, "kept = 2")
        had[name] = code_cells(notebook)
    git(repo, "checkout", "-p", "--", *names, input=b"y\nn\n" * len(names))
    for name in names:
        now = code_cells(repo / name)
        assert "taken = 1" not in "".join(now[TAKEN]["source"]) and "kept = 2" in "".join(now[KEPT]["source"]), name
        for index, (cell, before) in enumerate(zip(now, had[name])):
            if index != TAKEN:
                assert (cell["outputs"], cell["execution_count"]) == (before["outputs"], before["execution_count"]), f"{name} cell {index}"
