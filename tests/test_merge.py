"""The merge driver, through real `git merge`, `git rebase` and `git cherry-pick` in temporary repositories."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CORPUS, corpus_files, git, nbgit, within
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbgit.clean import clean_bytes
from nbgit.merge import merge_bytes
from nbgit.notebook import parse, source_of
from nbgit.policy import Policy, policy_from_table

NBDIME = CORPUS / "peer" / "nbdime"
KEEP_ALL = 'outputs = "keep"\nexecution_count = "keep"\nkeep_keys = ["cell.metadata.collapsed", "metadata.language_info.version"]\n'


def wire_driver(repo: Path, attributes: str = "*.ipynb merge=nbgit\n") -> None:
    """Configure the driver as `nbgit install` does, and commit the attributes."""
    git(repo, "config", "merge.nbgit.name", "nbgit notebook merge")
    git(repo, "config", "merge.nbgit.driver", "nbgit merge-driver -- %O %A %B %L %P")
    git(repo, "config", "merge.nbgit.recursive", "binary")
    (repo / ".gitattributes").write_text(attributes)
    commit_all(repo, "wire nbgit")


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def write(repo: Path, files: dict[str, bytes | None]) -> None:
    for name, data in files.items():
        target = repo / name
        if data is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def branches(repo: Path, base: dict[str, bytes | None], local: dict[str, bytes | None], remote: dict[str, bytes | None]) -> None:
    """main gets `base`, then `local` on main and `remote` on branch `other`; HEAD is main."""
    write(repo, base)
    commit_all(repo, "base")
    git(repo, "branch", "other")
    write(repo, local)
    commit_all(repo, "local")
    git(repo, "checkout", "-q", "other")
    write(repo, remote)
    commit_all(repo, "remote")
    git(repo, "checkout", "-q", "main")


def unmerged(repo: Path) -> set[str]:
    listing = git(repo, "ls-files", "-u", "-z").stdout.split(b"\0")
    return {entry.split(b"\t", 1)[1].decode() for entry in listing if entry}


def has_conflict_marks(data: bytes) -> bool:
    """Independently of nbgit's own description: any marker line or recorded conflict left in the JSON."""
    text = data.decode("utf-8")
    return any(mark in text for mark in ("<<<<<<< ", ">>>>>>> ", "nbdime-conflicts", "nbgit-remote-metadata", '"LOCAL_'))


def stderr_reports(stderr: str) -> dict[str, str]:
    """The driver's stderr, split per file (`nbgit: NAME: ...` starts a file's report)."""
    reports: dict[str, str] = {}
    name = ""
    for line in stderr.splitlines():
        if line.startswith("nbgit: ") and ".ipynb:" in line:
            name = line.split()[1].rstrip(":")
        reports[name] = reports.get(name, "") + line + "\n"
    return reports


def validate(data: bytes) -> nbformat.NotebookNode:
    notebook = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    return notebook


def nbdime_triplets(outputs_differ: bool = False) -> list[tuple[str, str, str]]:
    """cases.json's merge cases and smoke triplets; or only those whose sides differ in outputs."""
    cases = json.loads((NBDIME / "cases.json").read_text())
    triplets = [(c["base"], c["local"], c["remote"]) for c in cases["merge_cases"] + cases["smoke_triplets"]]
    if outputs_differ:  # both sides changed, and not the same way: outputs matter to the merge
        outputs = lambda rel: json.dumps([c.get("outputs") for c in json.loads((NBDIME / rel).read_text())["cells"]])  # noqa: E731
        triplets = [(b, lo, r) for b, lo, r in triplets if len({outputs(b), outputs(lo), outputs(r)}) == 3]
    return triplets


@pytest.mark.parametrize("policy", ["", KEEP_ALL], ids=["default-policy", "keep-outputs"])
def test_every_nbdime_triplet_through_git_merge(repo: Path, policy: str) -> None:
    """Every triplet under the default policy; with outputs kept, those where outputs differ."""
    triplets = nbdime_triplets(outputs_differ=bool(policy))
    assert len(triplets) >= (80 if not policy else 5)
    (repo / ".nbgit.toml").write_text(policy)
    wire_driver(repo)
    read = lambda rel: (NBDIME / rel).read_bytes()  # noqa: E731
    names = [f"t{i:03}.ipynb" for i in range(len(triplets))]
    branches(
        repo,
        {n: read(b) for n, (b, _, _) in zip(names, triplets)},
        {n: read(lo) for n, (_, lo, _) in zip(names, triplets)},
        {n: read(r) for n, (_, _, r) in zip(names, triplets)},
    )
    done = git(repo, "merge", "-q", "--no-edit", "other", check=False)
    assert "Traceback" not in done.stderr.decode()
    conflicted = unmerged(repo)
    assert (done.returncode == 0) == (not conflicted)
    reports = stderr_reports(done.stderr.decode())
    for name, triplet in zip(names, triplets):
        data = (repo / name).read_bytes()
        validate(data)
        if name in conflicted:  # marked in the notebook, or a conflict nbdime leaves unmarked, named on stderr
            unmarked = ("attachment", "local's change kept")
            assert has_conflict_marks(data) or any(u in reports[name] for u in unmarked), (name, triplet)
        else:
            assert not has_conflict_marks(data), (name, triplet)
    # nbdime's source conflict fixtures must still conflict, its clean one must merge
    index = {t: f"t{i:03}.ipynb" for i, t in enumerate(triplets)}
    source_conflicts = [t for t in index if t[0].endswith(("inline-conflict--1.ipynb", "source-conflict--1.ipynb"))]
    assert (source_conflicts or policy) and {index[t] for t in source_conflicts} <= conflicted
    multilevel = ("files/multilevel-test-base.ipynb", "files/multilevel-test-local.ipynb", "files/multilevel-test-remote.ipynb")
    assert multilevel not in index or index[multilevel] not in conflicted


@pytest.mark.parametrize("policy", ["", KEEP_ALL], ids=["default-policy", "keep-outputs"])
def test_multilevel_merges_to_nbdimes_expected_file(repo: Path, policy: str) -> None:
    (repo / ".nbgit.toml").write_text(policy)
    wire_driver(repo)
    files = NBDIME / "files"
    branches(
        repo,
        {"m.ipynb": (files / "multilevel-test-base.ipynb").read_bytes()},
        {"m.ipynb": (files / "multilevel-test-local.ipynb").read_bytes()},
        {"m.ipynb": (files / "multilevel-test-remote.ipynb").read_bytes()},
    )
    git(repo, "merge", "-q", "--no-edit", "other")
    expected = (files / "multilevel-test-merged.ipynb").read_bytes()
    merged = (repo / "m.ipynb").read_bytes()
    if policy:  # everything kept: byte for byte nbdime's expected file
        assert merged == expected
    else:  # the expected merge, cleaned by the default policy
        assert merged == clean_bytes(expected, "m.ipynb", Policy())


# --- real branch scenarios on the dev corpus -------------------------------------------------------


def dev_notebooks(count: int) -> list[Path]:
    """v4 notebooks of the dev corpus with enough code cells for edits far apart."""
    chosen = []
    for path in corpus_files("dev"):
        try:
            notebook = parse(path.read_bytes(), str(path))
        except Exception:  # noqa: BLE001 - unreadable corpus files are not for this test
            continue
        code = [c for c in notebook.content.get("cells", []) if c.get("cell_type") == "code" and source_of(c).strip()]
        if notebook.major == 4 and len(code) >= 6 and schema_valid(path.read_bytes()):
            chosen.append(path)
        if len(chosen) == count:
            break
    return chosen


