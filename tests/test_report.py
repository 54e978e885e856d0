"""`nbgit diff`: exactly the changed cells, against nbdime's own diff and on edited corpus notebooks in real repos."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path

import nbdime
import nbformat
import pytest
from conftest import CORPUS, NBGIT, corpus_files, git, nbgit, within

from nbgit.clean import clean_bytes
from nbgit.notebook import NotebookError, parse
from nbgit.policy import Policy, policy_from_table
from nbgit.report.changes import ADDED, MODIFIED, MOVED, REMOVED, UNREADABLE, VOLATILE, build, compare
from nbgit.report.markdown import to_markdown

NBDIME = CORPUS / "peer" / "nbdime"
KEEP_OUTPUTS = policy_from_table({"outputs": "keep"}, "test")


def nbdime_pairs() -> list[tuple[Path, Path]]:
    """nbdime's diff cases and every pair of its fixture groups (`name--x.ipynb` with `name.ipynb` or each other)."""
    cases = json.loads((NBDIME / "cases.json").read_text())["diff_cases"]
    pairs = [(NBDIME / c["a"], NBDIME / c["b"]) for c in cases if "b" in c]
    groups: dict[str, list[Path]] = {}
    for path in sorted((NBDIME / "files").glob("*.ipynb")):
        groups.setdefault(path.stem.split("--")[0].split("-test-")[0], []).append(path)
    for members in groups.values():
        pairs += [(a, b) for k, a in enumerate(members) for b in members[k + 1 :]]
    return list(dict.fromkeys(pairs))


def nbdime_touched(a: bytes, b: bytes) -> tuple[set[int], set[int], bool]:
    """Old and new cell indices nbdime's diff touches, and whether it changes notebook metadata."""
    diff = nbdime.diff_notebooks(nbformat.reads(a.decode(), as_version=4), nbformat.reads(b.decode(), as_version=4))
    cells = next((op["diff"] for op in diff if op["key"] == "cells"), [])
    n_old = len(json.loads(a)["cells"])
    added = {op["key"]: len(op["valuelist"]) for op in cells if op["op"] == "addrange"}
    removed = {k for op in cells if op["op"] == "removerange" for k in range(op["key"], op["key"] + op["length"])}
    patched = {op["key"] for op in cells if op["op"] == "patch"}
    old_touched, new_touched, j = removed | patched, set(), 0
    for k in range(n_old + 1):
        new_touched |= set(range(j, j + added.get(k, 0)))
        j += added.get(k, 0)
        if k < n_old and k not in removed:
            if k in patched:
                new_touched.add(j)
            j += 1
    return old_touched, new_touched, any(op["key"] == "metadata" for op in diff)


def our_touched(a: bytes, b: bytes, policy: Policy) -> tuple[set[int], set[int], bool, str]:
    change = compare(a, b, "a.ipynb", "a.ipynb", policy, 20)
    old = {c.old.index for c in change.cells if c.old and c.kind in (REMOVED, MODIFIED, MOVED)}
    new = {c.new.index for c in change.cells if c.new and c.kind in (ADDED, MODIFIED, MOVED)}
    return old, new, bool(change.metadata_diff), change.status


@pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")  # nbdime validating its own v4.4 fixtures
@pytest.mark.parametrize("policy", [Policy(), KEEP_OUTPUTS], ids=["strip-outputs", "keep-outputs"])
def test_changed_cells_agree_with_nbdime_on_its_own_pairs(policy: Policy) -> None:
    """On every nbdime fixture pair, cleaned alike, we touch exactly the cells nbdime's diff touches."""
    checked = 0
    for a_path, b_path in nbdime_pairs():
        try:
            a = clean_bytes(a_path.read_bytes(), a_path.name, policy)
            b = clean_bytes(b_path.read_bytes(), b_path.name, policy)
        except NotebookError:
            continue
        if {a_path.name, b_path.name} == {"attachment--empty_attachments_list.ipynb", "attachment--remove_attachment.ipynb"}:
            continue  # `"attachments": {}` against no key: nbdime lists it, a reader sees nothing, nbgit neither
        old, new, metadata, status = our_touched(a, b, policy)
        expected_old, expected_new, expected_metadata = nbdime_touched(a, b)
        assert (old, new, metadata) == (expected_old, expected_new, expected_metadata), (a_path.name, b_path.name)
        if a == b:
            assert status == "modified"  # identical content: nothing to list
        elif not (old or new or metadata):
            assert status == VOLATILE
        checked += 1
    assert checked > 60


