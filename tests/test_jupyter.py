"""nbgit's Jupyter Server extension: a real server, saves over the contents REST API as JupyterLab sends them."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conftest import copy_in, git, nbgit, rerun, rerunnable, track_many

pytest.importorskip("jupyter_server", reason="needs jupyter_server (pip install -e '.[jupyter]')")
NOTEBOOKS = rerunnable(3)
ABOUT_1MB = rerunnable(1, (900_000, 1_500_000))
pytestmark = pytest.mark.skipif(len(NOTEBOOKS) < 3, reason="needs ../shared/corpus")
PROJECT = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = PROJECT / "src" / "nbgit" / "jupyter" / "nbgit.json"  # installed as etc/jupyter/jupyter_server_config.d/nbgit.json
TOKEN = "nbgit-test-token"


class Server(NamedTuple):
    """A running Jupyter Server: its base URL, its log file and its process."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        """One call to the REST API, authenticated with the token as JupyterLab's requests are."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read() or b"null")

    def save_rerun(self, name: str, seed: int, edit: bool = False) -> float:
        """Load a notebook, re-run it (and edit a source when asked), save it as JupyterLab does; the save's seconds."""
        url = f"/api/contents/{urllib.parse.quote(name)}"
        content = self.request("GET", f"{url}?type=notebook&content=1")["content"]
        content = json.loads(rerun(json.dumps(content).encode(), seed))
        if edit:
            cell = next(c for c in content["cells"] if c["cell_type"] == "code")
            cell["source"] += "\nprint('a real change')"
        started = time.perf_counter()
        saved = self.request("PUT", url, {"type": "notebook", "format": "json", "content": content})
        assert saved["path"] == name
        return time.perf_counter() - started

    def warnings(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").split("\n") if line.startswith("[W") and "nbgit:" in line]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """Start a real `python -m jupyter_server` on a free port with a token, configured as installing nbgit configures it."""
    started: list[subprocess.Popen[bytes]] = []

    def launch(root: Path, extensions: dict[str, bool], settings: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Server:
        config = tmp_path / f"jupyter-config-{len(started)}"
        (config / "jupyter_server_config.d").mkdir(parents=True)
        shutil.copyfile(SHIPPED_CONFIG, config / "jupyter_server_config.d" / "nbgit.json")  # what pip installs in etc/jupyter
        quick = {"nbdime": False, "jupyter_server_terminals": False, **extensions}
        settings = settings or {}
        server_app = {"jpserver_extensions": quick, **settings.get("ServerApp", {})}
        (config / "jupyter_server_config.json").write_text(json.dumps({**settings, "ServerApp": server_app}))
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
               "JUPYTER_DATA_DIR": str(tmp_path / "data"), **(env or {})}
        port = free_port()
        log = tmp_path / f"server-{len(started)}.log"
        command = [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"]
        with log.open("wb") as output:
            started.append(subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT))
        server = Server(f"http://127.0.0.1:{port}", log, started[-1])
        deadline = time.monotonic() + 90
        while True:
            try:
                server.request("GET", "/api/status")
                return server
            except (urllib.error.URLError, ConnectionError):
                assert started[-1].poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)

    yield launch
    for process in started:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def committed(repo: Path) -> Path:
    """A repository wired with `nbgit install`, three real notebooks committed through the filter."""
    assert nbgit(repo, "install").returncode == 0
    (repo / ".gitignore").write_text(".ipynb_checkpoints/\n")
    for number, source in enumerate(NOTEBOOKS):
        copy_in(source, repo, f"nb{number}.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "notebooks")
    return repo


def porcelain(repo: Path) -> list[str]:
    return git(repo, "status", "--porcelain").stdout.decode().splitlines()


def test_saving_a_rerun_notebook_leaves_git_status_quiet_after_the_users_own_hook(committed: Path, start: Any, tmp_path: Path) -> None:
    (tmp_path / "users_hook.py").write_text(
        "from pathlib import Path\n"
        "def after_save(os_path, model, contents_manager):\n"
        "    with open(Path(__file__).with_name('saved.txt'), 'a') as log:\n"
        "        log.write(Path(os_path).name + '\\n')\n"
    )
    server = start(committed, {"jupyterlab_jupytext": False}, {"ContentsManager": {"post_save_hook": "users_hook.after_save"}})

    server.save_rerun("nb0.ipynb", seed=1)
    server.save_rerun("nb1.ipynb", seed=2, edit=True)

    assert (tmp_path / "saved.txt").read_text() == "nb0.ipynb\nnb1.ipynb\n"  # the hook already set still runs
    assert porcelain(committed) == [" M nb1.ipynb"]
    assert b"a real change" in git(committed, "diff", "nb1.ipynb").stdout
    assert server.warnings() == []
    assert "Deriving an AsyncTextFileContentsManager" not in server.log.read_text()


def test_reverting_to_a_checkpoint_leaves_git_status_quiet(committed: Path, start: Any) -> None:
    """JupyterLab's File > Revert Notebook to Checkpoint writes the notebook back without a save
    (Jupyter runs no post-save hook): a checkpoint of a re-run that changed no source is no change."""
    server = start(committed, {"jupyterlab_jupytext": False})
    server.save_rerun("nb0.ipynb", seed=1)
    checkpoint = server.request("POST", "/api/contents/nb0.ipynb/checkpoints")  # File > Save and Create Checkpoint
    server.save_rerun("nb0.ipynb", seed=2)

    server.request("POST", f"/api/contents/nb0.ipynb/checkpoints/{checkpoint['id']}")

    assert (committed / "nb0.ipynb").read_bytes() == (committed / ".ipynb_checkpoints" / "nb0-checkpoint.ipynb").read_bytes()
    assert porcelain(committed) == []
    assert server.warnings() == []


def test_a_synchronous_contents_manager_saves_settled_too(committed: Path, start: Any, tmp_path: Path) -> None:
    """A contents manager whose `save` is synchronous (it saves on the event loop) has its hook wait
    for the refresh: when the save answers, the notebook is settled there too."""
    (tmp_path / "users_hook.py").write_text(
        "import inspect\n"
        "from pathlib import Path\n"
        "def after_save(os_path, model, contents_manager):\n"
        "    Path(__file__).with_name('manager.txt').write_text(f'{type(contents_manager).__name__} {inspect.iscoroutinefunction(contents_manager.save)}')\n"
    )
    manager = "jupyter_server.services.contents.filemanager.FileContentsManager"
    server = start(committed, {"jupyterlab_jupytext": False}, {"ServerApp": {"contents_manager_class": manager}, "ContentsManager": {"post_save_hook": "users_hook.after_save"}})

    server.save_rerun("nb0.ipynb", seed=1)
    server.save_rerun("nb1.ipynb", seed=2, edit=True)

    assert (tmp_path / "manager.txt").read_text() == "FileContentsManager False"
    assert porcelain(committed) == [" M nb1.ipynb"]
    assert server.warnings() == []


def test_with_jupytexts_contents_manager_and_a_paired_notebook(committed: Path, start: Any) -> None:
    (committed / "jupytext.toml").write_text('formats = "ipynb,py:percent"\n')
    server = start(committed, {"jupyterlab_jupytext": True})
    assert "Deriving an AsyncTextFileContentsManager" in server.log.read_text()  # jupytext replaced the contents manager
    server.save_rerun("nb0.ipynb", seed=1)  # writes the twin nb0.py
    git(committed, "add", "-A")
    git(committed, "commit", "-q", "--no-verify", "-m", "pair")

    server.save_rerun("nb0.ipynb", seed=2)
    server.save_rerun("nb2.ipynb", seed=3, edit=True)

    assert porcelain(committed) == [" M nb2.ipynb", "?? nb2.py"]
    assert server.warnings() == []


def test_without_the_extension_git_lists_the_rerun_notebook(committed: Path, start: Any) -> None:
    server = start(committed, {"jupyterlab_jupytext": False, "nbgit.jupyter": False})

    server.save_rerun("nb0.ipynb", seed=1)

    assert porcelain(committed) == [" M nb0.ipynb"]  # the phantom the extension removes
    assert nbgit(committed, "refresh").returncode == 0
    assert porcelain(committed) == []


def test_a_save_always_succeeds_when_nbgit_cannot_refresh(committed: Path, start: Any) -> None:
    server = start(committed, {"jupyterlab_jupytext": False})
    (committed / ".git" / "index.lock").write_bytes(b"")  # another git command at work

    seconds = server.save_rerun("nb0.ipynb", seed=1)

    assert seconds < 5  # the hook never waits for the lock
    (committed / ".git" / "index.lock").unlink()
    assert porcelain(committed) == [" M nb0.ipynb"]
    (committed / ".nbgit.toml").write_text("outputs = 'sometimes'\n")  # a broken policy
    server.save_rerun("nb1.ipynb", seed=2)
    assert porcelain(committed) == [" M nb0.ipynb", " M nb1.ipynb", "?? .nbgit.toml"]
    warnings = server.warnings()
    assert len(warnings) == 2, warnings
    assert "nb0.ipynb: another git command is using the index" in warnings[0]
    assert "nb1.ipynb: .nbgit.toml: `outputs` must be" in warnings[1]


@pytest.fixture
def large(committed: Path) -> Path:
    """`committed` with a real notebook of about 1 MB (`big.ipynb`) and 90,000 small files more: an
    index of 7.9 MB, as large as a big repository's."""
    if not ABOUT_1MB:
        pytest.skip("needs a notebook of about 1 MB in ../shared/corpus")
    copy_in(ABOUT_1MB[0], committed, "big.ipynb")
    git(committed, "add", "big.ipynb")
    git(committed, "commit", "-q", "--no-verify", "-m", "a big notebook")
    track_many(committed, 90_000)
    return committed


def test_in_an_index_of_90000_entries_a_rerun_save_is_settled_and_a_real_edit_stays_listed(large: Path, start: Any) -> None:
    server = start(large, {"jupyterlab_jupytext": False})

    server.save_rerun("big.ipynb", seed=1)
    assert porcelain(large) == []  # settled by the time the save answers
    server.save_rerun("nb0.ipynb", seed=2, edit=True)
    server.save_rerun("nb1.ipynb", seed=3)
    server.save_rerun("big.ipynb", seed=4)

    assert porcelain(large) == [" M nb0.ipynb"]
    assert b"a real change" in git(large, "diff", "nb0.ipynb").stdout
    server.save_rerun("big.ipynb", seed=5, edit=True)
    assert porcelain(large) == [" M big.ipynb", " M nb0.ipynb"]
    assert server.warnings() == []


GATED_GIT = """#!/bin/sh
# git, except that a refresh's first `git diff-files` waits for a line through the FIFO $GATE (then gone)
if [ "$2" = diff-files ] && [ -p "$GATE" ]; then read -r line < "$GATE"; rm -f "$GATE"; fi
exec "{git}" "$@"
"""


def gated_git(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Where the gate's FIFO goes (made by the test), and the environment that puts the gated git
    first on a server's PATH: nbgit's refresh then waits at the gate for as long as the test likes."""
    folder = tmp_path / "gated"
    folder.mkdir()
    (folder / "git").write_text(GATED_GIT.format(git=shutil.which("git")))
    (folder / "git").chmod(0o755)
    return tmp_path / "gate", {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "GATE": str(tmp_path / "gate")}


def gated_server(committed: Path, start: Any, tmp_path: Path) -> tuple[Path, Any]:
    """The gate's FIFO and a server of `committed` whose refreshes wait at it, made once the server
    is up (its own start runs git)."""
    fifo, env = gated_git(tmp_path)
    server = start(committed, {"jupyterlab_jupytext": False}, env=env)
    os.mkfifo(fifo)
    return fifo, server


@contextlib.contextmanager
def held_at_the_gate(fifo: Path, seconds: float = 60) -> Iterator[None]:
    """Once a refresh waits at the gate (its git opened the FIFO), run the block; then let it through."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:  # ENXIO: no reader yet
            assert error.errno == errno.ENXIO and time.monotonic() < deadline, f"no refresh reached the gate: {error}"
            time.sleep(0.01)
    try:
        yield
    finally:
        os.write(writer, b"go\n")
        os.close(writer)


def test_a_refresh_never_holds_up_the_servers_event_loop(committed: Path, start: Any, tmp_path: Path) -> None:
    """While a save's refresh is at work (held up here in its first git command), the server answers
    every other request; the save itself answers once its notebook is settled."""
    fifo, server = gated_server(committed, start, tmp_path)

    with ThreadPoolExecutor(1) as pool:
        saving = pool.submit(server.save_rerun, "nb0.ipynb", 1)
        with held_at_the_gate(fifo):
            listing = server.request("GET", "/api/contents?content=1", timeout=10)  # a blocked event loop would answer nothing
            assert not saving.done()
        saving.result()

    assert "nb1.ipynb" in {item["name"] for item in listing["content"]}
    assert porcelain(committed) == []
    assert server.warnings() == []


@pytest.mark.parametrize(("edit", "listed"), [(False, []), (True, [" M nb0.ipynb"])], ids=["re-run again", "then edited"])
def test_a_save_during_the_refresh_of_the_one_before_is_refreshed_after_it(committed: Path, start: Any, tmp_path: Path, edit: bool, listed: list[str]) -> None:
    """Two quick saves of one notebook: the second is written while the first one's refresh waits,
    and is refreshed after it, none lost: a re-run saved twice is settled, a real edit stays listed."""
    fifo, server = gated_server(committed, start, tmp_path)
    notebook = committed / "nb0.ipynb"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(server.save_rerun, "nb0.ipynb", 1)
        with held_at_the_gate(fifo):
            written = notebook.read_bytes()
            second = pool.submit(server.save_rerun, "nb0.ipynb", 2, edit)
            deadline = time.monotonic() + 60
            while notebook.read_bytes() == written:  # the second save written, its refresh queued behind the first
                assert time.monotonic() < deadline and not second.done(), "the second save never came"
                time.sleep(0.01)
        first.result()
        second.result()

    assert porcelain(committed) == listed
    assert server.warnings() == []


def test_a_server_stopped_during_a_refresh_answers_the_save_and_exits(committed: Path, start: Any, tmp_path: Path) -> None:
    """Stopped (SIGTERM) while a save's refresh is at work, the server lets the refresh finish and the
    save answer before it exits: the notebook is settled, no index.lock is left behind, and the
    server is not left hanging on a request that never ended."""
    fifo, server = gated_server(committed, start, tmp_path)

    with ThreadPoolExecutor(1) as pool:
        saving = pool.submit(server.save_rerun, "nb0.ipynb", 1)
        with held_at_the_gate(fifo):
            server.process.terminate()
            deadline = time.monotonic() + 60
            while True:  # until the server takes no more requests: it is stopping
                try:
                    server.request("GET", "/api/status", timeout=5)
                except (urllib.error.URLError, ConnectionError):
                    break
                assert time.monotonic() < deadline, "the server kept serving after SIGTERM"
                time.sleep(0.05)
            assert not saving.done() and server.process.poll() is None
        saving.result()

    assert server.process.wait(timeout=60) == 0
    assert not (committed / ".git" / "index.lock").exists()
    assert porcelain(committed) == []
    assert server.warnings() == []


def test_a_folder_reached_through_a_link_is_in_the_repository_git_finds_there(committed: Path, start: Any, tmp_path: Path) -> None:
    """git runs in the saved notebook's folder with the links resolved: a clone linked into the
    server's root is refreshed, and a linked folder of a clone that leads outside every repository
    is in none (no git command, no warning)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "project").symlink_to(committed)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(committed / "nb1.ipynb", data / "scratch.ipynb")
    (committed / "data").symlink_to(data)
    (committed / ".git" / "info" / "exclude").write_text("data\n")
    server = start(served, {"jupyterlab_jupytext": False})

    server.save_rerun("project/nb0.ipynb", seed=1)
    server.save_rerun("project/data/scratch.ipynb", seed=2)

    assert porcelain(committed) == []
    assert server.warnings() == []


def test_a_strangers_submodule_path_never_sends_the_hook_outside_the_repository(committed: Path, start: Any, tmp_path: Path) -> None:
    """git prints a work tree's top on one line; a submodule path holding characters Python also
    splits lines at (U+001C here) must not become an index path of the stranger's choosing."""
    inner = tmp_path / "inner"
    shutil.copytree(committed, inner, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    outside = tmp_path / "outside"  # where the crafted path points: no repository's index
    (tmp_path / "outside.lock").write_bytes(b"")  # the hook would take it as git's lock there
    (committed / "x").mkdir()
    shutil.copyfile(committed / "nb0.ipynb", committed / "x" / "nb0.ipynb")  # what the made-up top would judge
    crafted = f"x\x1c{outside}\x1csha1"
    git(committed, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), crafted)
    git(committed, "add", "-A")
    git(committed, "commit", "-q", "--no-verify", "-m", "a submodule")
    submodule = committed / crafted
    assert nbgit(submodule, "install").returncode == 0
    server = start(committed, {"jupyterlab_jupytext": False})

    server.save_rerun(f"{crafted}/nb0.ipynb", seed=1)

    assert server.warnings() == []
    assert porcelain(submodule) == []
    assert not outside.exists() and (tmp_path / "outside.lock").read_bytes() == b""


def test_the_package_ships_the_file_that_enables_the_extension() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    import nbgit.jupyter

    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["data-files"]["etc/jupyter/jupyter_server_config.d"]
    assert shipped == [SHIPPED_CONFIG.relative_to(PROJECT).as_posix()]
    assert json.loads(SHIPPED_CONFIG.read_text()) == {"ServerApp": {"jpserver_extensions": {"nbgit.jupyter": True}}}
    assert nbgit.jupyter._jupyter_server_extension_points() == [{"module": "nbgit.jupyter"}]
    assert "jupyter_server>=2.0" in project["project"]["optional-dependencies"]["jupyter"]
