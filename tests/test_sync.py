"""`nbgit pair` and `nbgit sync` in real git repositories: every case of the README's table, byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NBGIT, git, nbgit, within

from nbgit.notebook import Notebook, parse, serialise
from nbgit.policy import load_policy
from nbgit.sync.apply import apply
from nbgit.sync.model import CONFLICT, IN_STEP
from nbgit.sync.plan import plan
from nbgit.twins import twin_text

KERNELS = {
    "python": ({"name": "python3", "display_name": "Python 3", "language": "python"}, {"name": "python", "file_extension": ".py"}),
    "R": ({"name": "ir", "display_name": "R", "language": "R"}, {"name": "R", "file_extension": ".r"}),
    "julia": ({"name": "julia-1.9", "display_name": "Julia 1.9", "language": "julia"}, {"name": "julia", "file_extension": ".jl"}),
}
SOURCES = ["# Title\n\nSome text.", "x = 1\ny = 2", "def f(a):\n    return a + 1", "print(f(x))"]


def notebook_bytes(sources: list[str] = SOURCES, kernel: str = "python", outputs: bool = True) -> bytes:
    """A small nbformat 4.5 notebook: the first source is markdown, the rest code cells with outputs."""
    cells = []
    for number, source in enumerate(sources):
        if number == 0:
            cells.append({"cell_type": "markdown", "id": f"c{number}", "metadata": {}, "source": source})
            continue
        cells.append(
            {
                "cell_type": "code",
                "execution_count": number,
                "id": f"c{number}",
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": f"output {number}\n"}] if outputs else [],
                "source": source,
            }
        )
    kernelspec, language_info = KERNELS[kernel]
    content = {"cells": cells, "metadata": {"kernelspec": kernelspec, "language_info": language_info}, "nbformat": 4, "nbformat_minor": 5}
    return serialise(Notebook(content, 4))


def set_cell(path: Path, index: int, source: str) -> None:
    """Edit one cell's source in a notebook file, as Jupyter would save it."""
    notebook = parse(path.read_bytes())
    notebook.content["cells"][index]["source"] = source
    path.write_bytes(serialise(notebook))


def sources(path: Path) -> list[str]:
    return [cell["source"] for cell in parse(path.read_bytes()).content["cells"]]


def enable_pairing(repo: Path, extra: str = "") -> None:
    (repo / ".nbgit.toml").write_text(f"[pair]\nenabled = true\n{extra}")


@pytest.fixture
def paired(repo: Path) -> Path:
    """A repository with a.ipynb and its twin a.py, committed in step."""
    enable_pairing(repo)
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    done = nbgit(repo, "pair")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "paired a.ipynb with a.py\n"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pair")
    return repo


def expected_twin(repo: Path, notebook: Path) -> bytes:
    parsed = parse(notebook.read_bytes())
    return twin_text(parsed.content, load_policy(repo), "a.ipynb", "py:percent", parsed.major).encode()


def test_pair_writes_percent_twin_beside(paired: Path) -> None:
    text = (paired / "a.py").read_text()
    assert "# %% [markdown]\n# # Title\n" in text
    assert "# %%\nx = 1\ny = 2\n" in text
    assert (paired / "a.py").read_bytes() == expected_twin(paired, paired / "a.ipynb")
    done = nbgit(paired, "sync", "--check")
    assert (done.returncode, done.stdout) == (0, b"")


@pytest.mark.parametrize(("kernel", "extension"), [("python", ".py"), ("R", ".R"), ("julia", ".jl")])
def test_twin_extension_follows_kernel(repo: Path, kernel: str, extension: str) -> None:
    enable_pairing(repo)
    (repo / "model.ipynb").write_bytes(notebook_bytes(["# M", "x <- 1" if kernel == "R" else "x = 1"], kernel=kernel))
    done = nbgit(repo, "pair")
    assert done.returncode == 0, done.stderr
    twin = repo / f"model{extension}"
    assert twin.is_file()
    assert "format_name: percent" in twin.read_text()
    assert "x = 1" in twin.read_text() or "x <- 1" in twin.read_text()


