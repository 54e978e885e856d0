"""Bytes cleaned before are not cleaned again: the store's record of them makes their blob.

`git status` after a save that changed nothing (or a `touch`) and `git add` after `git status` hand
the filter bytes it has cleaned already. The record of the last versions at that path then makes the
blob (a recipe of copies from those bytes, checked by their digest and by git's id of the blob).
Whatever that saves, git must store exactly what cleaning would: every test here compares the
staged blob with `clean_bytes` of the work-tree file, after edits made to fool a shortcut (same
size, in the parts cleaning drops, in the parts it keeps) and with the store damaged.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import CORPUS, copy_in, git, nbgit
from nbgit import filter as nbgit_filter
from nbgit.clean import clean_bytes
from nbgit.filter import Cleaner
from nbgit.policy import Policy, load_policy
from nbgit.store.disk import Store
from nbgit.store.keeper import OutputKeeper
from nbgit.store.location import store_dir

SAMPLE = CORPUS / "dev" / "karpathy+nn-zero-to-hero/lectures/makemore/makemore_part5_cnn1.ipynb"  # outputs, images, no ids

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="the corpus is not at ../shared/corpus")


@pytest.fixture
def clone(repo: Path) -> Path:
    """A repository with nbgit installed and one real notebook with outputs committed."""
    done = nbgit(repo, "install", "--no-hooks")
    assert done.returncode == 0, done.stderr.decode()
    copy_in(SAMPLE, repo, "a.ipynb")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notebook")
    return repo


def staged(repo: Path, name: str) -> bytes:
    return git(repo, "cat-file", "blob", f":{name}").stdout


def expected(repo: Path, name: str) -> bytes:
    return clean_bytes((repo / name).read_bytes(), name, load_policy(repo))


def add_after_touch(repo: Path, name: str) -> None:
    """`git status` and `git add` as after a save: the file's stat data changed, so git filters it again."""
    time.sleep(1.05)  # past the index's timestamp: git must compare by content, through the filter
    (repo / name).touch()
    git(repo, "status", "--porcelain")
    git(repo, "add", name)


