"""textconv: readable, deterministic, never failing; through git's real textconv wiring on the corpus."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import nbformat
import pytest
from conftest import NBGIT, corpus_files, git, nbgit

from nbgit import __version__
from nbgit.clean import clean_bytes
from nbgit.errors import NbgitError
from nbgit.install.wiring import CELL_HEADER_REGEX
from nbgit.notebook import NotebookError, parse
from nbgit.policy import Policy, policy_from_table
from nbgit.render import textconv
from nbgit.terminal import visible

# what `nbgit install` writes: git takes the hunk header from the first group, the whole header line
FUNCNAME = CELL_HEADER_REGEX


# the program `nbgit install` wires: nbgit_textconv.py, beside nbgit, run without site
TEXTCONV = [str(NBGIT.with_name("python")), "-S", str(importlib.util.find_spec("nbgit_textconv").origin)]  # type: ignore[union-attr]


def wire_textconv(repo: Path, cache: bool = True) -> None:
    """What `nbgit install` writes for readable diffs, set up by hand."""
    git(repo, "config", "diff.nbgit.textconv", f"NBGIT_VERSION={__version__} exec {shlex.join(TEXTCONV)} --")
    git(repo, "config", "diff.nbgit.cachetextconv", "true" if cache else "false")
    git(repo, "config", "diff.nbgit.xfuncname", FUNCNAME)
    (repo / ".gitattributes").write_text("*.ipynb diff=nbgit\n")


def corpus_inputs() -> list[Path]:
    """Every notebook-named file of the corpus: real notebooks, malformed ones, the peers' fixtures."""
    bad = [p for p in corpus_files("bad_inputs", "**/*") if p.is_file() and p.name != "MANIFEST.tsv"]
    return corpus_files("dev") + bad + corpus_files("peer")


def readable(data: bytes) -> bool:
    try:
        parse(data)
    except NotebookError:
        return False
    return True


def file_sections(diff: str) -> dict[str, str]:
    """`git diff` / `git show` output split per file (keyed by the b/ path)."""
    sections = {}
    for chunk in diff.split("diff --git ")[1:]:
        first = chunk.split("\n", 1)[0]
        sections[first.split(" b/", 1)[1]] = chunk
    return sections


def changed_lines(section: str) -> tuple[list[str], list[str]]:
    body = section.split("\n@@", 1)[1] if "\n@@" in section else ""
    lines = body.splitlines()
    return [l[1:] for l in lines if l.startswith("-")], [l[1:] for l in lines if l.startswith("+")]


def first_code_line(data: bytes) -> tuple[int, int] | None:
    """(cell index, line index) of the first non-blank code line of a v4 notebook, if any."""
    content = json.loads(data)
    for k, cell in enumerate(content.get("cells", [])):
        source = cell.get("source", "")
        lines = ("".join(source) if isinstance(source, list) else source).splitlines()
        if cell.get("cell_type") == "code":
            for n, line in enumerate(lines):
                if line.strip() and not line.startswith("["):
                    return k, n
    return None


def edit_line(data: bytes, cell: int, line: int) -> tuple[bytes, str, str]:
    """The notebook with one source line changed, and that line before and after."""
    content = json.loads(data)
    source = content["cells"][cell]["source"]
    lines = ("".join(source) if isinstance(source, list) else source).splitlines(True)
    old = lines[line].splitlines()[0]
    lines[line] = lines[line].replace(old, old + "  # edited", 1)
    content["cells"][cell]["source"] = lines
    return json.dumps(content, indent=1).encode(), old, old + "  # edited"


def committed(data: bytes, name: str) -> bytes:
    """What the clean filter commits: the cleaned notebook, or bad input unchanged."""
    try:
        return clean_bytes(data, name, Policy())
    except NbgitError:
        return data