def schema_valid(data: bytes) -> bool:
    try:
        validate(data)
    except Exception:  # noqa: BLE001 - nbformat raises several kinds
        return False
    return True


def edited(data: bytes, edits: dict[int, str], rerun: int | None = None) -> bytes:
    """The notebook with `text` appended to the n-th code cell's source; optionally every count set to `rerun`."""
    notebook = json.loads(data)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    for index, text in edits.items():
        source = "".join(code[index]["source"])
        code[index]["source"] = source.rstrip("\n") + "\n" + text
    if rerun is not None:
        for count, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                cell["execution_count"] = rerun + count
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


def code_sources(data: bytes) -> list[str]:
    return [source_of(c) for c in parse(data).content["cells"] if c.get("cell_type") == "code"]


@pytest.mark.corpus
def test_dev_edits_to_different_cells_merge_and_keep_both(repo: Path) -> None:
    wire_driver(repo)
    paths = dev_notebooks(4)
    assert len(paths) == 4
    base = {p.name: p.read_bytes() for p in paths}
    # both sides re-ran the notebook (different execution counts): git's text merge would conflict
    local = {n: edited(d, {0: "local_edit = 1"}, rerun=100) for n, d in base.items()}
    remote = {n: edited(d, {5: "remote_edit = 2"}, rerun=200) for n, d in base.items()}
    branches(repo, base, local, remote)
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    for name in base:
        merged = (repo / name).read_bytes()
        validate(merged)
        text = "\n".join(code_sources(merged))
        assert "local_edit = 1" in text and "remote_edit = 2" in text
        assert not has_conflict_marks(merged)


@pytest.mark.corpus
def test_dev_edits_to_the_same_line_conflict_inside_the_cell(repo: Path) -> None:
    wire_driver(repo)
    path = dev_notebooks(1)[0]
    base = path.read_bytes()
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": edited(base, {2: "value = 'local'"})}, {"nb.ipynb": edited(base, {2: "value = 'remote'"})})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1
    assert "nb.ipynb" in unmerged(repo)
    assert "Traceback" not in done.stderr.decode() and "cell" in done.stderr.decode()
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    conflicted = [s for s in code_sources(merged) if "<<<<<<< HEAD" in s]  # git's own labels: HEAD and the branch
    assert len(conflicted) == 1
    assert "value = 'local'\n=======\nvalue = 'remote'\n>>>>>>> other" in conflicted[0]
    assert len(code_sources(merged)) == len(code_sources(base))


@pytest.mark.corpus
@pytest.mark.parametrize("command", ["rebase", "cherry-pick"])
def test_rebase_and_cherry_pick_use_the_driver(repo: Path, command: str) -> None:
    wire_driver(repo)
    path = dev_notebooks(1)[0]
    base = path.read_bytes()
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": edited(base, {0: "on_main = 1"}, rerun=10)}, {"nb.ipynb": edited(base, {5: "on_other = 2"}, rerun=50)})
    if command == "rebase":
        git(repo, "checkout", "-q", "other")
        done = git(repo, "rebase", "main", check=False)
    else:
        done = git(repo, "cherry-pick", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    text = "\n".join(code_sources(merged))
    assert "on_main = 1" in text and "on_other = 2" in text
    # the driver cleaned the merged result: execution counts stripped
    assert all(c.get("execution_count") is None for c in parse(merged).content["cells"] if c.get("cell_type") == "code")


@pytest.mark.corpus
def test_git_text_merge_would_have_conflicted_without_the_driver(repo: Path) -> None:
    """The scenario above really needs the driver: without it git leaves markers in the JSON."""
    path = dev_notebooks(1)[0]
    base = path.read_bytes()
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": edited(base, {0: "a = 1"}, rerun=10)}, {"nb.ipynb": edited(base, {5: "b = 2"}, rerun=50)})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    assert b"<<<<<<< HEAD" in (repo / "nb.ipynb").read_bytes()


def test_criss_cross_merge_with_binary_inner_merge(repo: Path) -> None:
    wire_driver(repo)
    base = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": edited(base, {0: "a = 1"})}, {"nb.ipynb": edited(base, {4: "b = 2"})})
    git(repo, "branch", "main-before")
    git(repo, "merge", "-q", "--no-edit", "other")
    git(repo, "checkout", "-q", "other")
    git(repo, "merge", "-q", "--no-edit", "main-before")
    write(repo, {"nb.ipynb": edited((repo / "nb.ipynb").read_bytes(), {2: "c = 3"})})
    commit_all(repo, "other again")
    git(repo, "checkout", "-q", "main")
    write(repo, {"nb.ipynb": edited((repo / "nb.ipynb").read_bytes(), {3: "d = 4"})})
    commit_all(repo, "main again")
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    text = "\n".join(code_sources((repo / "nb.ipynb").read_bytes()))
    assert all(edit in text for edit in ("a = 1", "b = 2", "c = 3", "d = 4"))


# --- bad inputs and special cases -----------------------------------------------------------------


def test_add_add_with_empty_base(repo: Path) -> None:
    wire_driver(repo)
    base = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    branches(repo, {}, {"new.ipynb": edited(base, {0: "mine = 1"})}, {"new.ipynb": edited(base, {4: "theirs = 2"})})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    merged = (repo / "new.ipynb").read_bytes()
    validate(merged)
    text = "\n".join(code_sources(merged))
    assert "mine = 1" in text and "theirs = 2" in text
    assert (done.returncode == 0) == (not has_conflict_marks(merged))
    # the cells both sides added identically are kept once, outside any conflict
    assert text.count("def f(x):") == 1


def test_add_add_of_the_same_notebook_is_clean(repo: Path) -> None:
    wire_driver(repo)
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    branches(repo, {}, {"new.ipynb": data}, {"new.ipynb": edited(data, {}, rerun=7)})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 0
    assert (repo / "new.ipynb").read_bytes() == clean_bytes(data, "new.ipynb", Policy())


def test_delete_modify_is_left_to_git(repo: Path) -> None:
    wire_driver(repo)
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    branches(repo, {"nb.ipynb": data}, {"nb.ipynb": None}, {"nb.ipynb": edited(data, {0: "kept = 1"})})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1 and "modify/delete" in done.stdout.decode() + done.stderr.decode()
    assert b"kept = 1" in (repo / "nb.ipynb").read_bytes()
    validate((repo / "nb.ipynb").read_bytes())


def test_one_side_not_json_falls_back_to_git_text_merge(repo: Path) -> None:
    wire_driver(repo)
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    broken = data.replace(b'"cells": [', b'"cells": [[', 1)
    branches(repo, {"nb.ipynb": data}, {"nb.ipynb": broken}, {"nb.ipynb": data.replace(b"x = 3", b"x = 30", 1)})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert "merged as text by git merge-file" in done.stderr.decode()
    merged = (repo / "nb.ipynb").read_bytes()
    assert b'"cells": [[' in merged and b"x = 30" in merged  # both sides' changes, nothing lost
    # git's text merge had no conflict, but what it left is no notebook: a conflict, never a clean merge
    assert done.returncode == 1 and "nb.ipynb" in unmerged(repo)
    assert "not a readable notebook" in done.stderr.decode()
    assert "nb.ipynb: nb.ipynb" not in done.stderr.decode()  # the warning names the path once
    # resolve cannot rebuild a side that is not a notebook: the hint names what works instead
    assert "nbgit resolve nb.ipynb` rebuilds" not in done.stderr.decode()
    assert done.stderr.decode().splitlines()[-1] == (
        "hint: both sides' edits are in nb.ipynb as text: fix its JSON by hand in an editor, then `git add nb.ipynb`; "
        "or take one side whole: `nbgit resolve nb.ipynb --take local|remote`"
    )


def test_a_cell_that_is_no_object_falls_back_to_git_text_merge(repo: Path) -> None:
    wire_driver(repo)
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    odd = data.replace(b'"cells": [', b'"cells": [\n  5,', 1)  # no tool writes it; a hand edit or a broken script can
    branches(repo, {"nb.ipynb": odd}, {"nb.ipynb": odd.replace(b"x = 3", b"x = 30", 1)}, {"nb.ipynb": odd.replace(b"return x**2", b"return x**3", 1)})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    stderr = done.stderr.decode()
    assert "nb.ipynb: cell 1 is not a JSON object: merged as text by git merge-file instead" in stderr
    assert "failed" not in stderr and "Error" not in stderr  # (it crashed inside the cell merge before)
    merged = (repo / "nb.ipynb").read_bytes()
    assert b"x = 30" in merged and b"return x**3" in merged and b'"cells": [\n  5,' in merged  # both sides' edits, nothing lost


@pytest.mark.parametrize("minor", [None, "5", [5]])
def test_a_side_whose_minor_version_is_no_number_merges_as_a_notebook(repo: Path, minor: object) -> None:
    """A stranger's notebook whose `nbformat_minor` is no number (null, a string) merges cell by cell, its
    minor read as any minor that is no number is (0): the driver compared it with a number and fell back
    to a text merge with a TypeError."""
    wire_driver(repo)
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    odd = data.replace(b'"nbformat_minor": 0', b'"nbformat_minor": ' + json.dumps(minor).encode(), 1)
    assert odd != data
    branches(repo, {"nb.ipynb": data}, {"nb.ipynb": data.replace(b"x = 3", b"x = 30", 1)}, {"nb.ipynb": odd.replace(b"return x**2", b"return x**3", 1)})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 0 and "failed" not in stderr and "Error" not in stderr, stderr
    merged = (repo / "nb.ipynb").read_bytes()
    assert b"x = 30" in merged and b"return x**3" in merged and not has_conflict_marks(merged)


@pytest.mark.parametrize("ids", [[{"a": 1}, ["b"]], ["a", {"b": 1}], [["a"], ["a"]]], ids=["objects", "one-object", "lists"])
@pytest.mark.parametrize("theirs", ["same-ids", "new-ids"])
def test_cell_ids_that_are_no_strings_merge_as_a_notebook(repo: Path, ids: list[object], theirs: str) -> None:
    """A stranger's cells whose ids are lists or objects (schema-invalid, plain JSON) merge cell by cell:
    the driver hashed them and fell back to a text merge with a TypeError (`unhashable type`)."""
    wire_driver(repo)

    def notebook(cell_ids: list[object], sources: list[str]) -> bytes:
        cells = [{"cell_type": "code", "execution_count": None, "id": i, "metadata": {}, "outputs": [], "source": s} for i, s in zip(cell_ids, sources)]
        return (json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1, sort_keys=True) + "\n").encode()

    remote_ids = ids if theirs == "same-ids" else ["r1", "r2"]
    branches(repo, {"nb.ipynb": notebook(ids, ["x = 1", "y = 1"])}, {"nb.ipynb": notebook(ids, ["x = 2", "y = 1"])},
             {"nb.ipynb": notebook(remote_ids, ["x = 1", "y = 2"])})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 0 and "failed" not in stderr and "Error" not in stderr, stderr
    merged = json.loads((repo / "nb.ipynb").read_bytes())
    assert [source_of(cell) for cell in merged["cells"]] == ["x = 2", "y = 2"]


