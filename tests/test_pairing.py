"""Twin paths, the jupytext config nbgit writes, and round trips of real notebooks through their twins."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_files, git, nbgit

from nbgit.clean import clean_bytes
from nbgit.errors import NbgitError
from nbgit.notebook import parse, serialise
from nbgit.pairing import (
    AUTO,
    JUPYTEXT_EXTENSIONS,
    JUPYTEXT_FORMAT_NAMES,
    extension_for,
    jupytext_config_text,
    notebook_relpath,
    settings,
    simple_paired_paths,
    twin_format,
    twin_relpath,
)
from nbgit.policy import Policy, policy_from_table
from nbgit import twins

DEV = corpus_files("dev")
JUPYTEXT = corpus_files("peer/jupytext/inputs")


# nbformat 3 notebooks of one course that name no language anywhere, and an APL notebook (no jupytext
# script format): "auto" cannot place their twins, and says so
CANNOT_PAIR = {"APL.ipynb", "01 - Introduction.ipynb", "02 - Representation of data.ipynb", "03 - Basic principles of Machine Learning.ipynb",
               "05 - Model Selection and Assessment.ipynb", "07 - Text Feature Extraction for Classification and Clustering.ipynb",
               "08 - Large Scale Text Classification for Sentiment Analysis.ipynb"}


def pair_policy(**keys: object) -> Policy:
    return policy_from_table({"pair": {"enabled": True, **keys}}, ".nbgit.toml")


def groups(files: list[Path], depth: int) -> dict[str, list[Path]]:
    """Corpus files grouped by their first `depth` folders: one test per group spreads over workers."""
    grouped: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        grouped["/".join(path.relative_to(CORPUS).parts[:depth])].append(path)
    return dict(grouped)


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "notebook", "extension", "twin"),
    [
        ("auto:percent", "analysis.ipynb", ".py", "analysis.py"),
        ("percent", "sub/model.ipynb", ".jl", "sub/model.jl"),
        ("auto:light", "r/stats.ipynb", ".R", "r/stats.R"),
        ("md", "doc.ipynb", None, "doc.md"),
        ("md:myst", "doc.ipynb", None, "doc.md"),
        ("py:percent", "julia.ipynb", None, "julia.py"),
    ],
)
def test_twin_beside_notebook(fmt: str, notebook: str, extension: str | None, twin: str) -> None:
    pair = settings(pair_policy(format=fmt))
    extension = extension or pair.extension
    assert twin_relpath(notebook, extension, pair) == twin
    assert notebook_relpath(twin, pair) == notebook


def test_mirror_folder_paths() -> None:
    pair = settings(pair_policy(folders={"notebooks": "scripts"}))
    assert twin_relpath("notebooks/a/b.ipynb", ".py", pair) == "scripts/a/b.py"
    assert notebook_relpath("scripts/a/b.py", pair) == "notebooks/a/b.ipynb"
    assert twin_relpath("elsewhere/b.ipynb", ".py", pair) is None
    assert notebook_relpath("src/b.py", pair) is None


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"folders": {"notebooks": "../scripts"}}, ["pair.folders", "../scripts", "outside"]),
        ({"folders": {"/abs": "scripts"}}, ["pair.folders", "/abs"]),
        ({"folders": {"a": "x", "b": "y"}}, ["pair.folders", "only one"]),
        ({"format": "ipynb"}, ["pair.format"]),
        ({"format": "py:percent:x y"}, ["pair.format"]),
    ],
)
def test_bad_pair_policy_names_the_key(table: dict[str, object], words: list[str]) -> None:
    with pytest.raises(NbgitError) as error:
        settings(pair_policy(**table))
    for word in words:
        assert word in error.value.message + error.value.hint


@pytest.mark.corpus
def test_extension_without_jupytext_agrees_with_jupytext() -> None:
    from jupytext.formats import auto_ext_from_metadata

    pair = settings(pair_policy())
    assert pair.extension == AUTO
    told = 0
    for path in DEV + JUPYTEXT:
        metadata = parse(path.read_bytes(), str(path)).content.get("metadata") or {}
        ours, theirs = extension_for(metadata, pair, str(path)), auto_ext_from_metadata(metadata)
        if ours is not None:
            told += 1
            assert ours == theirs or (theirs is None and ours in (".py", ".R", ".jl")), path
    assert told > 200


# --- the jupytext config that `nbgit install` writes ----------------------------------------------


def test_no_jupytext_config_unless_pairing_is_enabled() -> None:
    assert jupytext_config_text(Policy()) is None


@pytest.mark.parametrize("folders", [{}, {"notebooks": "scripts"}])
def test_jupytext_config_pairs_like_nbgit(folders: dict[str, str]) -> None:
    """jupytext itself, reading the config nbgit writes, pairs each notebook with nbgit's twin path."""
    import tomllib

    from jupytext.config import JupytextConfiguration
    from jupytext.paired_paths import paired_paths

    policy = pair_policy(folders=folders)
    text = jupytext_config_text(policy)
    assert text is not None
    config = JupytextConfiguration(**tomllib.loads(text))
    pair = settings(policy)
    root = Path("/repo")
    for notebook in ("notebooks/a.ipynb", "notebooks/deep/b.ipynb"):
        for extension in (".py", ".R", ".jl"):
            paths = paired_paths(str(root / notebook), "ipynb", config.default_formats(str(root / notebook)))
            twin = [p for p, fmt in paths if fmt["extension"] != ".ipynb"][0]
            assert twin.replace(".auto", extension) == str(root / twin_relpath(notebook, extension, pair))
    assert "-ExecuteTime" in text and "-papermill" in text


