"""Benchmark: readable notebook diffs and `git log -p`, nbgit against the peers, side by side.

1. `git diff` of a changed notebook (one source line edited in the work tree): plain git (no
   driver), nbgit's textconv, nbdime's git diff driver and nbstripout's textconv; on a generated
   1 MB notebook and on the real notebook of ../shared/corpus/dev closest to 1 MB.
   Target: nbgit <= 10x plain git.
2. `git log -p -40 -- '*.ipynb'` in a repository built from the real notebooks of the corpus with
   outputs (200 KB and more, like a book's chapters), with a history of 40 commits after the first,
   each re-running or editing one notebook (80 textconv runs per log): plain git, nbgit's textconv
   as `nbgit install` wires it (nbgit_textconv.py without site), as older installs wired it (the
   `nbgit-textconv` script, and before it `nbgit textconv`), the same in a repository whose policy
   file sets only `[check]` keys, and nbstripout's. nbstripout takes seconds per run, so its log is timed over the last few commits
   and scaled to the 40 (said in the table). Target: nbgit <= 5x plain `git log -p`.
3. The HTML report of a changed generated notebook full of images (20 MB; `nbgit diff --format
   html`, outputs kept) against nbdime's `nbdiff` of the same pair; and of the largest corpus
   notebook with images (committed outputs shown, images compared by decoded pixels, difference
   pictures) against `nbdiff` of the same two versions: sources edited, plots re-encoded with the
   same pixels, plots swapped. Target: nbgit <= 0.5x nbdime.
4. Cell handles in notebooks without ids: lines `git diff` (textconv) shows for one inserted, deleted,
   moved or edited cell over the corpus, with positional handles (`[code cell 3]`, nbgit before) and
   without (`[code]`, now).

Every textconv runs uncached (no `cachetextconv`), as on the first `git log -p` after a clone:
the same caching for every tool. Tools are taken in turn round by round after a warm-up round; the
peers are installed into benchmarks/.peers.
Run: .venv/bin/python benchmarks/bench_diff.py [--quick] [--skip nbstripout] [--part log] [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import difflib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpora import dump, edit_source, real_sources, rerun  # noqa: E402
from harness import Took, alternate, machine, peer, table, timed  # noqa: E402

NBGIT = Path(sys.executable).with_name("nbgit")
TEXTCONV = NBGIT.with_name("nbgit-textconv")
STRIPOUT_COMMITS = 3  # nbstripout's log covers the last few commits only (seconds per textconv run), then scaled
# a repository with a policy file that sets only what textconv does not use, as a team's often does
WITH_POLICY = "nbgit textconv, a policy file"
CHECKS_POLICY = '[check]\ndisable = ["untitled"]\nmax_notebook_bytes = 20000000\n'


def notebook(megabytes: float, images: int, seed: int) -> dict:
    """A v4.5 notebook of about `megabytes`: code cells with text outputs, `images` of them with a PNG."""
    rng = random.Random(seed)
    cells = []
    image_bytes = int(megabytes * 1_000_000 * 0.85 / max(images, 1))
    n_cells = max(images * 2, 40)
    for k in range(n_cells):
        outputs = [{"name": "stdout", "output_type": "stream", "text": [f"step {k} value {rng.random():.6f}\n" for _ in range(5)]}]
        if k % 2 == 0 and k // 2 < images:
            payload = base64.b64encode(rng.randbytes(image_bytes * 3 // 4)).decode()
            outputs.append({"data": {"image/png": payload, "text/plain": ["<Figure>"]}, "metadata": {}, "output_type": "display_data"})
        source = [f"# cell {k}\n", f"result_{k} = compute({k}, scale={rng.randint(1, 9)})\n", f"plot(result_{k})"]
        cells.append({"cell_type": "code", "execution_count": k + 1, "id": f"c{k:05d}", "metadata": {}, "outputs": outputs, "source": source})
        if k % 5 == 0:
            cells.append({"cell_type": "markdown", "id": f"m{k:05d}", "metadata": {}, "source": [f"## Section {k}\n", "Some prose."]})
    meta = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def edit(content: dict, cells: int, images: int, seed: int) -> dict:
    """A copy with `cells` source lines edited and `images` images replaced."""
    rng = random.Random(seed)
    content = json.loads(json.dumps(content))
    code = [c for c in content["cells"] if c["cell_type"] == "code"]
    for cell in rng.sample(code, cells):
        cell["source"][1] = cell["source"][1].replace("scale=", "scale=2*")
    with_images = [c for c in code if len(c["outputs"]) > 1]
    for cell in rng.sample(with_images, min(images, len(with_images))):
        data = cell["outputs"][1]["data"]
        data["image/png"] = base64.b64encode(rng.randbytes(len(data["image/png"]) * 3 // 4)).decode()
    return content


def git_repo(path: Path, attributes: str, config: dict[str, str], files: dict[str, bytes]) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    for key, value in {"user.name": "b", "user.email": "b@example.com", **config}.items():
        subprocess.run(["git", "config", key, value], cwd=path, check=True)
    if attributes:
        (path / ".gitattributes").write_text(attributes)
    for name, data in files.items():
        (path / name).write_bytes(data)
    subprocess.run(["git", "add", "."], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "notebooks"], cwd=path, check=True)
    return path


def installed_textconv() -> str:
    """diff.nbgit.textconv as `nbgit install` wires it."""
    return wired_in(Path(sys.executable).parent)


def textconv_setups(skip: list[str], driver: bool, cached: bool = False) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (.gitattributes, git config): every textconv uncached, the same way; with `cached`, each
    textconv also with git's cache on (`cachetextconv`, as `nbgit install` sets it), filled by the warm-up round."""
    textconvs = {"nbgit textconv": ("nbgit", installed_textconv())}
    if "nbstripout" not in skip:
        textconvs["nbstripout textconv"] = ("ipynb", f"'{peer('nbstripout')}' -t")
    setups: dict[str, tuple[str, dict[str, str]]] = {"plain git": ("", {})}
    for name, (driver_name, command) in textconvs.items():
        setups[name] = (f"*.ipynb diff={driver_name}\n", {f"diff.{driver_name}.textconv": command})
        if cached:
            setups[f"{name}, cached"] = (f"*.ipynb diff={driver_name}\n", {f"diff.{driver_name}.textconv": command, f"diff.{driver_name}.cachetextconv": "true"})
    if driver and "nbdime" not in skip:
        setups["nbdime diff driver"] = ("*.ipynb diff=jupyternotebook\n", {"diff.jupyternotebook.command": f"'{peer('git-nbdiffdriver')}' diff"})
    return setups


