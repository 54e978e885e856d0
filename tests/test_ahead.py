"""The cleaner ahead (nbgit.ahead): answers made on the other core for the notebooks git asks for next,
taken only for the very bytes git hands over; and the process filter using it in real git commands.

The unit tests run the real forked process on real files; its answer function (the test's own) leaves
a file per notebook it answered, in the folder `made`, which is how they see what it did.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git, nbgit, within
from test_history import notebook

from nbgit.ahead import LEAD, Answer, CleanerAhead
from nbgit.filter import Cleaner, clean_blob
from nbgit.policy import Policy

NAMES = [f"{letter}.ipynb" for letter in "abcdefgh"]


def folder_of_notebooks(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder of run notebooks (a.ipynb ... h.ipynb), each with its own output."""
    folder = tmp_path / "work"
    folder.mkdir()
    contents = {name: notebook(f"printed by {name}", "and more") for name in NAMES}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder, contents


def recording(made: Path) -> Answer:
    """An answer function that cleans as the filter does and leaves `made/<name>` for each notebook it answers."""
    made.mkdir()

    def answer(path: str, data: bytes) -> tuple[bytes, bool] | None:
        (made / path).write_bytes(b"")
        cleaned, problem = clean_blob(data, path, Policy())
        return None if problem else (cleaned, False)

    return answer


def cleaned(data: bytes, name: str) -> bytes:
    return clean_blob(data, name, Policy())[0]


def test_answers_are_made_ahead_in_turn_and_taken_for_the_very_bytes_git_hands_over(tmp_path: Path) -> None:
    folder, contents = folder_of_notebooks(tmp_path)
    (folder / "e.ipynb").write_bytes(b'{"cells": [')  # no notebook: no answer, the filter says why itself
    contents["e.ipynb"] = b'{"cells": ['
    ahead = CleanerAhead(str(folder), recording(tmp_path / "made"))
    try:
        assert ahead.take("a.ipynb", contents["a.ipynb"]) is None  # one notebook: nothing started
        assert ahead.take("b.ipynb", contents["b.ipynb"]) is None  # the second in turn starts it, from there on
        assert ahead.take("c.ipynb", contents["c.ipynb"]) == (cleaned(contents["c.ipynb"], "c.ipynb"), False)
        changed = contents["d.ipynb"].replace(b"and more", b"and less")  # the file changed since it was read
        assert ahead.take("d.ipynb", changed) is None
        assert ahead.take("e.ipynb", contents["e.ipynb"]) is None
    finally:
        ahead.stop()
    made = {p.name for p in (tmp_path / "made").iterdir()}
    assert {"c.ipynb", "d.ipynb", "e.ipynb"} <= made  # planned when it started: answered before git asked
    assert not {"a.ipynb", "b.ipynb"} & made  # git's own before it started
    assert len(made) <= 3 + LEAD  # and never more than LEAD past where git was last


def test_nothing_is_made_ahead_for_a_git_that_skips_notebooks(tmp_path: Path) -> None:
    """`git status` with a few changed notebooks among many asks for those alone: none other is read."""
    folder, contents = folder_of_notebooks(tmp_path)
    ahead = CleanerAhead(str(folder), recording(tmp_path / "made"))
    try:
        for name in ("a.ipynb", "c.ipynb", "f.ipynb", "h.ipynb"):
            assert ahead.take(name, contents[name]) is None
    finally:
        ahead.stop()
    assert list((tmp_path / "made").iterdir()) == []


def test_only_regular_files_of_the_folder_are_read_never_through_a_link(tmp_path: Path) -> None:
    folder, contents = folder_of_notebooks(tmp_path)
    outside = tmp_path / "outside.ipynb"
    outside.write_bytes(contents["c.ipynb"])
    (folder / "c.ipynb").unlink()
    (folder / "c.ipynb").symlink_to(outside)
    (folder / "d.ipynb").unlink()
    os.mkfifo(folder / "d.ipynb")  # opening it to read would wait for a writer for ever
    ahead = CleanerAhead(str(folder), recording(tmp_path / "made"))
    try:
        assert ahead.take("a.ipynb", contents["a.ipynb"]) is None
        assert ahead.take("b.ipynb", contents["b.ipynb"]) is None
        assert ahead.take("e.ipynb", contents["e.ipynb"]) == (cleaned(contents["e.ipynb"], "e.ipynb"), False)
    finally:
        ahead.stop()
    made = {p.name for p in (tmp_path / "made").iterdir()}
    assert "c.ipynb" not in made and "d.ipynb" not in made and "e.ipynb" in made