@pytest.mark.corpus
def test_nbformat3_notebooks_merge_in_their_own_version(repo: Path) -> None:
    wire_driver(repo)
    path = next(p for p in corpus_files("dev") if b'"nbformat": 3' in p.read_bytes() and p.stat().st_size < 30000)
    base = path.read_bytes()

    def edit_v3(data: bytes, index: int, text: str) -> bytes:
        notebook = json.loads(data)
        code = [c for c in notebook["worksheets"][0]["cells"] if c["cell_type"] == "code"]
        code[index]["input"] = ["".join(code[index]["input"]).rstrip("\n") + "\n" + text]
        return json.dumps(notebook, indent=1).encode()

    branches(repo, {"v3.ipynb": base}, {"v3.ipynb": edit_v3(base, 0, "v3_local = 1")}, {"v3.ipynb": edit_v3(base, 3, "v3_remote = 2")})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    merged = validate((repo / "v3.ipynb").read_bytes())
    assert merged.nbformat == 3
    text = json.dumps(merged)
    assert "v3_local = 1" in text and "v3_remote = 2" in text and '"id"' not in text


@pytest.mark.corpus
def test_v3_upgraded_on_one_side_mints_no_conflicting_ids(repo: Path) -> None:
    wire_driver(repo)
    path = next(p for p in corpus_files("dev") if b'"nbformat": 3' in p.read_bytes() and p.stat().st_size < 30000)
    base = path.read_bytes()
    upgraded = nbformat.writes(nbformat.reads(base.decode(), as_version=4)).encode()  # 4.5 with random ids
    notebook = json.loads(base)
    notebook["worksheets"][0]["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["remote note"]})
    branches(repo, {"nb.ipynb": base}, {"nb.ipynb": upgraded}, {"nb.ipynb": json.dumps(notebook, indent=1).encode()})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    merged = validate((repo / "nb.ipynb").read_bytes())
    assert merged.nbformat == 4 and merged.cells[-1].source == "remote note"


@pytest.mark.corpus
@pytest.mark.parametrize("minor", [None, "0", [0]])
@pytest.mark.parametrize("odd", ["remote", "every v3 side"])
def test_v3_whose_minor_version_is_no_number_upgraded_on_one_side_merges_as_a_notebook(repo: Path, minor: object, odd: str) -> None:
    """Local upgraded the notebook to v4; remote (or the base and remote) is v3 with an `nbformat_minor` that is no
    number (null, a string): nbformat's upgrade failed on it (an AssertionError) and the driver fell back to a text
    merge. Its minor is read as any minor that is no number is (0), and the sides merge cell by cell."""
    wire_driver(repo)
    path = next(p for p in corpus_files("dev") if b'"nbformat": 3' in p.read_bytes() and p.stat().st_size < 30000)
    base = path.read_bytes()
    upgraded = nbformat.writes(nbformat.reads(base.decode(), as_version=4)).encode()
    notebook = json.loads(base)
    notebook["nbformat_minor"] = minor
    odd_base = json.dumps(notebook, indent=1).encode()
    notebook["worksheets"][0]["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["remote note"]})
    branches(repo, {"nb.ipynb": odd_base if odd == "every v3 side" else base}, {"nb.ipynb": upgraded}, {"nb.ipynb": json.dumps(notebook, indent=1).encode()})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 0 and "failed" not in stderr and "Error" not in stderr and "text" not in stderr, stderr
    merged = validate((repo / "nb.ipynb").read_bytes())
    assert merged.nbformat == 4 and merged.cells[-1].source == "remote note"
    assert [cell.source for cell in merged.cells[:-1]] == [cell.source for cell in nbformat.reads(upgraded.decode(), as_version=4).cells]


def test_marker_size_from_gitattributes(repo: Path) -> None:
    wire_driver(repo, "*.ipynb merge=nbgit conflict-marker-size=10\n")
    files = NBDIME / "files"
    branches(repo, *({"c.ipynb": (files / f"inline-conflict--{i}.ipynb").read_bytes()} for i in (1, 2, 3)))
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 1
    source = validate((repo / "c.ipynb").read_bytes()).cells[0].source
    assert "<" * 10 + " HEAD\n" in source and "\n" + "=" * 10 + "\n" in source and ">" * 10 + " other" in source


@pytest.mark.parametrize(("choice", "expected"), [("clear", []), ("local", ["2\n"]), ("remote", ["3\n"])])
def test_output_conflicts_follow_the_policy(repo: Path, choice: str, expected: list[str]) -> None:
    (repo / ".nbgit.toml").write_text(f'outputs = "keep"\n\n[merge]\noutputs = "{choice}"\n')
    wire_driver(repo)

    def with_output(text: str) -> bytes:
        cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "print(x)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
        return nbformat.writes(nbformat.from_dict({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 4})).encode()

    branches(repo, {"o.ipynb": with_output("1\n")}, {"o.ipynb": with_output("2\n")}, {"o.ipynb": with_output("3\n")})
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 0
    outputs = validate((repo / "o.ipynb").read_bytes()).cells[0].outputs
    assert [o.text for o in outputs] == expected


@pytest.mark.parametrize("policy", ["", KEEP_ALL], ids=["default-policy", "keep-outputs"])
def test_cells_both_sides_inserted_at_one_place_stay_whole_cells(repo: Path, policy: str) -> None:
    """Each side adds a cell of its own after the same cell. nbdime glued the two into one cell with the
    conflict inside its source, the cell's id and both cells' outputs gone (outputs the keep-outputs
    policy commits); now both cells come whole between marker cells, each with its id and outputs."""
    (repo / ".nbgit.toml").write_text(policy)
    wire_driver(repo)

    def notebook(extra: list[tuple[str, str]]) -> bytes:
        cells = [{"cell_type": "code", "execution_count": number, "id": ident, "metadata": {}, "source": source,
                  "outputs": [{"output_type": "stream", "name": "stdout", "text": f"out of {ident}\n"}]}
                 for number, (ident, source) in enumerate([("first", "x = 1"), *extra, ("last", "print(x)")], 1)]
        return nbformat.writes(nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})).encode()

    branches(repo, {"n.ipynb": notebook([])}, {"n.ipynb": notebook([("mine", "x += 1")])}, {"n.ipynb": notebook([("theirs", "x *= 2")])})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1
    assert "cells 2-6: changed differently on both sides (between marker cells)" in done.stderr.decode()
    cells = validate((repo / "n.ipynb").read_bytes()).cells
    code = [(cell.get("id"), cell.source) for cell in cells if cell.cell_type == "code"]
    assert code == [("first", "x = 1"), ("mine", "x += 1"), ("theirs", "x *= 2"), ("last", "print(x)")]
    if policy:
        assert [cell.outputs[0].text for cell in cells if cell.cell_type == "code"] == [f"out of {i}\n" for i in ("first", "mine", "theirs", "last")]
    resolved = nbgit(repo, "resolve", "n.ipynb", "--take", "remote")
    assert resolved.returncode == 0, resolved.stderr.decode()
    assert [cell.source for cell in validate((repo / "n.ipynb").read_bytes()).cells] == ["x = 1", "x *= 2", "print(x)"]