def same_size_edit(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and data.count(old) >= 1, old
    return data.replace(old, new, 1)


def test_bytes_recorded_at_a_path_make_their_blob_without_cleaning(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "init", "-q")
    data = SAMPLE.read_bytes()
    cleaner = Cleaner(Policy(), keeper=OutputKeeper(repo))
    first, problem = cleaner.clean("a.ipynb", data)
    assert problem is None and first == clean_bytes(data, "a.ipynb", Policy())
    copy, _ = cleaner.clean("copy/b.ipynb", data)  # the same bytes at another path: recorded there too
    cleaner.settle()  # as the filter process does once each answer is sent

    def no_cleaning(*args: object) -> None:
        raise AssertionError("cleaned again")

    monkeypatch.setattr(nbgit_filter, "clean_as", no_cleaning)
    assert cleaner.clean("a.ipynb", data) == (first, None)
    assert cleaner.clean("copy/b.ipynb", data) == (copy, None) and copy == first
    with pytest.raises(AssertionError, match="cleaned again"):
        cleaner.clean("a.ipynb", data.replace(b'"cell_type": "code"', b'"cell_type": "code" ', 1))


def test_a_filter_process_that_found_no_store_looks_nothing_up_until_it_smudges(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process filter of the first `git add` in a clone (no store yet) cleans every notebook without a
    look into the store: whatever lands there meanwhile was cleaned, so cleaning makes the same blob.
    Once it smudged (which may record bytes that are not their blob cleaned: a teammate's notebook),
    it looks again."""
    git(repo, "init", "-q")
    data = SAMPLE.read_bytes()
    blob = clean_bytes(data, "a.ipynb", Policy())
    filter_process = Cleaner(Policy(), keeper=OutputKeeper(repo, one_command=True))
    assert filter_process.clean("a.ipynb", data) == (blob, None)
    assert not store_dir(repo).exists()  # (its records go to its worker: none in this process)
    beside = Cleaner(Policy(), keeper=OutputKeeper(repo))  # another process records these bytes (Jupyter's save hook)
    beside.clean("a.ipynb", data)
    beside.settle()
    assert OutputKeeper(repo).cleaned("a.ipynb", data, Policy()) == blob  # the record serves any other keeper
    cleanings = []

    def counted(*args: object) -> tuple[bytes, None]:
        cleanings.append(args)
        return blob, None

    monkeypatch.setattr(nbgit_filter, "clean_as", counted)
    assert filter_process.clean("a.ipynb", data) == (blob, None) and len(cleanings) == 1
    assert filter_process.keeper is not None
    filter_process.keeper.smudge("a.ipynb", blob, Policy())
    assert filter_process.clean("a.ipynb", data) == (blob, None) and len(cleanings) == 1  # made from the record


@pytest.mark.parametrize("old, new", [
    (b"import torch", b"import TORCH"),  # in a cell's source: kept by cleaning
    (b'"execution_count": 1,', b'"execution_count": 7,'),  # dropped by cleaning
    (b'"output_type": "stream"', b'"output_type": "streaM"'),  # in an output: dropped
    (b'"nbformat_minor": 4', b'"nbformat_minor": 5'),  # notebook-level: kept (ids come with 4.5)
])
def test_a_same_size_edit_after_recording_is_stored_as_cleaning_makes_it(clone: Path, old: bytes, new: bytes) -> None:
    path = clone / "a.ipynb"
    add_after_touch(clone, "a.ipynb")  # recorded, and made again from the record
    path.write_bytes(same_size_edit(path.read_bytes(), old, new))
    add_after_touch(clone, "a.ipynb")
    assert staged(clone, "a.ipynb") == expected(clone, "a.ipynb")


def test_a_key_cleaning_strips_renamed_to_one_it_keeps_is_stored(clone: Path) -> None:
    path = clone / "a.ipynb"
    data = path.read_bytes()
    marked = data.replace(b'"metadata": {}', b'"metadata": {"collapsed": true}', 1)
    path.write_bytes(marked)
    add_after_touch(clone, "a.ipynb")
    assert b"collapsed" not in staged(clone, "a.ipynb")
    path.write_bytes(same_size_edit(marked, b'"collapsed": true', b'"collapsex": true'))  # same size, now kept
    add_after_touch(clone, "a.ipynb")
    assert staged(clone, "a.ipynb") == expected(clone, "a.ipynb")
    assert b'"collapsex": true' in staged(clone, "a.ipynb")


def test_a_damaged_recipe_costs_the_shortcut_never_the_blob(clone: Path) -> None:
    add_after_touch(clone, "a.ipynb")
    store = Store(store_dir(clone))
    key = git(clone, "rev-parse", ":a.ipynb").stdout.decode().strip()
    record = store.record(key)
    assert record is not None and record.recipe
    numbers, _, gaps = record.recipe.partition(b"\n")
    steps = numbers.split()
    steps[1] = b"%d" % (int(steps[1]) + 1)  # the first copy taken one byte later
    store.put_record(key, record._replace(recipe=b" ".join(steps) + b"\n" + gaps))
    add_after_touch(clone, "a.ipynb")
    assert staged(clone, "a.ipynb") == expected(clone, "a.ipynb")
    assert git(clone, "status", "--porcelain").stdout == b""


def test_a_policy_changed_since_recording_cleans_again(clone: Path) -> None:
    path = clone / "a.ipynb"
    path.write_bytes(path.read_bytes().replace(b'"metadata": {}', b'"metadata": {"secret": 1}', 1))
    add_after_touch(clone, "a.ipynb")
    assert b'"secret"' in staged(clone, "a.ipynb")
    (clone / "pyproject.toml").write_text('[tool.nbgit]\nextra_keys = ["cell.metadata.secret"]\n')
    add_after_touch(clone, "a.ipynb")
    assert b'"secret"' not in staged(clone, "a.ipynb") and staged(clone, "a.ipynb") == expected(clone, "a.ipynb")


def test_a_long_running_process_counts_what_it_stores_at_once(repo: Path) -> None:
    """Jupyter's save hook records from a server that runs for days (and may be killed): the store's
    size must be counted as it writes, not when that process exits, or eviction would come late."""
    from nbgit.store.evict import measure

    git(repo, "init", "-q")
    data = SAMPLE.read_bytes()
    keeper = OutputKeeper(repo)  # as `nbgit refresh` (and so the save hook) makes it
    keeper.clean("a.ipynb", data, clean_bytes(data, "a.ipynb", Policy()), Policy())
    directory = store_dir(repo)
    assert directory is not None and measure(directory).bytes > 0
    assert int((directory / "usage").read_text()) == measure(directory).bytes