@pytest.mark.corpus
def test_jupytext_writes_the_twin_nbgit_writes_with_that_config(tmp_path: Path) -> None:
    """A notebook saved by jupytext under nbgit's config has exactly nbgit's twin (volatile metadata filtered)."""
    import tomllib

    import jupytext
    from jupytext.config import JupytextConfiguration

    source = next(p for p in DEV if "papermill" in p.read_text(encoding="utf-8", errors="replace"))
    policy = pair_policy()
    config = JupytextConfiguration(**tomllib.loads(jupytext_config_text(policy) or ""))
    notebook = parse(clean_bytes(source.read_bytes(), str(source), policy))
    ours = twins.twin_text(parse(source.read_bytes()).content, policy, "a.ipynb", "py:percent")
    theirs = jupytext.writes(jupytext.reads(source.read_text(encoding="utf-8"), "ipynb"), "py:percent", config=config)
    assert ours == theirs
    assert ours == twins.twin_text(notebook.content, policy, "a.ipynb", "py:percent")


UTF8_R = "# -*- coding: utf-8 -*-"


@pytest.mark.parametrize(
    ("language", "source", "jupytext_metadata", "stripped"),
    [
        ("python", "x = 1", {"cell_metadata_filter": "-ExecuteTime,-_cell_guid,-_uuid,-colab,-colab_type,-collapsed,-execution,-executionInfo,-heading_collapsed,-hidden,-id,-jupyter,-outputId,-papermill,-pycharm,-scrolled,-trusted,-vscode"}, True),
        ("python", "x = 1", {"cell_metadata_filter": "tags,-ExecuteTime,-_cell_guid,-_uuid,-colab,-colab_type,-collapsed,-execution,-executionInfo,-heading_collapsed,-hidden,-id,-jupyter,-outputId,-papermill,-pycharm,-scrolled,-trusted,-vscode"}, True),
        ("python", "x = 1", {"cell_metadata_filter": "-all"}, False),  # the notebook's own choice for its twin
        ("python", "x = 1", {"cell_metadata_filter": "-ExecuteTime"}, False),
        ("R", "x <- 'café'", {"encoding": UTF8_R}, True),
        ("R", "x <- 1", {"encoding": UTF8_R}, False),  # all ASCII: jupytext would not write the line by itself
        ("python", "x = 'café'", {"encoding": UTF8_R}, False),  # a Python twin has the line only when asked
    ],
)
def test_clean_drops_only_what_jupytext_echoes_and_writes_again_itself(language: str, source: str, jupytext_metadata: dict[str, str], stripped: bool) -> None:
    """What the clean filter strips of `metadata.jupytext` is exactly what makes jupytext write the same
    twin without it: the twin written from the cleaned notebook equals the one from the saved notebook."""
    import jupytext
    from jupytext.config import JupytextConfiguration
    import tomllib

    from nbgit.clean import clean
    from nbgit.notebook import Notebook

    policy = pair_policy()
    kernel = {"python": {"name": "python3", "display_name": "Python 3", "language": "python"}, "R": {"name": "ir", "display_name": "R", "language": "R"}}[language]
    cells = [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {"tags": ["t"]}, "outputs": [], "source": source}]
    saved = {"cells": cells, "metadata": {"kernelspec": kernel, "jupytext": dict(jupytext_metadata)}, "nbformat": 4, "nbformat_minor": 5}
    cleaned = clean(saved, 4, policy).content
    assert ("jupytext" not in cleaned["metadata"]) == stripped
    config = JupytextConfiguration(**tomllib.loads(jupytext_config_text(policy) or ""))
    fmt = "py:percent" if language == "python" else "R:percent"
    if stripped:
        as_saved = jupytext.writes(jupytext.reads(serialise(Notebook(saved, 4)).decode(), "ipynb"), fmt, config=config)
        assert twins.twin_text(cleaned, policy, "a.ipynb", fmt) == as_saved


