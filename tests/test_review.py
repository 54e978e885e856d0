"""Pull-request review: committed outputs appear, what a reader would not call a change does not, and a
one-cell insert in a notebook without ids is that cell only (reports, textconv, merges), in real repositories."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import corpus_files, git, nbgit
from PIL import Image

from nbgit.policy import policy_from_table
from nbgit.report.changes import ADDED, VOLATILE, build


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48), level: int = 6, note: str = "") -> str:
    """A real PNG (base64, as notebooks store it): one colour with a white square; `level` and `note`
    change the encoded bytes, never the pixels."""
    image = Image.new("RGB", size, colour)
    image.paste((255, 255, 255), (8, 8, 24, 24))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if note:
        info.add_text("Software", note)
    image.save(out, "PNG", compress_level=level, pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


def plot_cell(source: str, image: str, text: str, stdout: str = "") -> nbformat.NotebookNode:
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)] if stdout else []
    outputs.append(nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": text}))
    return nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=3)


def write(path: Path, cells: list[nbformat.NotebookNode], ids: bool = True) -> None:
    """A v4 notebook; without `ids`, nbformat 4.4 with no cell ids (as most notebooks in the wild)."""
    nb = nbformat.v4.new_notebook(cells=cells)
    if not ids:
        nb.nbformat_minor = 4
        for cell in nb.cells:
            cell.pop("id", None)
    path.write_text(nbformat.writes(nb, version=4) if ids else json.dumps(nb, indent=1, sort_keys=True) + "\n")


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


RED, BLUE = (200, 40, 40), (40, 80, 200)


def test_committed_outputs_with_swapped_images_appear_in_markdown_and_html(repo: Path) -> None:
    """No policy (outputs strip by default) and no filter, as a team that only wants PR reports: the
    commits hold outputs, so the report shows them."""
    red, blue = png(RED), png(BLUE)
    cells = [nbformat.v4.new_markdown_cell("# Plots", id="title"), plot_cell("plot(a)", red, "<Figure a>"), plot_cell("plot(b)", blue, "<Figure b>")]
    cells[1].id, cells[2].id = "plot-a", "plot-b"
    write(repo / "plots.ipynb", cells)
    commit(repo, "plots")
    cells[1].outputs[0].data["image/png"], cells[2].outputs[0].data["image/png"] = blue, red
    write(repo / "plots.ipynb", cells)
    commit(repo, "swap the plots")

    markdown = nbgit(repo, "diff", "HEAD~1..HEAD", "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    text = markdown.stdout.decode()
    assert "| `plots.ipynb` | modified | 2 modified |" in text
    digests = re.findall(r"image: image/png [\d,]+ bytes sha256:(\w+) -> image/png [\d,]+ bytes sha256:(\w+)", text)
    assert len(digests) == 2 and digests[0] == digests[1][::-1]  # each plot now shows the other's image
    assert text.count("plot(a)") == 1 and text.count("plot(b)") == 1  # the source, as context, once each

    html = nbgit(repo, "diff", "HEAD~1..HEAD", "--format", "html").stdout.decode()
    for before, after in ((red, blue), (blue, red)):
        flip = re.search(rf'<figure class="before">.*?base64,{re.escape(before)}".*?<figure class="after">.*?base64,{re.escape(after)}"', html)
        assert flip is not None
    assert html.count('<figure class="diff">') == 2 and "pixels changed" in html
    assert html.count('<details class="context"><summary>source (unchanged)</summary>') == 2

    hidden = nbgit(repo, "diff", "HEAD~1..HEAD", "--outputs", "hide").stdout.decode()
    assert "volatile only" in hidden and "image" not in hidden
    (repo / ".nbgit.toml").write_text('[diff]\noutputs = "hide"\n')  # the team's choice, in the policy
    assert nbgit(repo, "diff", "HEAD~1..HEAD").stdout.decode() == hidden
    assert "image: image/png" in nbgit(repo, "diff", "HEAD~1..HEAD", "--outputs", "show").stdout.decode()


def test_rerun_that_changes_only_bytes_addresses_and_timings_is_no_change(repo: Path) -> None:
    """A plot re-encoded to other bytes with the same pixels, new addresses, new timings: no changed cell.
    Without Pillow the same images are compared by bytes (the graceful fallback), and then they differ."""
    progress = "100%|##########| 10/10 [00:01<00:00,  9.50it/s]\n"
    first = [plot_cell("%time fig = plot()", png(RED), "<Figure size 640x480 with 1 Axes at 0x7f3a2b1c4d50>",
                       "CPU times: user 1.2 s, sys: 10 ms, total: 1.21 s\nWall time: 1.3 s\n" + progress)]
    first.append(nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "<object at 0x7f00aa11bb22>"}, execution_count=4)]))
    write(repo / "run.ipynb", first)
    commit(repo, "first run")
    again = json.loads((repo / "run.ipynb").read_text())
    plot = again["cells"][0]["outputs"]
    plot[0]["text"] = "CPU times: user 2.5 s, sys: 31 ms, total: 2.53 s\nWall time: 2.6 s\n" + progress.replace("01<00:00,  9.50", "02<00:00,  4.75")
    plot[1]["data"]["image/png"] = png(RED, level=1, note="another matplotlib")
    plot[1]["data"]["text/plain"] = "<Figure size 640x480 with 1 Axes at 0x7f99887766aa>"
    again["cells"][1]["outputs"][0]["data"]["text/plain"] = "<object at 0x7fee55443322>"
    assert plot[1]["data"]["image/png"] != first[0].outputs[1].data["image/png"]
    (repo / "run.ipynb").write_text(json.dumps(again, indent=1))
    commit(repo, "second run")

    report = build(["HEAD~1", "HEAD"], [], policy_from_table({}, "test"), repo)
    assert [(nb.path, nb.status, nb.cells) for nb in report.notebooks] == [("run.ipynb", VOLATILE, [])]
    assert "volatile only" in nbgit(repo, "diff", "HEAD~1..HEAD", "--format", "markdown").stdout.decode()

    # a user's pattern for their own volatile text; and a real change still shows
    (repo / ".nbgit.toml").write_text('[diff]\nvolatile_patterns = ["run id [0-9a-f]{8}"]\n')
    again["cells"][1]["outputs"][0]["data"]["text/plain"] = "<object at 0x7fee55443322> run id 12345678"
    (repo / "run.ipynb").write_text(json.dumps(again, indent=1))
    commit(repo, "third run")
    (repo / "run.ipynb").write_text(json.dumps(again, indent=1).replace("run id 12345678", "run id 9abcdef0"))
    commit(repo, "fourth run")
    assert "volatile only" in nbgit(repo, "diff", "HEAD~1..HEAD").stdout.decode()
    changed = nbgit(repo, "diff", "HEAD~3..HEAD").stdout.decode()
    assert "+  <object at 0x7fee55443322> run id 9abcdef0" in changed and "Wall time" not in changed

    # no Pillow: images compared by bytes, said so in the HTML report; never a failure
    blocked = "import sys; sys.modules['PIL'] = None; from nbgit.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", blocked, "diff", "HEAD~3..HEAD~2", "--format", "html"], cwd=repo, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert b"Compared by bytes: install nbgit[images]" in done.stdout and b'<figure class="diff">' not in done.stdout


def test_policy_refuses_a_pattern_that_backtracks_for_ever(repo: Path) -> None:
    (repo / ".nbgit.toml").write_text('[diff]\nvolatile_patterns = ["(\\\\d+)+$"]\n')
    done = nbgit(repo, "diff")
    assert done.returncode == 2 and b"`diff.volatile_patterns` must be a list of at most 32 regular expressions" in done.stderr
    assert b"Traceback" not in done.stderr


def corpus_without_ids() -> list[Path]:
    """Corpus notebooks of nbformat 4 whose cells have no ids and distinct, non-empty sources."""
    found = []
    for path in corpus_files("dev"):
        try:
            nb = json.loads(path.read_bytes())
        except ValueError:
            continue
        cells = nb.get("cells", [])
        sources = ["".join(c.get("source", "")) for c in cells]
        if nb.get("nbformat") == 4 and len(cells) >= 8 and not any("id" in c for c in cells) and len(set(sources)) == len(sources) and all(sources):
            found.append(path)
    return found


@pytest.mark.skipif(not corpus_without_ids(), reason="no corpus at ../shared/corpus")
def test_one_inserted_cell_in_notebooks_without_ids_is_that_cell_only(repo: Path) -> None:
    """Through `nbgit install` (textconv, xfuncname) and the report: the new cell's lines and nothing else."""
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    sources = corpus_without_ids()[::6][:8]
    for k, source in enumerate(sources):
        (repo / f"nb{k}.ipynb").write_bytes(source.read_bytes())
    commit(repo, "corpus notebooks without ids")
    inserted = "total = sum(values)  # inserted by the test\nprint(total)"
    for k in range(len(sources)):
        content = json.loads((repo / f"nb{k}.ipynb").read_bytes())
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": inserted}
        content["cells"].insert(2, cell)
        (repo / f"nb{k}.ipynb").write_text(json.dumps(content, indent=1))
    commit(repo, "insert one cell in each")

    diff = git(repo, "diff", "HEAD~1", "HEAD").stdout.decode()
    for section in diff.split("diff --git ")[1:]:
        changed = [line for line in section.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        assert sorted(changed) == ["+", "+[code]", "+print(total)", "+total = sum(values)  # inserted by the test"], section[:300]
        assert re.search(r"^@@ .* @@ \[(code|markdown|raw)[\] ]", section, re.M), section[:300]  # hunk header: the cell above
    report = build(["HEAD~1", "HEAD"], [], policy_from_table({}, "test"), repo)
    assert len(report.notebooks) == len(sources)
    for nb in report.notebooks:
        assert [(c.kind, c.name) for c in nb.cells] == [(ADDED, "code cell 3")], nb.path


def test_working_tree_side_is_shown_as_git_would_store_it(repo: Path) -> None:
    """With nbgit's filter in effect, outputs the filter strips never show before a commit; without it they do."""
    write(repo / "nb.ipynb", [plot_cell("plot()", png(RED), "<Figure>")], ids=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "with outputs")  # no filter yet: committed with outputs
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    assert nbgit(repo, "renormalize").returncode == 0
    git(repo, "commit", "-q", "-m", "clean")
    write(repo / "nb.ipynb", [plot_cell("plot()", png(BLUE), "<Figure>")], ids=False)  # re-run: another plot in the work tree
    assert "nb.ipynb" not in nbgit(repo, "diff").stdout.decode()  # stored clean: nothing to review
    everything = nbgit(repo, "diff", "HEAD~1").stdout.decode()  # the commit before held the red plot
    assert "modified (outputs)" in everything and "image: image/png" in everything and "(none)" in everything


def test_whole_notebook_html_collapses_unchanged_cells(repo: Path) -> None:
    cells = [nbformat.v4.new_code_cell(f"step_{k} = {k}", id=f"c{k}") for k in range(9)]
    write(repo / "nb.ipynb", cells)
    commit(repo, "nine cells")
    cells[4].source = "step_4 = 40"
    write(repo / "nb.ipynb", cells)
    html = nbgit(repo, "diff", "--format", "html", "--whole").stdout.decode()
    runs = re.findall(r'<details class="unchanged"><summary>(\d+) unchanged cells?</summary>(.*?)</details>', html)
    assert [n for n, _ in runs] == ["4", "4"]
    assert "step_0 = 0" in runs[0][1] and "step_8 = 8" in runs[1][1]
    assert html.index(runs[0][1]) < html.index("step_4 = 40") < html.index(runs[1][1])
    assert nbgit(repo, "diff", "--whole").returncode == 2  # HTML only


def test_merge_driver_ignores_outputs_that_read_the_same(repo: Path) -> None:
    """Both sides re-ran the notebook (new addresses, timings, a re-encoded plot) and edited different
    cells: a clean merge that keeps each side's edit; outputs that really differ still follow [merge] outputs."""
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    assert nbgit(repo, "install", "--no-hooks").returncode == 0
    base = [nbformat.v4.new_code_cell("a = 1", id="a"), plot_cell("plot()", png(RED), "<Figure at 0x7f0000000001>", "Wall time: 1 s\n"),
            nbformat.v4.new_code_cell("b = 1", id="b")]
    base[1].id = "p"
    write(repo / "nb.ipynb", base)
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "other")
    theirs = json.loads((repo / "nb.ipynb").read_text())
    theirs["cells"][2]["source"] = "b = 2"
    theirs["cells"][1]["outputs"][0]["text"] = "Wall time: 3 s\n"
    theirs["cells"][1]["outputs"][1]["data"]["text/plain"] = "<Figure at 0x7f00000000ff>"
    theirs["cells"][1]["outputs"][1]["data"]["image/png"] = png(RED, level=0)
    (repo / "nb.ipynb").write_text(json.dumps(theirs, indent=1))
    commit(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    ours = json.loads((repo / "nb.ipynb").read_text())
    ours["cells"][0]["source"] = "a = 2"
    ours["cells"][1]["outputs"][0]["text"] = "Wall time: 2 s\n"
    ours["cells"][1]["outputs"][1]["data"]["text/plain"] = "<Figure at 0x7f00000000aa>"
    ours["cells"][1]["outputs"][1]["data"]["image/png"] = png(RED, level=9, note="ours")
    (repo / "nb.ipynb").write_text(json.dumps(ours, indent=1))
    commit(repo, "ours")
    done = git(repo, "merge", "-q", "other", "-m", "merge", check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    merged = json.loads((repo / "nb.ipynb").read_text())
    assert ["".join(c["source"]) for c in merged["cells"]] == ["a = 2", "plot()", "b = 2"]
    local = json.loads(git(repo, "show", "HEAD^1:nb.ipynb").stdout)
    assert merged["cells"][1]["outputs"] == local["cells"][1]["outputs"]  # local's version of the same outputs

    # a real output change on both sides: cleared, as [merge] outputs = "clear" says
    git(repo, "checkout", "-q", "-b", "blue")
    theirs = json.loads((repo / "nb.ipynb").read_text())
    theirs["cells"][1]["outputs"][1]["data"]["image/png"] = png(BLUE)
    (repo / "nb.ipynb").write_text(json.dumps(theirs, indent=1))
    commit(repo, "blue plot")
    git(repo, "checkout", "-q", "main")
    ours = json.loads((repo / "nb.ipynb").read_text())
    ours["cells"][1]["outputs"][1]["data"]["image/png"] = png((40, 160, 60))
    (repo / "nb.ipynb").write_text(json.dumps(ours, indent=1))
    commit(repo, "green plot")
    git(repo, "merge", "-q", "blue", "-m", "merge", check=False)
    assert json.loads((repo / "nb.ipynb").read_text())["cells"][1]["outputs"] == []
