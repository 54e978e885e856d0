"""`nbgit check`'s verdict cache never makes a verdict wrong, and `--shard K/N` splits `--all` exactly.

The cache is proven used by planting a wrong verdict under the right key: a run that reports it
read the cache; a change of notebook, policy or nbgit's version must then ignore the planted entry.
"""

from __future__ import annotations

import io
import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import NBGIT, git, nbgit
from test_checks import DIRTY, ci_off, ci_on, paired_repo, run_json

from nbgit.check.cache import FOLDER, HEADER, OLD_VERDICTS_FILE, RESULTS_FILE, VERDICTS_FILE, entry_key, load_cache_file, save_cache_file, staged_identity
from nbgit.check.cache_key import KEY_ENV, clone_key
from nbgit.check.catalogue import Problem
from nbgit.check.runner import in_shard
from nbgit.clean import clean_bytes
from nbgit.files import RACY_SECONDS
from nbgit.policy import Policy
from nbgit.worktree.index import blob_id

pytestmark = pytest.mark.skipif(not DIRTY.exists(), reason="the corpus is not at ../shared/corpus")
PLANTED = tuple(Problem("hidden-state", "nb.ipynb", 3, "planted verdict", ""))


def cache_file(repo: Path) -> Path:
    return repo / ".git" / FOLDER / VERDICTS_FILE


def saved(repo: Path) -> dict[str, Any]:
    """What the cache file holds (written with marshal, sealed)."""
    content = load_cache_file(cache_file(repo))
    assert content is not None, "the cache file is not sealed as nbgit seals it"
    return content


def save(repo: Path, content: Any) -> None:
    save_cache_file(cache_file(repo), content)


def plant(repo: Path, path: str = "nb.ipynb") -> None:
    """Replace every verdict in the cache with a wrong one for `path` as it is now."""
    content = saved(repo)
    key = entry_key(blob_id((repo / path).read_bytes(), "sha1"), path, False)
    assert key in content["verdicts"], "the first run did not cache this notebook's verdict"
    content["verdicts"][key] = (0, (PLANTED,))
    save(repo, content)


def messages(repo: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    return [p["message"] for p in run_json(repo, "--all", *args, env=env or ci_on())[1]]


@pytest.fixture
def checked(repo: Path) -> Path:
    """A repository with one clean notebook, checked once (so its verdict is cached), then a wrong verdict planted."""
    (repo / "nb.ipynb").write_bytes(clean_bytes(DIRTY.read_bytes(), "nb.ipynb", Policy()))
    git(repo, "add", "nb.ipynb")
    assert messages(repo) == []
    plant(repo)
    return repo


def test_a_rerun_takes_the_verdict_from_the_cache(checked: Path) -> None:
    assert messages(checked) == ["planted verdict"]


def test_no_cache_judges_afresh_and_leaves_the_cache_alone(checked: Path) -> None:
    before = cache_file(checked).read_bytes()
    assert messages(checked, "--no-cache") == []
    assert cache_file(checked).read_bytes() == before


def test_a_changed_notebook_is_judged_afresh(checked: Path) -> None:
    (checked / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    assert [m.split(":")[0] for m in messages(checked)] == ["not clean"]


def aged(repo: Path) -> Path:
    """`repo` once its files are older than the cache's racy window: checked again, their blob ids are remembered by stat data."""
    time.sleep(RACY_SECONDS + 0.2)
    assert messages(repo) == ["planted verdict"]
    remembered = saved(repo)["files"]
    assert [entry[-1] for entry in remembered.values()] == [blob_id((repo / "nb.ipynb").read_bytes(), "sha1")]
    return repo


def test_a_notebook_changed_in_place_is_judged_afresh_though_its_size_and_times_are_kept(checked: Path) -> None:
    """The blob id remembered by stat data is not trusted once the file was written: its change time moved."""
    aged(checked)
    path = checked / "nb.ipynb"
    before, data = path.stat(), path.read_bytes()
    changed = data.replace(b'"metadata": {', b'"metadata":{ ', 1)  # same size, not Jupyter's layout
    assert len(changed) == len(data) and changed != data
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    time.sleep(RACY_SECONDS + 0.2)  # and no longer racy: only the change time tells
    assert [m.split(":")[0] for m in messages(checked)] == ["not in Jupyter's own JSON layout (re-saved by another tool)"]


def test_a_notebook_replaced_by_another_file_is_judged_afresh(checked: Path) -> None:
    aged(checked)
    path = checked / "nb.ipynb"
    other = checked / "other"
    other.write_bytes(DIRTY.read_bytes())
    os.replace(other, path)
    assert [m.split(":")[0] for m in messages(checked)] == ["not clean"]


def test_a_notebook_written_just_now_is_not_remembered_by_its_stat_data(checked: Path) -> None:
    """Within the racy window a second write could keep every stat field: such a file is read each run.
    (Its modification time is set ahead, so that it stays in the window however slowly the check runs.)"""
    ahead = time.time_ns() + 3600 * 1_000_000_000
    os.utime(checked / "nb.ipynb", ns=(ahead, ahead))
    assert messages(checked) == ["planted verdict"]
    assert saved(checked)["files"] == {}


def test_a_changed_policy_is_judged_afresh(checked: Path) -> None:
    (checked / ".nbgit.toml").write_text('[check]\ndisable = ["untitled"]\n')
    assert messages(checked) == []


def test_another_nbgit_version_is_judged_afresh(checked: Path) -> None:
    script = "import sys, nbgit; nbgit.__version__ = '99.0'; from nbgit.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", script, "check", "--all", "--format", "json"], cwd=checked, capture_output=True, env=ci_on())
    assert done.returncode == 0 and json.loads(done.stdout) == []