@pytest.mark.parametrize("policy", ['ids = "sequential"\n', ""], ids=["sequential-policy", "teammate-nbstripout"])
def test_ids_that_are_places_do_not_pair_cells(repo: Path, policy: str) -> None:
    """Ids `"0"`, `"1"`... (the policy's `ids = "sequential"`, or a teammate's nbstripout) are places: a
    cell inserted at the top made every id name the cell above it, so an edit of the last cell on the
    other side met the wrong cell (a conflict, the old cell kept beside the edited one). Merged by
    content now: no conflict, and the ids are places again."""
    (repo / ".nbgit.toml").write_text(policy)
    wire_driver(repo)

    def numbered(sources: list[str]) -> bytes:
        cells = [{"cell_type": "code", "execution_count": None, "id": str(place), "metadata": {}, "outputs": [], "source": source}
                 for place, source in enumerate(sources)]
        return nbformat.writes(nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})).encode()

    sources = ["a = 1", "b = 2", "c = 3", "d = 4"]
    branches(repo, {"n.ipynb": numbered(sources)}, {"n.ipynb": numbered(["new = 0", *sources])}, {"n.ipynb": numbered([*sources[:3], "d = 40"])})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    cells = validate((repo / "n.ipynb").read_bytes()).cells
    assert [(cell.id, cell.source) for cell in cells] == [(str(n), s) for n, s in enumerate(["new = 0", "a = 1", "b = 2", "c = 3", "d = 40"])]


def test_one_cell_inserted_on_both_sides_and_run_differently_is_no_conflict(repo: Path) -> None:
    """The same new cell on both sides (a cherry-picked commit), run again on each: with outputs kept, its
    outputs differ, which `[merge] outputs` settles (cleared by default); it stays one cell, no conflict."""
    (repo / ".nbgit.toml").write_text(KEEP_ALL)
    wire_driver(repo)

    def notebook(extra: str | None) -> bytes:
        cells = [{"cell_type": "code", "execution_count": 1, "id": "first", "metadata": {}, "source": "x = 1", "outputs": []}]
        if extra is not None:
            cells.append({"cell_type": "code", "execution_count": 2, "id": "new", "metadata": {}, "source": "print(x)",
                          "outputs": [{"output_type": "stream", "name": "stdout", "text": extra}]})
        return nbformat.writes(nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})).encode()

    branches(repo, {"n.ipynb": notebook(None)}, {"n.ipynb": notebook("1 on mine\n")}, {"n.ipynb": notebook("1 on theirs\n")})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 0, done.stderr.decode()
    cells = validate((repo / "n.ipynb").read_bytes()).cells
    assert [(cell.id, cell.source, cell.outputs) for cell in cells] == [("first", "x = 1", []), ("new", "print(x)", [])]


def test_garbage_never_crashes_the_driver(tmp_path: Path) -> None:
    sides = {"b": b"\x00\xff garbage", "l": b"{not json", "r": bytes(range(256))}
    for name, data in sides.items():
        (tmp_path / name).write_bytes(data)
    done = nbgit(tmp_path, "merge-driver", "b", "l", "r", "7", "g.ipynb")
    assert done.returncode in (0, 1)
    assert b"Traceback" not in done.stderr


