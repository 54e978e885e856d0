"""JupyterLab with jupytext and nbgit on the same pairs, through a real Jupyter Server's REST API (the
calls JupyterLab makes: GET a notebook's model, PUT it back to save): a save changes nothing git
stores, and a notebook's own jupytext formats are followed by both alike."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import git, nbgit
from test_pairing import own_formats_notebook

from nbgit.notebook import Notebook, parse, serialise

SERVER = Path(sys.executable).with_name("jupyter-server")
TOKEN = "nbgit-tests"


class Server(NamedTuple):
    """A running Jupyter Server: the folder it serves and its contents API."""

    root: Path
    url: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}?token={TOKEN}", data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    def save(self, path: str) -> None:
        """Open a notebook and save it, as JupyterLab does: the model it gets, put back unchanged."""
        model = self.call("GET", path)
        self.call("PUT", path, {"type": "notebook", "format": "json", "content": model["content"]})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One Jupyter Server (with jupytext's extension, as installed) for the module, on a free local port."""
    if not SERVER.exists():
        pytest.skip("jupyter-server is not installed in this environment")
    root = tmp_path_factory.mktemp("served")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [str(SERVER), "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    running = Server(root, f"http://127.0.0.1:{port}/api/contents/")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                running.call("GET", "")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the Jupyter Server did not start:\n" + (root / "server.log").read_text()[-3000:])
                time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def served(server: Server) -> Path:
    """A repository inside the served folder, paired by the policy, with nbgit installed."""
    repo = Path(tempfile.mkdtemp(prefix="repo-", dir=server.root))
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text(".ipynb_checkpoints/\n")
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    done = nbgit(repo, "install")
    assert done.returncode == 0, done.stderr.decode()
    assert (repo / "jupytext.toml").is_file()
    return repo


def notebook(language: str, sources: list[str]) -> bytes:
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


@pytest.mark.parametrize(("language", "sources", "twin"), [("python", ["x = 1", "print(x)"], "a.py"), ("R", ["x <- 'café'", "print(x)"], "a.R")])
def test_a_save_in_jupyterlab_changes_nothing_git_stores(server: Server, served: Path, language: str, sources: list[str], twin: str) -> None:
    (served / "a.ipynb").write_bytes(notebook(language, sources))
    assert nbgit(served, "sync", "--all").stdout == f"created {twin} from a.ipynb\n".encode()
    git(served, "add", "-A")
    git(served, "commit", "-q", "-m", "a pair")
    committed = {name: git(served, "show", f"HEAD:{name}").stdout for name in ("a.ipynb", twin)}
    for _ in range(2):  # the first save is where jupytext echoes its settings into the notebook
        server.save(f"{served.name}/a.ipynb")
        assert git(served, "diff", "--stat").stdout == b"", "git's clean filter stores the same notebook"
        git(served, "add", "-A")
        assert git(served, "status", "--porcelain").stdout == b"", "a save leaves nothing to commit"
    assert "jupytext" in parse((served / "a.ipynb").read_bytes()).content["metadata"], "JupyterLab did write its settings into the file"
    assert {name: git(served, "show", f":{name}").stdout for name in committed} == committed
    done = nbgit(served, "sync", "--all", "--check")
    assert (done.returncode, done.stdout) == (0, b""), done.stdout.decode()


@pytest.mark.parametrize(
    ("formats", "twin"),
    [("ipynb,md", "a.md"), ("ipynb,py:light", "a.py"), ("ipynb,md:myst", "a.md"), ("ipynb,scripts//py:percent", "scripts/a.py"), ("ipynb,auto:percent", "a.py")],
)
def test_a_notebooks_own_formats_are_followed_as_jupyterlab_follows_them(server: Server, served: Path, formats: str, twin: str) -> None:
    (served / ".nbgit.toml").write_text('[pair]\nenabled = true\nformat = "R:percent"\n')  # loses to the notebook's own formats
    (served / "a.ipynb").write_bytes(own_formats_notebook(formats))
    done = nbgit(served, "sync", "--all")
    assert (done.returncode, done.stdout.decode()) == (0, f"created {twin} from a.ipynb\n"), done.stderr.decode()
    ours = (served / twin).read_bytes()
    git(served, "add", "-A")
    git(served, "commit", "-q", "-m", "pair")
    server.save(f"{served.name}/a.ipynb")
    assert (served / twin).read_bytes() == ours, "JupyterLab writes the very twin nbgit wrote"
    assert not (served / "a.R").exists()
    git(served, "add", "-A")
    if "auto" not in formats:  # jupytext's own save rewrites "auto:percent" as the kernel's "py:percent", once
        assert git(served, "status", "--porcelain").stdout == b""
    (served / twin).write_text((served / twin).read_text().replace("x = 1", "x = 2"))
    done = nbgit(served, "sync", "--all")
    assert done.returncode == 0 and f"updated a.ipynb from {twin}".encode() in done.stdout, done.stdout.decode() + done.stderr.decode()
    assert '"x = 2"' in (served / "a.ipynb").read_text()


def test_own_formats_pair_a_notebook_without_the_policy_when_its_twin_exists(server: Server, served: Path) -> None:
    (served / ".nbgit.toml").unlink()  # no pairing policy: jupytext.toml says nothing either
    (served / "jupytext.toml").unlink()
    (served / "a.ipynb").write_bytes(own_formats_notebook("ipynb,md"))
    (served / "b.ipynb").write_bytes(own_formats_notebook("ipynb,md"))
    server.save(f"{served.name}/a.ipynb")  # jupytext writes a.md; b.md was never written
    assert (served / "a.md").is_file() and not (served / "b.md").exists()
    git(served, "add", "-A")
    git(served, "commit", "-q", "-m", "jupytext pairs")
    (served / "a.md").write_text((served / "a.md").read_text().replace("x = 1", "x = 3"))
    done = nbgit(served, "sync", "--all")
    assert (done.returncode, done.stdout) == (0, b"updated a.ipynb from a.md (outputs of unchanged cells kept)\n"), done.stderr.decode()
    assert not (served / "b.md").exists(), "a notebook is paired by its own formats only once its twin exists"