@pytest.mark.corpus
def test_textconv_never_fails_and_is_deterministic_on_every_corpus_file(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    """Every corpus file through the command itself (in process): output, never an exception; bad input as it is."""
    from nbgit.commands import textconv as command

    inputs = corpus_inputs()
    assert len(inputs) > 350
    for path in inputs:
        data = path.read_bytes()
        assert command.run(str(path)) == 0
        out = capfdbinary.readouterr().out
        if readable(data):
            assert out.startswith(b"nbformat ") and out == textconv(data, str(path), Policy()), path
        else:  # as it is, its control characters shown (git shows textconv's output on a terminal)
            assert out == visible(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"), path


def major_of(path: Path) -> int:
    try:
        return parse(path.read_bytes()).major
    except NotebookError:
        return 0


def git_sample() -> list[Path]:
    """The files run through git (each costs a process): all bad input, some v3, some real and nbdime's."""
    dev = corpus_files("dev")
    old = [p for p in dev if major_of(p) == 3][:6]
    bad = [p for p in corpus_files("bad_inputs", "**/*") if p.is_file() and p.name != "MANIFEST.tsv"]
    return list(dict.fromkeys([*bad, *old, *dev[::15], *corpus_files("peer", "nbdime/**/*.ipynb")[::3]]))


@pytest.mark.corpus
def test_textconv_through_git(repo: Path) -> None:
    """git's real textconv wiring: diffs never die, match the rendering in another process, read like code."""
    wire_textconv(repo)
    policy = Policy()
    names: dict[str, bytes] = {}
    for k, source in enumerate(git_sample()):
        name = f"nb/{k:03d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', source.stem)}.ipynb"
        names[name] = data = source.read_bytes()
        target = repo / name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(committed(data, name))  # the committed side is clean, as the filter leaves it
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "corpus")
    env = {**os.environ, "PYTHONHASHSEED": "4242"}  # another hash seed than this process: determinism

    sections = file_sections(git_text(repo, ["show", "--format=", "HEAD"], env))
    rendered = 0
    for name, data in names.items():
        if readable(data):
            expected = textconv(committed(data, name), name, policy).decode()
            assert changed_lines(sections[name])[1] == expected.splitlines(), name
            rendered += 1
    assert rendered > 30

    # the work tree holds the raw files (outputs and all): against the clean commit, nothing shows
    for name, data in names.items():
        (repo / name).write_bytes(data)
    assert [n for n in file_sections(git_text(repo, ["diff"], env)) if readable(names[n])] == []

    # a one-line code edit shows as exactly that line, in a hunk named by its cell
    edits = {}
    for name, data in names.items():
        (repo / name).write_bytes(committed(data, name))
        if readable(data) and parse(data).major == 4 and first_code_line(data):
            new, old_line, new_line = edit_line(data, *first_code_line(data))
            (repo / name).write_bytes(committed(new, name))  # committed through the filter
            edits[name] = (old_line, new_line, first_code_line(data)[0])
    assert len(edits) > 20
    git(repo, "commit", "-q", "-a", "-m", "edits")
    sections = file_sections(git_text(repo, ["log", "-p", "-1", "--format="], env))
    for name, (old_line, new_line, cell) in edits.items():
        assert changed_lines(sections[name]) == ([old_line], [new_line]), name
        if cell > 0:  # the hunk starts below a cell header, which names it
            assert re.search(r"^@@ .* @@ \[(code|markdown|raw)[\] ]", sections[name], re.M), name
    # git's diffstat runs no textconv: it counts stored JSON lines, one per source line once cleaned
    stat = git_text(repo, ["show", "--stat", "--format=", "HEAD"], env)
    assert f"{len(edits)} files changed, {len(edits)} insertions(+), {len(edits)} deletions(-)" in stat


def git_text(repo: Path, args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, env=env)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("source", [p for p in corpus_files("bad_inputs", "**/*") if p.is_file() and p.name != "MANIFEST.tsv"][:12], ids=lambda p: p.name)
def test_cli_passes_bad_input_through(source: Path, tmp_path: Path) -> None:
    data = source.read_bytes()
    target = tmp_path / "bad.ipynb"
    target.write_bytes(data)
    for done in (nbgit(tmp_path, "textconv", str(target)), subprocess.run([*TEXTCONV, "--", str(target)], cwd=tmp_path, capture_output=True)):
        assert done.returncode == 0
        assert b"Traceback" not in done.stderr and len(done.stderr.splitlines()) <= 1
        if not readable(data):
            assert done.stdout == data


def textconv_program(repo: Path, name: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*TEXTCONV, "--", name], cwd=repo, capture_output=True)