def test_mirror_folder(repo: Path) -> None:
    enable_pairing(repo, '[pair.folders]\nnotebooks = "scripts"\n')
    (repo / "notebooks" / "sub").mkdir(parents=True)
    (repo / "notebooks" / "sub" / "a.ipynb").write_bytes(notebook_bytes())
    (repo / "top.ipynb").write_bytes(notebook_bytes())
    done = nbgit(repo, "sync", "--all")
    assert done.returncode == 0, done.stderr
    assert (repo / "scripts" / "sub" / "a.py").is_file()
    assert not (repo / "top.py").exists(), "notebooks outside the mirrored folder are not paired"
    assert not (repo / "notebooks" / "sub" / "a.py").exists()


@pytest.mark.parametrize("folders", ['{notebooks = "../scripts"}', '{notebooks = "/tmp/scripts"}', '{"../nb" = "scripts"}'])
def test_policy_folder_outside_repository_is_an_error_naming_the_key(repo: Path, folders: str) -> None:
    (repo / ".nbgit.toml").write_text(f"[pair]\nenabled = true\nfolders = {folders}\n")
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    done = nbgit(repo, "sync")
    assert done.returncode == 2
    assert b"pair.folders" in done.stderr and b"Traceback" not in done.stderr
    assert not (repo / "a.py").exists()


