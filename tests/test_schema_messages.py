"""The schema check's words stay byte for byte what they were while it compiles less of the schema.

`nbgit.check.schema` words the common fault (keys a cell's type or the notebook does not allow) from
`schema_shapes`' own walk, and compiles one definition rather than the whole schema for other faults
in a cell. Proved here four ways: the CLI's lines on every invalid notebook of the corpus are those
nbgit printed before (recorded below); each definition compiled on its own raises the very errors
the whole schema's function for it raises; the walk's words are fastjsonschema's (the keys it lists
as a set sorted: a set's order changes with the process); and on faults planted in real notebooks,
the error found is the whole schema's first error, worded as `_explain` words it. Whatever the hash
seed, the words are the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import CORPUS, corpus_contents, corpus_files, git, nbgit

from nbgit.check.schema import _definition_validator, _explain, _first_error, _keys_sorted, _must_not_contain, _shapes, _validator, schema_errors
from nbgit.check.schema_shapes import CELL_TYPES, OUTPUT_TYPES, only_unknown_keys, plainly_valid_around_cells

# `CI=1 nbgit check --all` on copies of dev/ and bad_inputs/, before the schema check compiled less
# (main at 75633a2): its schema lines, in order (the other lines are unreadable files, not the schema's)
SAID_BEFORE = """\
bad_inputs/fastai+nbdev/nbs/03_process.ipynb cell 45: not valid nbformat 4.5: cell id '4484dfd3' is also the id of cell 37 (ids must be unique) [invalid]
bad_inputs/jakevdp+PythonDataScienceHandbook/notebooks/01.01-Help-And-Documentation.ipynb cell 2: not valid nbformat 4.4: markdown cell must not contain {'id'} properties [invalid]
dev/fastai+course22/clean/02-saving-a-basic-fastai-model.ipynb cell 1: not valid nbformat 4.4: markdown cell must not contain {'idx_'} properties [invalid]
dev/fastai+course22/clean/03-which-image-models-are-best.ipynb cell 1: not valid nbformat 4.4: markdown cell must not contain {'idx_'} properties [invalid]
dev/fastai+course22/clean/08-first-steps-road-to-the-top-part-1.ipynb cell 1: not valid nbformat 4.5: code cell must not contain {'idx_'} properties [invalid]
dev/fastai+course22/clean/09-small-models-road-to-the-top-part-2.ipynb cell 1: not valid nbformat 4.5: code cell must not contain {'idx_'} properties [invalid]
dev/fastai+course22/clean/10-scaling-up-road-to-the-top-part-3.ipynb cell 1: not valid nbformat 4.5: code cell must not contain {'idx_'} properties [invalid]
dev/jakevdp+PythonDataScienceHandbook/notebooks/01.01-Help-And-Documentation.ipynb cell 2: not valid nbformat 4.4: markdown cell must not contain {'id'} properties [invalid]
"""


def invalid_notebooks() -> list[Path]:
    """Every notebook of the corpus that is not valid as committed: all of bad_inputs/, and dev/'s
    `schema-invalid` ones (the MANIFEST's; most turn valid once cleaned, and must stay unreported)."""
    rows = [line.split("\t") for line in (CORPUS / "dev/MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    dev = [CORPUS / "dev" / row[0] for row in rows if "schema-invalid" in row[12].split(",")]
    return [*corpus_files("bad_inputs"), *dev]


@pytest.mark.corpus
def test_every_invalid_corpus_notebook_gets_the_words_it_got_before(repo: Path) -> None:
    for path in invalid_notebooks():
        target = repo / path.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    git(repo, "add", "-A")
    done = nbgit(repo, "check", "--all", env={**os.environ, "CI": "1"})
    said = [line for line in done.stdout.decode().splitlines() if ": not valid nbformat " in line]
    assert done.returncode == 1 and len(invalid_notebooks()) > 40
    assert "\n".join(said) + "\n" == SAID_BEFORE


def v4_contents() -> list[dict[str, Any]]:
    """Every readable v4 notebook of the corpus, as stored and in memory form."""
    return [form for form in corpus_contents() if isinstance(form, dict) and form.get("nbformat") == 4 and isinstance(form.get("cells"), list)]


def the_whole_schemas_own(minor: int, definition: str) -> Callable[[Any], Any]:
    """The function for one definition inside the whole schema's compiled code (what the check used before)."""
    function: Callable[[Any], Any] = _validator(4, minor).__globals__[f"validate___definitions_{definition}"]  # type: ignore[union-attr]
    return function


def raised(validator: Callable[[Any], Any], value: Any) -> tuple[str, str, str] | None:
    error = _first_error(validator, value)
    return None if error is None else (error.name, error.rule, error.message)


@pytest.mark.corpus
@pytest.mark.parametrize("minor", range(6))
def test_a_definition_compiled_on_its_own_raises_what_the_whole_schemas_function_for_it_raises(minor: int) -> None:
    """Every cell and output of the corpus, as it is and with a fault planted, against its own type's definition."""
    compared = faulty = 0
    for content in v4_contents()[minor::12]:
        for cell in content["cells"][:10]:
            outputs = cell.get("outputs") if isinstance(cell, dict) else None
            parts = [(f"{kind}_cell", cell) for kind in CELL_TYPES]
            parts += [(kind, output) for output in (outputs if isinstance(outputs, list) else [])[:3] for kind in OUTPUT_TYPES]
            for definition, value in parts:
                for planted in (value, *faults_in(value)):
                    said = raised(_definition_validator(minor, definition), planted)
                    assert said == raised(the_whole_schemas_own(minor, definition), planted), (definition, planted)
                    compared, faulty = compared + 1, faulty + (said is not None)
    assert compared > 3000 and faulty > compared / 2, (compared, faulty)


def faults_in(value: Any) -> list[Any]:
    """A cell's or an output's common faults: keys of its own, a field of another type, one missing."""
    if not isinstance(value, dict):
        return []
    first = next(iter(value), None)
    return [{**value, "id": "x", "idx_": 0}, {**value, "source": 3, "text": 3}, {key: item for key, item in value.items() if key != first}]


@pytest.mark.corpus
@pytest.mark.parametrize("minor", range(6))
def test_keys_worded_without_fastjsonschema_are_worded_as_it_words_them(minor: int) -> None:
    """Whenever the walk says a cell's only fault is keys its type does not allow (one or several),
    fastjsonschema says just that, in those words once the keys it lists are sorted."""
    shapes = _shapes(minor)
    worded = 0
    for content in v4_contents()[minor::6]:
        for cell in content["cells"]:
            if not isinstance(cell, dict):
                continue
            for planted in (cell, {**cell, "id": "a-1"}, {**cell, "idx_": 0}, {**cell, "b": 1, "a": 2, "zz": None, "attachments": {}}):
                unknown = only_unknown_keys(planted, shapes)
                if unknown is not None:
                    kind = planted["cell_type"]
                    said = raised(the_whole_schemas_own(minor, f"{kind}_cell"), planted)
                    assert said is not None and (said[1], _keys_sorted(said[2])) == ("additionalProperties", _must_not_contain("data", unknown))
                    worded += 1
    assert worded > 200, worded


def planted(content: dict[str, Any], number: int, fault: Callable[[dict[str, Any]], None], unknown_at_top: bool) -> dict[str, Any]:
    """A deep copy of the notebook with a fault in cell `number` (0-based) and maybe keys of its own at the top."""
    copy: dict[str, Any] = json.loads(json.dumps(content))
    fault(copy["cells"][number])
    if unknown_at_top:
        copy.update(path_="x", b=1)
    return copy


CELL_FAULTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "none": lambda cell: None,
    "a key of its own": lambda cell: cell.update(idx_=0),
    "three keys of its own": lambda cell: cell.update(idx_=0, zz=1, a=None),
    "a cell id": lambda cell: cell.update(id="a-1"),
    "keys of its own and a source of another type": lambda cell: cell.update(idx_=0, source=3),
    "a source of another type": lambda cell: cell.update(source=3),
    "no metadata": lambda cell: cell.pop("metadata"),
    "an unknown cell type": lambda cell: cell.update(cell_type="heading"),
    "a cell type that is a list": lambda cell: cell.update(cell_type=[]),
    "an unknown output": lambda cell: cell.update(cell_type="code", execution_count=None, outputs=[{"output_type": "x"}]),
    "an output with a field of another type": lambda cell: cell.update(cell_type="code", execution_count=None,
                                                                      outputs=[{"output_type": "stream", "name": 1, "text": ""}]),
    "a tag with a comma": lambda cell: cell.update(metadata={"tags": ["a,b"]}),
}


@pytest.mark.corpus
@pytest.mark.parametrize("minor", range(6))
def test_the_first_error_found_is_the_whole_schemas_first_error_worded_as_before(minor: int) -> None:
    """Faults planted in the first or a later cell of real notebooks, with and without keys of their
    own at the top (which the schema checks after the cells): the one error reported is the whole
    schema's first, explained from the whole schema's error."""
    compared = 0
    for content in v4_contents()[minor:60:6]:
        content = {**content, "nbformat_minor": minor}
        if not content["cells"] or not plainly_valid_around_cells(content, _shapes(minor)):
            continue
        for fault in CELL_FAULTS.values():
            for number in {0, len(content["cells"]) - 1}:
                for unknown_at_top in (False, True):
                    near = planted(content, number, fault, unknown_at_top)
                    whole = _first_error(_validator(4, minor), near)
                    expected = [] if whole is None else [_explain(near, 4, minor, whole)]
                    assert [e for e in schema_errors(near, 4, minor) if "also the id" not in e.message] == expected, (number, near["cells"][number])
                    compared += bool(expected)
    assert compared > 300, compared


def test_a_notebook_with_keys_of_its_own_at_the_top_and_in_a_cell_is_worded_without_fastjsonschema(repo: Path) -> None:
    """The common fault costs no compiled schema: fastjsonschema is not even imported (the main
    process and each worker paid about 100 ms of CPU for the whole schema of each minor version)."""
    cells = [{"cell_type": "markdown", "idx_": 0, "metadata": {}, "source": ["# t"]}, {"cell_type": "code", "execution_count": None, "metadata": {},
                                                                                          "outputs": [], "source": ["1"]}]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4, "path_": "a.ipynb"}
    (repo / "a.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    del cells[0]["idx_"]
    (repo / "b.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    git(repo, "add", "-A")
    env = {**os.environ, "CI": "1"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "nbgit", "check", "--all"], cwd=repo, capture_output=True, env=env)
    lines = done.stdout.decode().splitlines()
    assert lines[:2] == ["a.ipynb cell 1: not valid nbformat 4.4: markdown cell must not contain {'idx_'} properties [invalid]",
                         "b.ipynb: not valid nbformat 4.4: notebook must not contain {'path_'} properties [invalid]"]
    assert "fastjsonschema" not in done.stderr.decode()


def test_keys_a_notebook_may_not_hold_are_listed_sorted_whatever_the_hash_seed(repo: Path) -> None:
    """Several keys of its own in a cell, at the top (both worded by the walk) and in an output (worded
    by fastjsonschema, which lists them as a set): string hashes are salted per process, so a set's
    order, and so these lines, changed from one run (and one CI job) to the next."""
    odd = "} properties {'"  # a key that reads like the end of the list: taken apart as a literal, never by eye
    keys = {key: 0 for key in ("k5", "k0", odd, "k7", "k2", "k6", "k1", "k4", "k3")}
    markdown = {"cell_type": "markdown", "metadata": {}, "source": "# t"}
    output = {"output_type": "stream", "name": "stdout", "text": "1\n", **keys}
    code = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [output], "source": "print(1)"}
    for name, cells, top in (("a", [{**markdown, **keys}], {}), ("b", [markdown], keys), ("c", [code], {})):
        (repo / f"{name}.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4, **top}, indent=1) + "\n")
    (repo / ".nbgit.toml").write_text('outputs = "keep"\nexecution_count = "keep"\n')  # (outputs judged as kept)
    git(repo, "add", "-A")
    runs = [nbgit(repo, "check", "--all", "--no-cache", env={**os.environ, "CI": "1", "PYTHONHASHSEED": seed}).stdout.decode() for seed in ("1", "2")]
    assert runs[0] == runs[1]
    listed = "{" + ", ".join(f"'k{n}'" for n in range(8)) + ', "} properties {\'"}'
    assert [line for line in runs[0].splitlines() if ": not valid " in line] == [
        f"a.ipynb cell 1: not valid nbformat 4.4: markdown cell must not contain {listed} properties [invalid]",
        f"b.ipynb: not valid nbformat 4.4: notebook must not contain {listed} properties [invalid]",
        f"c.ipynb cell 1: not valid nbformat 4.4: output 1: output must not contain {listed} properties [invalid]",
    ]


def test_a_cell_type_of_another_type_is_worded_beside_any_fault_around_the_cells(repo: Path) -> None:
    """A list as cell type, in a notebook with a key of its own at the top or a kernelspec without its
    name: named or passed over for the first error, not an internal error (it was looked up in a dict
    of validators)."""
    cells = [{"cell_type": [], "metadata": {}, "source": ""}]
    (repo / "a.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4, "path_": "a"}, indent=1) + "\n")
    metadata = {"kernelspec": {"display_name": "x"}}
    (repo / "b.ipynb").write_text(json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 4}, indent=1) + "\n")
    git(repo, "add", "-A")
    done = nbgit(repo, "check", "--all", env={**os.environ, "CI": "1"})
    assert done.returncode == 1 and done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert "a.ipynb cell 1: not valid nbformat 4.4: unknown cell type [] [invalid]" in lines
    assert "b.ipynb: not valid nbformat 4.4: notebook metadata.kernelspec must contain ['name'] properties [invalid]" in lines
