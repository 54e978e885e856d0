"""clean.py: idempotent, byte-stable, loses nothing that matters; nbstripout's end-to-end suite."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, corpus_files, corpus_id
from nbgit.clean import CleanError, clean, clean_bytes
from nbgit.notebook import Notebook, NotebookError, cells, parse, serialise, source_of
from nbgit.policy import Policy, policy_from_table
from nbgit.volatile import VOLATILE_KEYS

# nbstripout's fixtures whose keep_output marks contradict each other: refused on purpose (tested below)
CONTRADICTORY = {"test_metadata_exception.ipynb", "test_keep_output_tags_exception.ipynb"}
NOTEBOOKS = [p for p in corpus_files("dev") + corpus_files("peer") if p.name not in CONTRADICTORY]
POLICIES = {
    "default": Policy(),
    "keep-outputs": policy_from_table({"outputs": "keep", "execution_count": "keep"}, "test"),
    "nbstripout-like": policy_from_table({"ids": "sequential", "drop_empty_cells": True}, "test"),
}


def readable(path: Path) -> Notebook | None:
    try:
        return parse(path.read_bytes(), str(path))
    except NotebookError:
        return None


@pytest.mark.parametrize("policy_name", list(POLICIES))
@pytest.mark.parametrize("path", NOTEBOOKS, ids=corpus_id)
def test_clean_is_idempotent_and_a_clean_file_is_a_fixed_point(path: Path, policy_name: str) -> None:
    policy = POLICIES[policy_name]
    data = path.read_bytes()
    if readable(path) is None:
        pytest.skip("not a readable notebook (covered by the bad input tests)")
    once = clean_bytes(data, str(path), policy)
    assert clean_bytes(once, str(path), policy) == once
    # a clean notebook re-saved by another editor comes back identical
    resaved = json.dumps(json.loads(once), indent=2, sort_keys=False).encode()
    assert clean_bytes(resaved, str(path), policy) == once.replace(b"\r\n", b"\n")


def kept_metadata(metadata: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if f"{prefix}.{k}" not in VOLATILE_KEYS and k != "trusted"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=corpus_id)
def test_clean_keeps_sources_order_types_attachments_tags_and_content_metadata(path: Path) -> None:
    notebook = readable(path)
    if notebook is None:
        pytest.skip("not a readable notebook")
    result = clean(notebook.content, notebook.major, Policy()).content
    before, after = list(cells(notebook.content)), list(cells(result))
    assert [source_of(c) for c in after] == [source_of(c) for c in before]
    assert [c.get("cell_type") for c in after] == [c.get("cell_type") for c in before]
    assert [c.get("id") for c in after] == [c.get("id") for c in before]
    assert [c.get("attachments") for c in after] == [c.get("attachments") for c in before]
    for old, new in zip(before, after):
        if isinstance(old.get("metadata"), dict):
            assert new["metadata"] == kept_metadata(old["metadata"], "cell.metadata")
        if old.get("cell_type") == "code" and notebook.major == 4:
            marks = old.get("metadata", {})
            notebook_keeps = notebook.content["metadata"].get("keep_output") and marks.get("keep_output") is not False
            marked = notebook_keeps or marks.get("keep_output") or marks.get("init_cell") or "keep_output" in marks.get("tags", [])
            assert len(new.get("outputs") or []) == (len(old["outputs"]) if marked else 0)
            assert new.get("execution_count") is None
    old_meta, new_meta = notebook.content.get("metadata", {}), result.get("metadata", {})
    assert new_meta.get("kernelspec") == old_meta.get("kernelspec")
    echoes = ("encoding", "cell_metadata_filter")  # jupytext's echo of its own settings may go (test_pairing)
    kept = new_meta.get("jupytext") or {}
    assert kept == {k: v for k, v in (old_meta.get("jupytext") or {}).items() if k not in echoes or k in kept}
    assert "widgets" not in new_meta and "signature" not in new_meta


def schema_valid(content: dict[str, Any]) -> bool:
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(json.loads(json.dumps(content))))
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        logging.disable(logging.NOTSET)


@pytest.mark.parametrize("path", corpus_files("dev"), ids=corpus_id)
def test_clean_output_passes_nbformat_validate_wherever_the_input_did(path: Path) -> None:
    notebook = readable(path)
    if notebook is None or notebook.major != 4 or not schema_valid(notebook.content):
        pytest.skip("input not a schema-valid v4 notebook")
    for policy in POLICIES.values():
        assert schema_valid(json.loads(clean_bytes(path.read_bytes(), str(path), policy)))


def test_markdown_and_raw_cells_lose_what_only_code_cells_may_carry() -> None:
    """Some tools leave `outputs` and `execution_count` on markdown and raw cells: invalid nbformat 4."""
    content = {
        "cells": [
            {"cell_type": "markdown", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": "# Title"},
            {"cell_type": "raw", "execution_count": 3, "id": "b", "metadata": {}, "source": "raw"},
            {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [], "source": "1"},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    assert not schema_valid(content)
    cleaned = clean(content, 4, Policy())
    assert schema_valid(cleaned.content)
    assert cleaned.changes == ["cell 1: outputs (on a markdown cell)", "cell 1: execution_count (on a markdown cell)",
                               "cell 2: execution_count (on a raw cell)"]
    assert cleaned.content["cells"][2] == content["cells"][2]
    data = serialise(Notebook(cleaned.content, 4))
    assert clean_bytes(data, "x.ipynb", Policy()) == data


@pytest.mark.parametrize("path", [*corpus_files("dev/Carl-McBride-Ellis+My-kaggle-notebooks"),
                                  *corpus_files("bad_inputs/fastai+course22", "czech-pastries-classifier.ipynb")], ids=corpus_id)
def test_real_notebooks_with_code_keys_on_markdown_cells_come_out_valid(path: Path) -> None:
    notebook = readable(path)
    if notebook is None or not any(c.get("cell_type") != "code" and ("outputs" in c or "execution_count" in c) for c in cells(notebook.content)):
        pytest.skip("no markdown or raw cell with code cell keys")
    assert not schema_valid(notebook.content)
    assert schema_valid(json.loads(clean_bytes(path.read_bytes(), str(path), Policy())))


# nbstripout's end-to-end suite: input, flags, byte-exact expected file
NBSTRIPOUT = CORPUS / "peer" / "nbstripout"
NBSTRIPOUT_ALWAYS_STRIPPED = {
    "metadata.signature", "metadata.widgets", "cell.metadata.collapsed", "cell.metadata.ExecuteTime",
    "cell.metadata.execution", "cell.metadata.heading_collapsed", "cell.metadata.hidden", "cell.metadata.scrolled",
}


def nbstripout_policy(flags: list[str]) -> Policy:
    """The nbgit policy that corresponds to nbstripout's flags.

    nbgit deliberately differs in two defaults: ids are kept (nbstripout renumbers them unless
    --keep-id) and its catalogue strips more volatile keys; keeping the extra catalogue keys and
    asking for sequential ids reproduces nbstripout byte for byte.
    """
    table: dict[str, Any] = {"ids": "sequential"}
    extra: list[str] = []
    keep = sorted(set(VOLATILE_KEYS) - NBSTRIPOUT_ALWAYS_STRIPPED)
    args = iter(flags)
    for flag in args:
        if flag == "--keep-id":
            table["ids"] = "keep"
        elif flag == "--keep-count":
            table["execution_count"] = "keep"
        elif flag == "--keep-output":
            table["outputs"] = "keep"
        elif flag == "--drop-empty-cells":
            table["drop_empty_cells"] = True
        elif flag.startswith("--drop-tagged-cells="):
            table["drop_tagged_cells"] = flag.split("=", 1)[1].split()
        elif flag == "--max-size":
            table["max_output_size"] = int(next(args))
        elif flag == "--extra-keys":
            extra += next(args).split()
        elif flag == "--keep-metadata-keys":
            keep += next(args).split()
        elif flag == "--strip-init-cells":
            table["strip_init_cells"] = True
        else:
            raise AssertionError(f"unmapped nbstripout flag {flag}")
    table["extra_keys"] = extra
    table["keep_keys"] = [k for k in keep if not any(k.startswith(e + ".") for e in extra)]
    return policy_from_table(table, "nbstripout flags")


E2E = [c for c in json.loads((NBSTRIPOUT / "cases.json").read_text())["end_to_end"] if not c["input"].endswith(".zpln")] if NBSTRIPOUT.exists() else []


@pytest.mark.parametrize("case", E2E, ids=lambda c: f"{Path(c['expected']).name}{c['flags']}")
def test_nbstripout_end_to_end_byte_for_byte(case: dict[str, Any]) -> None:
    data = (NBSTRIPOUT / case["input"]).read_bytes()
    expected = (NBSTRIPOUT / case["expected"]).read_bytes()
    assert clean_bytes(data, case["input"], nbstripout_policy(case["flags"])) == expected


@pytest.mark.corpus
def test_nbstripout_suite_is_all_there() -> None:
    assert len(E2E) == 23


def test_default_policy_keeps_ids_where_nbstripout_renumbers() -> None:
    data = (NBSTRIPOUT / "tests/e2e_notebooks/test_nbformat45.ipynb").read_bytes()
    ours = json.loads(clean_bytes(data, "x", Policy()))
    assert [c["id"] for c in ours["cells"]] == [c["id"] for c in json.loads(data)["cells"]]
    keep_id_expected = (NBSTRIPOUT / "tests/e2e_notebooks/test_nbformat45.ipynb.expected").read_bytes()
    assert [c["id"] for c in ours["cells"]] == [c["id"] for c in json.loads(keep_id_expected)["cells"]]


def test_contradicting_keep_output_marks_are_an_error_naming_the_file() -> None:
    data = (NBSTRIPOUT / "tests/e2e_notebooks/test_metadata_exception.ipynb").read_bytes()
    with pytest.raises(CleanError) as raised:
        clean_bytes(data, "nb.ipynb", Policy())
    assert raised.value.message.startswith("nb.ipynb: cell 1: ") and "keep_output" in raised.value.message


def notebook_with(cells_: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cells": cells_, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def code(source: str, outputs: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    return {"cell_type": "code", "id": "c" + str(abs(hash(source)))[:6], "execution_count": 3, "metadata": metadata, "outputs": outputs, "source": source}


STDOUT = {"output_type": "stream", "name": "stdout", "text": "hi\n"}
STDERR = {"output_type": "stream", "name": "stderr", "text": "careful\n"}
ERROR = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}
RESULT = {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "4"}, "metadata": {}}


def outputs_after(table: dict[str, Any], *outputs: dict[str, Any], **metadata: Any) -> list[dict[str, Any]]:
    result = clean(notebook_with([code("x", list(outputs), **metadata)]), 4, policy_from_table(table, "t"))
    return result.content["cells"][0]["outputs"]


def test_output_type_rules() -> None:
    assert outputs_after({"outputs": "keep", "drop_output_types": ["error", "stream:stderr"]}, STDOUT, STDERR, ERROR) == [STDOUT]
    assert outputs_after({"keep_output_types": ["stream:stdout", "execute_result"]}, STDOUT, STDERR, ERROR) == [STDOUT]
    assert outputs_after({"outputs": "keep", "keep_output_types": ["execute_result"]}, STDOUT, RESULT)[0]["output_type"] == "execute_result"


def test_output_size_rule_and_per_cell_marks() -> None:
    big = {**STDOUT, "text": "x" * 500}
    assert outputs_after({"max_output_size": 100}, STDOUT, big) == [STDOUT]
    assert outputs_after({"outputs": "keep", "max_output_size": 100}, STDOUT, big) == [STDOUT]
    assert outputs_after({}, STDOUT, big, tags=["keep_output"]) == [STDOUT, big]
    assert outputs_after({"keep_output_tags": ["show"]}, STDOUT, tags=["show"]) == [STDOUT]
    assert outputs_after({}, STDOUT, keep_output=True) == [STDOUT]
    assert outputs_after({}, STDOUT, init_cell=True) == [STDOUT]
    assert outputs_after({"strip_init_cells": True}, STDOUT, init_cell=True) == []


@pytest.mark.parametrize("limit", range(14, 22))
def test_the_output_size_rule_measures_outputs_as_stored_so_a_clean_notebook_cleans_to_itself(limit: int) -> None:
    """`max_output_size` measures an output as it is stored, its count stripped: measured as it was read,
    an execute_result just under the limit (its count `3`, one character) was stored with a `null` count
    (four), over the limit, so the next clean stripped it: the blob the filter stored was not clean
    (`nbgit clean --check` of it said it would clean), against clean(clean(x)) == clean(x)."""
    raw = serialise(Notebook(notebook_with([code("x", [RESULT])]), 4))
    once = clean_bytes(raw, "a.ipynb", policy_from_table({"max_output_size": limit}, "t"))
    assert clean_bytes(once, "a.ipynb", policy_from_table({"max_output_size": limit}, "t")) == once
    assert (b"execute_result" in once) == (limit >= 19)  # "execute_result", "4" and null: 19 characters


def test_keep_keys_below_a_stripped_key_keep_just_that_part() -> None:
    metadata = {"colab": {"provenance": [1], "name": "x"}, "widgets": {"state": {}}, "vscode": {"interpreter": {"hash": "h"}}}
    policy = policy_from_table({"keep_keys": ["metadata.vscode.interpreter.hash"], "extra_keys": ["metadata.colab"]}, "t")
    result = clean(notebook_with([], metadata), 4, policy).content["metadata"]
    assert result == {"vscode": {"interpreter": {"hash": "h"}}}


def test_key_paths_with_dots_and_slashes_match_real_keys() -> None:
    cell = code("x", [], **{"application/vnd.databricks.v1+cell": {"a": 1}, "tags": ["t"]})
    policy = policy_from_table({"extra_keys": ["cell.metadata.application/vnd.databricks.v1+cell"]}, "t")
    assert clean(notebook_with([cell]), 4, policy).content["cells"][0]["metadata"] == {"tags": ["t"]}


def test_changes_name_cells_and_keys() -> None:
    nb = notebook_with([{"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# t"}, code("x", [STDOUT], ExecuteTime={})], {"widgets": {}})
    changes = clean(nb, 4, Policy()).changes
    assert changes == ["notebook: metadata.widgets", "cell 2: metadata.ExecuteTime", "cell 2: execution_count", "cell 2: outputs (1)"]


def test_clean_does_not_modify_its_input() -> None:
    nb = notebook_with([code("x", [STDOUT, RESULT], ExecuteTime={"a": 1})], {"widgets": {"x": 1}})
    snapshot = json.dumps(nb, sort_keys=True)
    clean(nb, 4, policy_from_table({"ids": "sequential"}, "t"))
    assert json.dumps(nb, sort_keys=True) == snapshot


# property tests over generated notebooks
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
metadata_values = st.recursive(st.none() | st.booleans() | st.integers() | text, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6)
cell_metadata = st.dictionaries(st.sampled_from(["collapsed", "scrolled", "tags", "ExecuteTime", "jupyter", "custom", "slideshow"]), metadata_values, max_size=4)
outputs = st.lists(st.sampled_from([STDOUT, STDERR, ERROR, RESULT]), max_size=3)
generated_cells = st.lists(
    st.one_of(
        st.builds(lambda s, m, o, n: {"cell_type": "code", "execution_count": n, "metadata": m, "outputs": o, "source": s}, text, cell_metadata, outputs, st.none() | st.integers(1, 99)),
        st.builds(lambda s, m: {"cell_type": "markdown", "metadata": m, "source": s}, text, cell_metadata),
        st.builds(lambda s: {"cell_type": "raw", "metadata": {}, "source": s}, text),
    ),
    max_size=8,
)
generated_policies = st.builds(
    lambda o, e, i, d: policy_from_table({"outputs": o, "execution_count": e, "ids": i, "drop_empty_cells": d}, "generated"),
    st.sampled_from(["strip", "keep"]), st.sampled_from(["strip", "keep"]), st.sampled_from(["keep", "sequential"]), st.booleans(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_cells, st.dictionaries(st.sampled_from(["widgets", "kernelspec", "custom", "toc"]), metadata_values, max_size=3), generated_policies, st.booleans())
def test_property_idempotent_and_sources_preserved(cells_: list[dict[str, Any]], metadata: dict[str, Any], policy: Policy, crlf: bool) -> None:
    data = serialise(Notebook(notebook_with(cells_, metadata), 4, crlf))
    once = clean_bytes(data, "generated.ipynb", policy)
    assert clean_bytes(once, "generated.ipynb", policy) == once
    kept = [c["source"] for c in cells_ if not (policy.drop_empty_cells and not c["source"].strip())]
    assert [source_of(c) for c in cells(parse(once).content)] == kept
