"""The `duplicate-code` check on real repositories built from corpus notebooks: copies found through
renamed variables and reformatting, with every place and the way out; twins, excluded cells and paths,
imports and short common snippets never reported; `--staged` reports only what a commit creates or
grows; the fingerprint index survives being deleted or damaged; the real pre-commit framework shows
the warning without failing the commit, and fails it when the policy makes copies an error."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import CORPUS, NBGIT, git, nbgit
from test_checks import ci_off, ci_on

from nbgit.check.cache import load_cache_file, save_cache_file
from nbgit.clean import clean_bytes
from nbgit.policy import Policy
from nbgit.worktree.index import blob_id

WIDGETS = CORPUS / "dev/jupyter-widgets+ipywidgets/docs/source/examples/Widget Basics.ipynb"
ANN = CORPUS / "dev/ageron+handson-ml3/extra_ann_architectures.ipynb"
PANDAS = CORPUS / "dev/jakevdp+PythonDataScienceHandbook/notebooks/03.00-Introduction-to-Pandas.ipynb"
R_DEMO = CORPUS / "dev/IRkernel+IRkernel/example-notebooks/Demo.ipynb"
R_BINDER = CORPUS / "dev/binder-examples+r/index.ipynb"
pytestmark = pytest.mark.skipif(not WIDGETS.exists(), reason="needs ../shared/corpus")

LOAD_SALES = '''def load_sales(path, min_rows=10):
    """Read the sales export and drop the broken rows."""
    frame = pd.read_csv(path, sep=";", parse_dates=["date"])
    frame = frame.dropna(subset=["amount"])
    frame["amount"] = frame["amount"].astype(float)
    frame = frame[frame["amount"] > 0]
    if len(frame) < min_rows:
        raise ValueError("too few rows")
    return frame.sort_values("date")
'''
# the same function, variables renamed, reformatted the way black would, quotes and comments changed
LOAD_SALES_EDITED = '''def load_sales(csv_file, min_rows=10):
    # read the export
    data = pd.read_csv(
        csv_file,
        sep=';',
        parse_dates=['date'],
    )

    data = data.dropna(subset=['amount'])  # broken rows
    data['amount'] = data['amount'].astype(float)
    data = data[data['amount'] > 0]
    if len(data) < min_rows:
        raise ValueError('too few rows')
    return data.sort_values('date')
'''
PLOT_MONTHLY = '''def plot_monthly(frame, column="amount"):
    monthly = frame.resample("M", on="date")[column].sum()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(monthly.index, monthly.values, width=20)
    ax.set_title(f"{column} per month")
    ax.set_ylabel(column)
    fig.autofmt_xdate()
    return fig
'''
COMMON = '''import pandas as pd
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
df = pd.read_csv("data.csv")
df.head()
df.info()
df.describe()
plt.show()
'''


def notebook(host: Path, *sources: str, tags: list[str] | None = None) -> bytes:
    """A real corpus notebook with code cells added after its first cell, cleaned as git stores it."""
    content = json.loads(host.read_bytes())
    added = [{"cell_type": "code", "execution_count": None, "id": f"added{i}", "metadata": {"tags": tags} if tags else {},
              "outputs": [], "source": source.splitlines(True)} for i, source in enumerate(sources)]
    content["cells"][1:1] = added
    if content.get("nbformat_minor", 0) < 5:
        for cell in added:
            del cell["id"]
    return clean_bytes(json.dumps(content).encode(), host.name, Policy())


def write(repo: Path, name: str, data: bytes | str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def copies(repo: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The duplicate-code records of `nbgit check --format json ARGS`."""
    done = nbgit(repo, "check", "--format", "json", *args, env=env or ci_off())
    assert done.returncode in (0, 1), done.stderr.decode()
    return [record for record in json.loads(done.stdout) if record["id"] == "duplicate-code"]


def places(record: dict[str, Any]) -> set[tuple[str, int | None]]:
    return {(place["path"], place["cell"]) for place in record["copies"]["places"]}


