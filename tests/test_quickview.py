"""quickview.py: textconv's quick path renders exactly what the full renderer does, or declines."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest
from conftest import corpus_files
from test_render import corpus_inputs, major_of

from nbgit.clean import KeyRules, jupytext_cell_filter
from nbgit.policy import Policy
from nbgit.quickview import quick_view
from nbgit.render import text_of, textconv
from nbgit.volatile import VOLATILE_KEYS


def full_text(data: bytes) -> bytes:
    return textconv(data, "generated.ipynb", Policy())


@pytest.mark.corpus
def test_every_notebook_it_takes_renders_as_the_full_renderer() -> None:
    """On every corpus file it takes, the same bytes; it takes nearly every real v4 notebook."""
    taken = []
    for path in corpus_inputs():
        data = path.read_bytes()
        nb = quick_view(data)
        if nb is not None:
            assert text_of(nb, max_lines=0) == full_text(data), path
            taken.append(path)
    real_v4 = [path for path in corpus_files("dev") if major_of(path) == 4]
    assert len(taken) > 300 and len(set(taken) & set(real_v4)) >= 0.95 * len(real_v4)


# generated notebooks: every key the default policy strips, every way to keep outputs, malformed parts
CELL_METADATA_KEYS = sorted({key.split(".", 2)[2] for key in VOLATILE_KEYS if key.startswith("cell.metadata.")} | {"tags", "keep_output", "init_cell", "custom", "colab.x"})
NOTEBOOK_METADATA_KEYS = sorted({key.split(".")[1] for key in VOLATILE_KEYS if key.startswith("metadata.")} | {
    "kernelspec", "language_info", "keep_output", "jupytext", "orig_nbformat", "custom", "language_info.version"})
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text | st.sampled_from(["keep_output", "python", "R", "-all", "-a,-b", "# -*- coding: utf-8 -*-"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["version", "provenance", "name", "language", "encoding", "cell_metadata_filter", "x"]), inner, max_size=3),
    max_leaves=8,
)
GOOD_OUTPUTS = [
    {"name": "stdout", "output_type": "stream", "text": ["a\n", "b"]},
    {"data": {"text/plain": ["1"], "image/png": "iVBORw0KGgo="}, "execution_count": 3, "metadata": {}, "output_type": "execute_result"},
    {"ename": "E", "evalue": "\x1b[31mv", "output_type": "error", "traceback": []},
]
BAD_OUTPUTS = [{"name": "stdout", "output_type": "stream", "text": ["a", 1]}, {"data": ["not", "a", "dict"], "metadata": {}, "output_type": "display_data"}, "no output"]


def cells(hostile: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Cells as tools write them, or (`hostile`) with malformed parts of every kind besides."""
    def odd(good: st.SearchStrategy[Any], *bad: Any) -> st.SearchStrategy[Any]:
        return good | st.sampled_from(bad) if hostile else good

    outputs = st.lists(st.sampled_from(GOOD_OUTPUTS + (BAD_OUTPUTS if hostile else [])), max_size=3)
    return st.lists(
        st.fixed_dictionaries(
            {
                "cell_type": odd(st.sampled_from(["code", "markdown", "raw"]), "heading", 3),
                "metadata": odd(st.dictionaries(st.sampled_from(CELL_METADATA_KEYS), values, max_size=4), None, []),
                "source": odd(text | st.lists(text, max_size=3), ["a", None], None),
            },
            optional={
                "id": st.sampled_from(["a", "b", "", "0123456789", *([7] if hostile else [])]),
                "execution_count": st.none() | st.integers(0, 9),
                "outputs": odd(outputs, None, {}, 5),
                "attachments": st.sampled_from([{}, {"i.png": {"image/png": "iVBORw0KGgo="}}, *([{"t": {"text/plain": ["a", "b"]}}, ["x"]] if hostile else [])]),
                **({"prompt_number": st.just(1)} if hostile else {}),
            },
        ),
        max_size=5,
    )