def bench_git_diff(tmp: Path, label: str, data: bytes, changed: bytes, rounds: int, skip: list[str]) -> dict[str, Took]:
    print(f"\ngit diff of a changed {label} ({len(data) / 1e6:.2f} MB, one source line edited), median of {rounds}")
    repos = {}
    for name, (attributes, config) in textconv_setups(skip, driver=True).items():
        repos[name] = git_repo(tmp / f"{label}-{name}".replace(" ", "-"), attributes, config, {"nb.ipynb": data})
        (repos[name] / "nb.ipynb").write_bytes(changed)
    return alternate({name: (lambda repo=repo: timed(["git", "diff"], repo, expect=(0, 1))) for name, repo in repos.items()}, rounds)


def history_repo(path: Path, attributes: str, config: dict[str, str], commits: int) -> Path:
    """The real notebooks of 200 KB and more, committed with outputs, then `commits` commits each
    re-running (new counts and printed numbers) or editing (a line added) one notebook in turn."""
    sources = real_sources((200_000, 10**9))
    contents = {f"{i:02d}-{p.stem[:30].replace(' ', '_')}.ipynb": json.loads(p.read_bytes()) for i, p in enumerate(sources)}
    repo = git_repo(path, attributes, config, {name: dump(content) for name, content in contents.items()})
    names = sorted(contents)
    for number in range(commits):
        name = names[number % len(names)]
        content = contents[name]
        contents[name] = rerun(content, number) if number % 2 == 0 else edit_source(content, -1, f"print('commit {number}')")
        (repo / name).write_bytes(dump(contents[name]))
        subprocess.run(["git", "commit", "-q", "-am", f"commit {number}"], cwd=repo, check=True)
    return repo