def commit_all(repo: Path, message: str = "work") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, "--no-verify")


# --- what is found, and the way out ---


@pytest.mark.parametrize("second", [LOAD_SALES, LOAD_SALES_EDITED], ids=["exact", "renamed-and-reformatted"])
def test_a_function_copied_between_two_notebooks_is_found_with_both_places(repo: Path, second: str) -> None:
    write(repo, "sales/cleaning.ipynb", notebook(WIDGETS, LOAD_SALES))
    write(repo, "report.ipynb", notebook(ANN, "x = 1", second))
    commit_all(repo)
    [record] = copies(repo, "--all")
    assert places(record) == {("report.ipynb", 3), ("sales/cleaning.ipynb", 2)}
    assert record["severity"] == "warning" and record["copies"]["lines"] == 8
    assert record["copies"]["suggested_module"] == "load_sales.py" and record["copies"]["module"] is None
    assert "move it to a module (for example `load_sales.py`) and import it" in record["message"]
    text = nbgit(repo, "check", "--all", env=ci_off()).stdout.decode()
    assert "warning: report.ipynb cell 3: the same 8 lines of code are also in sales/cleaning.ipynb cell 2: move it to a module" in text


def test_a_module_function_pasted_into_a_notebook_says_import_it_from_the_module(repo: Path) -> None:
    write(repo, "src/sales.py", f'"""Sales helpers."""\nimport pandas as pd\n\nTAX = 0.2\n\n\n{LOAD_SALES}\n\n{PLOT_MONTHLY}')
    write(repo, "analysis.ipynb", notebook(PANDAS, LOAD_SALES_EDITED))
    commit_all(repo)
    [record] = copies(repo, "--all")
    assert places(record) == {("analysis.ipynb", 2), ("src/sales.py", None)}
    module_place = [p for p in record["copies"]["places"] if p["path"] == "src/sales.py"][0]
    assert (module_place["start"], module_place["end"]) == (7, 15)  # the function's lines in the module
    assert record["copies"]["module"] == "src/sales.py"
    assert record["message"].endswith("also in src/sales.py lines 7-15: import it from `src/sales.py`")


def test_a_copy_in_many_notebooks_is_one_group_and_groups_come_largest_first(repo: Path) -> None:
    for number, host in enumerate((WIDGETS, ANN, PANDAS)):
        write(repo, f"n{number}.ipynb", notebook(host, LOAD_SALES, PLOT_MONTHLY if number else "y = 2"))
    commit_all(repo)
    records = copies(repo, "--all")
    assert [len(places(r)) for r in records] == [3, 2]  # load_sales in all three, plot_monthly in n1 and n2
    assert records[0]["copies"]["lines"] > records[1]["copies"]["lines"]


def test_an_r_notebook_copy_is_found_by_tokens(repo: Path) -> None:
    function = '''summarise_runs <- function(runs, threshold = 0.5) {
  kept <- runs[runs$score > threshold, ]
  kept$rank <- rank(-kept$score)
  kept <- kept[order(kept$rank), ]
  message("selected ", nrow(kept), " runs")
  kept %>%
    group_by(model) %>%
    summarise(best = max(score))
}
'''
    renamed = function.replace("kept", "best_runs").replace("  ", "    ").replace("runs <- ", "runs<-")
    write(repo, "a.ipynb", notebook(R_DEMO, function))
    write(repo, "b.ipynb", notebook(R_BINDER, renamed))
    commit_all(repo)
    [record] = copies(repo, "--all")
    assert places(record) == {("a.ipynb", 2), ("b.ipynb", 2)}
    assert record["copies"]["suggested_module"] == "summarise_runs.py"


# --- what is never reported ---


