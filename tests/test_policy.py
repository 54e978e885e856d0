"""policy.py: where the policy comes from, and errors that name the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import nbgit
from nbgit.errors import NbgitError
from nbgit.policy import CLEAN_KEYS, SECTIONS, Policy, find_root, glob_matches, load_policy, policy_from_table
from nbgit.toml_keys import longest_key


def test_defaults_are_what_nbstripout_and_nb_clean_users_expect(tmp_path: Path) -> None:
    policy = load_policy(tmp_path)
    assert (policy.outputs, policy.execution_count, policy.ids, policy.strict) == ("strip", "strip", "keep", False)
    assert policy.extra_keys == () and policy.keep_keys == ()
    assert policy == Policy()


def test_nbgit_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.nbgit]\noutputs = "keep"\n')
    assert load_policy(tmp_path).outputs == "keep"
    assert load_policy(tmp_path).source == "pyproject.toml [tool.nbgit]"
    (tmp_path / ".nbgit.toml").write_text('execution_count = "keep"\n')
    policy = load_policy(tmp_path)
    assert (policy.outputs, policy.execution_count, policy.source) == ("strip", "keep", ".nbgit.toml")


def test_pyproject_without_a_table_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_policy(tmp_path) == Policy()


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('outputs = "none"\n', '.nbgit.toml: `outputs` must be "strip" or "keep", not \'none\'', "`outputs`: strip every cell's outputs"),
        ("strict = 1\n", ".nbgit.toml: `strict` must be true or false, not 1", "`strict`:"),
        ('ids = "random"\n', '.nbgit.toml: `ids` must be "keep" or "sequential"', "`ids`:"),
        ('extra_keys = "metadata.x"\n', ".nbgit.toml: `extra_keys` must be a list of key paths", "`extra_keys`:"),
        ('extra_keys = ["kernelspec"]\n', ".nbgit.toml: `extra_keys` must be a list of key paths", "`extra_keys`:"),
        ('extra_keys = ["cell.source"]\n', ".nbgit.toml: `extra_keys` must be a list of key paths starting with \"metadata.\", \"cell.\" or \"output.\", none of them a notebook's content (", "`extra_keys`:"),
        ('extra_keys = ["cell.attachments.image.png"]\n', ".nbgit.toml: `extra_keys` must be a list of key paths starting with \"metadata.\", \"cell.\" or \"output.\", none of them a notebook's content (", "`extra_keys`:"),
        ('extra_keys = ["output.data.text/plain"]\n', ".nbgit.toml: `extra_keys` must be a list of key paths starting with \"metadata.\", \"cell.\" or \"output.\", none of them a notebook's content (", "`extra_keys`:"),
        ('extra_keys = ["output.data"]\n', ".nbgit.toml: `extra_keys` must be a list of key paths starting with \"metadata.\", \"cell.\" or \"output.\", none of them a notebook's content (", "`extra_keys`:"),
        ("max_output_size = -1\n", ".nbgit.toml: `max_output_size` must be a whole number >= 0", ""),
        ('output = "keep"\n', ".nbgit.toml: unknown policy key `output`", "did you mean `outputs`?"),
        ('[pair]\nfromat = "md"\n', ".nbgit.toml: unknown policy key `pair.fromat`", "did you mean `pair.format`?"),
        ("pair = 3\n", ".nbgit.toml: `pair` must be a table", ""),
        ("outputs = \n", ".nbgit.toml: not valid TOML", "fix .nbgit.toml"),
    ],
)
def test_bad_policies_name_file_key_and_what_is_allowed(tmp_path: Path, text: str, message: str, hint: str) -> None:
    (tmp_path / ".nbgit.toml").write_text(text)
    with pytest.raises(NbgitError) as raised:
        load_policy(tmp_path)
    assert raised.value.message.startswith(message)
    assert hint in raised.value.hint


def test_bad_policy_through_the_cli_is_one_error_and_a_hint(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.nbgit]\nstrict = "yes"\n')
    done = nbgit(repo, "clean")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "nbgit: error: pyproject.toml [tool.nbgit]: `strict` must be true or false, not 'yes'",
        "hint: `strict`: refuse a file that cannot be cleaned instead of passing it through unchanged",
    ]


def test_sections_are_filled_with_defaults_and_validated() -> None:
    policy = policy_from_table({"check": {"disable": ["untitled"]}}, "t")
    assert policy.section("check")["disable"] == ["untitled"]
    for name, keys in SECTIONS.items():
        assert set(Policy().section(name)) == set(keys)


def test_find_root_walks_up_to_the_work_tree(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
    assert find_root(deep / "missing.ipynb") == tmp_path.resolve()


def test_worktree_git_file_counts_as_a_root(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")
    assert find_root(tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("docs/a/b.ipynb", ["docs/**"], True),
        ("src/docs/b.ipynb", ["docs/**"], False),
        ("x/Untitled.ipynb", ["Untitled*.ipynb"], True),
        ("a.demo.ipynb", ["*.demo.ipynb"], True),
        ("a/b/c.ipynb", ["a/*.ipynb"], False),
        ("a/b/c.ipynb", ["a/**/c.ipynb"], True),
        ("a/c.ipynb", ["a/**/c.ipynb"], True),
        ("a", ["a/**"], True),
        ("c.ipynb", ["**/**/c.ipynb"], True),
        ("a/x/b/y/c.ipynb", ["a/**/b/**/c.ipynb"], True),
        ("a/b/c.ipynb", ["a/**/b/**/c.ipynb"], True),
        ("a/c.ipynb", ["a/**/b/**/c.ipynb"], False),
        ("x/docs/a.ipynb", ["docs/"], True),
        ("a/x/b.ipynb", ["a/**b.ipynb"], False),
        ("d/" * 400 + "x", ["**/" * 333 + "x"], True),
        ("d/" * 400 + "nb.ipynb", ["**/d/" * 150 + "x"], False),
    ],
)
def test_glob_matches(path: str, patterns: list[str], expected: bool) -> None:
    assert glob_matches(path, patterns) is expected


def test_every_key_has_a_doc_and_a_valid_default() -> None:
    for name, key in [*CLEAN_KEYS.items(), *((f"{s}.{k}", v) for s, keys in SECTIONS.items() for k, v in keys.items())]:
        assert key.doc, name
        assert key.check(key.default), f"default of {name} fails its own check"


def test_overrides_are_validated_and_applied_in_order() -> None:
    policy = policy_from_table(
        {"overrides": [{"paths": ["docs/**"], "outputs": "keep"}, {"paths": ["docs/raw/**"], "outputs": "strip", "ids": "sequential"}]}, "t"
    )
    assert policy.for_path("docs/a.ipynb").outputs == "keep"
    assert (policy.for_path("docs/raw/a.ipynb").outputs, policy.for_path("docs/raw/a.ipynb").ids) == ("strip", "sequential")
    assert policy.for_path("a.ipynb") is policy
    for bad, message in [
        ({"overrides": {"paths": ["x"]}}, "`overrides` must be a list of tables"),
        ({"overrides": [{"outputs": "keep"}]}, "`overrides[1].paths` must be a non-empty list"),
        ({"overrides": [{"paths": ["x"], "outputs": 1}]}, "`overrides[1].outputs` must be"),
        ({"overrides": [{"paths": ["x"], "exclude": ["y"]}]}, "`overrides[1].exclude` cannot be overridden"),
    ]:
        with pytest.raises(NbgitError) as raised:
            policy_from_table(bad, "t")
        assert message in raised.value.message


# Keys and strings that a scan of TOML could take for something else: dots, quotes of both kinds,
# comment signs, escapes, the closing quotes of multi-line strings.
_TRICKY = st.text(alphabet=st.sampled_from(['a', '1', '-', '_', '.', ' ', '"', "'", '#', '\\', '\n', 'é', '[', '=']), max_size=8)


def _toml_string(text: str, kind: int) -> str:
    """`text` as a TOML string of one of its four kinds, where that kind can hold it (else basic)."""
    if kind == 1 and "'" not in text and "\n" not in text:
        return f"'{text}'"
    if kind == 2 and "'''" not in text and not text.endswith("'") and not text.startswith("\n"):
        return f"'''{text}'''"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if kind == 3 and not text.startswith("\n"):
        return f'"""{escaped}"""'
    return '"' + escaped.replace("\n", "\\n") + '"'


@st.composite
def _toml_documents(draw: st.DrawFn) -> tuple[str, dict, int]:
    """A TOML text of tables and dotted keys (bare or quoted), what it holds, and its longest key's parts."""
    lines, data, longest = [], {}, 0
    for table in range(draw(st.integers(0, 3))):
        header = [f"t{table}", *draw(st.lists(_TRICKY, max_size=4))]
        longest = max(longest, len(header))
        nest = data
        for part in header:
            nest = nest.setdefault(part, {})
        lines.append("[" + " . ".join(_toml_string(part, draw(st.integers(0, 3)) % 2) if part != f"t{table}" else part for part in header) + "]")
        for number in range(draw(st.integers(0, 3))):
            key = [f"k{number}", *draw(st.lists(_TRICKY, max_size=3))]
            value = draw(st.one_of(_TRICKY, st.floats(allow_nan=False, allow_infinity=False), st.integers()))
            shown = _toml_string(value, draw(st.integers(0, 3))) if isinstance(value, str) else repr(value)
            longest = max(longest, len(key), 2 if isinstance(value, float) else 1)
            inner = nest
            for part in key[:-1]:
                inner = inner.setdefault(part, {})
            inner[key[-1]] = value
            comment = " # " + draw(_TRICKY).replace("\n", " ") if draw(st.booleans()) else ""
            lines.append(".".join(_toml_string(part, 0) if part != f"k{number}" else part for part in key) + f" = {shown}{comment}")
    return "\n".join(lines) + "\n", data, longest


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_toml_documents())
def test_the_longest_key_of_any_toml_is_counted_without_parsing_it(document: tuple[str, dict, int]) -> None:
    """The scan that keeps keys of thousands of parts from tomllib (see `nbgit.toml_keys`) counts the
    parts of every key and table name exactly, whatever strings and comments hold."""
    import tomllib

    text, data, longest = document
    assert tomllib.loads(text) == data  # (the document is the TOML it means to be)
    assert longest_key(text) == longest


def test_the_longest_key_is_counted_in_linear_time() -> None:
    """Unterminated strings, runs of quotes and backslashes: one pass over a policy file of the largest size read."""
    import time

    from nbgit.policy_files import MAX_POLICY_BYTES

    size = MAX_POLICY_BYTES
    for text in ('"' * size, "'" * size, '"""' + '\\"""' * (size // 4), "'''" + "''" * (size // 2), '"' + "\\" * size, "a=''\n" * (size // 5), "a" + ".a" * (size // 2)):
        started = time.perf_counter()
        longest_key(text)
        assert time.perf_counter() - started < 2.0
