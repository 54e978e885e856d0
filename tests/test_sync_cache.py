"""What sync remembers (`.git/nbgit-pairs.json`) is repository-local state that any tool in the clone
can replace. Whatever stands there (a FIFO, a folder, a link out of the repository or into its work
tree, a file larger than the cap, JSON of any shape), `nbgit sync` and `nbgit check --all` answer as
they do without it: no hang, no traceback, nothing written through it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import NBGIT, git, nbgit
from test_sync import enable_pairing, notebook_bytes, set_cell

from nbgit.pairing import settings
from nbgit.policy import load_policy
from nbgit.sync.cache import PairCache

CACHE = Path(".git", "nbgit-pairs.json")
SYNCED = b"updated a.py from a.ipynb\n"


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`nbgit ARGS` in `repo`; a run that waits (on a FIFO) fails the test instead of hanging it."""
    try:
        done = subprocess.run([str(NBGIT), *args], cwd=repo, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"nbgit {' '.join(args)} hung")
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    return done


def answers(repo: Path) -> list[tuple[int, bytes, bytes]]:
    """What `nbgit sync --check` and `nbgit check --all` say (exit code, stdout, stderr); neither writes a twin."""
    return [(done.returncode, done.stdout, done.stderr) for done in (run(repo, "sync", "--check"), run(repo, "check", "--all"))]


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


Edited = tuple[Path, dict[str, Any], list[tuple[int, bytes, bytes]]]


@pytest.fixture
def edited(repo: Path) -> Edited:
    """A repository with a.ipynb and its twin a.py committed in step, then the notebook edited; the
    cache as `nbgit pair` wrote it (remembering the pair in step), and the answers given with no cache."""
    enable_pairing(repo)
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    assert nbgit(repo, "pair").stdout == b"paired a.ipynb with a.py\n"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pair")
    saved = json.loads((repo / CACHE).read_bytes())
    assert set(saved["pairs"]) == {"a.ipynb"}
    set_cell(repo / "a.ipynb", 1, "x = 10\ny = 2")
    (repo / CACHE).unlink()
    expected = answers(repo)
    assert expected[0][:2] == (1, b"a.ipynb: notebook changed (nbgit sync would do it): " + SYNCED)
    assert expected[1][0] == 1 and b"a.ipynb: changed since its twin a.py was last in step [unsynced]" in expected[1][1]
    (repo / CACHE).unlink(missing_ok=True)
    return repo, saved, expected


def remembered(repo: Path) -> list[str]:
    """What the cache remembers of the pair now, read as JSON."""
    return json.loads((repo / CACHE).read_bytes())["pairs"]["a.ipynb"]


def crafted_pairs(entry: Callable[[Path], object]) -> Callable[[Path, dict[str, Any]], bytes]:
    return lambda repo, saved: json.dumps({**saved, "pairs": {"a.ipynb": entry(repo)}}).encode()


def crafted(**fields: object) -> Callable[[Path, dict[str, Any]], bytes]:
    return lambda repo, saved: json.dumps({**saved, **fields}).encode()


