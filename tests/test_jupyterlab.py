"""JupyterLab with jupytext and nbgit on the same pairs, through a real Jupyter Server's REST API (the
calls JupyterLab makes: GET a notebook's model, PUT it back to save) with jupytext's extension, as
installed: a save changes nothing git stores, and a notebook's own jupytext formats are followed by
both alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import git, nbgit
from test_jupyter import start  # noqa: F401 - the fixture that starts a real Jupyter Server
from test_pairing import own_formats_notebook

from nbgit.notebook import Notebook, parse, serialise

JUPYTEXT = {"jupyterlab_jupytext": True}


def save(server: Any, name: str) -> None:
    """Open a notebook and save it as JupyterLab does: the model the server gives, put back unchanged."""
    model = server.request("GET", f"/api/contents/{name}?type=notebook&content=1")
    server.request("PUT", f"/api/contents/{name}", {"type": "notebook", "format": "json", "content": model["content"]})


@pytest.fixture
def installed(repo: Path) -> Path:
    """A repository paired by the policy, with nbgit installed (jupytext.toml included)."""
    (repo / ".gitignore").write_text(".ipynb_checkpoints/\n")
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode()
    assert (repo / "jupytext.toml").is_file()
    return repo


def ran(language: str, sources: list[str]) -> bytes:
    """A notebook as Jupyter saves it after a run: outputs, counts and per-cell timing metadata."""
    kernels = {
        "python": ({"name": "python3", "display_name": "Python 3", "language": "python"}, {"name": "python", "file_extension": ".py"}),
        "R": ({"name": "ir", "display_name": "R", "language": "R"}, {"name": "R", "file_extension": ".r"}),
    }
    kernel, info = kernels[language]
    cells = [{"cell_type": "markdown", "id": "m0", "metadata": {}, "source": "# Résumé"}]
    cells += [
        {"cell_type": "code", "execution_count": n, "id": f"c{n}", "metadata": {"ExecuteTime": {"end_time": "2024-01-01T00:00:00"}, "tags": ["keep"]},
         "outputs": [{"name": "stdout", "output_type": "stream", "text": f"out {n}\n"}], "source": source}
        for n, source in enumerate(sources, 1)
    ]
    return serialise(Notebook({"cells": cells, "metadata": {"kernelspec": kernel, "language_info": info}, "nbformat": 4, "nbformat_minor": 5}, 4))


def test_a_save_in_jupyterlab_changes_nothing_git_stores(installed: Path, start: Any) -> None:  # noqa: F811
    (installed / "py.ipynb").write_bytes(ran("python", ["x = 1", "print(x)"]))
    (installed / "r.ipynb").write_bytes(ran("R", ["x <- 'café'", "print(x)"]))  # jupytext adds a coding line atop its twin
    done = nbgit(installed, "sync", "--all")
    assert done.stdout == b"created py.py from py.ipynb\ncreated r.R from r.ipynb\n", done.stderr.decode()
    git(installed, "add", "-A")
    git(installed, "commit", "-q", "--no-verify", "-m", "pairs")
    committed = git(installed, "ls-files", "-s").stdout
    server = start(installed, JUPYTEXT)
    for _ in range(2):  # the first save is where jupytext echoes its settings into the notebooks
        for name in ("py.ipynb", "r.ipynb"):
            save(server, name)
        assert git(installed, "diff", "--stat").stdout == b"", "git's clean filter stores the same notebooks and twins"
        git(installed, "add", "-A")
        assert git(installed, "ls-files", "-s").stdout == committed, "a save leaves nothing to commit"
    metadata = parse((installed / "r.ipynb").read_bytes()).content["metadata"]
    assert set(metadata["jupytext"]) == {"cell_metadata_filter", "encoding"}, "JupyterLab did write its settings into the file"
    done = nbgit(installed, "sync", "--all", "--check")
    assert (done.returncode, done.stdout) == (0, b""), done.stdout.decode()


OWN_FORMATS = {"md.ipynb": ("ipynb,md", "md.md"), "light.ipynb": ("ipynb,py:light", "light.py"), "myst.ipynb": ("ipynb,md:myst", "myst.md"),
               "prefix.ipynb": ("ipynb,scripts//py:percent", "scripts/prefix.py"), "auto.ipynb": ("ipynb,auto:percent", "auto.py")}


def test_a_notebooks_own_formats_are_followed_as_jupyterlab_follows_them(installed: Path, start: Any) -> None:  # noqa: F811
    (installed / ".nbgit.toml").write_text('[pair]\nenabled = true\nformat = "R:percent"\n')  # loses to the notebooks' own formats
    for name, (formats, _) in OWN_FORMATS.items():
        (installed / name).write_bytes(own_formats_notebook(formats))
    done = nbgit(installed, "sync", "--all")
    assert sorted(done.stdout.decode().splitlines()) == sorted(f"created {twin} from {name}" for name, (_, twin) in OWN_FORMATS.items()), done.stderr.decode()
    ours = {twin: (installed / twin).read_bytes() for _, twin in OWN_FORMATS.values()}
    git(installed, "add", "-A")
    git(installed, "commit", "-q", "--no-verify", "-m", "pairs")
    server = start(installed, JUPYTEXT)
    for name in OWN_FORMATS:
        save(server, name)
    assert {twin: (installed / twin).read_bytes() for twin in ours} == ours, "JupyterLab writes the very twins nbgit wrote"
    assert not list(installed.glob("*.R"))
    git(installed, "add", "-A")
    # jupytext's own save rewrites "auto:percent" as the kernel's "py:percent" in the notebook, once
    assert git(installed, "diff", "--cached", "--name-only").stdout == b"auto.ipynb\n"
    for twin in ours:
        (installed / twin).write_text((installed / twin).read_text().replace("x = 1", "x = 2"))
    done = nbgit(installed, "sync", "--all")
    assert done.returncode == 0 and done.stdout.decode().count("updated ") == len(OWN_FORMATS), done.stdout.decode() + done.stderr.decode()
    for name in OWN_FORMATS:
        assert '"x = 2"' in (installed / name).read_text(), name


def test_own_formats_pair_a_notebook_without_the_policy_when_its_twin_exists(repo: Path, start: Any) -> None:  # noqa: F811
    (repo / "a.ipynb").write_bytes(own_formats_notebook("ipynb,md"))
    (repo / "b.ipynb").write_bytes(own_formats_notebook("ipynb,md"))
    save(start(repo, JUPYTEXT), "a.ipynb")  # jupytext writes a.md; b.md was never written
    assert (repo / "a.md").is_file() and not (repo / "b.md").exists()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "jupytext pairs")
    (repo / "a.md").write_text((repo / "a.md").read_text().replace("x = 1", "x = 3"))
    done = nbgit(repo, "sync", "--all")
    assert (done.returncode, done.stdout) == (0, b"updated a.ipynb from a.md (outputs of unchanged cells kept)\n"), done.stderr.decode()
    assert not (repo / "b.md").exists(), "a notebook is paired by its own formats only once its twin exists"