# --- round trips over real notebooks ---------------------------------------------------------------


def _round_trip(path: Path, policy: Policy) -> str | None:
    """ipynb -> twin -> ipynb for one notebook: None when every input survives, else the error message."""
    data = path.read_bytes()
    notebook = parse(data, str(path))
    pair = settings(policy)
    try:
        extension = twins.twin_extension(notebook.content.get("metadata") or {}, pair, str(path))
        fmt = twin_format(extension, pair.format_name)
        text = twins.twin_text(notebook.content, policy, str(path), fmt, notebook.major)
        twins.check_round_trip(text, fmt, notebook, policy, str(path), f"{path.stem}{extension}")
    except NbgitError as error:
        assert str(path) in error.message and error.hint
        return error.message
    if notebook.major != 4:
        return None
    # with the working notebook (outputs and all), an untouched twin changes nothing, byte for byte:
    # every cell source and type (and output) comes back
    assert twins.notebook_from_text(text, fmt, notebook, policy, "twin", str(path), text) == serialise(notebook), path
    # an edit of one cell in the twin changes that cell only: every other cell keeps its outputs
    code = [i for i, c in enumerate(notebook.content["cells"]) if c["cell_type"] == "code" and c["source"].strip()]
    if code and fmt.endswith("percent"):
        target = notebook.content["cells"][code[-1]]["source"]
        marker = {".py": "#", ".R": "#", ".jl": "#"}.get(extension)
        if marker and text.count(target.rstrip()) == 1:
            edited_text = text.replace(target.rstrip(), target.rstrip() + f"\n{marker} edited in the twin", 1)
            edited = parse(twins.notebook_from_text(edited_text, fmt, notebook, policy, "twin", str(path), text)).content
            for number, (old, new) in enumerate(zip(notebook.content["cells"], edited["cells"])):
                if number == code[-1]:
                    assert new["source"].rstrip().endswith("edited in the twin") and new["outputs"] == old["outputs"], path
                else:
                    assert new == old, (path, number)
    return None


@pytest.mark.parametrize("group", sorted(groups(DEV, 2)))
def test_dev_corpus_round_trips(group: str) -> None:
    policy = pair_policy()
    failures = {path.name: _round_trip(path, policy) for path in groups(DEV, 2)[group]}
    failed = {name: message for name, message in failures.items() if message}
    assert all("cannot place its twin" in message for message in failed.values()), failed
    assert set(failed) <= CANNOT_PAIR, failed


@pytest.mark.corpus
def test_jupytext_inputs_round_trip_in_every_language() -> None:
    policy = pair_policy()
    failed = {path.name: message for path in JUPYTEXT if (message := _round_trip(path, policy))}
    assert failed == {}
    assert len(JUPYTEXT) >= 60


