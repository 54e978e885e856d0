"""`nbgit refresh`: re-run notebooks leave `git status` quiet; real changes, staged blobs and other git commands are respected."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import NBGIT, copy_in, git, nbgit, rerun, rerunnable
from nbgit.worktree.refresh import UNCHANGED, judge, record

NOTEBOOKS = rerunnable(6)
pytestmark = pytest.mark.skipif(len(NOTEBOOKS) < 6, reason="needs ../shared/corpus")


def porcelain(repo: Path, env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, text=True, env=env, check=True)
    return done.stdout.splitlines()


def staged(repo: Path, env: dict[str, str] | None = None) -> str:
    """`git ls-files --stage`: modes, blobs and paths of the index."""
    return subprocess.run(["git", "ls-files", "--stage"], cwd=repo, capture_output=True, text=True, env=env, check=True).stdout


def edited(data: bytes) -> bytes:
    """A real change: one more line in the first code cell's source (what the filter keeps)."""
    import json

    content = json.loads(data)
    cell = next(c for c in content["cells"] if c["cell_type"] == "code")
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = (source + "\nprint('a real change')").splitlines(True)
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def rerun_file(path: Path, seed: int = 1) -> None:
    before = path.read_bytes()
    path.write_bytes(rerun(before, seed))
    assert path.stat().st_size != len(before), "a re-run changes the size: git lists it without running the filter"