def notebooks(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"cells": cells(hostile), "nbformat": st.sampled_from([4, 3, 4.0, True]) if hostile else st.just(4)},
        optional={
            "metadata": st.dictionaries(st.sampled_from(NOTEBOOK_METADATA_KEYS), values, max_size=4) | st.sampled_from([[]] if hostile else [{}]),
            "nbformat_minor": st.sampled_from([0, 4, 5, True, "5"]),
            **({"worksheets": st.just([])} if hostile else {}),
        },
    )


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notebooks(hostile=False) | notebooks(hostile=True), st.sampled_from([0, 1]))
def test_property_the_same_text_or_none(notebook: dict[str, Any], indent: int) -> None:
    data = json.dumps(notebook, indent=indent).encode()
    nb = quick_view(data)
    if nb is not None:
        assert text_of(nb, max_lines=0) == full_text(data)


def test_it_declines_what_only_the_core_can_judge() -> None:
    plain = {"cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [], "source": "x"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert quick_view(json.dumps(plain).encode()) is not None
    declined = [
        {**plain, "nbformat": 3},
        {**plain, "metadata": {"keep_output": True}},
        {**plain, "metadata": {"jupytext": {"cell_metadata_filter": jupytext_cell_filter(KeyRules.for_policy(Policy()))}}},  # an echo
        {**plain, "metadata": {"jupytext": {"encoding": "# -*- coding: utf-8 -*-"}, "kernelspec": {"language": "R"}}},
        {**plain, "cells": [{**plain["cells"][0], "metadata": {"tags": ["keep_output"]}}]},
        {**plain, "cells": [{**plain["cells"][0], "source": ["a", 1]}]},
        {**plain, "extra": 1},
    ]
    for notebook in declined:
        assert quick_view(json.dumps(notebook).encode()) is None, notebook
    for data in (b"", b"\xef\xbb\xbf{}", b"[]", b'{"cells": [', "{}".encode("utf-16"), b"{" * 100_000):
        assert quick_view(data) is None


# every key textconv does not use, at a value other than its default (see commands.textconv.renders_as_defaults)
NOT_TEXTCONVS = Policy(strict=True, exclude=("x/**",), restore_outputs=False, overrides=((("*.ipynb",), {"outputs": "keep"}),),
                       sections={"diff": {"max_output_lines": 1}, "check": {"disable": ["untitled"]}}, source=".nbgit.toml")


@pytest.mark.corpus
def test_a_policy_of_keys_textconv_does_not_use_renders_as_the_defaults() -> None:
    """What lets textconv remember such a policy and take the quick view: the full renderer gives the
    same text with it as with the defaults, on every corpus file (those the quick view declines too)."""
    from nbgit.commands.textconv import renders_as_defaults

    assert renders_as_defaults(NOT_TEXTCONVS)
    for path in corpus_inputs():
        data = path.read_bytes()
        nb = quick_view(data)
        if nb is not None:
            assert textconv(data, "generated.ipynb", NOT_TEXTCONVS) == text_of(nb, max_lines=0), path


def test_every_cleaning_key_changed_is_read_again() -> None:
    """The other way round: a policy changing any cleaning key is never taken for the defaults."""
    from nbgit.commands.textconv import renders_as_defaults
    from nbgit.policy import CLEAN_KEYS, SECTIONS

    changed = {"outputs": "keep", "execution_count": "keep", "ids": "sequential", "extra_keys": ("metadata.x",),
               "keep_keys": ("metadata.widgets",), "keep_output_tags": (), "strip_init_cells": True, "max_output_size": 10,
               "keep_output_types": ("stream",), "drop_output_types": ("stream",), "drop_empty_cells": True, "drop_tagged_cells": ("x",)}
    assert set(changed) | {"strict", "exclude", "restore_outputs"} == set(CLEAN_KEYS) - {"overrides"}, "a new cleaning key: say here whether textconv uses it"
    assert set(SECTIONS["diff"]) == {"driver", "max_output_lines", "outputs", "volatile_patterns"}, "a new [diff] key: say whether textconv uses it"
    for key, value in changed.items():
        assert not renders_as_defaults(Policy(**{key: value})), key