def test_only_notebook_changed_rewrites_twin(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 10\ny = 2")
    notebook_before = (paired / "a.ipynb").read_bytes()
    check = nbgit(paired, "sync", "--check")
    assert check.returncode == 1 and b"a.ipynb: notebook changed" in check.stdout
    assert (paired / "a.ipynb").read_bytes() == notebook_before
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"updated a.py from a.ipynb\n"
    assert (paired / "a.ipynb").read_bytes() == notebook_before
    assert (paired / "a.py").read_bytes() == expected_twin(paired, paired / "a.ipynb")
    assert "x = 10\ny = 2\n" in (paired / "a.py").read_text()
    assert nbgit(paired, "sync", "--check").returncode == 0


def test_only_twin_changed_updates_notebook_keeping_outputs(paired: Path) -> None:
    before = parse((paired / "a.ipynb").read_bytes()).content
    twin_before = (paired / "a.py").read_bytes()
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 100\n"))
    twin_edited = (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stderr
    assert b"updated a.ipynb from a.py" in done.stdout
    assert (paired / "a.py").read_bytes() == twin_edited != twin_before
    after = parse((paired / "a.ipynb").read_bytes()).content
    assert [c["source"] for c in after["cells"]] == [SOURCES[0], "x = 100\ny = 2", *SOURCES[2:]]
    for old, new in zip(before["cells"][2:], after["cells"][2:]):
        assert old == new, "unchanged cells keep outputs, counts, ids and metadata"
    assert after["metadata"] == before["metadata"]
    assert nbgit(paired, "sync", "--check").returncode == 0


@pytest.mark.parametrize("merged", [False, True], ids=["twin-only", "both-sides"])
def test_a_twin_saved_with_a_byte_order_mark_is_read_as_its_text(paired: Path, merged: bool) -> None:
    """An editor that saves the twin with a UTF-8 BOM: its edit comes over, and its header does not
    become a cell of the notebook (jupytext reads a header behind a BOM as a raw cell)."""
    text = (paired / "a.py").read_text().replace("x = 1\n", "x = 100\n")
    (paired / "a.py").write_bytes(b"\xef\xbb\xbf" + text.encode())
    if merged:
        set_cell(paired / "a.ipynb", 3, "print(f(x) + 1)")
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stderr
    assert sources(paired / "a.ipynb") == [SOURCES[0], "x = 100\ny = 2", SOURCES[2], "print(f(x) + 1)" if merged else SOURCES[3]]
    assert nbgit(paired, "sync", "--check").returncode == 0


def test_two_notebooks_whose_twins_are_one_file_are_an_error_that_writes_nothing(repo: Path) -> None:
    """a.ipynb's own formats place its twin at a_x.py, where the policy places the twin of a_x.ipynb:
    syncing either would write the other's twin. Both pairs are errors naming the other notebook."""
    enable_pairing(repo)
    (repo / "a_x.ipynb").write_bytes(notebook_bytes())
    own = parse(notebook_bytes(["# Other", "z = 0"]))
    own.content["metadata"]["jupytext"] = {"formats": "ipynb,_x.py:percent"}
    (repo / "a.ipynb").write_bytes(serialise(own))
    before = {name: (repo / name).read_bytes() for name in ("a.ipynb", "a_x.ipynb")}
    done = nbgit(repo, "sync", "--all")
    said = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in said, said
    assert "a_x.py: the twin of a.ipynb is one file with the twin of a_x.ipynb" in said, said
    assert "a_x.py: the twin of a_x.ipynb is one file with the twin of a.ipynb" in said, said
    assert {name: (repo / name).read_bytes() for name in before} == before and not (repo / "a_x.py").exists()


def test_both_changed_identically_writes_nothing(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 5\ny = 2")
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 5\n"))
    nb, tw = (paired / "a.ipynb").read_bytes(), (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync")
    assert (done.returncode, done.stdout) == (0, b"")
    assert (paired / "a.ipynb").read_bytes() == nb and (paired / "a.py").read_bytes() == tw


def test_both_changed_differently_is_a_conflict_that_writes_nothing(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 'notebook'\ny = 2")
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 'text'\n"))
    nb, tw = (paired / "a.ipynb").read_bytes(), (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync")
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "conflict: a.ipynb and a.py were both edited" in out
    assert "-x = 1\n" in out and "+x = 'notebook'\n" in out and "+x = 'text'\n" in out
    assert "nbgit sync --take notebook a.ipynb" in out and "nbgit sync --take text a.ipynb" in out
    assert (paired / "a.ipynb").read_bytes() == nb and (paired / "a.py").read_bytes() == tw
    assert nbgit(paired, "sync", "--check").returncode == 1

    taken = nbgit(paired, "sync", "--take", "text", "a.ipynb")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert sources(paired / "a.ipynb")[1] == "x = 'text'\ny = 2"
    assert (paired / "a.py").read_bytes() == tw
    assert nbgit(paired, "sync", "--check").returncode == 0


def test_a_conflict_in_a_cell_of_many_repeated_lines_is_reported_in_bounded_time(repo: Path) -> None:
    """A cell of 15,000 lines cycling through 150: the notebook gives each a new line after it, the twin
    edits the first. The conflict report's diff of the notebook side (difflib) ran for minutes, and
    `nbgit sync` with it, from the pre-commit hook too; past the budget it is one hunk."""
    enable_pairing(repo)
    lines = [f"v{n % 150} = 0" for n in range(15_000)]
    (repo / "a.ipynb").write_bytes(notebook_bytes(["# Title", "\n".join(lines)], outputs=False))
    assert nbgit(repo, "pair").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pair")
    interleaved = [line for n, kept in enumerate(lines) for line in (kept, f"w{n} = 1")]
    set_cell(repo / "a.ipynb", 1, "\n".join(interleaved))
    (repo / "a.py").write_text((repo / "a.py").read_text().replace("v0 = 0\n", "text = 1\n", 1))
    done = within(60, repo, str(NBGIT), "sync")
    assert done.returncode == 1, done.stderr
    out = done.stdout.decode()
    assert "conflict: a.ipynb and a.py were both edited" in out and "nbgit sync --take text a.ipynb" in out
    shown = [line.strip() for line in out.splitlines()]
    assert "+w14999 = 1" in shown and shown[shown.index("+text = 1") - 1] == "-v0 = 0"


def test_conflict_take_notebook(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 'notebook'\ny = 2")
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 'text'\n"))
    nb = (paired / "a.ipynb").read_bytes()
    taken = nbgit(paired, "sync", "--take", "notebook")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert (paired / "a.ipynb").read_bytes() == nb
    assert (paired / "a.py").read_bytes() == expected_twin(paired, paired / "a.ipynb")


def test_edits_that_do_not_overlap_merge(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 'notebook'\ny = 2")
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("print(f(x))", "print(f(x) * 2)"))
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"merged the edits of a.ipynb and a.py" in done.stdout
    assert sources(paired / "a.ipynb") == [SOURCES[0], "x = 'notebook'\ny = 2", SOURCES[2], "print(f(x) * 2)"]
    assert (paired / "a.py").read_bytes() == expected_twin(paired, paired / "a.ipynb")
    outputs = [c.get("outputs") for c in parse((paired / "a.ipynb").read_bytes()).content["cells"]]
    assert outputs[2] == [{"name": "stdout", "output_type": "stream", "text": "output 2\n"}]


def test_new_notebook_without_history_gets_a_twin(paired: Path) -> None:
    (paired / "b.ipynb").write_bytes(notebook_bytes(["# B", "b = 1"]))
    done = nbgit(paired, "sync", "--all")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"created b.py from b.ipynb\n"
    assert "b = 1" in (paired / "b.py").read_text()


def test_new_twin_without_notebook_builds_the_notebook(paired: Path) -> None:
    text = (paired / "a.py").read_text().replace("x = 1", "x = 7")
    (paired / "c.py").write_text(text)
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"created c.ipynb from c.py\n"
    assert sources(paired / "c.ipynb") == [SOURCES[0], "x = 7\ny = 2", *SOURCES[2:]]
    assert (paired / "c.py").read_text() == text
    assert nbgit(paired, "sync", "--check").returncode == 0


def test_plain_script_beside_nothing_is_left_alone(paired: Path) -> None:
    (paired / "tool.py").write_text("print('not a twin')\n")
    done = nbgit(paired, "sync", "--all")
    assert (done.returncode, done.stdout) == (0, b"")
    assert not (paired / "tool.ipynb").exists()


def test_deleted_notebook_leaves_an_orphaned_twin_that_is_reported(paired: Path) -> None:
    (paired / "a.ipynb").unlink()
    twin = (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync")
    assert done.returncode == 1
    assert b"orphaned twin" in done.stdout and b"git rm a.py" in done.stdout
    assert (paired / "a.py").read_bytes() == twin and not (paired / "a.ipynb").exists()
    rebuilt = nbgit(paired, "sync", "--take", "text", "a.py")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert sources(paired / "a.ipynb") == SOURCES


def test_deleted_twin_is_reported_and_recreated_on_request(paired: Path) -> None:
    twin = (paired / "a.py").read_bytes()
    git(paired, "rm", "-q", "a.py")
    nb = (paired / "a.ipynb").read_bytes()
    done = nbgit(paired, "sync")
    assert done.returncode == 1 and b"twin deleted" in done.stdout
    assert not (paired / "a.py").exists() and (paired / "a.ipynb").read_bytes() == nb
    assert nbgit(paired, "sync", "--take", "notebook").returncode == 0
    assert (paired / "a.py").read_bytes() == twin


def test_renamed_notebook_gets_a_new_twin_and_the_old_one_is_reported(paired: Path) -> None:
    git(paired, "mv", "a.ipynb", "b.ipynb")
    done = nbgit(paired, "sync")
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "created b.py from b.ipynb" in out
    assert "orphaned twin: a.py" in out
    assert (paired / "b.py").read_text().replace("b.ipynb", "a.ipynb") == (paired / "a.py").read_text()


def test_staged_pair_is_the_base_when_in_step(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 2\ny = 2")
    assert nbgit(paired, "sync").returncode == 0
    git(paired, "add", "a.ipynb", "a.py")
    set_cell(paired / "a.ipynb", 3, "print(f(x) + 1)")
    (paired / ".git" / "nbgit-pairs.json").unlink()  # judge by git alone
    done = nbgit(paired, "sync")
    assert done.returncode == 0, done.stdout
    assert done.stdout == b"updated a.py from a.ipynb\n"
    assert "x = 2\n" in (paired / "a.py").read_text() and "print(f(x) + 1)" in (paired / "a.py").read_text()


def test_only_notebook_staged_still_updates_twin(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 3\ny = 2")
    git(paired, "add", "a.ipynb")
    done = nbgit(paired, "sync")
    assert done.stdout == b"updated a.py from a.ipynb\n"


def test_a_committed_twin_only_edit_is_carried_into_the_notebook(paired: Path) -> None:
    """The pair was in step in the commit before: that commit is the base, so the twin's edit wins."""
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 9\n"))
    git(paired, "commit", "-q", "-am", "twin only")
    (paired / ".git" / "nbgit-pairs.json").unlink()
    check = nbgit(paired, "sync", "--check")
    assert check.returncode == 1 and b"a.ipynb: twin changed" in check.stdout
    done = nbgit(paired, "sync")
    assert done.returncode == 0 and done.stdout == b"updated a.ipynb from a.py (outputs of unchanged cells kept)\n"
    assert sources(paired / "a.ipynb")[1] == "x = 9\ny = 2"


def test_a_pair_never_in_step_needs_a_decision(repo: Path) -> None:
    enable_pairing(repo)
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    assert nbgit(repo, "pair").returncode == 0
    (repo / "a.py").write_text((repo / "a.py").read_text().replace("x = 1\n", "x = 9\n"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "committed out of step")
    (repo / ".git" / "nbgit-pairs.json").unlink()
    files = (repo / "a.ipynb").read_bytes(), (repo / "a.py").read_bytes()
    check = nbgit(repo, "sync", "--check")
    assert check.returncode == 1 and b"a.ipynb: never in step (needs a decision)" in check.stdout
    done = nbgit(repo, "sync")
    assert done.returncode == 1 and b"no commit of their history" in done.stdout and b"--take notebook|text a.ipynb" in done.stdout
    assert ((repo / "a.ipynb").read_bytes(), (repo / "a.py").read_bytes()) == files
    assert nbgit(repo, "sync", "--take", "text").returncode == 0
    assert sources(repo / "a.ipynb")[1] == "x = 9\ny = 2"


def test_check_changes_nothing_and_says_what_sync_would_do(paired: Path) -> None:
    (paired / "a.py").write_text((paired / "a.py").read_text().replace("x = 1\n", "x = 4\n"))
    files = (paired / "a.ipynb").read_bytes(), (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync", "--check", "--all")
    assert done.returncode == 1 and b"twin changed (nbgit sync would do it)" in done.stdout
    assert ((paired / "a.ipynb").read_bytes(), (paired / "a.py").read_bytes()) == files
    assert nbgit(paired, "sync", "--check", "--take", "text").returncode == 2


def test_a_file_changed_during_sync_is_not_overwritten(paired: Path) -> None:
    set_cell(paired / "a.ipynb", 1, "x = 'planned'\ny = 2")
    policy = load_policy(paired)
    run = plan(paired, policy, None)
    (paired / "a.py").write_text((paired / "a.py").read_text() + "\n# edited meanwhile\n")
    edited = (paired / "a.py").read_bytes()
    apply(run, None)
    assert (paired / "a.py").read_bytes() == edited
    assert run.plans[0].status.state == CONFLICT
    assert list(paired.glob(".*.nbgit-tmp")) == []


def test_nothing_to_do_does_not_import_jupytext(paired: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "sync", "--all"], cwd=paired, capture_output=True)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines() if "|" in line}
    assert "nbgit.sync.plan" in imported
    assert not {"jupytext", "nbformat", "nbgit.twins", "nbgit.sync.judge"} & imported
    # and the slow path agrees: without the cache the pair is judged through jupytext, in step
    (paired / ".git" / "nbgit-pairs.json").unlink()
    assert [s.state for s in (p.status for p in plan(paired, load_policy(paired), None).plans)] == [IN_STEP]


def test_unreadable_notebook_is_an_error_naming_the_file(paired: Path) -> None:
    (paired / "a.ipynb").write_text('{"cells": [')
    twin = (paired / "a.py").read_bytes()
    done = nbgit(paired, "sync")
    assert done.returncode == 2
    assert b"a.ipynb" in done.stderr and b"Traceback" not in done.stderr
    assert (paired / "a.py").read_bytes() == twin


def test_pair_without_policy_then_sync_follows_the_pair(repo: Path) -> None:
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    (repo / "other.ipynb").write_bytes(notebook_bytes())
    assert nbgit(repo, "pair", "a.ipynb").returncode == 0
    assert (repo / "a.py").exists() and not (repo / "other.py").exists()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one pair")
    (repo / ".git" / "nbgit-pairs.json").unlink()  # a fresh clone: the twin's header marks the pair
    set_cell(repo / "a.ipynb", 1, "x = 3\ny = 2")
    done = nbgit(repo, "sync", "--all")
    assert done.stdout == b"updated a.py from a.ipynb\n"
    assert not (repo / "other.py").exists()


def test_filter_interplay_twin_agrees_with_committed_notebook(repo: Path) -> None:
    enable_pairing(repo)
    git(repo, "config", "filter.nbgit.process", "nbgit-filter-process")
    (repo / ".gitattributes").write_text("*.ipynb filter=nbgit\n")
    content = json.loads(notebook_bytes())
    content["cells"][1]["metadata"] = {"ExecuteTime": {"start": "2024"}, "tags": ["keep"], "papermill": {"duration": 1.0}}
    content["metadata"]["widgets"] = {"state": {}}
    (repo / "a.ipynb").write_bytes(serialise(Notebook(content, 4)))
    assert nbgit(repo, "pair").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pair")
    committed = git(repo, "show", "HEAD:a.ipynb").stdout
    assert b"outputs\": []" in committed and b"ExecuteTime" not in committed, "the filter cleaned the notebook"
    parsed = parse(committed)
    assert (repo / "a.py").read_text() == twin_text(parsed.content, load_policy(repo), "a.ipynb", "py:percent")
    assert "papermill=" not in (repo / "a.py").read_text() and "ExecuteTime=" not in (repo / "a.py").read_text() and 'tags=["keep"]' in (repo / "a.py").read_text()
    (repo / ".git" / "nbgit-pairs.json").unlink()
    assert nbgit(repo, "sync", "--check").returncode == 0
    # a twin edit comes back into the working notebook, outputs kept; the commit stays clean
    (repo / "a.py").write_text((repo / "a.py").read_text().replace("print(f(x))", "print(f(x) - 1)"))
    assert nbgit(repo, "sync").returncode == 0
    assert parse((repo / "a.ipynb").read_bytes()).content["cells"][3]["outputs"]
    git(repo, "add", "-A")
    assert git(repo, "status", "--porcelain").stdout == b"M  a.ipynb\nM  a.py\n"
    assert nbgit(repo, "sync", "--check").returncode == 0


def test_many_pairs_are_judged_and_written_alike_by_worker_processes(repo: Path) -> None:
    # 40 pairs: enough for sync to judge and write them in worker processes on a machine with 2+ cores
    enable_pairing(repo)
    count = 40
    for number in range(count):
        (repo / f"n{number:02}.ipynb").write_bytes(notebook_bytes([f"# Notebook {number}", "x = 1\ny = 2", "print(x)"]))
    assert nbgit(repo, "pair").returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pairs")
    (repo / ".git" / "nbgit-pairs.json").unlink()  # every pair judged through jupytext, none known in step
    for number in range(count):
        notebook, twin = repo / f"n{number:02}.ipynb", repo / f"n{number:02}.py"
        if number % 4 == 0:
            set_cell(notebook, 1, f"x = {number}\ny = 2")
        elif number % 4 == 1:
            twin.write_text(twin.read_text().replace("print(x)", f"print(x + {number})"))
        elif number % 4 == 2:
            set_cell(notebook, 1, "x = 'notebook'\ny = 2")
            twin.write_text(twin.read_text().replace("x = 1\n", "x = 'text'\n"))
    before = {path.name: path.read_bytes() for path in repo.iterdir() if path.is_file()}
    done = nbgit(repo, "sync", "--all")
    assert done.returncode == 1, "the pairs edited on both sides are conflicts"
    out = done.stdout.decode()
    for number in range(count):
        notebook, twin = repo / f"n{number:02}.ipynb", repo / f"n{number:02}.py"
        if number % 4 == 0:
            assert f"updated n{number:02}.py from n{number:02}.ipynb" in out
            assert f"x = {number}\n" in twin.read_text()
            assert twin.read_bytes() == expected_twin(repo, notebook)
        elif number % 4 == 1:
            assert f"updated n{number:02}.ipynb from n{number:02}.py" in out
            assert sources(notebook)[2] == f"print(x + {number})"
            assert parse(notebook.read_bytes()).content["cells"][1]["outputs"], "outputs of unchanged cells stay"
        elif number % 4 == 2:
            assert f"conflict: n{number:02}.ipynb and n{number:02}.py were both edited" in out
            assert notebook.read_bytes() == before[notebook.name] and twin.read_bytes() == before[twin.name]
        else:
            assert notebook.read_bytes() == before[notebook.name] and twin.read_bytes() == before[twin.name]
    assert out.count("conflict:") == count // 4
    assert json.loads((repo / ".git" / "nbgit-pairs.json").read_bytes())["pairs"].keys() == {
        f"n{number:02}.ipynb" for number in range(count) if number % 4 != 2
    }


def test_pair_format_flag_writes_that_twin_and_records_it_in_the_notebook(repo: Path) -> None:
    """`nbgit pair --format md` (jupytext's habit): this run's twins are Markdown, and each notebook names
    its format in `metadata.jupytext.formats`, so that nbgit sync and jupytext (JupyterLab) keep that twin."""
    enable_pairing(repo, 'format = "py:percent"\n')
    (repo / "a.ipynb").write_bytes(notebook_bytes())
    (repo / "b.ipynb").write_bytes(notebook_bytes())
    assert nbgit(repo, "pair", "b.ipynb").returncode == 0  # already paired: --format leaves it alone
    b_before = (repo / "b.ipynb").read_bytes()
    done = nbgit(repo, "pair", "--format", "md")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"paired a.ipynb with a.md\n"
    assert not (repo / "a.py").exists() and (repo / "b.ipynb").read_bytes() == b_before
    assert parse((repo / "a.ipynb").read_bytes()).content["metadata"]["jupytext"] == {"formats": "ipynb,md"}
    assert "# Title" in (repo / "a.md").read_text() and "formats: ipynb,md" in (repo / "a.md").read_text()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pairs")
    with (repo / "a.md").open("a") as twin:
        twin.write("\nA paragraph written in the twin.\n")
    done = nbgit(repo, "sync")  # follows the notebook's own format, not the policy's py:percent
    assert done.stdout == b"updated a.ipynb from a.md (outputs of unchanged cells kept)\n", done.stderr
    assert sources(repo / "a.ipynb")[-1] == "A paragraph written in the twin." and not (repo / "a.py").exists()
    with (repo / "a.md").open("a") as twin:
        twin.write("\nAnd one more.\n")
    jupytext = Path(sys.executable).with_name("jupytext")
    subprocess.run([str(jupytext), "--sync", "a.ipynb"], cwd=repo, capture_output=True, check=True)
    assert sources(repo / "a.ipynb")[-1].endswith("And one more.")
    bad = nbgit(repo, "pair", "--format", "ipynb", "a.ipynb")
    assert bad.returncode == 2 and b"`pair.format` must be a jupytext text format" in bad.stderr