def test_twins_excluded_cells_and_paths_imports_and_common_snippets_are_never_reported(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('[check]\nduplicate_exclude = ["archive/**"]\n[pair]\nfolders = {notebooks = "scripts"}\n')
    write(repo, "notebooks/a.ipynb", notebook(WIDGETS, COMMON, LOAD_SALES))
    write(repo, "b.ipynb", notebook(ANN, COMMON, PLOT_MONTHLY, "x = 1\ny = 2\nz = x + y\nprint(z)"))
    write(repo, "c.ipynb", notebook(PANDAS, COMMON, PLOT_MONTHLY, "x = 1\ny = 2\nz = x + y\nprint(z)", tags=["nbgit:allow-copy"]))
    write(repo, "archive/old.ipynb", notebook(PANDAS, LOAD_SALES, PLOT_MONTHLY))
    write(repo, "b.py", "")  # a twin beside its notebook and one in the mirrored folder, both made by jupytext
    assert nbgit(repo, "pair", "b.ipynb").returncode == 0
    assert nbgit(repo, "pair", "notebooks/a.ipynb").returncode == 0
    assert LOAD_SALES.splitlines()[2].strip() in (repo / "scripts/a.py").read_text()
    commit_all(repo)
    assert copies(repo, "--all") == []
    # the same files without the tag and the globs: the copies are there to find
    (repo / ".nbgit.toml").write_text('[pair]\nfolders = {notebooks = "scripts"}\n')
    write(repo, "c.ipynb", notebook(PANDAS, COMMON, PLOT_MONTHLY, "x = 1\ny = 2\nz = x + y\nprint(z)"))
    found = copies(repo, "--all")
    assert {path for record in found for path, _ in places(record)} == {"archive/old.ipynb", "b.ipynb", "c.ipynb", "notebooks/a.ipynb"}
    assert not any(path.endswith(".py") for record in found for path, _ in places(record))


def test_a_symbolic_link_out_of_the_repository_is_never_read(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text(LOAD_SALES)
    (repo / "link.py").symlink_to(tmp_path / "outside.py")
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    commit_all(repo)
    assert copies(repo, "--all") == [] and copies(repo, "link.py", "a.ipynb") == []


def test_a_smaller_minimum_finds_the_four_line_snippet_and_disable_turns_the_check_off(repo: Path) -> None:
    snippet = "x = 1\ny = 2\nz = x + y\nprint(z)"
    write(repo, "a.ipynb", notebook(WIDGETS, snippet))
    write(repo, "b.ipynb", notebook(ANN, snippet))
    commit_all(repo)
    assert copies(repo, "--all") == []
    (repo / ".nbgit.toml").write_text("[check]\nduplicate_min_lines = 4\n")
    assert len(copies(repo, "--all")) == 1
    (repo / ".nbgit.toml").write_text('[check]\nduplicate_min_lines = 4\ndisable = ["duplicate-code"]\n')
    assert copies(repo, "--all") == []


def test_bad_policy_values_are_errors_naming_the_key(repo: Path) -> None:
    write(repo, "a.ipynb", notebook(WIDGETS, "x = 1"))
    for table, named in (("duplicate_min_lines = 1", "check.duplicate_min_lines"), ('errors = ["copies"]', "check.errors")):
        (repo / ".nbgit.toml").write_text(f"[check]\n{table}\n")
        done = nbgit(repo, "check", "a.ipynb")
        assert done.returncode == 2 and named in done.stderr.decode() and "Traceback" not in done.stderr.decode()


# --- staged: only what the commit creates or grows ---


def test_staged_reports_only_the_copies_the_commit_creates_or_grows(repo: Path) -> None:
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES, PLOT_MONTHLY))
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES))
    commit_all(repo)  # history already holds a copy of load_sales
    assert copies(repo, "--staged") == []
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES, "print('edited elsewhere')"))
    write(repo, "c.ipynb", notebook(PANDAS, PLOT_MONTHLY))
    git(repo, "add", "-A")
    [record] = copies(repo, "--staged")  # the new copy of plot_monthly, not the old load_sales
    assert places(record) == {("c.ipynb", 2), ("a.ipynb", 3)}
    assert record["path"] == "c.ipynb"  # reported where the commit copies it
    commit_all(repo)
    write(repo, "d.ipynb", notebook(PANDAS, "z = 3", LOAD_SALES_EDITED))
    git(repo, "add", "d.ipynb")
    [record] = copies(repo, "--staged")  # an old copy that the commit grows: every place
    assert places(record) == {("d.ipynb", 3), ("a.ipynb", 2), ("b.ipynb", 2)}
    commit_all(repo)
    git(repo, "mv", "d.ipynb", "renamed.ipynb")
    assert copies(repo, "--staged") == []  # a rename copies nothing
    assert copies(repo, "renamed.ipynb") == []  # nor does naming a notebook whose copies are committed