def test_trivial_merges_do_not_import_nbdime(tmp_path: Path) -> None:
    data = (NBDIME / "files" / "multilevel-test-base.ipynb").read_bytes()
    (tmp_path / "b").write_bytes(data)
    (tmp_path / "l").write_bytes(edited(data, {}, rerun=40))  # volatile change only: same after cleaning
    (tmp_path / "r").write_bytes(edited(data, {0: "x = 1"}))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbgit", "merge-driver", "b", "l", "r", "7", "t.ipynb"],
        cwd=tmp_path, capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode()
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    assert "nbgit.merge" in imported
    assert not {m for m in imported if m.split(".")[0] in ("nbdime", "nbformat", "jsonschema")}
    assert b"x = 1" in (tmp_path / "l").read_bytes()


def test_edits_among_identical_cells_merge_in_place_without_nbdime(tmp_path: Path) -> None:
    """nbdime aligns cells by content and misplaces edits among identical cells (found by the property test below)."""

    def notebook(*sources: str) -> bytes:
        cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in sources]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}).encode()

    (tmp_path / "b").write_bytes(notebook("0", "0", "0"))
    (tmp_path / "l").write_bytes(notebook("0\nlocal = 0", "0", "0\nlocal = 2"))
    (tmp_path / "r").write_bytes(notebook("0", "0\nremote = 1", "0"))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nbgit", "merge-driver", "b", "l", "r", "7", "t.ipynb"],
        cwd=tmp_path, capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode()
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m.split(".")[0] in ("nbdime", "nbformat")}
    merged = [source_of(c) for c in parse((tmp_path / "l").read_bytes()).content["cells"]]
    assert merged == ["0\nlocal = 0", "0\nremote = 1", "0\nlocal = 2"]


# --- property: edits to different cells always merge cleanly with both kept -----------------------

lines = st.text(alphabet="abcdefxyz =+()0123456789", min_size=1, max_size=20).filter(lambda s: s.strip() != "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sources=st.lists(st.lists(lines, min_size=1, max_size=4), min_size=2, max_size=8),
    data=st.data(),
)
def test_property_edits_to_different_cells_merge_cleanly(sources: list[list[str]], data: st.DataObject) -> None:
    count = len(sources)
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "\n".join(s)} for s in sources]
    mine = data.draw(st.sets(st.integers(0, count - 1), min_size=1, max_size=count - 1))
    theirs = data.draw(st.sets(st.sampled_from(sorted(set(range(count)) - mine)), min_size=1))

    def variant(edits: set[int], tag: str) -> list[dict]:
        return [{**c, "source": c["source"] + f"\nedited_{tag}_{i} = {i}"} if i in edits else c for i, c in enumerate(cells)]

    def as_bytes(cell_list: list[dict]) -> bytes:
        return json.dumps({"cells": cell_list, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}).encode()

    policy = policy_from_table({}, "test")
    result = merge_bytes(as_bytes(cells), as_bytes(variant(mine, "local")), as_bytes(variant(theirs, "remote")), "p.ipynb", policy)
    assert result.conflicts == [], result
    merged = [source_of(c) for c in parse(result.data).content["cells"]]
    expected = [source_of(c) if i not in theirs else source_of(variant(theirs, "remote")[i]) for i, c in enumerate(variant(mine, "local"))]
    assert merged == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sources=st.lists(st.lists(lines, min_size=1, max_size=4), min_size=2, max_size=8),
    ids=st.tuples(*(st.sampled_from(modes) for modes in (["none", "kept", "places"], *[["none", "kept", "minted", "places"]] * 2))),
    data=st.data(),
)
def test_property_edits_to_different_cells_merge_cleanly_whoever_minted_ids(sources: list[list[str]], ids: tuple[str, str, str], data: st.DataObject) -> None:
    """As above, each side's cells with no ids (nbformat 4.4), the base's, ids of its own (a Jupyter
    that upgraded the notebook to 4.5 and minted them, or a tool that mints them on every save), or
    their places (`"0"`, `"1"`: nbstripout's): the edits merge without a conflict, and where local has
    ids the merged notebook has local's."""
    count = len(sources)
    mine = data.draw(st.sets(st.integers(0, count - 1), min_size=1, max_size=count - 1))
    theirs = data.draw(st.sets(st.sampled_from(sorted(set(range(count)) - mine)), min_size=1))

    def side(mode: str, edits: set[int], tag: str) -> list[dict]:
        cell_list = []
        for i, lines_of in enumerate(sources):
            cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "\n".join(lines_of)}
            if i in edits:
                cell["source"] += f"\nedited_{tag}_{i} = {i}"
            if mode != "none":
                cell["id"] = f"base{i}" if mode == "kept" else str(i) if mode == "places" else f"{tag}{i}"
            cell_list.append(cell)
        return cell_list

    def as_bytes(cell_list: list[dict]) -> bytes:
        minor = 5 if "id" in cell_list[0] else 4
        return json.dumps({"cells": cell_list, "metadata": {}, "nbformat": 4, "nbformat_minor": minor}).encode()

    base, local, remote = side(ids[0], set(), "base"), side(ids[1], mine, "local"), side(ids[2], theirs, "remote")
    policy = policy_from_table({}, "test")
    result = merge_bytes(as_bytes(base), as_bytes(local), as_bytes(remote), "p.ipynb", policy)
    assert result.conflicts == [], result
    merged = parse(result.data).content
    expected = [source_of(local[i]) if i not in theirs else source_of(remote[i]) for i in range(count)]
    assert [source_of(c) for c in merged["cells"]] == expected
    if merged["nbformat_minor"] >= 5:
        assert len({c["id"] for c in merged["cells"]}) == count
    if ids[1] != "none" and merged["nbformat_minor"] >= 5:
        assert [c["id"] for c in merged["cells"]] == [c["id"] for c in local]


def test_keep_both_fallback_is_a_valid_notebook_with_both_sides() -> None:
    """What the driver writes when nbdime fails or would drop a line: shared cells once, the rest marked."""
    from nbgit.merge import Markers, describe_conflicts, keep_both

    def notebook(sources: list[str], kernel: str) -> dict:
        cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in sources]
        return {"cells": cells, "metadata": {"kernelspec": {"name": kernel, "display_name": kernel}}, "nbformat": 4, "nbformat_minor": 4}

    merged = keep_both(notebook(["a", "b1", "z"], "python3"), notebook(["a", "b2", "c2", "z"], "python3"), Markers(9, "HEAD", "base", "feature"))
    validate(json.dumps(merged).encode())
    sources = [c["source"] for c in merged["cells"]]
    assert sources[0] == "a" and sources[-1] == "z" and sources.count("a") == 1
    assert ["b1", "b2", "c2"] == [s for s in sources if s in ("b1", "b2", "c2")]
    assert "<" * 9 + " HEAD</b>" in sources[1] and ">" * 9 + " feature</b>" in sources[-2]
    assert describe_conflicts(merged, 9) == ["cells 2-7: changed differently on both sides (between marker cells)"]


