"""`nbgit check`: each check trips on a notebook that has its problem and stays quiet on one that has not;
no check fires on the real notebooks of the corpus once cleaned; --all, --staged, --fix and the formats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, NBGIT, copy_in, corpus_files, git, nbgit

from nbgit.check.catalogue import CHECKS, Settings
from nbgit.check.judge import judge
from nbgit.clean import clean_bytes
from nbgit.errors import NbgitError
from nbgit.notebook import Notebook, parse, serialise
from nbgit.policy import Policy, policy_from_table

DIRTY = CORPUS / "peer/nbstripout/tests/e2e_notebooks/test_metadata.ipynb"
BAD = CORPUS / "bad_inputs"
NBDIME_MERGED = CORPUS / "peer/nbdime/reference_outputs_nbdime_4.0.4"
KEEP = {"outputs": "keep", "execution_count": "keep"}
def ci_off() -> dict[str, str]:
    """The test's own environment, read when nbgit runs (conftest has removed CI and the runner's
    variables by then): nbgit as on a developer's machine."""
    return dict(os.environ)


def ci_on() -> dict[str, str]:
    """The same, inside a CI job."""
    return {**os.environ, "CI": "1"}


def nb(*cells: dict[str, Any], metadata: dict[str, Any] | None = None, minor: int = 5) -> bytes:
    """A notebook in Jupyter's own layout with these cells (ids added in order)."""
    for number, cell in enumerate(cells):
        cell.setdefault("metadata", {})
        if minor >= 5:
            cell.setdefault("id", f"c{number}")
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    content = {"cells": list(cells), "metadata": metadata or {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": minor}
    return serialise(Notebook(content, 4))


def code(source: str, count: int | None = None, *outputs: dict[str, Any]) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "execution_count": count, "outputs": list(outputs)}


def md(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "source": source}


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def found(data: bytes, table: dict[str, Any] | None = None, path: str = "nb.ipynb") -> list[tuple[str, int | None]]:
    """(check, cell) of every problem `judge` finds in `data` under the policy `table`."""
    policy = policy_from_table(table or {}, "test")
    return [(p.check, p.cell) for p in judge(path, data, policy, Settings.from_policy(policy)).problems]


def run_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    done = nbgit(cwd, "check", "--format", "json", *args, env=env)
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode, json.loads(done.stdout)


# --- each check: trips on what it is for, quiet on what it is not ---


def test_not_clean_trips_on_outputs_and_not_once_cleaned() -> None:
    dirty = DIRTY.read_bytes()
    assert ("not-clean", 1) in found(dirty) or any(c == "not-clean" for c, _ in found(dirty))
    assert found(clean_bytes(dirty, "x", Policy())) == []


def test_not_clean_names_the_first_cell_and_what_would_go() -> None:
    data = nb(md("# t"), code("1", 3, stream("x\n")))
    policy = Policy()
    [problem] = judge("a.ipynb", data, policy, Settings.from_policy(policy)).problems
    assert (problem.check, problem.cell, problem.fixable) == ("not-clean", 2, True)
    assert problem.text() == "a.ipynb cell 2: not clean: execution_count in 1 cell, outputs in 1 cell"


def test_not_clean_catches_a_layout_other_than_jupyters() -> None:
    content = json.loads(nb(md("# t")))
    assert found(json.dumps(content, indent=2).encode()) == [("not-clean", None)]
    assert found(nb(md("# t"))) == []


@pytest.mark.parametrize(
    "name",
    ["ageron+handson-ml3/01_the_machine_learning_landscape.ipynb", "fastai+nbdev/nbs/07_tools.ipynb",
     "fastai+numerical-linear-algebra/nbs/2. Topic Modeling.ipynb", "jupyter+nbdime/nbdime/tests/files/empty-utf-16.ipynb",
     "googlecolab+colabtools/democam.ipynb"],
)
def test_invalid_trips_on_unreadable_files(name: str) -> None:
    data = (BAD / name).read_bytes()
    policy = Policy()
    [problem] = judge("x.ipynb", data, policy, Settings.from_policy(policy)).problems
    assert problem.check == "invalid" and problem.cell is None
    assert problem.hint and "x.ipynb" not in problem.message.split(":")[0]


def test_invalid_trips_on_schema_errors_and_names_the_cell() -> None:
    help_nb = (BAD / "jakevdp+PythonDataScienceHandbook/notebooks/01.01-Help-And-Documentation.ipynb").read_bytes()
    assert ("invalid", 2) in found(help_nb)
    duplicate = (BAD / "fastai+nbdev/nbs/03_process.ipynb").read_bytes()
    assert ("invalid", 45) in found(duplicate)
    broken = nb(code("x", None), md("y"))
    content = json.loads(broken)
    content["cells"][1]["collapsed"] = True  # a markdown cell with a key of its own: nbformat refuses it
    [problem] = judge("b.ipynb", serialise(Notebook(content, 4)), Policy(), Settings.from_policy(Policy())).problems
    assert problem.text() == "b.ipynb cell 2: not valid nbformat 4.5: markdown cell must not contain {'collapsed'} properties"
    del content["cells"][1]["collapsed"]
    content["cells"][1]["execution_count"] = 3  # a markdown cell with a count: cleaning drops it, so not-clean
    [problem] = judge("b.ipynb", serialise(Notebook(content, 4)), Policy(), Settings.from_policy(Policy())).problems
    assert problem.text() == "b.ipynb cell 2: not clean: execution_count in 1 cell"


@pytest.mark.corpus
def test_schema_verdict_agrees_with_nbformat_on_the_whole_corpus() -> None:
    """Valid or not, cell by cell as nbformat's strict validator says (its own schemas, ids unique)."""
    from nbformat.reader import reads
    from nbformat.validator import isvalid

    policy = policy_from_table({"outputs": "keep", "execution_count": "keep", "keep_keys": []}, "t")
    settings = Settings.from_policy(policy_from_table({"check": {"disable": ["not-clean", "conflict", "hidden-state", "output-size", "notebook-size", "untitled"]}}, "t"))
    judged = 0
    for path in corpus_files("dev") + corpus_files("bad_inputs") + corpus_files("peer"):
        data = path.read_bytes()
        try:
            notebook = parse(data, "x")
            cleaned = clean_bytes(data, "x", Policy())
        except NbgitError:  # unreadable or contradictory: judged in the tests above
            continue
        if notebook.major < 3:
            continue  # nbformat has no schema for v1 and v2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            valid = isvalid(reads(cleaned.decode("utf-8")))
        problems = judge("x.ipynb", cleaned, policy, settings).problems
        assert (not problems) == valid, (path, problems)
        judged += 1
    assert judged > 300


@pytest.mark.parametrize("name", ["jupyter-widgets+ipywidgets/tests/test_imagemap.ipynb", "derived/inline-conflict.git-merge-file.ipynb", "derived/mixed-conflicts.git-merge-file.ipynb"])
def test_conflict_trips_on_git_markers_with_their_line(name: str) -> None:
    data = (BAD / name).read_bytes()
    policy = Policy()
    [problem] = judge("m.ipynb", data, policy, Settings.from_policy(policy)).problems
    lines = data.splitlines()
    assert problem.check == "conflict" and problem.line is not None
    assert lines[problem.line - 1].startswith((b"<<<<<<< ", b">>>>>>> "))
    assert "nbgit resolve m.ipynb" in problem.hint


@pytest.mark.parametrize(
    ("name", "cells"),
    [("source-conflict", {1}), ("inline-conflict", {1}), ("output-conflict", {2, 6}), ("apap", {1, 5, 6})],
)
def test_conflict_trips_on_nbdimes_inline_markers(name: str, cells: set[int]) -> None:
    data = (NBDIME_MERGED / f"{name}.inline-merged.ipynb").read_bytes()
    assert {cell for check, cell in found(data) if check == "conflict"} == cells


def test_conflict_trips_on_nbdime_conflicts_metadata_at_both_levels() -> None:
    data = (NBDIME_MERGED / "mixed-conflicts.inline-merged.ipynb").read_bytes()
    conflicts = [cell for check, cell in found(data) if check == "conflict"]
    assert None in conflicts and 4 in conflicts
    built = nb(md("a"), code("x"))
    content = json.loads(built)
    content["cells"][1]["metadata"]["nbdime-conflicts"] = {"local_diff": [], "remote_diff": []}
    assert found(serialise(Notebook(content, 4))) == [("conflict", 2)]


def test_conflict_trips_on_nbdevs_marker_cells() -> None:
    # what nbdev_fix writes: the two sides between markdown cells `<<<<<<< HEAD`, `=======`, `>>>>>>> branch`
    data = nb(md("`<<<<<<< HEAD`"), code("x = 1"), md("`=======`"), code("x = 2"), md("`>>>>>>> feature`"))
    assert found(data) == [("conflict", 1), ("conflict", 5)]


def test_conflict_trips_on_markers_in_a_twin_synced_back_into_a_cell() -> None:
    data = nb(code("x = 1\n<<<<<<< HEAD\ny = 2\n=======\ny = 3\n>>>>>>> other\n"))
    assert found(data) == [("conflict", 1)]


def test_conflict_ignores_marker_text_that_is_text() -> None:
    # nbdev documents its merge with conflicts inside Python strings, Markdown shows them in code fences,
    # setext headings underline with ======= and doctests prompt with >>>
    nbdev_docs = (CORPUS / "dev/fastai+nbdev/nbs/api/07_merge.ipynb").read_bytes()
    assert [c for c, _ in found(clean_bytes(nbdev_docs, "x", Policy())) if c == "conflict"] == []
    data = nb(
        code('tst = """\n<<<<<<< HEAD\nz=3\n=======\nz=2\n>>>>>>> a7ec1b0\n"""\n%time f(tst)'),
        md("Title\n=======\n\n```\n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> main\n```\n"),
        code(">>> 1 + 1\n2", None),
        md("look for `<<<<<<<` in the file"),
    )
    assert found(data) == []


def test_hidden_state_trips_where_outputs_and_counts_are_kept() -> None:
    out = stream("ok\n")
    in_order = nb(code("a", 1, out), md("m"), code("b", None), code("c", 2, out), code("d", 5, out))
    assert found(in_order, KEEP) == []
    assert found(in_order, {**KEEP, "check": {"execution_order": "consecutive"}}) == [("hidden-state", 5)]
    assert found(nb(code("a", 3, out), code("b", 4, out)), KEEP) == [("hidden-state", 1)]
    assert found(nb(code("a", 1, out), code("b", 3, out), code("c", 2, out)), KEEP) == [("hidden-state", 3)]
    assert found(nb(code("a", 1, out), code("b", 1, out)), KEEP) == [("hidden-state", 2)]
    # no outputs kept: nothing shown can be stale, whatever the counts
    assert found(nb(code("a", 7), code("b", 2)), KEEP) == []
    # the default policy strips counts: nothing left to judge
    assert ("hidden-state", 2) not in found(nb(code("a", 1, out), code("b", 3, out), code("c", 2, out)))


def test_hidden_state_leaves_out_the_cells_the_policy_drops() -> None:
    """A scratch cell run last never reaches the commit: the committed outputs are reproducible, and the
    cells named are those of the committed notebook."""
    out = stream("ok\n")
    scratch = {**code("peek()", 7, out), "metadata": {"tags": ["scratch"]}}
    policy = {"outputs": "keep", "drop_tagged_cells": ["scratch"]}  # counts stripped: judged from the notebook before cleaning

    def hidden(*cells: dict[str, Any]) -> list[tuple[str, int | None]]:
        return [f for f in found(nb(*cells), policy) if f[0] == "hidden-state"]

    assert hidden(code("a", 1, out), dict(scratch), code("b", 2, out), code("c", 3, out)) == []
    assert hidden(code("a", 1, out), dict(scratch), code("b", 2, out), code("c", 1, out)) == [("hidden-state", 3)]


@pytest.mark.parametrize(
    ("path", "untitled"),
    [("Untitled.ipynb", True), ("Untitled3.ipynb", True), ("sub/Untitled1 (1).ipynb", True), ("analysis-Copy1.ipynb", True),
     ("notes/Copy of model.ipynb", True), ("untitled_analysis.ipynb", False), ("Copy-trading.ipynb", False),
     ("Untitled/analysis.ipynb", False), ("model-Copy.ipynb", False)],
)
def test_untitled_trips_on_default_names_only(path: str, untitled: bool) -> None:
    assert (("untitled", None) in found(nb(md("x")), path=path)) is untitled


def test_untitled_pattern_is_the_policys() -> None:
    assert found(nb(md("x")), {"check": {"untitled_pattern": r"scratch"}}, path="scratch/a.ipynb") == [("untitled", None)]
    assert found(nb(md("x")), {"check": {"untitled_pattern": ""}}, path="Untitled.ipynb") == []


def test_size_limits_trip_above_the_policys_limits_only() -> None:
    data = nb(code("a", 1, stream("x" * 5000)), code("b", 2, stream("y" * 10)))
    assert found(data, KEEP) == []
    assert found(data, {**KEEP, "check": {"max_output_bytes": 2000}}) == [("output-size", 1)]
    assert found(data, {**KEEP, "check": {"max_notebook_bytes": 3000}}) == [("notebook-size", None)]
    assert found(data, {**KEEP, "check": {"max_notebook_bytes": False, "max_output_bytes": False}}) == []
    # with outputs stripped, what is committed is small: the limits judge what is committed
    assert found(clean_bytes(data, "x", Policy()), {"check": {"max_output_bytes": 2000, "max_notebook_bytes": 3000}}) == []


def test_disabled_checks_never_run_and_unknown_ids_are_errors(repo: Path) -> None:
    data = nb(code("1", 3, stream("x\n")))
    assert found(data, {"check": {"disable": ["not-clean"]}}) == []
    (repo / "Untitled.ipynb").write_bytes(nb(md("x")))
    (repo / ".nbgit.toml").write_text('[check]\ndisable = ["untitled", "not-installed"]\n')
    assert nbgit(repo, "check", "Untitled.ipynb").returncode == 0
    (repo / ".nbgit.toml").write_text('[check]\ndisable = ["untitle"]\n')
    done = nbgit(repo, "check", "Untitled.ipynb")
    assert done.returncode == 2
    assert b"unknown checks: untitle" in done.stderr and b"hint: known checks:" in done.stderr


def test_catalogue_ids_are_the_documented_ones() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for check in CHECKS:
        assert f"`{check}`" in readme, check


# --- the repository: which notebooks, as they would be committed ---


def wire(repo: Path) -> None:
    """What `nbgit install` wires for the filter: the process in config, the attribute for notebooks."""
    git(repo, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")


def test_not_installed_is_a_warning_locally_and_skipped_in_ci(repo: Path) -> None:
    (repo / "a.ipynb").write_bytes(nb(md("x")))
    code_, problems = run_json(repo, "a.ipynb", env=ci_off())
    assert code_ == 0
    assert [(p["id"], p["severity"], p["path"]) for p in problems] == [("not-installed", "warning", "")]
    assert run_json(repo, "a.ipynb", env={**ci_off(), "CI": "true"}) == (0, [])
    wire(repo)
    assert run_json(repo, "a.ipynb", env=ci_off()) == (0, [])
    (repo / ".gitattributes").write_text("*.ipynb -filter\n")
    _, problems = run_json(repo, "a.ipynb", env=ci_off())
    assert [(p["id"], p["path"]) for p in problems] == [("not-installed", "a.ipynb")]
    git(repo, "config", "filter.nbgit.process", "/nowhere/nbgit-filter-process")
    _, problems = run_json(repo, "a.ipynb", env=ci_off())
    assert [(p["id"], p["path"]) for p in problems] == [("not-installed", "")]
    assert "/nowhere/nbgit-filter-process" in problems[0]["message"]


def test_where_the_filter_is_in_effect_a_dirty_working_copy_is_what_git_cleans(repo: Path) -> None:
    wire(repo)
    copy_in(DIRTY, repo, "dirty.ipynb")
    copy_in(BAD / "derived/source-conflict.git-merge-file.ipynb", repo, "conflicted.ipynb")
    code_, problems = run_json(repo, env=ci_off())
    assert code_ == 1
    assert [(p["id"], p["path"]) for p in problems] == [("conflict", "conflicted.ipynb")]
    # in CI there is no filter: the file is what is committed
    _, problems = run_json(repo, env=ci_on())
    assert ("not-clean", "dirty.ipynb") in [(p["id"], p["path"]) for p in problems]


def test_all_judges_every_tracked_notebook_and_nothing_else(repo: Path) -> None:
    for name in ("a.ipynb", "sub/b.ipynb", "gone.ipynb"):
        copy_in(DIRTY, repo, name)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "add")
    (repo / "gone.ipynb").unlink()
    copy_in(DIRTY, repo, "untracked.ipynb")
    sub = repo / "sub"
    code_, problems = run_json(sub, "--all", env=ci_on())
    assert code_ == 1
    assert sorted(p["path"] for p in problems) == ["a.ipynb", "sub/b.ipynb"]
    done = nbgit(repo, "check", "--all", "a.ipynb")
    assert done.returncode == 2 and b"not both" in done.stderr


def test_staged_judges_the_index_not_the_working_copy(repo: Path) -> None:
    clean = clean_bytes(DIRTY.read_bytes(), "x", Policy())
    target = repo / "nb.ipynb"
    target.write_bytes(clean)
    git(repo, "add", "nb.ipynb")
    copy_in(DIRTY, repo, "nb.ipynb")  # dirty in the working copy only: partially staged
    env = ci_on()
    assert run_json(repo, "--staged", env=env) == (0, [])
    assert run_json(repo, env=env)[0] == 1
    git(repo, "add", "nb.ipynb")
    target.write_bytes(clean)  # now the reverse: dirty staged, clean working copy
    code_, problems = run_json(repo, "--staged", env=env)
    assert code_ == 1 and [(p["id"], p["path"]) for p in problems] == [("not-clean", "nb.ipynb")]
    assert run_json(repo, env=env) == (0, [])
    # --staged with --all or paths judges the index entries there, committed or not
    git(repo, "commit", "-qm", "dirty", "--no-verify")
    assert run_json(repo, "--staged", env=env) == (0, [])
    assert run_json(repo, "--staged", "--all", env=env)[0] == 1
    assert run_json(repo, "--staged", ".", env=env)[0] == 1


def test_fix_cleans_the_working_copy_and_reports_the_rest(repo: Path) -> None:
    dirty = copy_in(DIRTY, repo, "dirty.ipynb")
    conflicted = copy_in(BAD / "derived/source-conflict.git-merge-file.ipynb", repo, "conflicted.ipynb")
    before = conflicted.read_bytes()
    done = nbgit(repo, "check", "--fix", env=ci_on())
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "fixed: dirty.ipynb cell" in out and "conflicted.ipynb: git conflict markers" in out
    assert out.splitlines()[-1] == "1 problem in 1 notebook; fixed 1"
    assert dirty.read_bytes() == clean_bytes(DIRTY.read_bytes(), "x", Policy())
    assert conflicted.read_bytes() == before


def test_staged_fix_cleans_the_index_and_keeps_the_working_copys_outputs(repo: Path) -> None:
    dirty = copy_in(DIRTY, repo, "dirty.ipynb")
    git(repo, "add", "dirty.ipynb")
    done = nbgit(repo, "check", "--staged", "--fix", env=ci_on())
    assert done.returncode == 0, done.stdout
    assert git(repo, "show", ":dirty.ipynb").stdout == clean_bytes(DIRTY.read_bytes(), "x", Policy())
    assert dirty.read_bytes() == DIRTY.read_bytes()


def test_excluded_notebooks_are_not_judged(repo: Path) -> None:
    copy_in(DIRTY, repo, "vendor/x.ipynb")
    (repo / ".nbgit.toml").write_text('exclude = ["vendor/**"]\n')
    assert run_json(repo, env=ci_on()) == (0, [])


# --- the corpus: no false positives ---


def test_no_check_fires_on_the_dev_corpus_once_cleaned(tmp_path: Path) -> None:
    """After `nbgit clean`, the only problems left in 194 real notebooks are the schema errors nbformat
    itself reports (the MANIFEST's `schema-invalid`): untitled and sizes fire on none of them by design
    of the corpus (real names, nothing near 10 MB), not-installed is skipped as in CI. The corpus does
    hold real copies (books keep old versions of chapters): those are warnings, and none is smaller
    than `duplicate_min_lines`."""
    repo = tmp_path / "dev"
    shutil.copytree(CORPUS / "dev", repo, ignore=shutil.ignore_patterns("*.tsv", "*.md", "*.json"))
    git(repo, "init", "-q")
    assert nbgit(repo, "clean", ".").returncode == 0
    git(repo, "add", ".")
    code_, problems = run_json(repo, "--all", env=ci_on())
    copies = [p for p in problems if p["id"] == "duplicate-code"]
    problems = [p for p in problems if p["id"] != "duplicate-code"]
    assert copies and all(p["severity"] == "warning" for p in copies)
    assert min(place["lines"] for p in copies for place in p["copies"]["places"]) >= 5
    save_fig = [p for p in copies if p["copies"]["suggested_module"] == "save_fig.py"]  # handson-ml3's helper, in 3 chapters
    assert len(save_fig) == 1 and len({place["path"] for place in save_fig[0]["copies"]["places"]}) == 3
    manifest = [line.split("\t") for line in (CORPUS / "dev/MANIFEST.tsv").read_text().splitlines()[1:]]
    schema_invalid = {row[0] for row in manifest if "schema-invalid" in row[12].split(",")}
    assert len(schema_invalid) == 17
    # cleaning drops execution counts from markdown cells (Kaggle's): nbformat then accepts those notebooks
    from nbformat.reader import reads
    from nbformat.validator import isvalid

    valid_once_cleaned = {path for path in schema_invalid if isvalid(reads((repo / path).read_text()))}
    assert len(valid_once_cleaned) == 11
    assert {p["id"] for p in problems} == {"invalid"}
    assert {p["path"] for p in problems} == schema_invalid - valid_once_cleaned
    assert all(p["message"].startswith("not valid nbformat 4.") and p["cell"] for p in problems)
    assert code_ == 1


# --- the formats ---


def test_text_format_is_one_line_per_problem_then_hints_and_a_summary(repo: Path) -> None:
    copy_in(DIRTY, repo, "a.ipynb")
    copy_in(DIRTY, repo, "b.ipynb")
    (repo / "Untitled.ipynb").write_bytes(nb(md("x")))
    done = nbgit(repo, "check", env=ci_on())
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 1
    assert lines[0].startswith("Untitled.ipynb: named like an unnamed") and lines[0].endswith("[untitled]")
    assert lines[1].startswith("a.ipynb cell ") and lines[1].endswith("[not-clean]")
    assert "hint: run `nbgit check --fix` (or `nbgit clean PATH`)" in lines[4]
    assert lines[-1] == "3 problems in 3 notebooks (2 fixable with --fix)"


def test_github_format_annotates_the_line_where_the_cell_starts(repo: Path) -> None:
    data = nb(md("# t"), code("x = 1\n<<<<<<< HEAD\ny\n>>>>>>> b\n"))
    (repo / "m.ipynb").write_bytes(data)
    copy_in(BAD / "derived/source-conflict.git-merge-file.ipynb", repo, "broken, really.ipynb")
    done = nbgit(repo, "check", "--format", "github", env=ci_on())
    assert done.returncode == 1
    annotations = [line for line in done.stdout.decode().splitlines() if line.startswith("::")]
    broken, cell = annotations
    assert broken.startswith("::error file=broken%2C really.ipynb,line=11,title=nbgit conflict::git conflict markers (line 11)")
    assert "%0Ahint: run `nbgit resolve 'broken, really.ipynb'`" in broken  # quoted for a shell
    line = int(cell.split("line=")[1].split(",")[0])
    assert cell.startswith("::error file=m.ipynb,line=")
    assert data.splitlines()[line - 1] == b"  {" and b'"cell_type": "code"' in data.splitlines()[line]


def test_json_format_lists_every_field(repo: Path) -> None:
    copy_in(DIRTY, repo, "a.ipynb")
    _, [problem] = run_json(repo, env=ci_on())
    assert set(problem) == {"id", "path", "cell", "line", "message", "hint", "fixable", "severity", "fixed"}
    assert (problem["id"], problem["path"], problem["fixable"], problem["severity"], problem["fixed"]) == ("not-clean", "a.ipynb", True, "error", False)


# --- cost ---


def test_check_imports_no_heavy_library(repo: Path) -> None:
    """Plain valid notebooks need not even fastjsonschema, nor one whose only fault is a key of its own
    (worded from the shapes); one its schema refuses otherwise brings it in, for the verdict and message."""

    def imported() -> set[str]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "check", "--all"], cwd=repo, capture_output=True)
        assert done.returncode == 1
        return {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.decode().splitlines() if line.startswith("import time:")}

    for name in ("a.ipynb", "b.ipynb"):
        copy_in(DIRTY, repo, name)
    git(repo, "add", ".")
    assert not imported() & {"fastjsonschema", "nbformat", "jupytext", "nbdime", "git", "jsonschema"}
    content = json.loads(nb(code("x", None), md("y")))
    content["cells"][1]["collapsed"] = True  # a markdown cell with a key of its own: nbformat refuses it
    (repo / "c.ipynb").write_bytes(serialise(Notebook(content, 4)))
    git(repo, "add", ".")
    assert "fastjsonschema" not in imported()
    assert "c.ipynb cell 2: not valid nbformat 4.5: markdown cell must not contain {'collapsed'} properties" in nbgit(repo, "check", "--all", env=ci_on()).stdout.decode()
    content["cells"][0]["metadata"]["tags"] = ["a,b"]  # a tag with a comma: the schema's pattern refuses it
    (repo / "d.ipynb").write_bytes(serialise(Notebook(content, 4)))
    git(repo, "add", ".")
    assert "fastjsonschema" in imported()
    assert "d.ipynb cell 1: not valid nbformat 4.5: code cell metadata.tags.0 must match pattern ^[^,]+$" in nbgit(repo, "check", "--all", env=ci_on()).stdout.decode()