def test_named_files_report_what_they_add_against_head(repo: Path) -> None:
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    commit_all(repo)
    write(repo, "new.ipynb", notebook(ANN, LOAD_SALES_EDITED))  # not even added
    [record] = copies(repo, "new.ipynb")
    assert places(record) == {("new.ipynb", 2), ("a.ipynb", 2)}
    assert copies(repo, "a.ipynb") == []


# --- the groups kept between runs (in the verdict cache) ---


def report(repo: Path, *args: str) -> list[dict[str, Any]]:
    """The whole report of `nbgit check --all --format json ARGS` (in CI: no `not-installed` warning)."""
    done = nbgit(repo, "check", "--all", "--format", "json", *args, env=ci_on())
    assert done.returncode in (0, 1), done.stderr.decode()
    return json.loads(done.stdout)


def as_uncached(repo: Path) -> list[dict[str, Any]]:
    """The report of `--all`, asserted to be exactly (problems, order, messages) what `--no-cache` says."""
    cached = report(repo)
    assert cached == report(repo, "--no-cache")
    return cached


def results_file(repo: Path) -> Path:
    from nbgit.check.cache import FOLDER, RESULTS_FILE

    return repo / ".git" / FOLDER / RESULTS_FILE


def two_copies(repo: Path) -> dict[str, Any]:
    """Two notebooks sharing a function, committed; the one group `--all` reports (and keeps)."""
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES_EDITED))
    commit_all(repo)
    [record] = copies(repo, "--all")
    return record


def replace_kept_group(repo: Path, change: Callable[[tuple[Any, ...]], Any]) -> str:
    """The one group the results file keeps, rewritten by `change` under the same key; the key."""
    version, fingerprint, results = load_cache_file(results_file(repo))
    key, [kept] = results["duplicate-code"]
    results["duplicate-code"] = (key, (change(kept),))
    save_cache_file(results_file(repo), (version, fingerprint, results))
    return key


def test_a_rerun_takes_the_groups_from_the_cache_and_only_a_run_of_all_does(repo: Path) -> None:
    """Proven by planting a wrong problem under the right key; `--no-cache`, `--staged` and named paths
    (which compare against HEAD) find their copies afresh, and `--no-cache` leaves the cache alone."""
    record = two_copies(repo)
    key = replace_kept_group(repo, lambda kept: ((*kept[0][:3], "planted message", *kept[0][4:]), kept[1], kept[2], "planted.py", *kept[4:]))
    assert key.split("\0") == [part for name in ("a.ipynb", "b.ipynb") for part in (name, blob_id((repo / name).read_bytes(), "sha1"))]
    [found] = copies(repo, "--all")
    assert found["message"] == "planted message" and found["copies"]["suggested_module"] == "planted.py"
    assert found["copies"]["places"] == record["copies"]["places"]
    before = results_file(repo).read_bytes()
    assert copies(repo, "--all", "--no-cache") == [record] and results_file(repo).read_bytes() == before
    assert copies(repo, "--staged") == [] and copies(repo, "b.ipynb") == []  # what they add against HEAD: nothing
    results_file(repo).write_bytes(before[:40])  # damaged: a miss, and replaced
    assert copies(repo, "--all") == [record]
    assert load_cache_file(results_file(repo))[2]["duplicate-code"][0] == key