@pytest.mark.corpus
def test_jupytext_inputs_pair_and_sync_in_a_repository(repo: Path) -> None:
    """All ~40 languages in one repository: pair, commit, check, edit twins, sync back."""
    (repo / ".nbgit.toml").write_text("[pair]\nenabled = true\n")
    for path in JUPYTEXT:
        target = repo / path.parent.name / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, target)
    done = nbgit(repo, "pair")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().count("paired ") == len(JUPYTEXT)
    twins_made = {p.parent.name: p for p in repo.glob("ipynb_*/*") if p.suffix != ".ipynb"}
    assert twins_made["ipynb_julia"].suffix == ".jl" and twins_made["ipynb_R"].suffix == ".R"
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pairs")
    (repo / ".git" / "nbgit-pairs.json").unlink()
    check = nbgit(repo, "sync", "--check", "--all")
    assert (check.returncode, check.stdout) == (0, b""), check.stdout.decode() + check.stderr.decode()
    for folder in ("ipynb_py", "ipynb_R", "ipynb_julia"):
        twin = sorted(p for p in (repo / folder).iterdir() if p.suffix != ".ipynb")[0]
        twin.write_text(twin.read_text(encoding="utf-8") + "\n# %%\n1 + 1\n", encoding="utf-8")
    done = nbgit(repo, "sync", "--all")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout.decode().count("updated ") == 3
    for folder in ("ipynb_py", "ipynb_R", "ipynb_julia"):
        notebook = sorted((repo / folder).glob("*.ipynb"))[0]
        assert parse(notebook.read_bytes()).content["cells"][-1]["source"] == "1 + 1"
    assert nbgit(repo, "sync", "--check", "--all").returncode == 0


# --- the notebook's own formats (metadata.jupytext.formats), as jupytext follows them --------------