def bench_log(tmp: Path, rounds: int, skip: list[str], commits: int, before: Path | None = None) -> dict[str, Took]:
    setups = textconv_setups(["nbstripout"], driver=False, cached=True)
    from nbgit import __version__

    older = {"nbgit-textconv": f"NBGIT_VERSION={__version__} '{TEXTCONV}' --", "nbgit textconv": f"'{NBGIT}' textconv --"}
    for program, command in older.items():
        setups[f"{program}, older installs"] = ("*.ipynb diff=nbgit\n", {"diff.nbgit.textconv": command})
    setups[WITH_POLICY] = setups["nbgit textconv"]
    with_policy = [WITH_POLICY]
    if before is not None:
        wired = ("*.ipynb diff=nbgit\n", {"diff.nbgit.textconv": wired_in(before)})
        setups["nbgit before"] = setups[f"nbgit before, {WITH_POLICY.split(', ', 1)[1]}"] = wired
        with_policy.append(f"nbgit before, {WITH_POLICY.split(', ', 1)[1]}")
    repos = {name: history_repo(tmp / f"log-{number}", attributes, config, commits) for number, (name, (attributes, config)) in enumerate(setups.items())}
    for name in with_policy:
        (repos[name] / ".nbgit.toml").write_text(CHECKS_POLICY)  # read by the warm-up round, remembered after (by an nbgit that does)
    some = next(iter(repos.values()))
    sizes = [p.stat().st_size for p in some.glob("*.ipynb")]
    print(f"\ngit log -p -{commits} -- '*.ipynb': {len(sizes)} real notebooks with outputs, {sum(sizes) / len(sizes) / 1e6:.2f} MB on average, "
          f"{commits} commits each changing one ({2 * commits} textconv runs per log; `cached`: git's textconv cache filled by the warm-up); median of {rounds}")
    command = ["git", "log", "-p", f"-{commits}", "--", "*.ipynb"]
    rows = alternate({name: (lambda repo=repo: timed(command, repo, expect=(0, 1))) for name, repo in repos.items()}, rounds)
    if "nbstripout" not in skip:
        attributes, config = textconv_setups([], driver=False)["nbstripout textconv"]
        repo = history_repo(tmp / "log-nbstripout", attributes, config, commits)
        few = ["git", "log", "-p", f"-{STRIPOUT_COMMITS}", "--", "*.ipynb"]
        timed(["git", "log", "-p", "-1", "--", "*.ipynb"], repo)  # warm-up
        took = timed(few, repo, expect=(0, 1))
        scale = commits / STRIPOUT_COMMITS
        rows[f"nbstripout textconv (last {STRIPOUT_COMMITS} commits x{scale:.1f})"] = Took(took.wall * scale, took.cpu * scale)
    return rows