def test_the_report_changes_exactly_as_a_run_without_the_cache_says(repo: Path) -> None:
    """Every input of the groups, changed in turn (files added, edited, deleted, renamed, twins, the policy),
    with the blob ids of the files left alone taken from their stat data: each report as `--no-cache`'s."""
    from nbgit.files import RACY_SECONDS

    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES_EDITED))
    write(repo, "src/tools.py", PLOT_MONTHLY)
    commit_all(repo)
    time.sleep(RACY_SECONDS + 0.2)  # from now on the files left alone are known by their stat data
    shown = as_uncached(repo)
    assert len(shown) == 1 and results_file(repo).is_file()

    def policy(text: str) -> None:
        (repo / ".nbgit.toml").write_text(text)

    steps = [
        ("a notebook's code changes", lambda: write(repo, "b.ipynb", notebook(ANN, PLOT_MONTHLY)), True),
        ("a module's code changes", lambda: write(repo, "src/tools.py", LOAD_SALES), True),
        ("duplicate_min_lines", lambda: policy("[check]\nduplicate_min_lines = 9\n"), True),
        ("duplicate_min_lines back", lambda: policy(""), True),
        ("duplicate_exclude", lambda: policy('[check]\nduplicate_exclude = ["src/**"]\n'), True),
        ("exclude", lambda: policy('exclude = ["b.ipynb"]\n'), True),
        ("a file added", lambda: write(repo, "c.ipynb", notebook(PANDAS, PLOT_MONTHLY, LOAD_SALES)), True),
        ("a file deleted", lambda: (repo / "a.ipynb").unlink(), True),
        ("a file renamed", lambda: git(repo, "mv", "c.ipynb", "d.ipynb"), True),
        ("a twin beside its notebook", lambda: write(repo, "d.py", PLOT_MONTHLY), False),
        ("a module rewritten in place, its size and times kept", lambda: same_size_and_time(repo / "src/tools.py", PLOT_MONTHLY), True),
        ("a notebook that makes a module its twin", lambda: write(repo, "src/tools.ipynb", notebook(WIDGETS, "x = 1")), True),
    ]
    for name, change, changes_report in steps:
        change()
        git(repo, "add", "-A")
        now = as_uncached(repo)
        assert (now != shown) == changes_report, name
        shown = now


def same_size_and_time(path: Path, code: str) -> None:
    """Replace a module by `code` padded with a comment to its size, keep its modification time, and wait
    out the racy window: only the change time then tells that it changed."""
    from nbgit.files import RACY_SECONDS

    status = path.stat()
    padding = status.st_size - len(code) - 3
    assert padding >= 0
    path.write_text(f"{code}# {'x' * padding}\n")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (status.st_size, status.st_mtime_ns)
    time.sleep(RACY_SECONDS + 0.2)


# --- the fingerprint index ---


def test_the_fingerprint_index_is_kept_under_the_common_dir_and_tolerates_damage(repo: Path) -> None:
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES_EDITED))
    commit_all(repo)
    expected = copies(repo, "--all")
    assert len(expected) == 1
    index = repo / ".git/nbgit/fingerprints"
    assert index.is_file()
    worktree = repo.parent / "linked"
    git(repo, "worktree", "add", "-q", str(worktree))
    assert copies(worktree, "--all") == expected  # a linked work tree shares the index
    assert not (repo / ".git/worktrees/linked/nbgit").exists()
    results = repo / ".git/nbgit/check-results"  # the copies `--all` found, which would answer before the index is read
    for damage in (b"", b"\x00garbage", index.read_bytes()[:100], index.read_bytes().replace(b"nbgit", b"other")):
        index.write_bytes(damage)
        results.unlink()
        assert copies(repo, "--all") == expected
    index.unlink()
    results.unlink()
    assert copies(repo, "--all") == expected and index.is_file()


def test_blob_ids_are_gits(repo: Path) -> None:
    data = notebook(WIDGETS, LOAD_SALES)
    assert blob_id(data, "sha1") == git(repo, "hash-object", "--stdin", "--no-filters", input=data).stdout.decode().strip()


# --- the pre-commit framework ---