def test_a_cleaner_ahead_that_dies_leaves_the_filter_to_answer(tmp_path: Path) -> None:
    folder, contents = folder_of_notebooks(tmp_path)

    def dies(path: str, data: bytes) -> tuple[bytes, bool] | None:
        os._exit(3)

    ahead = CleanerAhead(str(folder), dies)
    try:
        for name in NAMES:
            assert ahead.take(name, contents[name]) is None
    finally:
        ahead.stop()


@pytest.mark.parametrize("restore", ["true", "false"])
def test_git_add_and_status_of_many_notebooks_store_what_cleaning_gives(repo: Path, restore: str) -> None:
    """Through the process filter, in a clone keeping outputs (answers made by the filter, the worker on
    the other core) and in one keeping none (answers made ahead): every blob is the clean of its file,
    a notebook that does not clean is stored unchanged with one warning (the filter's own), and `git
    status` after a touch lists what changed alone."""
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    git(repo, "config", "nbgit.restore", restore)
    contents = {f"nb{number:02d}.ipynb": notebook(f"output {number}", "more") for number in range(12)}
    contents["nb05.ipynb"] = b'{"cells": ['
    contents[os.fsdecode(b"nb07-caf\xe9.ipynb")] = notebook("a name that is no UTF-8")  # (its bytes, as git sends them)
    for name, data in contents.items():
        (repo / name).write_bytes(data)
    added = git(repo, "add", "-A")
    warnings = [line for line in added.stderr.decode().splitlines() if "nb05.ipynb" in line]
    assert len(warnings) == 1 and "stored unchanged" in warnings[0], added.stderr.decode()
    for name, data in contents.items():
        blob = git(repo, "cat-file", "blob", os.fsdecode(b":" + os.fsencode(name))).stdout
        assert blob == (data if name == "nb05.ipynb" else cleaned(data, name)), name
    git(repo, "commit", "-q", "-m", "notebooks")
    (repo / "nb11.ipynb").write_bytes(notebook("output 11 again", "more"))
    for name in contents:
        os.utime(repo / name)
    status = within(60, repo, "git", "status", "--porcelain")
    assert status.stdout == b" M nb11.ipynb\n" and b"Traceback" not in status.stderr


class Noting(Cleaner):
    """The process filter's cleaner, leaving `made/<name>` for each notebook its cleaner ahead answers."""

    made: Path

    def answer_ahead(self, path: str, data: bytes) -> tuple[bytes, bool] | None:
        (self.made / path).write_bytes(b"")
        return super().answer_ahead(path, data)


@pytest.mark.parametrize("restore", ["true", "false"])
def test_the_filter_cleans_ahead_only_where_it_records_no_outputs(repo: Path, restore: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process filter's wiring (as `nbgit.filter.main` makes it): a clone keeping no outputs has the
    next notebooks answered ahead, and those answers are what cleaning gives; a clone keeping them has
    none made (its worker has the other core)."""
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    git(repo, "config", "nbgit.restore", restore)
    contents = {f"nb{number}.ipynb": notebook(f"output {number}") for number in range(6)}
    for name, data in contents.items():
        (repo / name).write_bytes(data)
    monkeypatch.chdir(repo)  # (git runs its filter at the top of the work tree)
    cleaner = Noting.for_directory(repo, one_command=True)
    cleaner.made = repo.parent / "made"
    cleaner.made.mkdir()
    cleaner.background = cleaner.looks_ahead = True
    try:
        for name, data in contents.items():
            assert cleaner.clean(name, data) == (cleaned(data, name), None)
    finally:
        cleaner.wait()
    made = {p.name for p in cleaner.made.iterdir()}
    if restore == "false":
        assert {"nb2.ipynb", "nb3.ipynb", "nb4.ipynb"} <= made  # planned when the second started it, answered before git asked
    else:
        assert made == set()