def test_many_notebooks_are_judged_in_parallel_with_the_same_verdicts(repo: Path) -> None:
    clean = clean_bytes(DIRTY.read_bytes(), "x", Policy())
    for n in range(120):
        (repo / f"n{n:03}.ipynb").write_bytes(DIRTY.read_bytes() if n % 7 == 0 else clean)
    code_, problems = run_json(repo, ".", env=ci_on())
    assert code_ == 1
    assert [p["path"] for p in problems] == [f"n{n:03}.ipynb" for n in range(0, 120, 7)]


# --- pairs (nbgit.sync's view of them) ---


def paired_repo(repo: Path) -> Path:
    """A repository pairing every notebook with a py:percent twin, one pair committed in step."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "a.ipynb").write_bytes(clean_bytes(DIRTY.read_bytes(), "x", Policy()))
    assert nbgit(repo, "sync", "a.ipynb").returncode == 0
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pair")
    return repo


def test_unsynced_trips_when_a_twin_moves_on_and_fix_syncs_it(repo: Path) -> None:
    paired_repo(repo)
    env = ci_on()
    assert run_json(repo, env=env) == (0, [])
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\nx = 42\n")
    code_, problems = run_json(repo, "a.py", env=env)
    assert code_ == 1
    assert [(p["id"], p["path"], p["fixable"]) for p in problems] == [("unsynced", "a.ipynb", True)]
    assert "its twin a.py changed" in problems[0]["message"]
    done = nbgit(repo, "check", "--fix", env=env)
    assert done.returncode == 0, done.stdout
    assert "x = 42" in (repo / "a.ipynb").read_text()
    assert run_json(repo, env=env) == (0, [])


def test_orphan_trips_on_a_twin_without_its_notebook_and_the_reverse(repo: Path) -> None:
    paired_repo(repo)
    env = ci_on()
    (repo / "a.ipynb").unlink()
    code_, problems = run_json(repo, "--all", env=env)
    assert code_ == 1 and [(p["id"], p["path"], p["fixable"]) for p in problems] == [("orphan", "a.py", False)]
    git(repo, "checkout", "--", "a.ipynb")
    (repo / "a.py").unlink()
    assert [(p["id"], p["path"]) for p in run_json(repo, "a.ipynb", env=env)[1]] == [("orphan", "a.ipynb")]


def test_naming_an_unpaired_notebook_does_not_pair_it(repo: Path) -> None:
    (repo / "solo.ipynb").write_bytes(clean_bytes(DIRTY.read_bytes(), "x", Policy()))
    assert run_json(repo, "solo.ipynb", env=ci_on()) == (0, [])
    assert run_json(repo, "--fix", "solo.ipynb", env=ci_on()) == (0, [])
    assert not (repo / "solo.py").exists()


@pytest.mark.parametrize("size", [7, 9])
def test_conflict_markers_of_any_size_are_found(size: int) -> None:
    lt, gt = "<" * size, ">" * size
    raw = f'{{\n "cells": [\n{lt} ours\n  ],\n{"=" * size}\n  ]\n{gt} theirs\n}}\n'.encode()
    assert found(raw) == [("conflict", None)]
    assert found(nb(code(f"x = 1\n{lt} local\ny = 2\n{'=' * size}\ny = 3\n{gt} remote\n"))) == [("conflict", 1)]


# --- verdicts on exactly what is committed ---


def out_of_order() -> bytes:
    """A notebook whose outputs came from running its cells out of order (1, 3, 2)."""
    out = stream("ok\n")
    return nb(code("a = 1", 1, out), code("b = a + 1", 3, out), code("a = 5", 2, out))


def test_hidden_state_is_judged_from_the_counts_the_filter_strips(repo: Path) -> None:
    """Outputs kept, counts stripped (a common policy): what is committed shows no counts, but the
    working-tree notebook (and the one a staged blob was cleaned from) still tells the order."""
    assert nbgit(repo, "install").returncode == 0
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    (repo / "nb.ipynb").write_bytes(out_of_order())
    code_, problems = run_json(repo, "nb.ipynb", env=ci_off())
    assert code_ == 1 and [(p["id"], p["cell"]) for p in problems] == [("hidden-state", 3)]
    git(repo, "add", ".nbgit.toml", "nb.ipynb")
    assert b'"execution_count": null' in git(repo, "show", ":nb.ipynb").stdout  # the counts never reach the index
    code_, problems = run_json(repo, "--staged", env=ci_off())
    assert code_ == 1 and [(p["id"], p["cell"]) for p in problems] == [("hidden-state", 3)]
    done = git(repo, "commit", "-m", "out of order", check=False)  # the pre-commit hook judges the same
    assert done.returncode != 0 and b"hidden-state" in done.stderr
    # re-run in order with the same outputs: what is staged is now reproducible
    (repo / "nb.ipynb").write_bytes(nb(*(code(s, n, stream("ok\n")) for s, n in (("a = 1", 1), ("b = a + 1", 2), ("a = 5", 3)))))
    assert run_json(repo, "--staged", env=ci_off()) == (0, [])


def test_all_judges_no_untracked_pair_nor_jupyterlab_checkpoint(repo: Path) -> None:
    """A first save in JupyterLab writes .ipynb_checkpoints/NAME-checkpoint.ipynb: `--all` is what git tracks."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    clean = nb(code("x = 1"))
    (repo / "nb.ipynb").write_bytes(clean)
    assert nbgit(repo, "pair", "nb.ipynb").returncode == 0
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "paired")
    (repo / ".ipynb_checkpoints").mkdir()
    (repo / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_bytes(clean)
    (repo / "scratch.ipynb").write_bytes(clean)  # untracked, paired by the policy, no twin yet
    env = ci_on()
    assert run_json(repo, "--all", env=env) == (0, [])
    code_, problems = run_json(repo, "scratch.ipynb", env=env)  # named, it is judged
    assert code_ == 1 and [p["id"] for p in problems] == ["unsynced"]


def test_all_finds_a_tracked_notebook_deleted_beside_its_untracked_twin(repo: Path) -> None:
    """`--all` lists what git tracks and, in the same `git ls-files`, the untracked files among which
    sync finds twins: a tracked notebook deleted from disk whose twin was never added (and that no
    earlier run remembers) leaves an orphan, reported at the twin."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    (repo / "nb.ipynb").write_bytes(nb(code("x = 1")))
    assert nbgit(repo, "pair", "nb.ipynb").returncode == 0 and (repo / "nb.py").exists()
    git(repo, "add", ".nbgit.toml", "nb.ipynb")
    git(repo, "commit", "-qm", "notebook only")
    assert "nb.py" in git(repo, "status", "--porcelain").stdout.decode()  # the twin is untracked
    (repo / "nb.ipynb").unlink()
    (repo / ".git" / "nbgit-pairs.json").unlink(missing_ok=True)
    for _ in range(2):  # a first run and a cached re-run
        code_, problems = run_json(repo, "--all", env=ci_on())
        assert code_ == 1 and [(p["id"], p["path"]) for p in problems] == [("orphan", "nb.py")], problems


@pytest.mark.parametrize("form", ["text", "json", "github", "gitlab", "sarif"])
def test_a_cached_rerun_reports_exactly_what_a_fresh_run_does(repo: Path, form: str) -> None:
    """Every report format, byte for byte: a run that judges everything (`--no-cache`), the first run
    (filling the cache) and a re-run taking every verdict from the cache."""
    paired_repo(repo)
    (repo / "dirty.ipynb").write_bytes(DIRTY.read_bytes())
    (repo / "order.ipynb").write_bytes(nb(code("a = 1", 2, stream("ok\n"))))
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\nx = 42\n")
    git(repo, "add", ".")
    (repo / "dirty.ipynb").write_bytes(b"{ not json")  # changed on disk since it was added
    shutil.rmtree(repo / ".git" / "nbgit", ignore_errors=True)
    runs = [nbgit(repo, "check", "--all", "--format", form, *extra, env=ci_on()) for extra in (["--no-cache"], [], [], [])]
    assert (repo / ".git" / "nbgit").is_dir()
    assert runs[0].returncode == 1 and runs[0].stdout and not runs[0].stderr
    assert all((done.returncode, done.stdout, done.stderr) == (runs[0].returncode, runs[0].stdout, runs[0].stderr) for done in runs[1:])
    if form == "json":
        assert {(p["id"], p["path"]) for p in json.loads(runs[0].stdout)} == {
            ("unsynced", "a.ipynb"), ("invalid", "dirty.ipynb"), ("unsynced", "dirty.ipynb"), ("not-clean", "order.ipynb"), ("unsynced", "order.ipynb")}


def test_conflict_markers_of_any_size_are_what_resolve_repairs(repo: Path) -> None:
    """`conflict-marker-size=10`: check names `nbgit resolve`, and resolve does it."""
    import subprocess

    sides = [repo / name for name in ("local", "base", "remote")]
    for side, source in zip(sides, ("x = 2", "x = 1", "x = 3")):
        side.write_bytes(nb(code(source)))
    marked = subprocess.run(["git", "merge-file", "-p", "--marker-size=10", *map(str, sides)], capture_output=True).stdout
    assert b"\n<<<<<<<<<< " in marked
    (repo / "nb.ipynb").write_bytes(marked)
    done = nbgit(repo, "check", "nb.ipynb", env=ci_on())
    assert done.returncode == 1 and b"run `nbgit resolve nb.ipynb`" in done.stdout
    repaired = nbgit(repo, "resolve", "nb.ipynb")
    assert repaired.returncode == 1, repaired.stderr.decode()  # the conflict, now inside a valid notebook's cell
    assert "x = 2" in (repo / "nb.ipynb").read_text() and "x = 3" in (repo / "nb.ipynb").read_text()