def edit_notebook(content: dict, rng: random.Random) -> dict[str, set[int]]:
    """Edit a v4 notebook in place: modify, delete, insert, move and re-tag cells at spaced positions.

    Returns the expected old/new indices of each kind of change.
    """
    cells = content["cells"]
    n = len(cells)
    ids = all("id" in c for c in cells)
    modify, delete, retag, move = 1, 3, 5, 7  # old positions, apart so that every change stands alone
    expected = {"modified_old": {modify, retag}, "removed": {delete}, "moved_old": {move}}
    src = cells[modify]["source"]
    cells[modify]["source"] = ("".join(src) if isinstance(src, list) else src) + "\n# reviewed by the test"
    cells[retag].setdefault("metadata", {})["tags"] = ["edited-by-test"]
    moved = cells[move]
    new_cell = nbformat.v4.new_markdown_cell(f"A new cell {rng.random()}")
    if not ids:
        del new_cell["id"]
    order = [c for k, c in enumerate(cells) if k not in (delete, move)]
    order.insert(order.index(cells[retag]) + 1, new_cell)
    order.append(moved)
    content["cells"] = order
    position = {id(c): j for j, c in enumerate(order)}
    expected["modified_new"] = {position[id(cells[modify])], position[id(cells[retag])]}
    expected["added"] = {position[id(new_cell)]}
    expected["moved_new"] = {position[id(moved)]}
    assert n > move
    return expected


def editable(path: Path) -> bool:
    """A v4 notebook whose cells (at least eleven) are distinct and non-empty (so that alignment is unambiguous)."""
    try:
        nb = parse(path.read_bytes())
    except NotebookError:
        return False
    cells = nb.content.get("cells", [])
    head = ["".join(c.get("source", "")) for c in cells]
    return nb.major == 4 and len(cells) >= 11 and all(s.strip() for s in head) and len(set(head)) == len(head)


@pytest.mark.corpus
def test_report_lists_exactly_the_cells_changed_in_corpus_notebooks(repo: Path) -> None:
    """Corpus notebooks committed, edited, committed again: the report names exactly the edited cells."""
    rng = random.Random(5)
    sources = [p for p in corpus_files("dev") if editable(p)][::4][:24]
    assert len(sources) >= 15
    expectations = {}
    for k, source in enumerate(sources):
        name = f"nbs/{k:02d}.ipynb"
        (repo / "nbs").mkdir(exist_ok=True)
        (repo / name).write_bytes(source.read_bytes())
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "originals")
    for k, source in enumerate(sources):
        name = f"nbs/{k:02d}.ipynb"
        content = json.loads(source.read_bytes())
        expectations[name] = edit_notebook(content, rng)
        (repo / name).write_text(json.dumps(content, indent=2))  # another layout too: must not matter
    git(repo, "commit", "-q", "-a", "-m", "edits")

    report = build(["HEAD~1", "HEAD"], [], Policy(), repo)
    assert sorted(nb.path for nb in report.notebooks) == sorted(expectations)
    for nb in report.notebooks:
        expected = expectations[nb.path]
        by_kind: dict[str, set[int]] = {k: set() for k in expected}
        for change in nb.cells:
            if change.kind == ADDED:
                by_kind["added"].add(change.new.index)
            elif change.kind == REMOVED:
                by_kind["removed"].add(change.old.index)
            elif change.kind == MODIFIED:
                by_kind["modified_old"].add(change.old.index)
                by_kind["modified_new"].add(change.new.index)
            if change.moved:
                by_kind["moved_old"].add(change.old.index)
                by_kind["moved_new"].add(change.new.index)
        assert by_kind == expected, (nb.path, [(c.kind, c.what) for c in nb.cells])
        assert nb.counts() == {ADDED: 1, REMOVED: 1, MODIFIED: 2, MOVED: 1}

    done = nbgit(repo, "diff", "HEAD~1..HEAD")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    for name in expectations:
        assert f"modified  {name}  1 added, 1 removed, 2 modified, 1 moved" in text
    assert "# reviewed by the test" in text and "edited-by-test" in text