def small_notebook(sources: list[str], metadata: dict | None = None, minor: int = 4) -> bytes:
    """A notebook written as Jupyter writes it; nbformat 4.4 has no cell ids (nbdime then aligns by content)."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in sources]
    for number, cell in enumerate(cells):
        if minor >= 5:
            cell["id"] = f"cell-{number}"
    content = {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": minor}
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def test_a_line_nbdime_drops_is_caught_even_when_the_base_has_it_elsewhere(repo: Path) -> None:
    """Local inserts a `plt.show()` cell above a plot cell; remote deletes the plot line from that cell.
    nbdime's merge keeps one `plt.show()` cell, no conflict: a cell is gone. The base has `plt.show()`
    too, so only counting lines (a multiset) sees it; the driver then keeps both sides whole."""
    wire_driver(repo)
    setup = "import matplotlib.pyplot as plt\nx = load()"
    branches(
        repo,
        {"nb.ipynb": small_notebook([setup, "plt.plot(x)\nplt.show()"])},
        {"nb.ipynb": small_notebook([setup, "plt.show()", "plt.plot(x)\nplt.show()"])},
        {"nb.ipynb": small_notebook([setup, "plt.show()"])},
    )
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1 and "nbdime's merge would drop 'plt.show()'; both sides kept whole" in done.stderr.decode()
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    assert code_sources(merged) == [setup, "plt.show()", "plt.plot(x)\nplt.show()"]  # every cell of local's is there
    assert "cells 3-6: changed differently on both sides (between marker cells)" in done.stderr.decode()


JULIA = {"file_extension": ".jl", "mimetype": "application/julia", "name": "julia"}


def julia(version: str, kernel: str, display: str) -> dict:
    return {"kernelspec": {"display_name": display, "language": "julia", "name": kernel}, "language_info": {**JULIA, "version": version}}


@pytest.mark.parametrize("keep_version", [False, True], ids=["default-policy", "version-kept"])
def test_a_kernel_changed_on_both_sides_stays_local_and_whole(repo: Path, keep_version: bool) -> None:
    """A real merge in a Julia course: kernel 1.0.5 on one side, 1.1.0-DEV on the other. nbdime glued the
    display names together ("Julia 1.1.0-DEVJulia 0.6.2") and took the name from the base."""
    if keep_version:
        (repo / ".nbgit.toml").write_text('keep_keys = ["metadata.language_info.version"]\n')
    wire_driver(repo)
    base, local, remote = julia("0.6.2", "julia-0.6", "Julia 0.6.2"), julia("1.0.5", "julia-1.0", "Julia 1.0.5"), julia("1.1.0", "julia-1.1", "Julia 1.1.0-DEV")
    branches(
        repo,
        {"nb.ipynb": small_notebook(["x = 1", "y = 1"], base)},
        {"nb.ipynb": small_notebook(["x = 2", "y = 1"], local)},
        {"nb.ipynb": small_notebook(["x = 1", "y = 2"], remote)},
    )
    done = git(repo, "merge", "--no-edit", "other", check=False)
    differing = "kernelspec, language_info" if keep_version else "kernelspec"  # the default policy strips the version
    assert done.returncode == 1 and f"notebook metadata: {differing} changed differently" in done.stderr.decode()
    merged = json.loads((repo / "nb.ipynb").read_bytes())
    stripped = () if keep_version else ("version",)
    expected = {key: {k: v for k, v in value.items() if k not in stripped} for key, value in local.items()}
    assert {key: merged["metadata"][key] for key in local} == expected  # local's kernel, whole (language_info.version too)
    recorded = {key: {k: v for k, v in value.items() if k not in stripped} for key, value in remote.items()}
    assert merged["metadata"]["nbgit-remote-metadata"] == {key: recorded[key] for key in differing.split(", ")}
    assert code_sources((repo / "nb.ipynb").read_bytes()) == ["x = 2", "y = 2"]  # the cells merged all the same
    checked = nbgit(repo, "check", "nb.ipynb")
    assert checked.returncode == 1 and b"nbgit-remote-metadata" in checked.stdout


def test_metadata_changed_on_both_sides_in_different_keys_merges(repo: Path) -> None:
    wire_driver(repo)
    base = {"kernelspec": {"name": "python3", "display_name": "Python 3"}, "jupytext": {"formats": "ipynb,py"}}
    local = {**base, "jupytext": {"formats": "ipynb,py", "notebook_metadata_filter": "-all"}}
    remote = {**base, "title": "Sales"}
    branches(repo, *({"nb.ipynb": small_notebook(["x = 1"], meta)} for meta in (base, local, remote)))
    assert git(repo, "merge", "--no-edit", "other", check=False).returncode == 0
    assert json.loads((repo / "nb.ipynb").read_bytes())["metadata"] == {**local, "title": "Sales"}


@pytest.mark.parametrize("command", ["merge", "rebase"])
def test_a_notebook_and_a_text_file_conflicting_in_one_merge_carry_the_same_labels(repo: Path, command: str) -> None:
    """git writes `HEAD` and the branch (or, rebasing, the picked commit) on a text file's markers; the
    driver reads them from what git 2.39 tells a driver and writes the same ones in the notebook."""
    wire_driver(repo)
    cells = ["a = 1", "b = 1", "c = 1"]
    branches(
        repo,
        {"nb.ipynb": small_notebook(cells, minor=5), "nb.py": b"a = 1\nb = 1\nc = 1\n"},
        {"nb.ipynb": small_notebook(["a = 1", "b = 2", "c = 1"], minor=5), "nb.py": b"a = 1\nb = 2\nc = 1\n"},
        {"nb.ipynb": small_notebook(["a = 1", "b = 3", "c = 1"], minor=5), "nb.py": b"a = 1\nb = 3\nc = 1\n"},
    )
    if command == "rebase":
        git(repo, "checkout", "-q", "other")
    done = git(repo, command, "main" if command == "rebase" else "other", check=False)
    assert done.returncode != 0 and unmerged(repo) == {"nb.ipynb", "nb.py"}
    text = (repo / "nb.py").read_text()
    theirs = text.split(">>>>>>> ", 1)[1].splitlines()[0]
    assert text.startswith("a = 1\n<<<<<<< HEAD\n") and theirs == ("other" if command == "merge" else f"{git(repo, 'rev-parse', '--short', 'other').stdout.decode().strip()} (remote)")
    cell = code_sources((repo / "nb.ipynb").read_bytes())[1]
    assert cell == text.split("\n", 1)[1].split(f">>>>>>> {theirs}")[0] + f">>>>>>> {theirs}"  # the same markers, the same labels


def tagged_notebook(cells: list[tuple[str, str, list[str]]]) -> bytes:
    """nbformat 4.5 code cells (id, source, tags)."""
    content = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": ident, "metadata": {"tags": tags} if tags else {}, "outputs": [], "source": source}
            for ident, source, tags in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def test_a_cell_deleted_on_one_side_and_retagged_on_the_other_is_never_reverted_silently(repo: Path) -> None:
    """Local deletes a cell and edits another; remote tags the deleted cell. nbdime finds no marker for a
    deletion against a metadata change and keeps the base there: the deleted cell came back without
    the tag, nothing marked it, and `nbgit resolve` called the notebook settled. Both sides are kept
    whole instead, so `git add` of what the work tree holds can lose neither."""
    wire_driver(repo)
    branches(
        repo,
        {"nb.ipynb": tagged_notebook([("a", "import os", []), ("b", "frame = load()", []), ("c", "plot(frame)", [])])},
        {"nb.ipynb": tagged_notebook([("a", "import sys", []), ("c", "plot(frame)", [])])},
        {"nb.ipynb": tagged_notebook([("a", "import os", []), ("b", "frame = load()", ["important"]), ("c", "plot(frame, 'theirs')", [])])},
    )
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    cells = parse(merged).content["cells"]
    assert any(cell["metadata"].get("tags") == ["important"] for cell in cells), "remote's tag is lost"
    sources = "\n".join(code_sources(merged))
    assert "import sys" in sources and "plot(frame, 'theirs')" in sources
    assert "between marker cells" in done.stderr.decode()
    assert nbgit(repo, "resolve", "nb.ipynb").returncode == 1  # the conflict is in the notebook, not only on stderr


def merged_within(repo: Path, seconds: int) -> list[str]:
    """`git merge other` (it must succeed), killed with its drivers after `seconds`; nb.ipynb's code sources after it."""
    merge = within(seconds, repo, "git", "merge", "--no-edit", "other")
    assert merge.returncode == 0, merge.stderr.decode()
    return code_sources((repo / "nb.ipynb").read_bytes())