def test_an_edited_nbgit_module_is_another_version() -> None:
    import nbgit.check.judge
    from nbgit.check.cache import fingerprint

    before = fingerprint(Policy())
    assert fingerprint(Policy()) == before
    assert fingerprint(Policy(outputs="keep")) != before
    module = Path(nbgit.check.judge.__file__)
    stamp = module.stat()
    try:
        os.utime(module, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
        assert fingerprint(Policy()) != before
    finally:
        os.utime(module, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert fingerprint(Policy()) == before


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff not marshal", marshal.dumps([]), marshal.dumps({"format": 3})[:-3], marshal.dumps({"format": 3}),
                                     marshal.dumps({"format": 3, "fingerprint": "x", "verdicts": []}), b'{"format": 2, "verdicts": {}}'])
def test_a_corrupt_cache_is_ignored_and_replaced(repo: Path, garbage: bytes) -> None:
    (repo / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    git(repo, "add", "nb.ipynb")
    cache_file(repo).parent.mkdir(parents=True)
    cache_file(repo).write_bytes(garbage)
    assert [m.split(":")[0] for m in messages(repo)] == ["not clean"]
    assert saved(repo)["verdicts"]


def test_a_corrupt_entry_is_a_miss(checked: Path) -> None:
    content = saved(checked)
    for key in content["verdicts"]:
        content["verdicts"][key] = (0, {"abcdefgh": 1})
    save(checked, content)
    assert messages(checked) == []


def sealed(value: Any, data: bytes | None = None) -> bytes:
    """A cache file holding `value` (or the marshal `data` given), sealed as nbgit seals it without a key
    (what anyone can craft)."""
    import zlib

    data = marshal.dumps(value) if data is None else data
    return HEADER + zlib.crc32(data).to_bytes(4, "big") + data


def nested(depth: int) -> Any:
    value: Any = ()
    for _ in range(depth):
        value = (value,)
    return value


def damaged(content: dict[str, Any], how: str) -> bytes:
    """The cache file of `content` (one verdict, one remembered file), damaged or crafted `how`."""
    data = sealed(content)
    key = next(iter(content["verdicts"]))
    crafted = {
        "truncated": data[: len(data) // 2],
        "random bytes": os.urandom(len(data)),
        "unsealed marshal": marshal.dumps(content),
        "one bit flipped": data[:-7] + bytes([data[-7] ^ 1]) + data[-6:],
        "lists for tuples": {**content, "verdicts": {k: [v[0], [list(f) for f in v[1]]] for k, v in content["verdicts"].items()},
                             "files": {k: list(v) for k, v in content["files"].items()}},
        "huge ints": {**content, "verdicts": {k: (10**400, ((("x",) * 2 + (10**400,) + ("x",) * 2 + (10**400,) * 3 + (None,)),)) for k in content["verdicts"]}},
        "wrong types nested": {**content, "verdicts": {k: (0, (("hidden-state", "nb.ipynb", "3", b"msg", 1.5, [], {}, frozenset(), ()),)) for k in content["verdicts"]}},
        "a problem with a copy group": {**content, "verdicts": {key: (0, ((*PLANTED[:-1], ("group",)),))}},
        "sets and code": {"format": {3}, "fingerprint": compile("1", "x", "eval"), "verdicts": {key: ...}, "files": frozenset()},
        "deeply nested": {**content, "verdicts": {key: nested(1500)}, "files": {key: nested(1500)}},
        "refused by marshal": sealed(None, b"(\x00\x00\x10\x00"),  # a tuple said to hold 2**20 items, and nothing after
    }[how]
    return crafted if isinstance(crafted, bytes) else sealed(crafted)


DAMAGE = ["truncated", "random bytes", "unsealed marshal", "one bit flipped", "lists for tuples", "huge ints", "wrong types nested",
          "a problem with a copy group", "sets and code", "deeply nested", "refused by marshal"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_or_crafted_cache_file_is_a_miss(repo: Path, how: str) -> None:
    """Whatever the verdicts file holds, the verdicts are `--no-cache`'s, with no traceback; the file is then replaced."""
    (repo / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    (repo / "other.ipynb").write_bytes(clean_bytes(DIRTY.read_bytes(), "other.ipynb", Policy()))
    git(repo, "add", ".")
    time.sleep(RACY_SECONDS + 0.2)  # old enough to be remembered by stat data
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    assert run_json(repo, "--all", env=ci_on()) == fresh
    content = saved(repo)
    assert content["verdicts"] and content["files"]
    cache_file(repo).write_bytes(damaged(content, how))
    done = nbgit(repo, "check", "--all", "--format", "json", env=ci_on())
    assert (done.returncode, json.loads(done.stdout)) == fresh and b"Traceback" not in done.stderr, done.stderr.decode()
    assert saved(repo)["verdicts"] and run_json(repo, "--all", env=ci_on()) == fresh


def test_no_cache_neither_reads_nor_writes_the_fingerprint_index(repo: Path) -> None:
    """README: `--no-cache` finds every copy afresh, neither reading nor writing the cache, the fingerprints included."""
    from test_duplicates import ANN, LOAD_SALES, LOAD_SALES_EDITED, WIDGETS, notebook

    (repo / "a.ipynb").write_bytes(notebook(WIDGETS, LOAD_SALES))
    (repo / "b.ipynb").write_bytes(notebook(ANN, LOAD_SALES_EDITED))
    git(repo, "add", ".")
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    assert any(p["id"] == "duplicate-code" for p in fresh[1])
    assert not (repo / ".git" / FOLDER).exists()
    assert run_json(repo, "--all", env=ci_on()) == fresh
    index = cache_file(repo).with_name("fingerprints")
    version, entries = load_cache_file(index)
    save_cache_file(index, (version, dict.fromkeys(entries, ())))  # well formed, and says no file holds any code
    cache_file(repo).with_name(RESULTS_FILE).unlink()
    assert run_json(repo, "--all", "--no-cache", env=ci_on()) == fresh


@pytest.mark.parametrize("how", ["truncated", "random bytes", "lists for tuples", "huge ints", "wrong types nested", "deeply nested"])
def test_damaged_results_and_fingerprints_are_misses(repo: Path, how: str) -> None:
    """The same for the copies `--all` remembers and for the fingerprint index: `--no-cache`'s copies."""
    from test_duplicates import ANN, LOAD_SALES, LOAD_SALES_EDITED, WIDGETS, notebook

    (repo / "a.ipynb").write_bytes(notebook(WIDGETS, LOAD_SALES))
    (repo / "b.ipynb").write_bytes(notebook(ANN, LOAD_SALES_EDITED))
    git(repo, "add", ".")
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    assert any(p["id"] == "duplicate-code" for p in fresh[1])
    assert run_json(repo, "--all", env=ci_on()) == fresh
    for name in (RESULTS_FILE, "fingerprints"):
        file = cache_file(repo).with_name(name)
        content = load_cache_file(file)
        assert content is not None
        if name == "fingerprints":
            file.with_name(RESULTS_FILE).unlink()  # (else the copies remembered answer before any fingerprint is read)
        if how in ("truncated", "random bytes"):
            file.write_bytes(os.urandom(file.stat().st_size) if how == "random bytes" else file.read_bytes()[:-9])
        elif name == RESULTS_FILE:  # (FORMAT, fingerprint, {check: (key, result)})
            (check, (key, result)), = content[2].items()
            result = {"lists for tuples": [list(r) for r in result], "huge ints": tuple((r[0], 10**400, *r[2:]) for r in result),
                      "wrong types nested": tuple((r[0], r[1], r[2], r[3], r[4], tuple(-5 if i % 5 == 0 else "x" for i, _ in enumerate(r[5]))) for r in result),
                      "deeply nested": nested(1500)}[how]
            save_cache_file(file, (*content[:2], {check: (key, result)}))
        else:  # (version, {key: ((cell, hashes, starts, ends, defines), ...)})
            entries = {key: {"lists for tuples": [list(u) for u in units], "huge ints": tuple((10**400, *u[1:]) for u in units),
                             "wrong types nested": tuple((u[0], list(u[1]), u[2][:-1], u[3], ((1.5, b"f"),)) for u in units),
                             "deeply nested": nested(1500)}[how] for key, units in content[1].items()}
            save_cache_file(file, (content[0], entries))
        done = nbgit(repo, "check", "--all", "--format", "json", env=ci_on())
        assert (done.returncode, json.loads(done.stdout)) == fresh and b"Traceback" not in done.stderr, (name, done.stderr.decode())


@pytest.mark.parametrize("where", ["cell", "line defining a function"])
@pytest.mark.parametrize("number", [10**5000, -1], ids=["5001 digits", "negative"])
def test_a_kept_fingerprint_with_a_number_nbgit_never_writes_is_a_miss(repo: Path, where: str, number: int) -> None:
    """A fingerprint index whose numbers have the right type but no plausible value (too many digits to
    print, negative) is computed again: `--no-cache`'s copies, no internal error."""
    from test_duplicates import ANN, LOAD_SALES, LOAD_SALES_EDITED, WIDGETS, notebook

    (repo / "a.ipynb").write_bytes(notebook(WIDGETS, LOAD_SALES))
    (repo / "b.ipynb").write_bytes(notebook(ANN, LOAD_SALES_EDITED))
    git(repo, "add", ".")
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    assert any(p["id"] == "duplicate-code" for p in fresh[1]) and run_json(repo, "--all", env=ci_on()) == fresh
    index = cache_file(repo).with_name("fingerprints")
    version, entries = load_cache_file(index)
    if where == "cell":  # (cell, hashes, starts, ends, ((line, name), ...))
        crafted = {key: tuple((number, *unit[1:]) for unit in units) for key, units in entries.items()}
    else:
        assert any(unit[4] for units in entries.values() for unit in units)
        crafted = {key: tuple((*unit[:4], tuple((number, name) for _, name in unit[4])) for unit in units) for key, units in entries.items()}
    save_cache_file(index, (version, crafted))
    cache_file(repo).with_name(RESULTS_FILE).unlink()  # (else the copies remembered answer before any fingerprint is read)
    done = nbgit(repo, "check", "--all", "--format", "json", env=ci_on())
    assert done.returncode != 70 and (done.returncode, json.loads(done.stdout)) == fresh, done.stderr.decode()


def test_a_cache_file_past_the_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbgit.check import cache

    path = tmp_path / VERDICTS_FILE
    save_cache_file(path, {"format": 3, "verdicts": {}})
    assert load_cache_file(path) == {"format": 3, "verdicts": {}}
    monkeypatch.setattr(cache, "MAX_FILE_BYTES", path.stat().st_size - 1)
    assert load_cache_file(path) is None


@pytest.mark.parametrize("planted", ["a FIFO", "a link to a file outside"])
def test_what_is_no_cache_file_at_its_path_is_replaced_never_read_waited_on_or_written_through(repo: Path, tmp_path: Path, planted: str) -> None:
    """In the folder CI restores (`$NBGIT_CACHE_DIR`), a FIFO or a symbolic link at the verdicts' path is a
    miss, never waited on, and is replaced by the cache file: a file it leads to is left as it was."""
    (repo / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    git(repo, "add", "nb.ipynb")
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    folder, outside = tmp_path / "ci-cache", tmp_path / "precious.txt"
    folder.mkdir()
    outside.write_text("not nbgit's\n")
    if planted == "a FIFO":
        os.mkfifo(folder / VERDICTS_FILE)
    else:
        (folder / VERDICTS_FILE).symlink_to(outside)
    env = {**ci_on(), "NBGIT_CACHE_DIR": str(folder)}
    done = subprocess.run([str(NBGIT), "check", "--all", "--format", "json"], cwd=repo, capture_output=True, env=env, timeout=30, check=False)
    assert (done.returncode, json.loads(done.stdout)) == fresh, done.stderr.decode()
    assert outside.read_text() == "not nbgit's\n" and (folder / VERDICTS_FILE).is_file() and not (folder / VERDICTS_FILE).is_symlink()
    assert load_cache_file(folder / VERDICTS_FILE, clone_key(repo))["verdicts"]  # (sealed under the clone's own key: no $NBGIT_CACHE_KEY)


def test_with_a_key_only_files_sealed_under_it_are_read(checked: Path) -> None:
    """`$NBGIT_CACHE_KEY`: a file crafted without the secret (its checksum right) plants nothing; one written under it is used."""
    keyed = {**ci_on(), KEY_ENV: "a CI secret"}
    assert messages(checked) == ["planted verdict"]  # planted with a right checksum: read without a key
    assert messages(checked, env=keyed) == []  # with the key: not sealed under it, so a miss, replaced
    content = load_cache_file(cache_file(checked))
    assert content is None  # (sealed under the key now: no longer readable without it)
    assert messages(checked, env=keyed) == [] and messages(checked) == []


def test_the_old_json_cache_is_removed_when_the_new_one_is_written(repo: Path) -> None:
    old = repo / ".git" / FOLDER / OLD_VERDICTS_FILE
    old.parent.mkdir(parents=True)
    old.write_text('{"format": 2, "verdicts": {}}')
    (repo / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    git(repo, "add", "nb.ipynb")
    assert messages(repo, "--no-cache") and old.exists()  # (no cache written: left alone)
    assert messages(repo)
    assert cache_file(repo).exists() and not old.exists()


def test_nbgit_cache_dir_puts_the_cache_where_ci_keeps_it(repo: Path, tmp_path: Path) -> None:
    (repo / "nb.ipynb").write_bytes(DIRTY.read_bytes())
    git(repo, "add", "nb.ipynb")
    folder = tmp_path / "ci-cache"
    assert messages(repo, env={**ci_on(), "NBGIT_CACHE_DIR": str(folder)})
    assert (folder / VERDICTS_FILE).is_file() and not cache_file(repo).exists()


def test_linked_worktrees_share_the_cache(checked: Path, tmp_path: Path) -> None:
    git(checked, "commit", "-qm", "nb")
    git(checked, "worktree", "add", "-q", str(tmp_path / "other"))
    assert messages(tmp_path / "other") == ["planted verdict"]


def staged_messages(repo: Path) -> list[str]:
    return [p["message"] for p in json.loads(nbgit(repo, "check", "--staged", "--format", "json", env=ci_off()).stdout) if p["path"]]


def test_a_staged_blob_is_cached_under_its_git_id_and_its_working_tree_file(checked: Path) -> None:
    """A staged verdict is keyed by git's blob id and the file it was staged from (hidden-state reads
    its execution counts: tests/test_checks.py's test_hidden_state_is_judged_from_the_counts_the_filter_strips)."""
    assert staged_messages(checked) == []
    content = saved(checked)
    blob = git(checked, "rev-parse", ":nb.ipynb").stdout.decode().strip()
    key = entry_key(staged_identity(blob, (checked / "nb.ipynb").read_bytes()), "nb.ipynb", False)
    assert key in content["verdicts"], "the staged run did not cache under the blob and its working-tree file"
    content["verdicts"][key] = (0, (PLANTED,))
    save(checked, content)
    assert staged_messages(checked) == ["planted verdict"]
    (checked / "nb.ipynb").write_bytes((checked / "nb.ipynb").read_bytes() + b"\n")  # the same blob staged, another working file
    assert staged_messages(checked) == []


# --- --shard K/N ---


def test_shards_split_the_notebooks_each_in_exactly_one(repo: Path) -> None:
    for n in range(40):
        (repo / f"nb{n:02}.ipynb").write_bytes(DIRTY.read_bytes())
    git(repo, "add", ".")
    everything = sorted(p["path"] for p in run_json(repo, "--all", env=ci_on())[1])
    assert len(everything) == 40
    shards = [sorted(p["path"] for p in run_json(repo, "--all", "--shard", f"{k}/3", env=ci_on())[1]) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == everything
    assert all(shards), "a shard got nothing: the split is not spread"
    again = [sorted(p["path"] for p in run_json(repo, "--all", "--no-cache", "--shard", f"{k}/3", env=ci_on())[1]) for k in (1, 2, 3)]
    assert again == shards


def test_a_pair_is_judged_in_its_notebooks_shard_only(repo: Path) -> None:
    paired_repo(repo)
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\nx = 42\n")
    found = {k: run_json(repo, "--all", "--shard", f"{k}/2", env=ci_on())[1] for k in (1, 2)}
    owners = [k for k, problems in found.items() if any(p["id"] == "unsynced" for p in problems)]
    assert owners == [k for k in (1, 2) if in_shard("a.ipynb", (k, 2))]


@pytest.mark.parametrize("bad", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(repo: Path, bad: str) -> None:
    done = nbgit(repo, "check", "--all", "--shard", bad)
    assert done.returncode == 2 and b"K/N" in done.stderr


def test_shard_needs_all(repo: Path) -> None:
    done = nbgit(repo, "check", "--shard", "1/2")
    assert done.returncode == 2 and b"--shard splits `--all` only" in done.stderr


def test_a_rerun_renews_times_of_use_once_an_hour_and_else_writes_nothing(repo: Path) -> None:
    """The cache keeps the verdicts used last; a re-run within the hour of their last use leaves the
    file as it is (no rewrite of every entry on every run), an older use is renewed."""
    (repo / "nb.ipynb").write_bytes(clean_bytes(DIRTY.read_bytes(), "nb.ipynb", Policy()))
    git(repo, "add", "nb.ipynb")
    assert messages(repo) == []

    def used(seconds_ago: int) -> os.stat_result:
        content = saved(repo)
        content["verdicts"] = {key: (int(time.time()) - seconds_ago, entry[1]) for key, entry in content["verdicts"].items()}
        save(repo, content)
        return cache_file(repo).stat()

    before = used(600)
    assert messages(repo) == []
    after = cache_file(repo).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    used(7200)
    assert messages(repo) == []
    [(last_used, _)] = saved(repo)["verdicts"].values()
    assert time.time() - last_used < 60


def test_a_rerun_looks_at_each_notebook_once_and_reads_none(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the notebooks, taking their verdicts and copies from the cache and looking for their twins
    share one look at each file (an lstat, which for a file that is no link is its stat data too), and
    nothing reads a notebook (every check on, `duplicate-code` included): counted. The module is known
    by its stat data too (sync alone reads its head, to tell whether jupytext wrote it)."""
    from collections import Counter

    from nbgit.check.runner import Scope, run_checks
    from nbgit.policy import load_policy

    function = "def total(rows):\n    found = 0\n    for row in rows:\n        found += row.amount\n    print(found)\n    return found\n"
    content = json.loads(DIRTY.read_bytes())
    content["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": function.splitlines(True)})
    data = clean_bytes(json.dumps(content).encode(), "nb.ipynb", Policy())
    names = [f"nb{number}.ipynb" for number in range(4)]
    for name in names:
        (repo / name).write_bytes(data)
    (repo / "tools.py").write_text(function)
    git(repo, "add", ".")
    first = run_json(repo, "--all", env=ci_on())[1]
    assert [p["id"] for p in first] == ["duplicate-code"]  # the function in every notebook and the module
    time.sleep(RACY_SECONDS + 0.2)
    assert run_json(repo, "--all", env=ci_on())[1] == first  # the blob ids are remembered by the files' stat data now
    remembered = saved(repo)["files"]
    assert {os.path.basename(path) for path in remembered} == {*names, "tools.py"}
    monkeypatch.setenv("CI", "1")
    expected = run_checks(repo, load_policy(repo), Scope(all=True), use_cache=False).problems
    looks: Counter[str] = Counter()
    reads: Counter[str] = Counter()

    def counted(call: Any, seen: Counter[str]) -> Any:
        def look(path: Any, *args: Any, **options: Any) -> Any:
            if str(path).endswith(".ipynb"):
                seen[os.path.basename(path)] += 1
            return call(path, *args, **options)
        return look

    monkeypatch.setattr(os, "stat", counted(os.stat, looks))
    monkeypatch.setattr(os, "lstat", counted(os.lstat, looks))
    monkeypatch.setattr(io, "open", counted(io.open, reads))
    monkeypatch.setattr(os, "open", counted(os.open, reads))
    outcome = run_checks(repo, load_policy(repo), Scope(all=True))
    assert outcome.notebooks == len(names) and outcome.problems == expected
    assert [looks[name] for name in names] == [1] * len(names), looks
    assert not reads, reads


def test_a_first_run_reads_each_notebook_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Judging a notebook and finding where its own jupytext formats place a twin (for the pair checks)
    share one read of its file, whether it names formats or not: counted."""
    import io
    from collections import Counter

    from test_pairing import own_formats_notebook

    from nbgit.check.runner import Scope, run_checks
    from nbgit.policy import load_policy

    (repo / ".nbgit.toml").write_text('[check]\ndisable = ["duplicate-code"]\n')  # copies: a check that reads every file
    plain = clean_bytes(DIRTY.read_bytes(), "nb.ipynb", Policy())
    files = {"nb0.ipynb": plain, "nb1.ipynb": plain, "own0.ipynb": own_formats_notebook("ipynb,md"), "own1.ipynb": own_formats_notebook("ipynb,py:percent")}
    for name, data in files.items():
        (repo / name).write_bytes(data)
    git(repo, "add", ".")
    time.sleep(RACY_SECONDS + 0.2)  # stat data that may be remembered, as in any repository checked out a while ago
    reads: Counter[str] = Counter()

    def counted(path: Any, *args: Any, **options: Any) -> Any:
        if str(path).endswith(".ipynb"):
            reads[os.path.basename(path)] += 1
        return opened(path, *args, **options)

    opened = io.open
    monkeypatch.setenv("CI", "1")
    monkeypatch.setattr(io, "open", counted)
    outcome = run_checks(repo, load_policy(repo), Scope(all=True))
    assert outcome.notebooks == len(files) and outcome.problems == []
    assert reads == Counter(dict.fromkeys(files, 1)), reads


def test_copies_of_one_blob_are_read_once_to_be_fingerprinted(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hundred paths holding one notebook, their blob id known by their stat data but no fingerprint
    kept: `duplicate-code` reads one of them, once, and reports the same copies as `--no-cache`: counted."""
    from collections import Counter

    from test_duplicates import LOAD_SALES, WIDGETS, notebook

    from nbgit.check.runner import Scope, run_checks
    from nbgit.policy import load_policy

    names = [f"copy{number}.ipynb" for number in range(100)]
    for name in names:
        (repo / name).write_bytes(notebook(WIDGETS, LOAD_SALES))
    git(repo, "add", ".")
    time.sleep(RACY_SECONDS + 0.2)  # old enough to be remembered by stat data
    fresh = run_json(repo, "--all", "--no-cache", env=ci_on())
    assert any(p["id"] == "duplicate-code" for p in fresh[1]) and run_json(repo, "--all", env=ci_on()) == fresh
    assert {os.path.basename(path) for path in saved(repo)["files"]} == set(names)
    for kept in ("fingerprints", RESULTS_FILE):  # the copies and the fingerprints found afresh, the blob ids from the cache
        cache_file(repo).with_name(kept).unlink()
    monkeypatch.setenv("CI", "1")
    reads: Counter[str] = Counter()

    def counted(call: Any) -> Any:
        def read(path: Any, *args: Any, **options: Any) -> Any:
            if str(path).endswith(".ipynb"):
                reads[os.path.basename(path)] += 1
            return call(path, *args, **options)
        return read

    monkeypatch.setattr(os, "open", counted(os.open))
    monkeypatch.setattr(io, "open", counted(io.open))
    outcome = run_checks(repo, load_policy(repo), Scope(all=True))
    monkeypatch.undo()
    assert sum(reads.values()) == 1, reads
    assert [p.message for p in outcome.problems] == [p["message"] for p in fresh[1]]