def own_formats_notebook(formats: str | None, source: str = "x = 1") -> bytes:
    from nbgit.notebook import Notebook

    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python", "file_extension": ".py"}}
    if formats is not None:
        metadata["jupytext"] = {"formats": formats}
    cells = [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title"},
             {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [], "source": source}]
    return serialise(Notebook({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, 4))


# format elements: simple ones, and every kind nbgit leaves to jupytext (aliases, prefixes, roots,
# unknown names and extensions, odd spacing and case, empty parts)
FORMAT_ELEMENTS = [
    "ipynb", "py", "py:percent", "py:light", "py:hydrogen", "py:nomarker", "py:sphinx", "R:spin", "jl:percent", "md", "md:myst",
    "md:pandoc", "Rmd", "qmd", "java:light", "groovy:light", "ipynb:markdown", ".py", ".md", "nb.py", ".nb.py:percent", "nb.ipynb",
    ".nb.ipynb", "a.b.py", "lgt", "r", "R", "markdown", "myst", "script", "notebook", "pandoc", "quarto", "c++", "auto", "auto:percent",
    "percent", "light", "py:bare", "py:nosuch", "py:Percent", "PY", " py", "py ", "", "py:", ":percent", "..py", "...py", ".", "txt",
    "docs//md", "../py", "sub/py:percent", "/py", "scripts///py:percent", ".ipynb", "ipynb.py", "md:markdown",
]
NOTEBOOK_NAMES = ["a.ipynb", "sub/deep/a.ipynb", "a.nb.ipynb", "x.b.ipynb", ".ipynb", "a b.ipynb"]


def jupytext_paired_paths(main: str, formats: str) -> list[tuple[str, dict[str, str]]] | None:
    """jupytext's answer, None when it refuses the formats."""
    import warnings

    from jupytext.paired_paths import paired_paths

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return paired_paths(main, "ipynb", formats)
    except Exception:  # noqa: BLE001 - any refusal of jupytext's
        return None


def test_simple_formats_are_placed_exactly_as_jupytext_places_them() -> None:
    """Over every string of one to three format elements: where nbgit answers without jupytext, jupytext
    answers the same, paths and formats; where jupytext refuses, nbgit leaves it to jupytext."""
    import itertools

    from jupytext.formats import _VALID_FORMAT_NAMES, NOTEBOOK_EXTENSIONS

    assert JUPYTEXT_EXTENSIONS <= set(NOTEBOOK_EXTENSIONS) and JUPYTEXT_FORMAT_NAMES <= _VALID_FORMAT_NAMES
    strings = {",".join(parts) for n in (1, 2) for parts in itertools.product(FORMAT_ELEMENTS, repeat=n)}
    strings |= {f"ipynb,{a},{b}" for a, b in itertools.product(FORMAT_ELEMENTS, repeat=2)} | {"ipynb,py:percent,", ",ipynb,,md"}
    answered = 0
    for name in NOTEBOOK_NAMES:
        main = f"/repo/{name}"
        for formats in sorted(strings):
            ours = simple_paired_paths(main, formats)
            if ours is not None:
                answered += 1
                assert ours == jupytext_paired_paths(main, formats), (name, formats)
    assert answered > 2000
    for formats in ("ipynb,py:percent", "ipynb,md", "ipynb,md:myst", "py:percent,ipynb", "ipynb,.nb.py", "nb.ipynb,nb.py:light", "ipynb,java:light"):
        expected = jupytext_paired_paths("/repo/sub/a.nb.ipynb", formats)
        assert expected is not None and simple_paired_paths("/repo/sub/a.nb.ipynb", formats) == expected, formats


def test_notebooks_naming_simple_formats_are_placed_without_jupytext(repo: Path) -> None:
    """`nbgit check --all` places the twins that notebooks' own simple formats name (none is on disk, as
    in most repositories that carry jupytext's metadata) without importing jupytext."""
    for name, formats in (("a.ipynb", "ipynb,md"), ("b.ipynb", "ipynb,py:percent"), ("c.nb.ipynb", "nb.ipynb,nb.py:light")):
        (repo / name).write_bytes(own_formats_notebook(formats))
    git(repo, "add", "-A")
    done = nbgit(repo, "check", "--all", env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.decode().splitlines() if line.startswith("import time:")}
    assert b"no problems in 3 notebooks" in done.stdout, done.stdout
    assert "nbgit" in imported and not imported & {"jupytext", "nbformat", "jsonschema"}, sorted(imported)


def test_where_own_formats_place_a_twin_is_remembered_only_while_the_notebook_is_unchanged(repo: Path) -> None:
    """`nbgit check` remembers where a notebook's own formats place its twin by the file's stat data; a
    notebook rewritten in place (same size, same modification time) names another twin, and that one counts."""
    from nbgit.files import RACY_SECONDS

    notebook = repo / "a.ipynb"
    notebook.write_bytes(own_formats_notebook("ipynb,aa/md"))  # jupytext's prefix: the twin is aaa.md
    for twin in ("aaa.md", "bba.md"):
        (repo / twin).write_text("---\njupyter:\n  jupytext:\n    formats: ipynb,md\n---\n\n# Title\n")
    git(repo, "add", "-A")
    time.sleep(RACY_SECONDS + 0.2)

    def twins_named() -> list[str]:
        done = nbgit(repo, "check", "--all", "--format", "json")
        return sorted({word for p in json.loads(done.stdout) for word in p["message"].split() if word.endswith(".md")})

    assert twins_named() == ["aaa.md"]
    assert twins_named() == ["aaa.md"]  # from what was remembered
    before = notebook.stat()
    notebook.write_bytes(own_formats_notebook("ipynb,bb/md"))
    os.utime(notebook, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert notebook.stat().st_size == before.st_size
    time.sleep(RACY_SECONDS + 0.2)
    assert twins_named() == ["bba.md"]


def _own_twin_of_whole_notebook(root: Path, notebook: str, data: bytes) -> object:
    """What a notebook's own formats place, its whole JSON read (what `sync.pairs.own_twin_in` answers
    without reading it when a scan of its bytes tells there is nothing to find); an error as its message."""
    from nbgit.pairing import own_formats, twin_for
    from nbgit.sync.pairs import _metadata

    metadata = _metadata(data)
    try:
        return twin_for(root, notebook, metadata, settings(Policy())) if own_formats(metadata) is not None else None
    except NbgitError as error:
        return error.message


def _own_twin_scanned(root: Path, notebook: str, data: bytes, metadata: dict | None = None) -> object:
    from nbgit.sync.pairs import own_twin_in

    try:
        return own_twin_in(root, notebook, data, settings(Policy()), metadata)
    except NbgitError as error:
        return error.message


def _spellings(word: str) -> list[bytes]:
    """`word` as a JSON string may spell it: each letter in turn as a `\\u` escape, in either case of hex digit."""
    spelled = [word.encode()]
    for index, letter in enumerate(word):
        for escape in (f"\\u{ord(letter):04x}", f"\\u{ord(letter):04X}"):
            spelled.append((word[:index] + escape + word[index + 1 :]).encode())
    return spelled


def test_own_formats_are_found_however_the_keys_are_spelled(tmp_path: Path) -> None:
    """The scan that spares reading most notebooks (`sync.pairs.own_twin_in`) finds `jupytext` and `formats`
    keys spelled with `\\u` escapes, as reading the JSON does; a notebook that mentions jupytext
    without naming formats places no twin."""
    data = own_formats_notebook("ipynb,md")
    assert _own_twin_scanned(tmp_path, "a.ipynb", data) == ("a.md", "md")
    for key in ("jupytext", "formats"):
        for spelled in _spellings(key):
            variant = data.replace(f'"{key}"'.encode(), b'"' + spelled + b'"')
            assert json.loads(variant) == json.loads(data)
            assert _own_twin_scanned(tmp_path, "a.ipynb", variant) == _own_twin_of_whole_notebook(tmp_path, "a.ipynb", variant) == ("a.md", "md"), spelled
    mentions = own_formats_notebook(None, source="# saved by jupytext; formats: ipynb,md")
    assert _own_twin_scanned(tmp_path, "a.ipynb", mentions) is None


@pytest.mark.corpus
def test_own_formats_found_by_scanning_are_those_read_from_every_corpus_notebook(tmp_path: Path) -> None:
    """Over the whole corpus: `sync.pairs.own_twin_in` places the same twins (or says the same error) as
    reading every notebook's JSON, whether it scans the bytes or is given the metadata of the notebook
    as `nbgit check` read it (`parse`)."""
    found = given = 0
    for path in DEV + JUPYTEXT:
        data = path.read_bytes()
        expected = _own_twin_of_whole_notebook(tmp_path, path.name, data)
        assert _own_twin_scanned(tmp_path, path.name, data) == expected, path
        try:
            read = parse(data, path.name)
        except NbgitError:
            continue
        assert _own_twin_scanned(tmp_path, path.name, data, read.content.get("metadata") or {}) == expected, path
        found += expected is not None
        given += 1
    assert found > 10 and given > 200


@pytest.mark.parametrize(
    ("formats", "words"),
    [("ipynb,py:percent,md", ["a.ipynb", "metadata.jupytext.formats", "2 text formats", "keep one"]), ("ipynb,py:nosuchformat", ["a.ipynb", "metadata.jupytext.formats", "nosuchformat"])],
)
def test_own_formats_nbgit_cannot_follow_are_one_line_naming_the_fix(repo: Path, formats: str, words: list[str]) -> None:
    (repo / "a.ipynb").write_bytes(own_formats_notebook(formats))
    done = nbgit(repo, "sync", "a.ipynb")
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 2, err
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in repo.iterdir() if p.name != ".git") == ["a.ipynb"]


@pytest.mark.parametrize(("relative", "inside"), [
    ("nb.ipynb", True), (".gitignore", True), ("a.git/b.py", True), ("sub/x.git", True), ("sub/.github/x.py", True),
    (".git/config", False), (".Git/config", False), ("sub/.GIT/x.py", False), ("sub/.git", False), ("../x.py", False),
])
def test_a_path_is_inside_the_work_tree_unless_it_leaves_it_or_has_a_git_part(repo: Path, relative: str, inside: bool) -> None:
    """`real_path_inside` (every notebook of a check or sync): a part named .git in any case is git's own folder."""
    from nbgit.errors import NbgitError
    from nbgit.pairing import real_path_inside

    if inside:
        assert real_path_inside(repo, relative) == os.path.join(os.path.realpath(repo), relative)
    else:
        with pytest.raises(NbgitError, match="leads (into git's own folder|outside the repository)"):
            real_path_inside(repo, relative)