HUGE = 10**300
CRAFTED = {
    "entry a number": crafted_pairs(lambda repo: 5),
    "entry a string": crafted_pairs(lambda repo: "a.py"),
    "entry too short": crafted_pairs(lambda repo: ["a.py"]),
    "entry too long": crafted_pairs(lambda repo: ["a.py", sha1(repo / "a.ipynb"), sha1(repo / "a.py"), "more"]),
    "twin a nested list": crafted_pairs(lambda repo: [["a.py"], sha1(repo / "a.ipynb"), sha1(repo / "a.py")]),
    "digests nested lists": crafted_pairs(lambda repo: ["a.py", [sha1(repo / "a.ipynb")], [[sha1(repo / "a.py")]]]),
    "digests huge ints": crafted_pairs(lambda repo: ["a.py", HUGE, -HUGE]),
    "digests not hex": crafted_pairs(lambda repo: ["a.py", "z" * 40, "Z" * 40]),
    "digests cut short": crafted_pairs(lambda repo: ["a.py", sha1(repo / "a.ipynb")[:39], sha1(repo / "a.py")[:39]]),
    "pairs a list of pairs": crafted(pairs=[["a.ipynb", "x"]]),
    "pairs a string": crafted(pairs="a.ipynb"),
    "pairs missing": lambda repo, saved: json.dumps({k: v for k, v in saved.items() if k != "pairs"}).encode(),
    "own a list of pairs": crafted(own=[["a.ipynb", [1, 2, None, None]]]),
    "own entry a dict": crafted(own={"a.ipynb": {"twin": "a.py"}}),
    "own stamp huge ints": crafted(own={"a.ipynb": [HUGE, HUGE, HUGE, HUGE, HUGE, "a.py", "py:percent"]}),
    "own stamp of floats": crafted(own={"a.ipynb": [1.5, 2.0, 3.0, 4.0, 5.0, None, None]}),
    "own twin a nested list": crafted(own={"a.ipynb": [1, 2, 3, 4, 5, ["a.py"], "py:percent"]}),
    "own twin without a format": crafted(own={"a.ipynb": [1, 2, 3, 4, 5, "a.py", None]}),
    "version true": crafted(version=True),
    "a list": lambda repo, saved: b"[1, 2]",
    "nested a million deep": lambda repo, saved: b"[" * 1_000_000,
    "an int of 5000 digits": lambda repo, saved: b"1" * 5000,
    "not UTF-8": lambda repo, saved: b'{"version": 1, "pairs": "\xff"}',
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_cache_changes_no_answer(edited: Edited, name: str) -> None:
    """A cache file of any shape but the one nbgit writes is not used: sync and check say what they say
    without it, sync then writes the twin, and the cache it saves remembers the pair as it is now."""
    repo, saved, expected = edited
    (repo / CACHE).write_bytes(CRAFTED[name](repo, saved))
    assert answers(repo) == expected
    (repo / CACHE).write_bytes(CRAFTED[name](repo, saved))
    done = run(repo, "sync")
    assert (done.returncode, done.stdout, done.stderr) == (0, SYNCED, b"")
    assert remembered(repo) == ["a.py", sha1(repo / "a.ipynb"), sha1(repo / "a.py")]


def test_a_cache_of_the_right_shape_is_used(edited: Edited) -> None:
    """The other side of the strict reading: what sync wrote, read back, is what it remembers, with the
    own-twin entries of notebooks that name their formats."""
    repo, saved, _ = edited
    (repo / CACHE).write_bytes(json.dumps(saved).encode())
    cache = PairCache.load(repo, settings(load_policy(repo)))
    assert cache.pairs == saved["pairs"] and cache.own == saved.get("own", {})
    assert cache.twin_of("a.ipynb") == tuple(saved["pairs"]["a.ipynb"][:2])


def test_a_cache_file_larger_than_the_cap_is_not_read(edited: Edited, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `CACHE_MAX_BYTES` the cache is a miss, whatever it holds (here: what sync wrote, then
    spaces, which JSON allows); up to it, it is read."""
    from nbgit.sync import cache

    repo, saved, _ = edited
    data = json.dumps(saved).encode()
    (repo / CACHE).write_bytes(data + b" " * 4096)
    pair = settings(load_policy(repo))
    monkeypatch.setattr(cache, "CACHE_MAX_BYTES", len(data) + 4095, raising=False)
    assert PairCache.load(repo, pair).pairs == {}
    monkeypatch.setattr(cache, "CACHE_MAX_BYTES", len(data) + 4096, raising=False)
    assert PairCache.load(repo, pair).pairs == saved["pairs"]


def test_a_sparse_cache_past_the_cap_is_a_miss(edited: Edited) -> None:
    """A cache file of the cap and one byte more (sparse: no disk spent) changes no answer."""
    from nbgit.sync.cache import CACHE_MAX_BYTES

    repo, _, expected = edited
    with open(repo / CACHE, "wb") as handle:
        handle.truncate(CACHE_MAX_BYTES + 1)
    assert answers(repo) == expected
    done = run(repo, "sync")
    assert (done.returncode, done.stdout, done.stderr) == (0, SYNCED, b"")
    assert (repo / CACHE).stat().st_size < 4096


def test_a_fifo_in_place_of_the_cache_is_not_waited_on(edited: Edited) -> None:
    """A FIFO where the cache belongs would block whoever opens it: it is neither read nor written
    into; the cache that sync saves replaces it."""
    repo, _, expected = edited
    os.mkfifo(repo / CACHE)
    assert answers(repo) == expected
    done = run(repo, "sync")
    assert (done.returncode, done.stdout, done.stderr) == (0, SYNCED, b"")
    assert (repo / CACHE).is_file() and remembered(repo) == ["a.py", sha1(repo / "a.ipynb"), sha1(repo / "a.py")]


def test_a_folder_in_place_of_the_cache_is_left_alone(edited: Edited) -> None:
    """A folder where the cache belongs: the sync is done and said as without a cache, the folder stays."""
    repo, _, expected = edited
    (repo / CACHE).mkdir()
    (repo / CACHE / "kept").write_bytes(b"kept")
    assert answers(repo) == expected
    done = run(repo, "sync")
    assert (done.returncode, done.stdout, done.stderr) == (0, SYNCED, b"")
    assert (repo / CACHE / "kept").read_bytes() == b"kept" and (repo / "a.py").read_bytes() != git(repo, "show", "HEAD:a.py").stdout


@pytest.mark.parametrize("where", ["out of the repository", "into the work tree"])
def test_a_link_in_place_of_the_cache_is_never_written_through(edited: Edited, where: str) -> None:
    """A symbolic link where the cache belongs, to a file out of the repository or to a committed file
    of its work tree: what it leads to is never written; the cache sync saves replaces the link."""
    repo, _, _ = edited
    target = repo.parent / "outside.json" if where == "out of the repository" else repo / "notes.txt"
    target.write_bytes(b"not a cache\n")
    (repo / CACHE).symlink_to(target)
    done = run(repo, "sync")
    assert (done.returncode, done.stdout, done.stderr) == (0, SYNCED, b"")
    assert target.read_bytes() == b"not a cache\n"
    assert not (repo / CACHE).is_symlink() and remembered(repo) == ["a.py", sha1(repo / "a.ipynb"), sha1(repo / "a.py")]
    assert nbgit(repo, "sync", "--check").returncode == 0