def notebook(*sources: str, outputs: bool = False) -> str:
    """A v4.5 notebook of code cells with stable ids (`cell0`, `cell1`...), optionally run."""
    cells = [nbformat.v4.new_code_cell(s, id=f"cell{k}", execution_count=5 if outputs else None) for k, s in enumerate(sources)]
    if outputs:
        for cell in cells:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run of {cell.source}\n")]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def test_statuses_bad_input_and_revision_forms(repo: Path) -> None:
    """Added, deleted, renamed, volatile only, unreadable, nbformat upgrade; every way to name revisions."""
    (repo / "keep.ipynb").write_text(notebook("a = 1", "b = 2"))
    (repo / "gone.ipynb").write_text(notebook(*(f"gone_{k} = {'g' * 60}" for k in range(20))))
    (repo / "old-name.ipynb").write_text(notebook(*(f"line_{k} = {k}" for k in range(10))))
    (repo / "rerun.ipynb").write_text(notebook("x = 1"))
    (repo / "broken.ipynb").write_text(notebook("fine = 1"))
    v3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input="legacy()")])])
    (repo / "legacy.ipynb").write_text(nbformat.v3.writes_json(v3))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")

    (repo / "new.ipynb").write_text(notebook(*(f"brand_new_{k} = {'n' * 70}" for k in range(25))))
    git(repo, "rm", "-q", "gone.ipynb")
    git(repo, "mv", "old-name.ipynb", "new-name.ipynb")
    (repo / "rerun.ipynb").write_text(notebook("x = 1", outputs=True))
    (repo / "broken.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 binary named .ipynb")
    (repo / "legacy.ipynb").write_text(nbformat.writes(nbformat.v4.upgrade(nbformat.reads(nbformat.v3.writes_json(v3), 3))))
    git(repo, "add", ".")
    (repo / "keep.ipynb").write_text(notebook("a = 1", "b = 3"))  # unstaged: work tree only

    report = build([], [], Policy(), repo)  # HEAD against the work tree
    status = {nb.path: nb.status for nb in report.notebooks}
    assert status == {
        "new.ipynb": "added",
        "gone.ipynb": "deleted",
        "new-name.ipynb": "renamed",
        "rerun.ipynb": "modified",  # no filter here: the outputs would be committed, so they show
        "broken.ipynb": UNREADABLE,
        "legacy.ipynb": "modified",
        "keep.ipynb": "modified",
    }
    by_path = {nb.path: nb for nb in report.notebooks}
    assert [c.what for c in by_path["rerun.ipynb"].cells] == ["modified (outputs)"]
    hidden = {nb.path: nb.status for nb in build([], [], Policy(), repo, outputs="hide").notebooks}
    assert hidden == {**status, "rerun.ipynb": VOLATILE}
    assert "new side unreadable: broken.ipynb: not UTF-8" in by_path["broken.ipynb"].notes[0]
    assert by_path["legacy.ipynb"].notes == ["nbformat version changed: 3.0 -> 4.5"]
    assert by_path["legacy.ipynb"].cells == []  # same cell, same source, across versions
    assert [c.kind for c in by_path["new-name.ipynb"].cells] == []
    assert [c.kind for c in by_path["keep.ipynb"].cells] == [MODIFIED]

    # the same change through the CLI in every format; bad input never breaks it
    for fmt in ("text", "markdown", "html"):
        done = nbgit(repo, "diff", "--format", fmt)
        assert done.returncode == 0 and b"broken.ipynb" in done.stdout, done.stderr
    git(repo, "commit", "-q", "-m", "two")
    assert {nb.path for nb in build(["HEAD~1"], [], Policy(), repo).notebooks} == set(status)
    assert {nb.path for nb in build(["HEAD~1", "HEAD"], [], Policy(), repo).notebooks} == set(status) - {"keep.ipynb"}
    assert [nb.path for nb in build(["HEAD~1..HEAD"], ["legacy.ipynb"], Policy(), repo).notebooks] == ["legacy.ipynb"]
    done = nbgit(repo, "diff", "HEAD~1", "HEAD", "--", "gone.ipynb")
    assert done.returncode == 0 and b"gone.ipynb" in done.stdout and b"legacy" not in done.stdout
    done = nbgit(repo, "diff", "no-such-rev")
    assert done.returncode == 2 and done.stderr.startswith(b"nbgit: error: git diff failed")
    assert b"hint: name revisions that exist" in done.stderr and b"Traceback" not in done.stderr
    done = nbgit(repo, "diff", "a", "b", "c")
    assert done.returncode == 2 and b"too many revisions" in done.stderr