def test_the_framework_shows_the_warning_and_fails_only_when_the_policy_says(repo: Path) -> None:
    from test_precommit import commit, use_manifest

    use_manifest(repo, skip=("nbgit-clean", "nbgit-sync"))
    git(repo, "config", "filter.nbgit.process", str(NBGIT.with_name("nbgit-filter-process")))  # check-install passes
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    git(repo, "add", "a.ipynb")
    code, said = commit(repo)
    assert code == 0 and "duplicate-code" not in said, said
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES_EDITED))
    git(repo, "add", "b.ipynb")
    code, said = commit(repo)
    assert code == 0, said
    assert "warning: b.ipynb cell 2: the same 8 lines of code are also in a.ipynb cell 2" in said
    (repo / ".nbgit.toml").write_text('[check]\nerrors = ["duplicate-code"]\n')
    write(repo, "c.ipynb", notebook(PANDAS, LOAD_SALES))
    git(repo, "add", "c.ipynb", ".nbgit.toml")
    code, said = commit(repo)
    assert code == 1, said
    assert "c.ipynb cell 2: the same 8 lines of code are also in a.ipynb cell 2, b.ipynb cell 2" in said


def test_a_folder_linked_out_of_the_repository_is_never_read(repo: Path, tmp_path: Path) -> None:
    """A tracked module whose folder became a link to one outside: its copy there is not compared."""
    write(repo, "sub/x.py", "pass\n")
    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    commit_all(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text(LOAD_SALES)
    (repo / "sub" / "x.py").unlink()
    (repo / "sub").rmdir()
    (repo / "sub").symlink_to(outside)
    assert copies(repo, "--all") == [] and copies(repo, "--all", "--no-cache") == []


def test_kept_groups_of_another_shape_are_a_miss(repo: Path) -> None:
    """A results file under the right key but holding another shape of data (an index no file list
    has) is found afresh, never an internal error."""
    record = two_copies(repo)
    replace_kept_group(repo, lambda kept: (*kept[:4], {}, kept[5]))
    assert copies(repo, "--all") == [record]


def test_fix_reports_the_copies_of_what_it_wrote(repo: Path) -> None:
    """`--fix` syncs a notebook from its edited twin: the code that came in is compared as it is now,
    as a run without caches compares it (the files were looked at before the fix wrote them)."""
    from nbgit.files import RACY_SECONDS

    write(repo, "a.ipynb", notebook(WIDGETS, "x = 1\n"))
    write(repo, "b.ipynb", notebook(ANN, LOAD_SALES))
    done = nbgit(repo, "pair", "a.ipynb", "--format", "py:percent")
    assert done.returncode == 0 and (repo / "a.py").is_file(), done.stderr.decode()
    commit_all(repo)
    time.sleep(RACY_SECONDS + 0.2)
    assert copies(repo, "--all") == []
    with (repo / "a.py").open("a") as twin:
        twin.write("\n# %%\n" + LOAD_SALES)
    fixed = nbgit(repo, "check", "--all", "--fix", "--format", "json", env=ci_off())
    found = [record for record in json.loads(fixed.stdout) if record["id"] == "duplicate-code"]
    assert [places(record) for record in found] and {path for record in found for path, _ in places(record)} == {"a.ipynb", "b.ipynb"}, fixed.stderr.decode()


def test_a_file_too_big_to_be_code_is_neither_read_nor_compared(repo: Path) -> None:
    """A module of more than MAX_COMPARED_BYTES (sparse here: its size costs no disk) is left out, unread;
    the same code in a file of ordinary size is reported."""
    from nbgit.check.copies import MAX_COMPARED_BYTES

    write(repo, "a.ipynb", notebook(WIDGETS, LOAD_SALES))
    commit_all(repo)
    write(repo, "small.py", LOAD_SALES)
    write(repo, "big.py", LOAD_SALES)
    os.truncate(repo / "big.py", MAX_COMPARED_BYTES + 1)
    started = time.perf_counter()
    assert copies(repo, "big.py") == []
    assert time.perf_counter() - started < 5
    [record] = copies(repo, "small.py")
    assert places(record) == {("a.ipynb", 2), ("small.py", None)}