def wired_in(bin_folder: Path) -> str:
    """diff.nbgit.textconv as `nbgit install` of the virtualenv whose bin folder is `bin_folder` wires it."""
    code = "from nbgit.install.wiring import Setup, interpreter_bin_dir, textconv_command; from nbgit.policy import Policy; " \
           "print(textconv_command(Setup(interpreter_bin_dir(), Policy(), 'text', False)))"
    return subprocess.run([str(bin_folder.absolute() / "python"), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def bench_report(tmp: Path, label: str, data: bytes, changed: bytes, timeout: float) -> dict[str, Took]:
    print(f"\nreport of a changed {label} ({len(data) / 1e6:.1f} MB)")
    repo = git_repo(tmp / f"report-{label}".replace(" ", "-"), "", {}, {"nb.ipynb": data})
    (repo / "nb.ipynb").write_bytes(changed)
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    (tmp / "old.ipynb").write_bytes(data)
    nbgit_time = timed([str(NBGIT), "diff", "--format", "html", "--output", str(tmp / "report.html")], repo)
    size = (tmp / "report.html").stat().st_size
    print(f"  (nbgit's HTML report: {size / 1e6:.1f} MB)")
    nbdime_time = timed([str(peer("nbdiff", "nbdime")), "--no-color", str(tmp / "old.ipynb"), str(repo / "nb.ipynb")], tmp, expect=(0, 1), timeout=timeout)
    return {"nbdime nbdiff": nbdime_time, "nbgit diff --format html": nbgit_time}


def closest_real(size: int) -> bytes:
    """The real notebook of the corpus whose size is closest to `size`."""
    return min(real_sources(), key=lambda p: abs(p.stat().st_size - size)).read_bytes()


def largest_corpus_notebook_with_images() -> Path:
    """The largest real notebook that has PNG outputs."""
    return max((p for p in real_sources() if b'"image/png"' in p.read_bytes()), key=lambda p: p.stat().st_size)


def reviewed_version(content: dict, seed: int) -> dict:
    """The notebook after a review-sized change: 10 sources edited, 5 plots re-encoded (same pixels), 5 plots swapped."""
    from PIL import Image

    rng = random.Random(seed)
    content = json.loads(json.dumps(content))
    code = [c for c in content["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    for cell in rng.sample(code, min(10, len(code))):
        cell["source"] = "".join(cell["source"]) + "\n# reviewed"
    plots = [o["data"] for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    rng.shuffle(plots)
    for data in plots[:5]:
        out = io.BytesIO()
        Image.open(io.BytesIO(base64.b64decode(data["image/png"]))).save(out, "PNG", compress_level=1)
        data["image/png"] = base64.b64encode(out.getvalue()).decode()
    swapped = plots[5:10]
    for data, other in zip(swapped, swapped[1:] + swapped[:1]):
        data["image/png"], other["image/png"] = other["image/png"], data["image/png"]
    return content


def bench_corpus_report(tmp: Path, rounds: int) -> dict[str, Took]:
    source = largest_corpus_notebook_with_images()
    content = json.loads(source.read_bytes())
    data, changed = dump(content), dump(reviewed_version(content, seed=5))
    print(f"\nHTML report of {source.name} ({len(data) / 1e6:.1f} MB; 10 sources edited, 5 plots re-encoded, 5 swapped), median of {rounds}")
    repo = git_repo(tmp / "corpus-report", "", {}, {"nb.ipynb": data})
    (repo / "nb.ipynb").write_bytes(changed)
    subprocess.run(["git", "commit", "-q", "-a", "-m", "reviewed"], cwd=repo, check=True)
    (tmp / "a.ipynb").write_bytes(data)
    (tmp / "b.ipynb").write_bytes(changed)
    nbgit_command = [str(NBGIT), "diff", "HEAD~1..HEAD", "--format", "html", "--output", str(tmp / "corpus.html")]
    nbdime_command = [str(peer("nbdiff", "nbdime")), "--no-color", str(tmp / "a.ipynb"), str(tmp / "b.ipynb")]
    results = alternate({
        "nbdime nbdiff": lambda: timed(nbdime_command, tmp, expect=(0, 1)),
        "nbgit diff --format html": lambda: timed(nbgit_command, repo),
    }, rounds)
    html = (tmp / "corpus.html").read_text()
    pictures = html.count('<figure class="diff">')
    print(f"  (nbgit's report: {len(html) / 1e6:.1f} MB, {pictures} difference pictures)")
    return results


def changed_lines(a: str, b: str) -> int:
    return sum(1 for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def positional(text: str) -> str:
    """textconv's text with the positional handles nbgit used before (`[code cell 3]`)."""
    import re

    counter = iter(range(1, 10**6))
    return re.sub(r"^\[(code|markdown|raw)\]", lambda m: f"[{m.group(1)} cell {next(counter)}]", text, flags=re.M)


def bench_handles() -> None:
    """Lines textconv shows for one-cell changes in corpus notebooks without ids, positional handles against none."""
    from nbgit.policy import Policy
    from nbgit.render import textconv

    notebooks = []
    for path in real_sources():
        content = json.loads(path.read_bytes())
        cells = content.get("cells", [])
        if len(cells) >= 6 and not any("id" in c for c in cells):
            notebooks.append(content)
    if not notebooks:
        return
    new = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = compute()\nprint(x)"}
    changes = {
        "insert a cell at the top": lambda cells: cells.insert(0, new),
        "insert a cell in the middle": lambda cells: cells.insert(len(cells) // 2, new),
        "delete a cell in the middle": lambda cells: cells.pop(len(cells) // 2),
        "move a cell up": lambda cells: cells.insert(1, cells.pop(len(cells) // 2)),
    }
    print(f"\nlines textconv shows for a one-cell change, {len(notebooks)} corpus notebooks without ids (median / mean / max)")
    print(f"  {'change':<30} {'positional [code cell 3]':>26} {'no handle [code]':>20}")
    for name, change in changes.items():
        counts: dict[str, list[int]] = {"positional": [], "none": []}
        for content in notebooks:
            edited = json.loads(json.dumps(content))
            change(edited["cells"])
            before = textconv(json.dumps(content).encode(), "nb.ipynb", Policy()).decode()
            after = textconv(json.dumps(edited).encode(), "nb.ipynb", Policy()).decode()
            counts["positional"].append(changed_lines(positional(before), positional(after)))
            counts["none"].append(changed_lines(before, after))
        shown = [f"{statistics.median(v):g} / {statistics.mean(v):.1f} / {max(v)}" for v in counts.values()]
        print(f"  {name:<30} {shown[0]:>26} {shown[1]:>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round, fewer commits, a 5 MB report notebook")
    parser.add_argument("--skip", action="append", default=[], choices=["nbstripout", "nbdime"], help="leave a peer out (repeatable)")
    parser.add_argument("--rounds", type=int, help="timed rounds (median); default 5 for git diff, 3 for git log -p")
    parser.add_argument("--part", action="append", choices=["diff", "log", "report", "handles"], help="only these measurements (repeatable; default: all)")
    parser.add_argument("--before", metavar="BIN", type=Path, help="the log also with the textconv the nbgit of this virtualenv's bin folder wires, as `nbgit before`")
    args = parser.parse_args()
    parts = args.part or ["diff", "log", "report", "handles"]
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="nbgit-bench-diff-") as name:
        tmp = Path(name)
        base = notebook(1.15, images=6, seed=1)
        generated = (dump(base), dump(edit(base, cells=1, images=0, seed=2)))
        real = json.loads(closest_real(1_000_000))
        real_pair = (dump(real), dump(edit_source(real, 0, "x = 1")))
        for label, (data, changed) in (("generated notebook", generated), ("real notebook", real_pair)) if "diff" in parts else ():
            rows = bench_git_diff(tmp, label, data, changed, args.rounds or (1 if args.quick else 5), args.skip)
            table(rows, "plain git", "nbgit textconv <= 10x plain git diff")
        if "log" in parts:
            rows = bench_log(tmp, args.rounds or (1 if args.quick else 3), args.skip, 10 if args.quick else 40, args.before)
            table(rows, "plain git", "nbgit textconv <= 5x plain git log -p")
            ratio = Took(*(n / p for n, p in zip(rows["nbgit textconv"], rows["plain git"])))
            verdict = "met" if max(ratio) <= 5 else "NOT met"
            print(f"  goal nbgit textconv <= 5x plain git log -p: {verdict} (wall {ratio.wall:.2f}x, CPU {ratio.cpu:.2f}x)")
        if "nbdime" not in args.skip and "report" in parts:
            big = notebook(5 if args.quick else 20, images=60, seed=3)
            rows = bench_report(tmp, "generated notebook", dump(big), dump(edit(big, cells=10, images=8, seed=4)), timeout=120 if args.quick else 900)
            table(rows, "nbdime nbdiff", "nbgit <= 0.5x nbdime nbdiff")
            rows = bench_corpus_report(tmp, rounds=args.rounds or (1 if args.quick else 3))
            table(rows, "nbdime nbdiff", "nbgit (pixels compared) <= 0.5x nbdime nbdiff")
        if "handles" in parts:
            bench_handles()


if __name__ == "__main__":
    main()