def test_a_merge_of_twenty_thousand_cell_notebooks_is_not_quadratic(repo: Path) -> None:
    """Local edits every 1000th cell and deletes one, remote edits others and inserts one: the merge
    goes through nbdime, which compares every cell with every other (4,000 cells took 27 s, 20,000 a
    quarter of an hour: git hung). Cut at the cells unchanged on all sides, it takes seconds."""
    wire_driver(repo)
    count = 20_000
    sources = [f"x{n} = {n}\nprint(x{n})" for n in range(count)]
    mine, theirs = list(sources), list(sources)
    for n in range(0, count, 1000):
        mine[n], theirs[n + 500] = f"mine = {n}", f"theirs = {n + 500}"
    del mine[7]
    theirs.insert(10, "inserted = 1")

    def notebook(cells: list[str]) -> bytes:
        ids = {source: f"c{n}" for n, source in enumerate(sources)}
        content = {
            "cells": [{"cell_type": "code", "execution_count": None, "id": ids.get(s, f"new{n}"), "metadata": {}, "outputs": [], "source": s} for n, s in enumerate(cells)],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
        }
        return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()

    branches(repo, {"nb.ipynb": notebook(sources)}, {"nb.ipynb": notebook(mine)}, {"nb.ipynb": notebook(theirs)})
    merged = merged_within(repo, 90)
    assert len(merged) == count and "inserted = 1" in merged and "x7 = 7\nprint(x7)" not in merged
    assert all(f"mine = {n}" in merged and f"theirs = {n + 500}" in merged for n in range(0, count, 1000))


def test_a_merge_of_notebooks_whose_cells_repeat_two_sources_is_not_quadratic(repo: Path) -> None:
    """No cell is unique, so there is no anchor: nbdime's grid over 4,000 cells took two minutes (git
    hung). Long stretches are cut again where git's own diff of the cells finds them unchanged."""
    wire_driver(repo)
    count = 4_000
    sources = ["x = 1" if n % 2 else "plt.show()" for n in range(count)]  # nbformat 4.4: no ids
    mine, theirs = list(sources), list(sources)
    mine[2001] = "mine_edit = 2"
    mine.insert(10, "mine = 1")
    theirs[3001] = "theirs_edit = 3"
    del theirs[count - 20]

    def notebook(cells: list[str]) -> bytes:
        content = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in cells],
                   "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
        return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()

    branches(repo, {"nb.ipynb": notebook(sources)}, {"nb.ipynb": notebook(mine)}, {"nb.ipynb": notebook(theirs)})
    merged = merged_within(repo, 60)
    expected = list(sources)
    expected[2001], expected[3001] = "mine_edit = 2", "theirs_edit = 3"
    del expected[count - 20]
    expected.insert(10, "mine = 1")
    assert merged == expected


@pytest.mark.parametrize("base", ["shared", "none"])
def test_a_merge_of_notebooks_whose_cells_repeat_two_sources_and_insert_many_is_bounded_and_keeps_each_cell_once(repo: Path, base: str) -> None:
    """6,000 cells of two sources, each side inserting its own cell every 100, from that base or from none
    (both branches add the notebook). The guard's matching of each side's cells to the base's (difflib)
    took minutes; without a base, so did making one of the cells both sides share (difflib), and it missed
    50 of them, so they came out twice. Past difflib's budget git's diff matches the cells: every shared
    cell once, each side's insertions in place."""
    wire_driver(repo)
    count = 6_000
    sources = ["x = 1" if n % 2 else "plt.show()" for n in range(count)]  # nbformat 4.4: no ids
    mine, theirs = list(sources), list(sources)
    for n in range(count - 100, 0, -100):
        mine.insert(n, f"mine = {n}")
        theirs.insert(n - 50, f"theirs = {n}")

    def notebook(cells: list[str]) -> bytes:
        content = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in cells],
                   "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
        return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()

    branches(repo, {"nb.ipynb": notebook(sources)} if base == "shared" else {"other.txt": b"base\n"}, {"nb.ipynb": notebook(mine)}, {"nb.ipynb": notebook(theirs)})
    merged = merged_within(repo, 60)
    inserted = {**{n: f"mine = {n}" for n in range(100, count, 100)}, **{n - 50: f"theirs = {n}" for n in range(100, count, 100)}}
    assert merged == [cell for n, source in enumerate(sources) for cell in ([inserted[n]] if n in inserted else []) + [source]]


def test_nbdime_merges_under_a_time_limit_then_both_sides_are_kept_whole(repo: Path) -> None:
    """1,500 cells without ids, every one edited on both sides: no cell is unchanged anywhere, so nbdime
    gets the whole notebook and compares every cell with every other (1,000 such cells: 131 s). Past
    NBDIME_SECONDS both sides are kept whole between marker cells, and git is told of the conflict."""
    wire_driver(repo)
    sources = [f"x{n} = {n}" for n in range(1_500)]

    def notebook(cells: list[str]) -> bytes:
        content = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s} for s in cells],
                   "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
        return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()

    mine, theirs = [f"{s} # mine" for s in sources], [f"{s} # theirs" for s in sources]
    branches(repo, {"nb.ipynb": notebook(sources)}, {"nb.ipynb": notebook(mine)}, {"nb.ipynb": notebook(theirs)})
    done = within(90, repo, "git", "merge", "--no-edit", "other")
    assert done.returncode == 1 and b"nbdime's merge took more than 30 s" in done.stderr, done.stderr
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    assert code_sources(merged) == mine + theirs