@pytest.fixture
def committed(repo: Path) -> Path:
    """A repository wired with `nbgit install`, six real notebooks committed through the filter."""
    assert nbgit(repo, "install").returncode == 0
    for number, source in enumerate(NOTEBOOKS):
        copy_in(source, repo, f"nb{number}.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "notebooks")
    return repo


def test_rerun_notebooks_are_listed_until_refreshed_then_status_is_quiet(committed: Path) -> None:
    names = [f"nb{n}.ipynb" for n in range(6)]
    for name in names:
        rerun_file(committed / name)
    index_before = staged(committed)
    assert sorted(porcelain(committed)) == sorted(f" M {n}" for n in names)
    assert git(committed, "diff", "--stat").stdout == b""  # phantoms: git diff, which cleans, sees nothing

    done = nbgit(committed, "refresh")

    assert done.returncode == 0, done.stderr
    assert b"refreshed 6 notebook(s)" in done.stdout
    assert porcelain(committed) == []
    assert git(committed, "diff-files").stdout == b""
    assert staged(committed) == index_before  # stat data only: every blob as it was
    assert not (committed / ".git" / "index.lock").exists()


def test_a_rerun_stops_a_switch_until_refreshed_and_comes_back_after_it(committed: Path) -> None:
    """As README's known limits say: git counts a phantom as a local change and will not switch over
    it; after `nbgit refresh` it switches, and switching back gives the re-run notebook, outputs and all."""
    git(committed, "checkout", "-q", "-b", "elsewhere")
    (committed / "nb0.ipynb").write_bytes(edited((committed / "nb0.ipynb").read_bytes()))
    git(committed, "commit", "-q", "--no-verify", "-am", "nb0 edited elsewhere")
    git(committed, "checkout", "-q", "main")
    rerun_file(committed / "nb0.ipynb")
    ran = (committed / "nb0.ipynb").read_bytes()
    refused = git(committed, "switch", "elsewhere", check=False)
    assert refused.returncode != 0 and b"would be overwritten by checkout" in refused.stderr
    assert nbgit(committed, "refresh", "-q").returncode == 0
    git(committed, "switch", "-q", "elsewhere")
    git(committed, "switch", "-q", "main")
    assert (committed / "nb0.ipynb").read_bytes() == ran
    assert porcelain(committed) == []


def test_a_real_source_edit_stays_listed(committed: Path) -> None:
    rerun_file(committed / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")
    (committed / "nb1.ipynb").write_bytes(edited((committed / "nb1.ipynb").read_bytes()))

    done = nbgit(committed, "refresh")

    assert porcelain(committed) == [" M nb1.ipynb"]
    assert b"refreshed 1 notebook(s)" in done.stdout
    assert b"1 notebook(s) really changed and stay modified: nb1.ipynb" in done.stdout


def test_only_the_named_paths_are_refreshed(committed: Path) -> None:
    (committed / "sub").mkdir()
    git(committed, "mv", "nb2.ipynb", "sub/nb2.ipynb")
    git(committed, "commit", "-q", "--no-verify", "-m", "move")
    for name in ("nb0.ipynb", "nb1.ipynb", "sub/nb2.ipynb"):
        rerun_file(committed / name)

    assert nbgit(committed / "sub", "refresh", "nb2.ipynb").returncode == 0
    assert sorted(porcelain(committed)) == [" M nb0.ipynb", " M nb1.ipynb"]
    assert nbgit(committed, "refresh", "nb1.ipynb").returncode == 0
    assert porcelain(committed) == [" M nb0.ipynb"]


def test_a_partially_staged_notebook_keeps_its_staged_blob(committed: Path) -> None:
    first, second = committed / "nb0.ipynb", committed / "nb1.ipynb"
    first.write_bytes(edited(first.read_bytes()))
    second.write_bytes(edited(second.read_bytes()))
    git(committed, "add", "nb0.ipynb", "nb1.ipynb")
    rerun_file(first)  # the staged source, re-run: unchanged against the index
    second.write_bytes(rerun(NOTEBOOKS[1].read_bytes(), 3))  # the committed source, re-run: not what is staged
    index_before = staged(committed)

    done = nbgit(committed, "refresh")

    assert b"refreshed 1 notebook(s)" in done.stdout
    assert staged(committed) == index_before
    assert sorted(porcelain(committed)) == ["M  nb0.ipynb", "MM nb1.ipynb"]


def test_git_index_file_is_honoured_and_the_main_index_left_alone(committed: Path, tmp_path: Path) -> None:
    other_index = tmp_path / "other-index"
    shutil.copyfile(committed / ".git" / "index", other_index)
    rerun_file(committed / "nb0.ipynb")
    main_index = (committed / ".git" / "index").read_bytes()
    env = {**os.environ, "GIT_INDEX_FILE": str(other_index)}

    done = nbgit(committed, "refresh", env=env)

    assert done.returncode == 0, done.stderr
    assert porcelain(committed, env) == []
    assert (committed / ".git" / "index").read_bytes() == main_index
    assert porcelain(committed) == [" M nb0.ipynb"]
    assert not Path(f"{other_index}.lock").exists()


def slow_add(repo: Path, seconds: float) -> subprocess.Popen[bytes]:
    """A real `git add` that holds the index lock for `seconds`: its clean filter sleeps first."""
    git(repo, "config", "filter.slow.clean", f"sleep {seconds}; cat")
    (repo / ".git" / "info" / "attributes").write_text("*.slow filter=slow\n")
    (repo / "data.slow").write_text("staged by a slow git add\n")
    adding = subprocess.Popen(["git", "add", "data.slow"], cwd=repo)
    deadline = time.monotonic() + 10
    while not (repo / ".git" / "index.lock").exists():
        assert time.monotonic() < deadline and adding.poll() is None, "git add never took the lock"
        time.sleep(0.01)
    return adding


def test_a_concurrent_git_add_holding_the_lock_is_waited_for_or_skipped(committed: Path) -> None:
    rerun_file(committed / "nb0.ipynb")
    adding = slow_add(committed, 3)

    skipped = nbgit(committed, "refresh", "--wait", "0")

    assert skipped.returncode == 2
    assert b"another git command is using the index" in skipped.stderr
    assert (committed / ".git" / "index.lock").exists()  # git add's lock, untouched
    waiting = subprocess.run([str(NBGIT), "refresh", "--wait", "30"], cwd=committed, capture_output=True)
    assert adding.wait() == 0
    assert waiting.returncode == 0, waiting.stderr
    assert b"refreshed 1 notebook(s)" in waiting.stdout
    assert porcelain(committed) == ["A  data.slow"]  # git add's work kept, the notebook quiet
    assert not (committed / ".git" / "index.lock").exists()


def test_a_file_saved_or_staged_after_judging_is_never_recorded(committed: Path) -> None:
    for name in ("nb0.ipynb", "nb1.ipynb", "nb2.ipynb"):
        rerun_file(committed / name)
    tree, verdicts = judge(committed, [])
    assert {v.path: v.state for v in verdicts} == {"nb0.ipynb": UNCHANGED, "nb1.ipynb": UNCHANGED, "nb2.ipynb": UNCHANGED}
    # between judging and recording: nb0 saved with a real change of the very same size, nb1 edited and staged
    saved = bytearray((committed / "nb0.ipynb").read_bytes())
    at = saved.index(b'"source": [\n    "') + len(b'"source": [\n    "')
    while not chr(saved[at]).isalpha():
        at += 1
    saved[at] = ord(chr(saved[at]).swapcase())
    os.replace(_written(committed / "nb0.new", bytes(saved)), committed / "nb0.ipynb")
    (committed / "nb1.ipynb").write_bytes(edited((committed / "nb1.ipynb").read_bytes()))
    git(committed, "add", "nb1.ipynb")
    index_before = staged(committed)

    outcome = record(tree, verdicts, wait=0)

    assert outcome.refreshed == ["nb2.ipynb"]
    assert sorted(outcome.unsettled) == ["nb0.ipynb", "nb1.ipynb"]
    assert staged(committed) == index_before
    assert porcelain(committed) == [" M nb0.ipynb", "M  nb1.ipynb"]


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_saves_racing_refreshes_never_leave_an_unverified_stat(committed: Path) -> None:
    """A writer saves a re-run and a real edit in turn, 200 times, ending on the edit, while refreshes run."""
    notebook = committed / "nb0.ipynb"
    original = notebook.read_bytes()
    versions = [rerun(original, 5), edited(rerun(original, 6))]
    index_before = staged(committed)

    def write() -> None:
        for number in range(200):
            os.replace(_written(committed / "nb0.tmp", versions[number % 2]), notebook)  # Jupyter's atomic save
            time.sleep(0.0005)

    writer = threading.Thread(target=write)
    writer.start()
    rounds = 0
    while writer.is_alive() or rounds < 5:
        record(*judge(committed, ["nb0.ipynb"]), wait=5)
        rounds += 1
    writer.join()

    assert staged(committed) == index_before
    assert porcelain(committed) == [" M nb0.ipynb"]
    assert b"a real change" in git(committed, "diff", "nb0.ipynb").stdout
    os.replace(_written(committed / "nb0.tmp", versions[0]), notebook)
    nbgit(committed, "refresh")
    assert porcelain(committed) == []


def test_a_linked_worktree_is_refreshed_in_its_own_index(committed: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(committed, "worktree", "add", "-q", str(linked), "-b", "other")
    rerun_file(linked / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")

    done = nbgit(linked, "refresh")

    assert b"refreshed 1 notebook(s)" in done.stdout, done.stderr
    assert porcelain(linked) == []
    assert porcelain(committed) == [" M nb1.ipynb"]


def test_the_pre_commit_hook_in_core_hooks_path_refreshes_what_it_commits(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", "my-hooks")
    assert nbgit(repo, "install").returncode == 0
    assert (repo / "my-hooks" / "pre-commit").exists() and (repo / "my-hooks" / "post-checkout").exists()
    copy_in(NOTEBOOKS[1], repo, "b.ipynb")
    git(repo, "add", "b.ipynb")
    git(repo, "commit", "-q", "--no-verify", "-m", "b")
    copy_in(NOTEBOOKS[0], repo, "a.ipynb")
    git(repo, "add", "a.ipynb")
    rerun_file(repo / "a.ipynb")  # re-run after `git add`, before the commit
    rerun_file(repo / "b.ipynb")  # not in the commit: not the hook's to refresh

    done = git(repo, "commit", "-q", "-m", "a", check=False)

    assert done.returncode == 0, done.stderr
    assert porcelain(repo) == [" M b.ipynb"]


def test_the_post_checkout_hook_refreshes_the_notebooks_a_checkout_changed(committed: Path) -> None:
    git(committed, "checkout", "-q", "-b", "edit")
    (committed / "nb0.ipynb").write_bytes(edited((committed / "nb0.ipynb").read_bytes()))
    git(committed, "commit", "-q", "--no-verify", "-am", "edit")
    old = git(committed, "rev-parse", "HEAD").stdout.decode().strip()
    git(committed, "checkout", "-q", "main")
    new = git(committed, "rev-parse", "HEAD").stdout.decode().strip()
    rerun_file(committed / "nb0.ipynb")  # outputs written back after the checkout (by an output store, a re-run)
    rerun_file(committed / "nb1.ipynb")  # not changed by the checkout: left to `nbgit refresh`

    done = nbgit(committed, "hook", "post-checkout", old, new, "1")

    assert done.returncode == 0, done.stderr
    assert porcelain(committed) == [" M nb1.ipynb"]
    cloned = nbgit(committed, "hook", "post-checkout", "0" * 40, new, "1")  # as `git clone` runs it
    assert (cloned.returncode, cloned.stderr) == (0, b"")


def test_only_notebooks_git_runs_nbgits_filter_on_are_refreshed(committed: Path) -> None:
    with (committed / ".gitattributes").open("a") as attributes:
        attributes.write("nb1.ipynb -filter\n")
    git(committed, "commit", "-q", "--no-verify", "-am", "nb1 unfiltered")
    rerun_file(committed / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")  # clean in the index, but git compares it raw: a real change

    nbgit(committed, "refresh")

    assert porcelain(committed) == [" M nb1.ipynb"]
    git(committed, "config", "--unset", "filter.nbgit.process")
    git(committed, "config", "--unset", "filter.nbgit.clean")
    rerun_file(committed / "nb2.ipynb", seed=9)
    assert b"nothing to refresh" in nbgit(committed, "refresh").stdout
    assert " M nb2.ipynb" in porcelain(committed)


def test_the_filters_policy_applies_per_path(committed: Path) -> None:
    (committed / ".nbgit.toml").write_text('exclude = ["nb1.ipynb"]\n\n[[overrides]]\npaths = ["nb2.ipynb"]\noutputs = "keep"\n')
    git(committed, "add", ".nbgit.toml")
    git(committed, "add", "--renormalize", ".")
    git(committed, "commit", "-q", "--no-verify", "-m", "policy")
    for name in ("nb0.ipynb", "nb1.ipynb", "nb2.ipynb"):
        rerun_file(committed / name)

    done = nbgit(committed, "refresh")

    assert sorted(porcelain(committed)) == [" M nb1.ipynb", " M nb2.ipynb"]
    assert b"2 notebook(s) really changed" in done.stdout


def index_version(repo: Path) -> int:
    return int.from_bytes((repo / ".git" / "index").read_bytes()[4:8], "big")


@pytest.mark.parametrize(("object_format", "version"), [("sha1", 2), ("sha1", 3), ("sha1", 4), ("sha256", 4)])
def test_index_versions_and_sha256_repositories(tmp_path: Path, object_format: str, version: int) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", f"--object-format={object_format}")
    assert nbgit(repo, "install").returncode == 0
    copy_in(NOTEBOOKS[0], repo, "deep/folder/a notebook.ipynb")
    copy_in(NOTEBOOKS[1], repo, "deep/folder/b.ipynb")
    copy_in(NOTEBOOKS[2], repo, "deep/other.ipynb")
    git(repo, "add", "-A")
    if version > 2:
        copy_in(NOTEBOOKS[3], repo, "later.ipynb")
        git(repo, "add", "-N", "later.ipynb")  # intent to add: an entry with extended flags
    git(repo, "update-index", f"--index-version={version}")
    assert index_version(repo) == version
    rerun_file(repo / "deep/folder/a notebook.ipynb")
    rerun_file(repo / "deep/folder/b.ipynb")
    before = staged(repo)

    done = nbgit(repo, "refresh")

    assert b"refreshed 2 notebook(s)" in done.stdout, done.stderr
    unstaged = [line for line in porcelain(repo) if line[1] != " "]
    assert unstaged == ([" A later.ipynb"] if version > 2 else [])
    assert staged(repo) == before
    assert index_version(repo) == version
    assert git(repo, "fsck", "--no-dangling", check=False).returncode == 0


@pytest.mark.parametrize("version", [2, 3, 4])
def test_entries_whose_names_it_must_read_or_skip_around_the_notebooks_are_walked_over(committed: Path, version: int) -> None:
    """The index is walked reading only the names it must: around the notebook's entry, entries with
    a name of its length and with names of 4095 bytes and more (whose length an entry's flags cannot
    hold) are passed over, and the index keeps every entry but for the notebook's stat data."""
    blob = git(committed, "hash-object", "-w", "--stdin", input=b"x\n").stdout.decode().strip()
    others = ["a" * 4200, "nb0.ipync", "nb9.ipynb", "z" * 5000]  # in the index only, never on disk
    git(committed, "update-index", "--index-info", input="".join(f"100644 {blob}\t{path}\n" for path in others).encode())
    if version == 3:
        git(committed, "update-index", "--skip-worktree", "nb0.ipync")  # extended flags keep the index at version 3
    git(committed, "update-index", f"--index-version={version}")
    rerun_file(committed / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")
    before = staged(committed)

    done = nbgit(committed, "refresh", "nb0.ipynb", "nb1.ipynb")

    assert b"refreshed 2 notebook(s)" in done.stdout, done.stderr
    assert git(committed, "diff-files", "--name-only", "--", "nb0.ipynb", "nb1.ipynb").stdout == b""
    assert staged(committed) == before
    assert index_version(committed) == version


def recorded(repo: Path, path: str) -> dict[str, int]:
    """The stat data the index records for `path` (`git ls-files --debug`): seconds of ctime and mtime, size."""
    text = git(repo, "ls-files", "--debug", "--", path).stdout.decode()
    return {field: int(re.search(rf"{field}: (\d+)", text).group(1)) for field in ("ctime", "mtime", "size")}  # type: ignore[union-attr]


@pytest.mark.parametrize(("version", "more_racy"), [(2, 0), (3, 0), (4, 0), (2, 150)], ids=["v2", "v3", "v4", "v2, 152 racy"])
def test_an_edit_only_gits_racy_check_sees_stays_listed_after_a_refresh(committed: Path, version: int, more_racy: int) -> None:
    """git trusts an entry's stat data only when its file was modified before the index was written:
    a same-size edit in that second is found by comparing content. The index `nbgit refresh` writes
    later must not hide it (git smudges such entries when it writes an index, and so must nbgit).
    git is asked about a few racily clean entries by name, about many (`more_racy` more) all at once.

    The second is set with os.utime (a past one: the edit, the entry and the index all in it) so that
    the refresh is always later, as a save hook running a moment after `git add; edit` is."""
    old, edited_file, untouched = committed / "old.txt", committed / "t.txt", committed / "u.txt"
    for file, text in ((old, "old\n"), (edited_file, "aaaa\n"), (untouched, "uuuu\n")):
        file.write_text(text)
    (committed / "racy").mkdir()
    more = [committed / "racy" / f"{number:03d}.txt" for number in range(more_racy)]
    for file in more:
        file.write_text("rrrr\n")
    second = time.time_ns() // 10**9 * 10**9 - 10 * 10**9
    os.utime(old, ns=(second - 10**12, second - 10**12))  # long before the index: stat data git may trust
    git(committed, "add", "old.txt", "t.txt", "u.txt")
    git(committed, "commit", "-q", "--no-verify", "-m", "text files")
    git(committed, "update-index", f"--index-version={version}")
    if version == 3:
        (committed / "later.txt").write_text("later\n")
        git(committed, "add", "-N", "later.txt")  # an entry with extended flags: keeps the index at version 3
    rerun_file(committed / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")  # racy too (recorded after the index's second), but listed by its size
    for _ in range(5):  # the add and the edit must fall in one second of ctime, as git compares them
        if time.time() % 1 > 0.8:
            time.sleep(0.25)
        edited_file.write_text("aaaa\n")
        for file in (edited_file, untouched, *more):
            os.utime(file, ns=(second, second))
        git(committed, "add", "t.txt", "u.txt", "racy")
        os.utime(committed / ".git" / "index", ns=(second, second))  # the index written in the same second
        edited_file.write_text("bbbb\n")  # the user's edit: same size, same mtime second
        os.utime(edited_file, ns=(second, second))
        now = os.stat(edited_file)
        if recorded(committed, "t.txt") == {"ctime": int(now.st_ctime), "mtime": int(now.st_mtime), "size": now.st_size}:
            break
    else:
        pytest.fail("a busy machine: the add and the edit never fell in one second of ctime in 5 tries")
    assert "t.txt" in git(committed, "diff-files", "--name-only").stdout.decode().split()  # found by git's racy check alone

    done = nbgit(committed, "refresh", "nb0.ipynb")

    assert b"refreshed 1 notebook(s)" in done.stdout, done.stderr
    assert index_version(committed) == version
    assert "t.txt" in git(committed, "diff-files", "--name-only").stdout.decode().split()  # the edit is still found
    assert recorded(committed, "old.txt")["size"] == 4  # not racy: left as git recorded it
    assert recorded(committed, "nb0.ipynb")["size"] == (committed / "nb0.ipynb").stat().st_size  # just refreshed
    assert recorded(committed, "u.txt")["size"] == 5  # racy but unchanged (git compared it): not smudged
    assert all(recorded(committed, file.relative_to(committed).as_posix())["size"] == 5 for file in more[:3])
    assert recorded(committed, "t.txt")["size"] == 0  # racy and changed: smudged, git compares its content
    assert recorded(committed, "nb1.ipynb")["size"] != 0  # changed in size: git lists it without a smudge
    assert [line for line in porcelain(committed) if "later" not in line and "racy/" not in line] == [" M nb1.ipynb", " M t.txt"]
    assert b"+bbbb" in git(committed, "diff", "t.txt").stdout
    assert git(committed, "checkout", "-q", "HEAD~1", check=False).returncode != 0  # git refuses to overwrite the edit
    assert edited_file.read_text() == "bbbb\n"


def test_a_change_made_after_git_compared_it_stays_listed_when_the_clock_ticks(committed: Path) -> None:
    """Under the lock git compares the racily clean entries; one changed after that, in the second it
    was recorded in, is hidden by an index written in a later second unless it is smudged too. A
    slow clean filter on another racy file makes the change (once git compared u.txt) and the tick."""
    git(committed, "config", "filter.slow.clean", "if test -f armed; then rm armed; printf 'vvvv\\n' > u.txt; sleep 1.2; fi; cat")
    (committed / ".git" / "info" / "attributes").write_text("*.slow filter=slow\n")
    rerun_file(committed / "nb0.ipynb")
    tree, verdicts = judge(committed, ["nb0.ipynb"])
    time.sleep(1 - time.time() % 1)  # the start of a second: what follows up to the change fits in it
    (committed / "u.txt").write_text("uuuu\n")
    (committed / "x.slow").write_text("slow\n")
    git(committed, "add", "u.txt", "x.slow")  # the index and both entries from this second: racily clean
    (committed / "armed").touch()

    outcome = record(tree, verdicts, wait=5)

    now = os.stat(committed / "u.txt")
    assert (recorded(committed, "u.txt")["ctime"], recorded(committed, "u.txt")["mtime"]) == (int(now.st_ctime), int(now.st_mtime))
    assert outcome.refreshed == ["nb0.ipynb"]
    assert not (committed / "armed").exists()
    assert porcelain(committed) == ["AM u.txt", "A  x.slow"]  # the change, not hidden


def test_a_split_index_or_a_broken_policy_is_one_error_and_no_lock_is_left(committed: Path) -> None:
    rerun_file(committed / "nb0.ipynb")
    git(committed, "update-index", "--split-index")
    index_before = (committed / ".git" / "index").read_bytes()

    done = nbgit(committed, "refresh")

    assert done.returncode == 2
    assert b"split index" in done.stderr and b"hint: run `git update-index --no-split-index`" in done.stderr
    assert (committed / ".git" / "index").read_bytes() == index_before
    assert not (committed / ".git" / "index.lock").exists()
    git(committed, "update-index", "--no-split-index")
    (committed / ".nbgit.toml").write_text("outputs = 'sometimes'\n")
    done = nbgit(committed, "refresh")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("nbgit: error: .nbgit.toml: `outputs` must be")
    assert not (committed / ".git" / "index.lock").exists()
    assert nbgit(committed.parent, "refresh").returncode == 2  # not a repository


def test_nothing_to_refresh_is_said_and_changes_nothing(committed: Path) -> None:
    index_before = (committed / ".git" / "index").read_bytes()
    done = nbgit(committed, "refresh")
    assert done.returncode == 0
    assert b"nothing to refresh" in done.stdout
    assert (committed / ".git" / "index").read_bytes() == index_before
    assert nbgit(committed, "refresh", "-q").stdout == b""


def test_a_newline_or_tab_in_a_name_is_shown_never_printed_raw(committed: Path) -> None:
    """A name from the repository cannot break `nbgit refresh`'s or `nbgit status`'s lines or forge one."""
    forged = "a\nnbgit: refreshed 3 notebook(s) changed only in outputs or volatile state: git status no longer lists them\nb"
    shown = forged.replace("\n", "\\n")
    git(committed, "mv", "nb0.ipynb", f"{forged}.ipynb")
    git(committed, "mv", "nb1.ipynb", f"{forged}\t.ipynb")
    git(committed, "commit", "-q", "--no-verify", "-m", "hostile names")
    rerun_file(committed / f"{forged}.ipynb")
    changed = committed / f"{forged}\t.ipynb"
    changed.write_bytes(edited(changed.read_bytes()))

    lines = nbgit(committed, "status").stdout.decode().splitlines()
    done = nbgit(committed, "refresh")

    assert [line for line in lines if line.startswith("worktree")] == [
        f"worktree    note     1 notebook(s) changed only in outputs or volatile state: {shown}.ipynb (git status lists them until `nbgit refresh`)",
        f"worktree    ok       1 notebook(s) with real changes: {shown}\\t.ipynb",
    ]
    assert done.stdout.decode().splitlines() == [
        "nbgit: refreshed 1 notebook(s) changed only in outputs or volatile state: git status no longer lists them",
        f"nbgit: 1 notebook(s) really changed and stay modified: {shown}\\t.ipynb",
    ]


def test_a_line_separator_in_the_folders_name_is_part_of_the_path_and_a_line_break_one_error(committed: Path, tmp_path: Path) -> None:
    """git ends each line it prints with "\\n" alone: U+2028 (which Python's splitlines also splits at) is
    part of the work tree's path; a "\\n" in it makes git's answer ambiguous and is refused."""
    separated = committed.rename(tmp_path / "a\u2028b")
    rerun_file(separated / "nb0.ipynb")
    done = nbgit(separated, "refresh")
    assert (done.returncode, done.stderr) == (0, b"")
    assert porcelain(separated) == []
    broken = separated.rename(tmp_path / "a\nb")
    rerun_file(broken / "nb1.ipynb")
    done = nbgit(broken, "refresh")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "nbgit: error: the path of this work tree or of its git folder holds a line break, which makes git's answer ambiguous",
        "hint: rename that folder",
    ]


def test_status_names_as_phantoms_exactly_what_git_status_lists(committed: Path) -> None:
    """git lists a notebook on its size alone; one only touched, or whose entry records size 0 (just
    checked out, or smudged as racily clean by an index written in the same second), it compares by
    content through the filter, and lists nothing. `nbgit status` says the same (it said a phantom
    for each of those, which an index written while its files were new made of untouched notebooks)."""
    time.sleep(1.05)  # past the index's timestamp: git trusts the stat data of the untouched ones
    rerun_file(committed / "nb0.ipynb")  # another size: listed
    touched = committed / "nb2.ipynb"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 2_000_000_000))  # same size: compared
    blob = git(committed, "rev-parse", ":nb3.ipynb").stdout.decode().strip()
    git(committed, "update-index", "--cacheinfo", f"100644,{blob},nb3.ipynb")  # stat data of an entry just made: size 0

    lines = nbgit(committed, "status").stdout.decode().splitlines()

    assert porcelain(committed) == [" M nb0.ipynb"]
    assert [line for line in lines if line.startswith("worktree")] == [
        "worktree    note     1 notebook(s) changed only in outputs or volatile state: nb0.ipynb (git status lists them until `nbgit refresh`)",
    ]


def test_status_tells_phantoms_from_real_changes(committed: Path) -> None:
    rerun_file(committed / "nb0.ipynb")
    rerun_file(committed / "nb1.ipynb")
    (committed / "nb1.ipynb").write_bytes(edited((committed / "nb1.ipynb").read_bytes()))

    lines = nbgit(committed, "status").stdout.decode().splitlines()

    assert [line for line in lines if line.startswith("worktree")] == [
        "worktree    note     1 notebook(s) changed only in outputs or volatile state: nb0.ipynb (git status lists them until `nbgit refresh`)",
        "worktree    ok       1 notebook(s) with real changes: nb1.ipynb",
    ]
    nbgit(committed, "refresh")
    lines = nbgit(committed, "status").stdout.decode().splitlines()
    assert [line for line in lines if line.startswith("worktree")] == ["worktree    ok       1 notebook(s) with real changes: nb1.ipynb"]


def test_what_processes_judging_at_once_record_is_all_counted_in_the_store_size(repo: Path) -> None:
    """With enough re-run notebooks refresh judges on every core, and each process keeps outputs: the
    store's counted size grows by all they wrote together, never less than the store grew (each
    process counting its own into the size file left only one process's count there: about half)."""
    assert nbgit(repo, "install").returncode == 0
    for number in range(240):  # more than JUDGED_PER_WORKER: worker processes judge beside this one
        copy_in(NOTEBOOKS[number % len(NOTEBOOKS)], repo, f"nb{number:03d}.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "notebooks")
    store = repo / ".git" / "nbgit" / "outputs"
    sizes = [entry.stat().st_size // entry.stat().st_nlink for entry in store.rglob("*") if entry.is_file() and entry.name != "usage"]
    before, counted = sum(sizes), int((store / "usage").read_text())
    past = time.time() - 10  # older than the index refresh writes: git will not look at them again
    for number in range(240):
        path = repo / f"nb{number:03d}.ipynb"
        path.write_bytes(rerun(path.read_bytes(), number + 1))
        os.utime(path, (past, past))
    done = nbgit(repo, "refresh")
    assert done.returncode == 0 and "refreshed 240" in done.stderr.decode() + done.stdout.decode(), done.stderr.decode()
    sizes = [entry.stat().st_size // entry.stat().st_nlink for entry in store.rglob("*") if entry.is_file() and entry.name != "usage"]
    grown = sum(sizes) - before
    assert grown > 0 and grown <= int((store / "usage").read_text()) - counted < 1.5 * grown  # (records replaced count as written)