def test_markdown_fits_a_github_comment_and_says_what_it_left_out(repo: Path) -> None:
    (repo / "nbs").mkdir()
    for k in range(12):
        (repo / "nbs" / f"{k}.ipynb").write_text(notebook(*(f"value_{k}_{n} = {n}" for n in range(150))))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    for k in range(12):
        (repo / "nbs" / f"{k}.ipynb").write_text(notebook(*(f"value_{k}_{n} = {n} * 2  # {'x' * 40}" for n in range(150))))
    report = build([], [], Policy(), repo)
    full = to_markdown(report, "the artefact", limit=10**9)
    assert len(full) > 65_536
    short = to_markdown(report, "the artefact")
    assert len(short) <= 65_536
    at = short.index("\n> **Truncated:**")
    left_out = int(short[at:].split(" characters")[0].split()[-1].replace(",", ""))
    assert left_out == len(full) - at and full.startswith(short[:at])
    assert "Full report: the artefact" in short[at:]
    assert short.count("```") % 2 == 0  # no code block left open
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
    done = nbgit(repo, "diff", "--format", "markdown", env={**os.environ, **github})
    assert b"[this CI run](https://github.com/o/r/actions/runs/7)" in done.stdout


def test_markdown_with_control_characters_still_fits_a_github_comment(repo: Path) -> None:
    """Each ESC is posted as `\\033`, four characters: the blocks are measured as posted."""
    for k in range(8):
        (repo / f"{k}.ipynb").write_text(notebook("x = 1"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    for k in range(8):
        (repo / f"{k}.ipynb").write_text(notebook("\n".join(f"x{n} = '" + "\x1b" * 100 + "'" for n in range(100))))
    short = to_markdown(build([], [], Policy(), repo), "the artefact")
    assert len(short) <= 65_536 and "\x1b" not in short
    assert "\n> **Truncated:**" in short and short.count("```") % 2 == 0


def notebook_without_ids(*sources: str) -> str:
    """A v4.4 notebook of code cells, as most notebooks are: no cell ids, so cells are matched by content."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source} for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}, indent=1)


def test_a_thousand_changed_notebooks_still_fit_a_github_comment(repo: Path) -> None:
    """A pull request that re-cleans a whole repository: the summary table alone took 95,000 characters
    for 1,200 notebooks; its rows stop at half the comment, a last row counting the rest."""
    names = [f"notebooks/experiments/{'run-' * 15}{k:04d}.ipynb" for k in range(700)]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(notebook("x = 1"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    for name in names:
        (repo / name).write_text(notebook("x = 2"))
    report = to_markdown(build([], [], Policy(), repo), "the artefact")
    assert len(report) <= 65_536
    rows = re.findall(r"(?m)^\| `notebooks/", report)
    assert 100 < len(rows) < 700 and f"| {700 - len(rows)} more notebooks | | |" in report and "Truncated" in report


def test_one_huge_cell_cannot_crowd_the_other_changes_out_of_the_markdown(repo: Path) -> None:
    """A line of 70,000 characters, 200 lines of 1,000 and a kernel name of 50,000 took the whole comment
    (the change after them was left out); each line is cut, each cell and name bounded."""
    (repo / "a.ipynb").write_text(notebook("pad = 0", "\n".join(f"pad{n} = 0" for n in range(200)), "check_permissions(user)"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    content = json.loads(notebook("pad = '" + "x" * 70_000 + "'", "\n".join(f"pad{n} = '{'y' * 1_000}'" for n in range(200)), "pass"))
    content["metadata"]["kernelspec"] = {"name": "k" * 50_000, "display_name": "K", "language": "python"}
    (repo / "a.ipynb").write_text(json.dumps(content))
    report = to_markdown(build([], [], Policy(), repo), "the artefact")
    assert len(report) < 40_000 and "Truncated" not in report
    assert "-check_permissions(user)\n+pass" in report and "more diff lines]" in report and "x [...]" in report


def test_thousands_of_cells_of_a_few_sources_are_aligned_in_bounded_time(repo: Path) -> None:
    """12,000 cells of two sources in another order (difflib's alignment of them: 18 s for 8,000, growing
    with the square): past the budget they pair by position, each pair that differs shown as modified."""
    rng = random.Random(5)
    old, new = [rng.choice("ab") for _ in range(12_000)], [rng.choice("ab") for _ in range(12_000)]
    (repo / "cells.ipynb").write_text(notebook_without_ids("first", *old, "last"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "cells.ipynb").write_text(notebook_without_ids("first 2", *new, "last 2"))
    done = subprocess.run([str(NBGIT), "diff"], check=False, cwd=repo, capture_output=True, timeout=15)
    assert done.returncode == 0, done.stderr
    differ = sum(a != b for a, b in zip(old, new))
    assert f"cells.ipynb  {differ + 2} modified" in done.stdout.decode()


def test_rewritten_cells_of_a_notebook_without_ids_are_compared_in_bounded_time(repo: Path) -> None:
    """Forty rewritten cells of 1.3 KB from one vocabulary (difflib's ratio on each pair: 90 s before),
    and two 20 KB cells of two letters: each pair is judged within a budget, and still shown as modified."""
    words = ["import", "numpy", "as", "np", "def", "for", "in", "range", "return", "self", "data", "plot", "x", "if", "print"]
    rng = random.Random(7)

    def rewritten() -> list[str]:
        return ["\n".join(" ".join(rng.choice(words) for _ in range(6)) for _ in range(50)) for _ in range(40)]

    def letters() -> str:
        return "".join(rng.choice("ab") for _ in range(20_000))

    (repo / "many.ipynb").write_text(notebook_without_ids("first", *rewritten(), "last"))
    (repo / "long.ipynb").write_text(notebook_without_ids("first", letters(), "last"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "many.ipynb").write_text(notebook_without_ids("first", *rewritten(), "last"))
    (repo / "long.ipynb").write_text(notebook_without_ids("first", letters(), "last"))
    done = subprocess.run([str(NBGIT), "diff"], check=False, cwd=repo, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "long.ipynb  1 modified" in done.stdout.decode() and "many.ipynb  40 modified" in done.stdout.decode()


def test_a_cell_of_many_repeated_lines_is_diffed_in_bounded_time(repo: Path) -> None:
    """60,000 lines drawn from 150 (difflib's line diff: 32 s, growing with the square): past the budget
    the lines between the common start and end are shown removed and added, as one hunk."""
    rng = random.Random(11)

    def lines() -> list[str]:
        return [f"v{rng.randrange(150)} = 0" for _ in range(60_000)]

    old, new = ["first = 1", *lines(), "last = 1"], ["first = 1", *lines(), "last = 1"]
    (repo / "big.ipynb").write_text(notebook("\n".join(old)))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "big.ipynb").write_text(notebook("\n".join(new)))
    done = subprocess.run([str(NBGIT), "diff"], check=False, cwd=repo, capture_output=True, timeout=15)
    assert done.returncode == 0, done.stderr
    shown = done.stdout.decode().splitlines()
    assert "  @@ -1,60002 +1,60002 @@" in shown
    assert [line[3:] for line in shown if line.startswith("  +")] == new[1:-1]
    assert [line[3:] for line in shown if line.startswith("  -")] == old[1:-1]


def test_a_cell_whose_lines_repeat_among_new_ones_is_diffed_in_bounded_time(repo: Path) -> None:
    """15,000 lines cycling through 150, then the same lines each followed by a new one: within the old budget
    (it counted difflib's first search for a match only), but difflib searches the rest again after each
    of its 15,000 matches and took more than two minutes. Its whole work is counted now; past it, one hunk."""
    old = [f"v{n % 150} = 0" for n in range(15_000)]
    new = [line for n, kept in enumerate(old) for line in (kept, f"w{n} = 1")]
    (repo / "big.ipynb").write_text(notebook("\n".join(old)))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "big.ipynb").write_text(notebook("\n".join(new)))
    done = within(30, repo, str(NBGIT), "diff")
    assert done.returncode == 0, done.stderr
    shown = done.stdout.decode().splitlines()
    assert "  @@ -1,15000 +1,30000 @@" in shown
    assert [line[3:] for line in shown if line.startswith("  +")] == new[1:]
    assert [line[3:] for line in shown if line.startswith("  -")] == old[1:]


def test_many_cells_of_repeated_lines_share_one_budget(repo: Path) -> None:
    """60 cells of 5,000 lines cycling through 50, each line then followed by a new one: each cell's diff
    took its own budget, a second or so, so the notebook took a minute, and ten times as many cells ten
    minutes. The cells of a notebook share one budget; past it, each cell's diff is one hunk."""
    old = ["\n".join(f"v{n % 50} = {k}" for n in range(5_000)) for k in range(60)]
    new = ["\n".join(line for n, kept in enumerate(source.split("\n")) for line in (kept, f"w{n} = 1")) for source in old]
    (repo / "many.ipynb").write_text(notebook(*old))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "many.ipynb").write_text(notebook(*new))
    done = within(20, repo, str(NBGIT), "diff")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "many.ipynb  60 modified" in out and out.count("  +w4999 = 1\n") == 60


def test_diff_driver_runs_nbdime_on_cleaned_sides(repo: Path) -> None:
    """git's external diff protocol, for real: cleaned sides through nbdime; bad input as a text diff."""
    git(repo, "config", "diff.nbgit.command", f"'{NBGIT}' diff-driver --")
    (repo / ".gitattributes").write_text("*.ipynb diff=nbgit\n")
    (repo / "a.ipynb").write_text(notebook("x = 1", "y = 2"))
    (repo / "b.ipynb").write_text(notebook("bad = 0"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "a.ipynb").write_text(notebook("x = 1", "y = 3", outputs=True))
    (repo / "b.ipynb").write_text("{not json")
    (repo / "c.ipynb").write_text(notebook("added = 1"))
    git(repo, "add", "c.ipynb")
    done = git(repo, "diff", "HEAD")
    out = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout.decode())
    assert "nbdiff a/a.ipynb b/a.ipynb" in out
    assert "-  y = 2" in out and "+  y = 3" in out and "run of" not in out  # outputs stripped on both sides
    assert "+{not json" in out and "-bad = 0" in out  # the text diff nbgit falls back to
    assert "c.ipynb" in out
    assert nbgit(repo, "diff-driver", "only-a-path.ipynb").stdout == b"* Unmerged path only-a-path.ipynb\n"
    assert nbgit(repo, "diff-driver", "x", "y").returncode == 2


def test_diff_driver_text_diff_of_many_repeated_lines_takes_bounded_time(repo: Path) -> None:
    """A `.ipynb` that is no notebook gets the driver's plain text diff: 15,000 lines cycling through 150,
    then each followed by a new line. difflib's diff ran for minutes and `git diff` with it; past the
    budget it is one hunk."""
    git(repo, "config", "diff.nbgit.command", f"'{NBGIT}' diff-driver --")
    (repo / ".gitattributes").write_text("*.ipynb diff=nbgit\n")
    old = [f"v{n % 150} = 0" for n in range(15_000)]
    (repo / "a.ipynb").write_text("".join(f"{line}\n" for line in old))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    new = [line for n, kept in enumerate(old) for line in (kept, f"w{n} = 1")]
    (repo / "a.ipynb").write_text("".join(f"{line}\n" for line in new))
    done = within(60, repo, "git", "diff")
    assert done.returncode == 0, done.stderr
    shown = done.stdout.decode().splitlines()
    assert shown[:3] == ["--- a/a.ipynb", "+++ b/a.ipynb", "@@ -1,15000 +1,30000 @@"]
    assert [line[1:] for line in shown if line.startswith("+") and not line.startswith("+++")] == new[1:]


def test_diff_driver_gives_nbdime_a_time_limit_then_shows_the_text_diff(repo: Path) -> None:
    """3,000 cells, the first and last edited: nbdime's diff compares every cell with every other (2,000
    took it 41 s) and git diff waited. Past NBDIME_SECONDS the driver shows its text diff and says why."""
    git(repo, "config", "diff.nbgit.command", f"'{NBGIT}' diff-driver --")
    (repo / ".gitattributes").write_text("*.ipynb diff=nbgit\n")
    sources = [f"x{n} = {n}" for n in range(3_000)]
    (repo / "a.ipynb").write_text(notebook_without_ids(*sources))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "a.ipynb").write_text(notebook_without_ids("first = 1", *sources[1:-1], "last = 1"))
    done = within(60, repo, "git", "diff")
    assert done.returncode == 0, done.stderr
    assert b"nbdime's diff took more than 10 s" in done.stderr
    shown = done.stdout.decode().splitlines()
    assert shown[:2] == ["--- a/a.ipynb", "+++ b/a.ipynb"] and "-x0 = 0" in shown and "+first = 1" in shown and "+last = 1" in shown


def test_diff_driver_passes_nbdime_colours_and_shows_the_content_escapes(repo: Path) -> None:
    """nbdime's own colour codes reach the terminal as they are; a title-setting sequence in a cell is shown (`\\033]`)."""
    git(repo, "config", "diff.nbgit.command", f"'{NBGIT}' diff-driver --")
    (repo / ".gitattributes").write_text("*.ipynb diff=nbgit\n")
    (repo / "a.ipynb").write_text(notebook("x = 1", "y = 2"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "a.ipynb").write_text(notebook("x = '\x1b]0;owned\x07'", "y = 3"))
    out = git(repo, "diff").stdout
    assert b"\x1b[31m" in out and b"\\033[" not in out  # nbdime's red for a removed line, not `\033[31m` as text
    assert b"\\033]0;owned\\a" in out and b"\x1b]" not in out


def test_web_view_serves_nbdime_on_the_cleaned_sides(repo: Path) -> None:
    """`nbgit diff --web` for real: nbdime's server starts on cleaned copies; its diff API shows the edit only."""
    import http.cookiejar
    import urllib.request

    (repo / "n.ipynb").write_text(notebook("x = 1", "y = 2"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    (repo / "n.ipynb").write_text(notebook("x = 1", "y = 3", outputs=True))
    env = {**os.environ, "BROWSER": "true"}  # the "browser" nbdime opens is /bin/true
    process = subprocess.Popen([str(NBGIT), "diff", "--web"], cwd=repo, env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in process.stderr:  # nbdime says where it listens
            lines.append(line)
            found = re.search(r"URL: (http://127\.0\.0\.1:\d+)/diff\?base=([^&]+)&remote=(\S+)", line)
            if found:
                break
        assert found, "".join(lines)
        assert "opening nbdime's web diff of n.ipynb" in "".join(lines)
        url = found.group(1)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar := http.cookiejar.CookieJar()))
        page = opener.open(f"{url}/diff?base={found.group(2)}&remote={found.group(3)}", timeout=30)
        assert page.status == 200
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        from urllib.parse import unquote

        body = json.dumps({"base": unquote(found.group(2)), "remote": unquote(found.group(3))}).encode()
        request = urllib.request.Request(f"{url}/api/diff", data=body, headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
        served = json.loads(opener.open(request, timeout=60).read())
        assert [c["source"] for c in served["base"]["cells"]] == ["x = 1", "y = 2"]
        cells = next(op["diff"] for op in served["diff"] if op["key"] == "cells")
        # the edit, and nothing of the outputs and counts the work-tree file has
        assert [(op["op"], op["key"], [d["key"] for d in op["diff"]]) for op in cells] == [("patch", 1, ["source"])]
        close = urllib.request.Request(f"{url}/api/closetool", data=b'{"exitCode": 0}', headers={"X-XSRFToken": xsrf})
        opener.open(close, timeout=30)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_shallow_clone_is_told_how_to_reach_the_history_it_lacks(tmp_path: Path) -> None:
    """`nbgit diff HEAD~1 HEAD` in a `git clone --depth 1`: one error, and a hint that names the way
    to the missing history (it spoke of the first commit alone)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for number in range(3):
        (origin / "a.ipynb").write_text(json.dumps({"cells": [], "metadata": {"n": number}, "nbformat": 4, "nbformat_minor": 5}))
        git(origin, "add", "-A")
        git(origin, "commit", "-q", "-m", f"version {number}")
    git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), "shallow")
    done = nbgit(tmp_path / "shallow", "diff", "HEAD~1", "HEAD")
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    error, hint = done.stderr.decode().splitlines()
    assert error.startswith("nbgit: error: git diff failed") and "`git fetch --unshallow`" in hint