@pytest.mark.parametrize("deleting", ["local", "remote"])
def test_a_cell_deleted_on_one_side_and_only_retagged_on_the_other_keeps_both_in_the_notebook(repo: Path, deleting: str) -> None:
    """The deletion and the new tag are the only changes (nbdime leaves that conflict unresolved). The
    driver kept local's change and named `git checkout --theirs` on stderr: when local was the
    deletion, the tag was in no file of the work tree and `nbgit resolve` called the notebook settled.
    Both sides of that stretch are kept between marker cells now, whichever side deleted."""
    wire_driver(repo)
    base = [("a", "import os", []), ("b", "frame = load()", []), ("c", "plot(frame)", [])]
    deleted = tagged_notebook([base[0], base[2]])
    tagged = tagged_notebook([base[0], ("b", "frame = load()", ["important"]), base[2]])
    branches(repo, {"nb.ipynb": tagged_notebook(base)}, {"nb.ipynb": deleted if deleting == "local" else tagged},
             {"nb.ipynb": tagged if deleting == "local" else deleted})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    cells = parse(merged).content["cells"]
    assert [cell["metadata"].get("tags") for cell in cells if cell["cell_type"] == "code"] == [None, ["important"], None]
    assert "cells 2-5: changed differently on both sides (between marker cells)" in done.stderr.decode()
    assert nbgit(repo, "resolve", "nb.ipynb").returncode == 1


def pictured_notebook(picture: str | None, text: str = "x = 1", note: str = "Notes") -> bytes:
    """nbformat 4.5: a Markdown cell showing `image.png` (attached with the PNG data `picture`, or none), a code
    cell, a Markdown cell without attachments."""
    attached = {"attachments": {"image.png": {"image/png": picture}}} if picture is not None else {}
    content = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "Plot:\n![image.png](attachment:image.png)", **attached},
            {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [], "source": text},
            {"cell_type": "markdown", "id": "n", "metadata": {}, "source": note},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


@pytest.mark.parametrize("base", ["QkFTRQ==", None], ids=["both-replaced", "both-added"])
def test_an_attachment_both_sides_changed_differently_is_a_conflict_in_its_cell(repo: Path, base: str | None) -> None:
    """Both sides replace (or attach) `image.png` in one Markdown cell with different pictures, and local edits
    the code cell, remote the last cell: nbdime failed (KeyError) and both sides were kept whole between marker
    cells. The cells merge one by one instead: both edits are in, both pictures are kept (LOCAL_ and
    REMOTE_image.png) beside the base's, no cell gains an attachments table, the conflict is named, and
    `nbgit check` reports it."""
    wire_driver(repo)
    branches(repo, {"nb.ipynb": pictured_notebook(base)}, {"nb.ipynb": pictured_notebook("TE9DQUw=", "x = 2")},
             {"nb.ipynb": pictured_notebook("UkVNT1RF", note="Notes, remote's")})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 1 and "kept whole" not in stderr and "Error" not in stderr, stderr
    assert "cell 1: attachments (both versions kept, as LOCAL_ and REMOTE_)" in stderr
    merged = json.loads((repo / "nb.ipynb").read_bytes())
    assert [cell["id"] for cell in merged["cells"]] == ["m", "c", "n"] and [source_of(cell) for cell in merged["cells"][1:]] == ["x = 2", "Notes, remote's"]
    kept = {"image.png": {"image/png": base}} if base else {}
    assert merged["cells"][0]["attachments"] == {**kept, "LOCAL_image.png": {"image/png": "TE9DQUw="}, "REMOTE_image.png": {"image/png": "UkVNT1RF"}}
    assert "attachments" not in merged["cells"][2]
    checked = nbgit(repo, "check", "nb.ipynb")
    assert checked.returncode == 1 and "attachment image.png changed differently on both sides" in checked.stdout.decode(), checked


def idless_notebook(sources: list[str]) -> bytes:
    """nbformat 4.4 code cells without ids."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source} for source in sources]
    return (json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4}, indent=1, sort_keys=True) + "\n").encode()


@pytest.mark.parametrize("deleting", ["local", "remote"])
def test_a_cell_rewritten_on_both_sides_and_its_neighbour_deleted_on_one_is_a_conflict(repo: Path, deleting: str) -> None:
    """Without ids, a one-line cell rewritten on both sides is to nbdime a deletion and an insertion on each;
    when one side also deleted the cell before it, the insertions landed at different places and the merge
    kept both rewrites, one after the other, without a conflict. Both sides replaced one cell differently:
    it is marked, and `--prefer` settles it either way."""
    wire_driver(repo)
    base = ["import os", "x = 1", "y = 2", "print(x, y)"]
    mine = {"local": ["import os", "y = 'local'", "print(x, y)"], "remote": ["import os", "x = 1", "y = 'local'", "print(x, y)"]}
    theirs = {"local": ["import os", "x = 1", "y = 'remote'", "print(x, y)"], "remote": ["import os", "y = 'remote'", "print(x, y)"]}
    branches(repo, {"nb.ipynb": idless_notebook(base)}, {"nb.ipynb": idless_notebook(mine[deleting])}, {"nb.ipynb": idless_notebook(theirs[deleting])})
    done = git(repo, "merge", "--no-edit", "other", check=False)
    assert done.returncode == 1, done.stderr.decode()
    assert "changed differently on both sides (between marker cells)" in done.stderr.decode()
    merged = (repo / "nb.ipynb").read_bytes()
    validate(merged)
    sources = [source_of(cell) for cell in json.loads(merged)["cells"]]
    assert sources[0] == "import os" and sources[-1] == "print(x, y)" and "y = 'local'" in sources and "y = 'remote'" in sources
    assert sources.index("y = 'local'") < sources.index(next(s for s in sources if "=======" in s)) < sources.index("y = 'remote'")
    for prefer, side in (("local", mine[deleting]), ("remote", theirs[deleting])):
        assert nbgit(repo, "resolve", "nb.ipynb", "--prefer", prefer).returncode == 0
        assert code_sources((repo / "nb.ipynb").read_bytes()) == side
        git(repo, "checkout", "-m", "--", "nb.ipynb")


def rewritten(notebook: dict, shared: int, tag: str, deleted: int | None) -> bytes:
    """The notebook with cell `shared` rewritten whole as `TAG = 1`, and cell `deleted` gone (when one is named)."""
    cells = json.loads(json.dumps(notebook["cells"]))
    cells[shared]["source"] = f"{tag} = 1"
    if deleted is not None:
        del cells[deleted]
    return (json.dumps({**notebook, "cells": cells}, indent=1) + "\n").encode()


@pytest.mark.corpus
def test_property_a_cell_rewritten_on_both_sides_is_a_conflict_whatever_its_neighbours() -> None:
    """Dev notebooks without ids: both sides rewrite one code cell whole, and one side (or neither) deletes the
    cell before or after it. Every merge is a conflict holding both rewrites (before, a deleted neighbour
    made 12 of these 30 merges clean, with both rewrites one after the other)."""
    chosen = random.Random(7)
    merges = 0
    for path in dev_notebooks(30):
        notebook = json.loads(path.read_bytes())
        notebook["nbformat_minor"] = 4
        for cell in notebook["cells"]:
            cell.pop("id", None)
        code = [index for index, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code" and 0 < index < len(notebook["cells"]) - 1]
        shared, deleting, neighbour = chosen.choice(code), chosen.choice(["local", "remote", None]), chosen.choice([-1, 1])
        sides = [rewritten(notebook, shared, tag, shared + neighbour if deleting == tag else None) for tag in ("local", "remote")]
        result = merge_bytes((json.dumps(notebook, indent=1) + "\n").encode(), *sides, path.name, Policy())
        lines = [line for cell in json.loads(result.data)["cells"] for line in source_of(cell).splitlines()]
        assert result.conflicts and "local = 1" in lines and "remote = 1" in lines, (path.name, deleting, result.conflicts)
        merges += 1
    assert merges == 30