@pytest.mark.parametrize("notebook, policy", [
    ({"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["keep_output"]}, "outputs": [
        {"name": "stdout", "output_type": "stream", "text": "kept\n"}], "source": "print('kept')"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}, ""),
    ({"cells": [], "metadata": {"jupytext": {"encoding": "# -*- coding: utf-8 -*-"}}, "nbformat": 4, "nbformat_minor": 5}, ""),
    ({"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "x = 1"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4},
     'execution_count = "keep"\n'),
    ({"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "x = 1"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4},
     '[tool.nbgit]\nexecution_count = "keep"\n'),
], ids=["kept-outputs", "jupytext-echo", "nbgit-toml", "pyproject"])
def test_the_program_leaves_to_the_full_renderer_what_the_quick_view_cannot_tell(repo: Path, notebook: dict, policy: str) -> None:
    (repo / "a.ipynb").write_text(json.dumps(notebook))
    if policy:
        (repo / (".nbgit.toml" if policy.startswith("execution") else "pyproject.toml")).write_text(policy)
    done = textconv_program(repo, "a.ipynb")
    from nbgit.policy import load_policy

    assert done.returncode == 0 and done.stderr == b""
    assert done.stdout == textconv((repo / "a.ipynb").read_bytes(), "a.ipynb", load_policy(repo))
    assert (b"kept" in done.stdout) == ("keep_output" in json.dumps(notebook)) and (b"In [1]" in done.stdout) == bool(policy)


def test_the_program_says_how_it_is_used_and_never_fails_on_a_notebook(repo: Path) -> None:
    for args in ([], ["a.ipynb", "b.ipynb"], ["-x"]):
        done = subprocess.run([*TEXTCONV, *args], cwd=repo, capture_output=True)
        assert done.returncode == 2 and done.stderr == b"usage: nbgit-textconv [--] FILE\n" and done.stdout == b""
    done = textconv_program(repo, "missing.ipynb")
    assert done.returncode == 0 and done.stdout == b"" and done.stderr.startswith(b"nbgit: warning: missing.ipynb: cannot read")
    (repo / "a.ipynb").write_bytes(b'{"cells": [{"cell_type": "code", "source": "\\ud800"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    done = textconv_program(repo, "a.ipynb")  # a lone surrogate cannot be written as UTF-8: the raw file, and why
    assert done.returncode == 0 and done.stdout == (repo / "a.ipynb").read_bytes()
    assert done.stderr.startswith(b"nbgit: warning: a.ipynb: cannot render (UnicodeEncodeError") and len(done.stderr.splitlines()) == 1


def test_cli_survives_a_broken_policy_and_a_missing_file(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text("outputs = 'sometimes'\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    (repo / "a.ipynb").write_text(nbformat.writes(nb))
    done = nbgit(repo, "textconv", "a.ipynb")
    assert done.returncode == 0 and b"print(1)" in done.stdout
    assert b"default policy" in done.stderr
    done = nbgit(repo, "textconv", "missing.ipynb")
    assert done.returncode == 0 and done.stdout == b""


def image_notebook() -> nbformat.NotebookNode:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()
    code = nbformat.v4.new_code_cell(
        "plot()",
        outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="".join(f"line {n}\n" for n in range(50))),
            nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("error", ename="ValueError", evalue="\x1b[31mbad value\x1b[0m", traceback=["tb"]),
        ],
        execution_count=3,
    )
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Title"), code],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def test_outputs_are_summarised_when_the_policy_keeps_them() -> None:
    nb = image_notebook()
    policy = policy_from_table({"outputs": "keep", "diff": {"max_output_lines": 5}}, "test")
    text = textconv(nbformat.writes(nb).encode(), "x.ipynb", policy).decode()
    lines = text.splitlines()
    assert lines[0] == "nbformat 4.5, kernel python3 (Python 3), language python"
    assert f"[code {nb.cells[1].id[:8]}]" in lines and f"[markdown {nb.cells[0].id[:8]}]" in lines
    stream_at = lines.index("  [stdout]")
    assert lines[stream_at + 1 : stream_at + 7] == [*(f"  line {n}" for n in range(5)), "  [... 45 more lines]"]
    png = base64.b64decode(nb.cells[1].outputs[1].data["image/png"])
    import hashlib

    assert f"  [display image/png {len(png):,} bytes sha256:{hashlib.sha256(png).hexdigest()[:8]}]" in lines
    assert "  ValueError: bad value" in lines  # ANSI colours gone
    assert "png" not in text.replace("image/png", "")  # no base64 in sight


def test_default_policy_strips_what_is_volatile() -> None:
    text = textconv(nbformat.writes(image_notebook()).encode(), "x.ipynb", Policy()).decode()
    assert "plot()" in text and "[stdout]" not in text and "In [" not in text


def sources_in_order(text: str, sources: list[str]) -> None:
    at = 0
    for source in sources:
        for line in source.splitlines():
            at = text.index(line.lstrip("#").strip(), at)  # v3 heading cells upgrade to "## text"


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_nbformat_version(version: int) -> None:
    """Notebooks written by nbformat's own writer for each version render every cell's source in order."""
    if version == 1:
        v = nbformat.v1
        nb = v.new_notebook(cells=[v.new_code_cell(code="x = 1\nprint(x)"), v.new_text_cell(text="Some *text*")])
        data, sources = v.writes_json(nb), ["x = 1\nprint(x)", "Some *text*"]
    elif version in (2, 3):
        v = nbformat.v2 if version == 2 else nbformat.v3
        png = base64.b64encode(b"img")
        out = v.new_output("pyout", output_text="42", output_png=png if version == 2 else png.decode(), prompt_number=1)
        cells = [v.new_code_cell(input="answer()\n# twice", outputs=[out], prompt_number=1), v.new_text_cell("markdown", source="Intro")]
        ws = v.new_worksheet(cells=cells)
        nb = v.new_notebook(worksheets=[ws], metadata=v.new_metadata(name="old"))
        data, sources = v.writes_json(nb), ["answer()\n# twice", "Intro"]
    else:
        nb = image_notebook()
        data, sources = nbformat.writes(nb), [c.source for c in nb.cells]
    keep = policy_from_table({"outputs": "keep", "execution_count": "keep"}, "test")
    text = textconv(data.encode(), "x.ipynb", keep).decode()
    assert text.startswith(f"nbformat {version}.")
    sources_in_order(text, sources)
    if version in (2, 3):
        assert "  [result text/plain]" in text and "  42" in text and "image/png 3 bytes" in text


@pytest.mark.corpus
def test_real_v3_and_v2_notebooks_render_all_cells() -> None:
    files = [p for p in corpus_files("dev") if major_of(p) == 3][:5]
    files += corpus_files("peer", "**/test_nbformat2.ipynb")
    assert len(files) >= 3
    for path in files:
        data = path.read_bytes()
        upgraded = nbformat.reads(data.decode(), as_version=4)
        text = textconv(data, path.name, Policy()).decode()
        sources_in_order(text, [c.source for c in upgraded.cells])
        assert len(re.findall(r"^\[(code|markdown|raw|heading \d)[\] ]", text, re.M)) == len(upgraded.cells)
