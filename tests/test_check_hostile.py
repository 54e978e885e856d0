"""`nbgit check`, its reports and its CI commands on a stranger's repository.

Each case is a real repository committed with plain git and cloned for real (`test_hostile`'s
`stranger_clone`), judged by the real CLI, locally, by the pre-commit hook and as CI runs it: a
notebook, a file name or a policy may be anything, and the answer is still a verdict or one line
naming the file, never an internal error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import NBGIT, git, nbgit
from test_hostile import (
    PLAIN,
    blob,
    git_within,
    installed,
    nbgit_within,
    notebook,
    one_line_error,
    run_notebook,
    stranger_clone,
)

CI = {**os.environ, "CI": "true"}


def test_a_cell_too_deeply_nested_to_compile_is_judged_by_its_marker_line(tmp_path: Path) -> None:
    """A code cell holding a conflict marker line is compiled to tell a marker from a Python string;
    an expression nested past the parser's limit made `compile` raise MemoryError (RecursionError
    on newer Pythons), which stopped `nbgit check` and the pre-commit hook with an internal error."""
    deep = notebook(["# title", "-" * 200_000 + "1\n<<<<<<< HEAD\n"])
    clone = stranger_clone(tmp_path, {"deep.ipynb": deep})
    done = nbgit(clone, "check", "--all", env=CI)
    assert done.returncode == 1 and "internal error" not in done.stderr.decode(), done.stderr.decode()
    assert "deep.ipynb cell 2: merge conflict marker <<<<<<< left in the cell [conflict]" in done.stdout.decode()
    installed(clone)
    (clone / "deep.ipynb").write_bytes(deep.replace(b"# title", b"# the title"))
    git(clone, "add", "deep.ipynb")
    committed = git(clone, "commit", "-q", "-m", "edit", check=False)  # the pre-commit hook judges it
    assert committed.returncode == 1 and b"[conflict]" in committed.stderr + committed.stdout
    assert b"internal error" not in committed.stderr, committed.stderr.decode()


def test_a_file_name_that_is_not_utf8_goes_into_the_gitlab_report(tmp_path: Path) -> None:
    """GitLab's Code Quality fingerprint hashed the problem's text as strict UTF-8: a file named
    `caf\\xe9.ipynb` stopped `--format gitlab` and `nbgit ci gitlab` with an internal error."""
    clone = stranger_clone(tmp_path, {os.fsdecode(b"caf\xe9.ipynb"): notebook(["# x", "x = 1"]) + b" "})
    done = nbgit(clone, "check", "--all", "--format", "gitlab", env=CI)
    assert done.returncode == 1, done.stderr.decode()
    (issue,) = json.loads(done.stdout)
    assert issue["check_name"] == "nbgit/not-clean" and len(issue["fingerprint"]) == 32
    done = nbgit(clone, "ci", "gitlab", env=CI)
    assert done.returncode == 1 and "internal error" not in done.stderr.decode(), done.stderr.decode()
    assert json.loads((clone / "gl-code-quality-report.json").read_text())[0]["fingerprint"] == issue["fingerprint"]


def _strings(value: object) -> list[str]:
    """Every string in JSON data, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(text for item in value.values() for text in _strings(item))]
    return [text for item in value for text in _strings(item)] if isinstance(value, list) else []


@pytest.mark.parametrize("form", ["json", "gitlab", "sarif"])
def test_a_file_name_that_is_not_utf8_is_shown_as_git_shows_it_in_json_reports(tmp_path: Path, form: str) -> None:
    """The JSON reports wrote a name's byte that is not UTF-8 as a lone surrogate (`caf\\udce9.ipynb`),
    which is no Unicode text: strict JSON readers refuse the report, and other tools cannot write it
    back out as UTF-8. It is shown as git and the text report show it, `caf\\351.ipynb`."""
    code = "".join(f"value_{n} = compute_something({n}, factor={n * 3})\n" for n in range(8))
    name, other = os.fsdecode(b"caf\xe9.ipynb"), os.fsdecode(b"na\xefve.ipynb")
    files = {name: notebook(["# x", "<<<<<<< HEAD\n"]) + b" ", other: notebook(["# A", code]), "b.ipynb": notebook(["# B", code])}
    clone = stranger_clone(tmp_path, {**files, ".nbgit.toml": '[check]\nerrors = ["duplicate-code"]\n'})
    done = nbgit(clone, "check", "--all", "--format", form, env=CI)
    assert done.returncode == 1, done.stderr.decode()
    report = json.loads(done.stdout.decode("utf-8"))
    texts = _strings(report)
    for text in texts:
        text.encode("utf-8")  # (a lone surrogate raises)
    assert any(r"caf\351.ipynb" in text for text in texts) and any(r"na\357ve.ipynb" in text for text in texts), texts
    if form == "sarif":
        uris = {result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in report["runs"][0]["results"]}
        assert "caf%E9.ipynb" in uris, uris  # (a URI names the file's very bytes)


def test_a_policy_key_holding_newlines_shows_as_one_line_after_a_checkout(tmp_path: Path) -> None:
    """The post-checkout hook's warning about a broken policy printed the stranger's key as it is: a
    quoted TOML key holding newlines wrote lines of its own into git's output."""
    clone = installed(stranger_clone(tmp_path, {"a.ipynb": notebook(["# A", "x = 1"])}))
    git(clone, "checkout", "-q", "-b", "theirs")
    (clone / ".nbgit.toml").write_text('"x\\n::error::forged\\nnbgit: all is well" = 1\n')
    git(clone, "add", ".nbgit.toml")
    git(clone, *PLAIN, "commit", "-q", "-m", "policy")
    git(clone, "checkout", "-q", "main")
    done = git(clone, "checkout", "theirs")
    lines = done.stderr.decode().splitlines()
    assert "nbgit: warning: .nbgit.toml: unknown policy key `x\\n::error::forged\\nnbgit: all is well`" in lines, lines
    assert not any(line.startswith(("::", "nbgit: all")) for line in lines), lines


@pytest.mark.parametrize("name", ["pyproject.toml", ".nbgit.toml"])
def test_a_policy_key_of_thousands_of_parts_never_holds_git_up(tmp_path: Path, name: str) -> None:
    """tomllib takes time and memory quadratic in a dotted key's parts: a 40 KB policy file holding
    `a.a.a...` held up `git add` (the filter reads the policy) and `nbgit check` for 11 s and 1.6 GB
    each, and a few hundred KB would exhaust the machine's memory. It is a broken policy, not read."""
    deep = "a" + ".a" * 20_000 + " = 1\n"
    policy = f"[tool.nbgit]\noutputs = 'strip'\n[tool.other]\n{deep}" if name == "pyproject.toml" else f"[check]\n{deep}"
    clone = installed(stranger_clone(tmp_path, {"a.ipynb": notebook(["# A", "x = 1"])}), "--no-hooks")
    (clone / name).write_text(policy)  # their next commit, pulled
    dirty = run_notebook("print(1)")
    (clone / "a.ipynb").write_bytes(dirty)
    added = git_within(8, clone, "add", "a.ipynb")
    assert added.stderr.decode().count("dotted parts") == 1, added.stderr.decode()
    assert blob(clone, ":a.ipynb") == dirty  # stored unchanged, as under any broken policy
    said = one_line_error(nbgit_within(8, clone, "check", "--all"), f"nbgit: error: {name}: a key or table name of more than 32 dotted parts; not read")
    assert len(said.splitlines()) == 2


def _sealed_cache_file(data: object) -> bytes:
    """A cache file as nbgit seals one without `$NBGIT_CACHE_KEY` (a checksum anyone can compute)."""
    import marshal
    import zlib

    from nbgit.check.cache import HEADER

    payload = marshal.dumps(data)
    return HEADER + zlib.crc32(payload).to_bytes(4, "big") + payload


def test_a_cache_committed_into_the_ci_cache_folder_is_never_read(tmp_path: Path) -> None:
    """README's CI example kept `$NBGIT_CACHE_DIR` in the checkout, and a fork's pull request runs
    without the cache key: a stranger committed `.nbgit-cache/fingerprints`, sealed with a checksum,
    saying their notebooks hold no code, and `duplicate-code` (an error under their target's policy)
    found no copy. A cache folder holding anything the repository tracks is not used."""
    from nbgit.check.fingerprint_index import INDEX_FILE, _version

    code = "".join(f"value_{n} = compute_something({n}, factor={n * 3})\n" for n in range(8))
    files = {"a.ipynb": notebook(["# A", code]), "b.ipynb": notebook(["# B", code]), ".nbgit.toml": '[check]\nerrors = ["duplicate-code"]\n'}
    blobs = {git(tmp_path, "hash-object", "--stdin", input=files[name]).stdout.decode().strip() for name in ("a.ipynb", "b.ipynb")}
    planted = _sealed_cache_file((_version(), {f"{blob}.ipynb": () for blob in blobs}))  # "no code in either"
    clone = stranger_clone(tmp_path, {**files, f".nbgit-cache/{INDEX_FILE}": planted})
    ci = {**CI, "NBGIT_CACHE_DIR": str(clone / ".nbgit-cache")}
    done = nbgit(clone, "check", "--all", env=ci)
    assert done.returncode == 1 and "[duplicate-code]" in done.stdout.decode(), done.stdout.decode()
    assert len(done.stderr.decode().splitlines()) == 1 and "no cache used" in done.stderr.decode()  # one warning, naming the way out
    assert (clone / ".nbgit-cache" / INDEX_FILE).read_bytes() == planted and git(clone, "status", "--porcelain").stdout == b""
    untracked = {**CI, "NBGIT_CACHE_DIR": str(clone / "cache")}  # in the work tree, but nothing of the repository's
    done = nbgit(clone, "check", "--all", env=untracked)
    assert done.returncode == 1 and b"NBGIT_CACHE_DIR" not in done.stderr and (clone / "cache" / INDEX_FILE).is_file()


COPIED = "".join(f"value_{n} = compute_something({n}, factor={n * 3})\n" for n in range(8))


def _fingerprints_claiming(clone: Path, claims: dict[str, str], key: bytes | None = None) -> bytes:
    """A fingerprint index as nbgit writes one (its version, entries by blob id), saying each notebook
    of `claims` holds the code of the notebook named there (nothing for ""); sealed under `key`, else
    with the checksum anyone can compute."""
    import hmac
    import marshal
    import zlib

    from nbgit.check.cache import HEADER
    from nbgit.check.fingerprint_index import _fingerprint, _version

    def blob(name: str) -> str:
        return git(clone, "hash-object", name).stdout.decode().strip()

    entries = {f"{blob(name)}.ipynb": _fingerprint(((clone / source).read_bytes(), None)) if source else () for name, source in claims.items()}
    payload = marshal.dumps((_version(), entries))
    seal = hmac.digest(key, payload, "sha256") if key else zlib.crc32(payload).to_bytes(4, "big")
    return HEADER + seal + payload


@pytest.mark.parametrize("planted", ["hides a copy", "invents a copy"])
def test_fingerprints_planted_in_the_ci_cache_folder_never_change_a_verdict(tmp_path: Path, planted: str) -> None:
    """The fingerprint index's version is nbgit's and its keys are blob ids: anyone who can write to the
    folder `$NBGIT_CACHE_DIR` names (a CI cache, a shared folder) could plant an index sealed with a
    checksum saying two copied notebooks hold no code (the copy is not found) or that two notebooks hold
    the same code (a copy found that is not there). Without `$NBGIT_CACHE_KEY`, the files there are
    sealed under a key the clone keeps to itself, and a planted one is foreign."""
    other = "".join(f"entirely_different_{n} = other_routine('{n}', size={n + 100})\n" for n in range(8))
    files = {".nbgit.toml": '[check]\nerrors = ["duplicate-code"]\n', "a.ipynb": notebook(["# A", COPIED])}
    files["b.ipynb"] = notebook(["# B", COPIED if planted == "hides a copy" else other])
    clone = stranger_clone(tmp_path, files)
    folder = tmp_path / "ci-cache"
    folder.mkdir()
    claims = {"a.ipynb": "", "b.ipynb": ""} if planted == "hides a copy" else {"a.ipynb": "a.ipynb", "b.ipynb": "a.ipynb"}
    index = _fingerprints_claiming(clone, claims)
    (folder / "fingerprints").write_bytes(index)
    ci = {**CI, "NBGIT_CACHE_DIR": str(folder)}
    done = nbgit(clone, "check", "--all", env=ci)
    found = "[duplicate-code]" in done.stdout.decode()
    assert (done.returncode, found) == ((1, True) if planted == "hides a copy" else (0, False)), done.stdout.decode()
    assert (folder / "fingerprints").read_bytes() != index, "the foreign index is replaced by the one this run made"
    again = nbgit(clone, "check", "--all", env=ci)  # the clone's own cache is used again
    assert (again.returncode, again.stdout) == (done.returncode, done.stdout), again.stdout.decode()


def test_fingerprints_sealed_under_the_ci_secret_are_what_a_later_run_reads(tmp_path: Path) -> None:
    """With `$NBGIT_CACHE_KEY` (a CI secret), the cache a CI run leaves serves the next run, a fresh
    clone: an index sealed under the secret is read (here, one saying the copies hold no code), one
    sealed without it is not."""
    files = {".nbgit.toml": '[check]\nerrors = ["duplicate-code"]\n', "a.ipynb": notebook(["# A", COPIED]), "b.ipynb": notebook(["# B", COPIED])}
    clone = stranger_clone(tmp_path, files)
    folder = tmp_path / "ci-cache"
    folder.mkdir()
    ci = {**CI, "NBGIT_CACHE_DIR": str(folder), "NBGIT_CACHE_KEY": "a CI secret"}
    for key, found in ((None, True), (b"another secret", True), (b"a CI secret", False)):
        for name in os.listdir(folder):
            (folder / name).unlink()
        (folder / "fingerprints").write_bytes(_fingerprints_claiming(clone, {"a.ipynb": "", "b.ipynb": ""}, key))
        done = nbgit(clone, "check", "--all", env=ci)
        assert ("[duplicate-code]" in done.stdout.decode()) is found, (key, done.stdout.decode())


def test_a_ci_cache_folder_that_is_a_link_in_the_repository_is_never_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clone = stranger_clone(tmp_path, {"a.ipynb": notebook(["# A", "x = 1"])}, links={".nbgit-cache": str(elsewhere)})
    done = nbgit(clone, "check", "--all", env={**CI, "NBGIT_CACHE_DIR": str(clone / ".nbgit-cache")})
    assert list(elsewhere.iterdir()) == [], "the cache files went where the stranger's link leads"
    assert done.returncode == 0 and b"no cache used" in done.stderr, done.stderr.decode()


@pytest.mark.parametrize("twins", ["./scripts", "scripts/.", "./scripts/"])
def test_a_mirror_folder_named_with_dots_finds_the_orphans_check_all_reports(tmp_path: Path, twins: str) -> None:
    """`folders = {notebooks = "./scripts"}` passed as the top-level folder `scripts`, but twins were
    named `./scripts/a.py`, which is not the path git tracks: `check --all` missed an orphaned twin."""
    policy = f'[pair]\nenabled = true\nfolders = {{notebooks = "{twins}"}}\n'
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "notebooks/a.ipynb": notebook(["# A", "x = 1"])})
    synced = nbgit(clone, "sync", "--all")
    assert synced.returncode == 0 and synced.stdout.decode() == "created scripts/a.py from notebooks/a.ipynb\n", synced.stdout.decode()
    git(clone, "add", "-A")
    git(clone, *PLAIN, "commit", "-q", "-m", "twin")
    git(clone, "rm", "-q", "notebooks/a.ipynb")
    done = nbgit(clone, "check", "--all", env=CI)
    assert done.returncode == 1 and "scripts/a.py: its notebook notebooks/a.ipynb was deleted [orphan]" in done.stdout.decode(), done.stdout.decode()


def test_a_mirror_folder_named_with_dots_is_not_a_second_folder(tmp_path: Path) -> None:
    clone = stranger_clone(tmp_path, {".nbgit.toml": '[pair]\nenabled = true\nfolders = {notebooks = "./notebooks"}\n', "notebooks/a.ipynb": notebook(["# A", "x = 1"])})
    one_line_error(nbgit(clone, "check", "--all"), "`pair.folders` maps `notebooks` to itself")


def test_a_submodule_or_a_link_named_like_a_notebook_is_no_notebook_to_the_pre_commit_hook(tmp_path: Path) -> None:
    """The hook read every staged `*.ipynb` entry's blob: a submodule's entry names a commit of another
    repository (`git object ... is missing`, every commit refused with a hint to run git fsck), and a
    link's blob is the path it names (`invalid JSON`: a notebook linked into docs/ could not be
    committed). Neither is a notebook; the notebook a link leads to is judged as itself."""
    clean = notebook(["# A", "x = 1"])
    clone = installed(stranger_clone(tmp_path, {"nb/a.ipynb": clean}, links={"docs/a.ipynb": "../nb/a.ipynb"}))
    git(clone, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},data.ipynb")  # a submodule, as `git submodule add` stages it
    (clone / "docs" / "b.ipynb").symlink_to("../nb/a.ipynb")
    git(clone, "add", "docs/b.ipynb")
    committed = git(clone, "commit", "-q", "-m", "submodule and link", check=False)
    assert committed.returncode == 0, committed.stderr.decode()
    assert git(clone, "ls-files", "-s", "data.ipynb", "docs/b.ipynb").stdout.decode().split()[::4] == ["160000", "120000"]


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("".join(f'[[overrides]]\npaths = ["d{n}/**"]\n' for n in range(25_000)), "25001 glob patterns"),  # (and [pair]'s default include)
        ("exclude = " + json.dumps([f"d{n}/**" for n in range(30_000)]) + "\n", "`exclude` must be a list of at most 256 glob patterns"),
        ("[diff]\nvolatile_patterns = " + json.dumps([f"x{n}y" for n in range(30_000)]) + "\n", "`diff.volatile_patterns` must be a list of at most 32"),
    ],
    ids=["overrides", "exclude", "volatile_patterns"],
)
def test_a_policy_of_thousands_of_patterns_never_holds_git_up(tmp_path: Path, policy: str, said: str) -> None:
    """Every path is matched against every glob of the policy, every output text searched with every
    regular expression: 30,000 `[[overrides]]` (1 MB) took `git add` 1.8 s of CPU per notebook, its
    globs compiled again and again (a cache of 256 held none), and 30,000 volatile patterns took 1.4 s
    per output compared by `nbgit diff` and the merge driver. Such a policy is refused when it is read."""
    clone = installed(stranger_clone(tmp_path, {"a.ipynb": notebook(["# A", "x = 1"])}), "--no-hooks")
    (clone / ".nbgit.toml").write_text(policy)  # their next commit, pulled
    dirty = run_notebook("print(1)")
    for number in range(10):
        (clone / f"n{number}.ipynb").write_bytes(dirty)
    added = git_within(30, clone, "add", "-A")
    assert added.returncode == 0 and added.stderr.decode().count(said) == 1, added.stderr.decode()
    assert blob(clone, ":n0.ipynb") == dirty  # stored unchanged, as under any broken policy
    one_line_error(nbgit_within(30, clone, "check", "--all"), said)


def _printed(tail: str, cells: int) -> bytes:
    """A notebook of `cells` code cells, each with one printed line: 140 letters, then `tail`."""
    content = json.loads(notebook(["# A"] + [f"print({n})" for n in range(cells)]))
    for cell in content["cells"][1:]:
        cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": "a" * 140 + tail}]
    return (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()


def test_a_volatile_pattern_just_under_its_time_limit_never_holds_a_command_for_long(tmp_path: Path) -> None:
    """Each search of a policy's regular expression stops at 1 s, but a pattern that takes a quarter of
    that on each printed line (`\\w*\\w*\\w*!` backtracks cubically) held `nbgit diff` (and the merge
    driver) for as long as a notebook has outputs: 60 of them took half a minute, 3,000 would take
    hours. All of a command's searches share 5 s, then one error names the policy and the way out."""
    policy = '[diff]\nvolatile_patterns = ["\\\\w*\\\\w*\\\\w*!"]\n'
    clone = stranger_clone(tmp_path, {".nbgit.toml": policy, "a.ipynb": _printed("1", 60)})
    (clone / "a.ipynb").write_bytes(_printed("2", 60))
    git(clone, *PLAIN, "commit", "-q", "-am", "re-run")
    err = one_line_error(nbgit_within(20, clone, "diff", "HEAD~1", "HEAD"), ".nbgit.toml: the policy's regular expressions took more than 5 s in all")
    first, hint = err.splitlines()
    assert re.fullmatch(
        r"nbgit: error: \.nbgit\.toml: the policy's regular expressions took more than 5 s in all, on \d+ KB of text "
        r"\(`diff\.volatile_patterns` last\): one backtracks", first), err
    assert hint == "hint: simplify or remove `diff.volatile_patterns` in .nbgit.toml"


def test_the_regular_expressions_total_grows_with_the_text_they_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared total stops a pattern that backtracks on each of many short texts, not a linear one
    searched through hundreds of megabytes of outputs (which it refused at 5 s in all, however fast
    the pattern was for the text it read). Here the total is cut to 10 ms, then to 1 s, to show both in seconds."""
    from nbgit import patterns
    from nbgit.errors import NbgitError

    monkeypatch.setattr(patterns, "TOTAL_SECONDS", 0.01)
    monkeypatch.setattr(patterns, "_ALLOWED", [0.01])
    monkeypatch.setattr(patterns, "_SPENT", [0.0])
    linear = patterns.UserRegex(re.compile(r"\d{4}-\d\d-\d\dT"), "diff.volatile_patterns", ".nbgit.toml")
    text = "a value 12.5 of 2026 printed\n" * 70_000  # 2 MB of printed output, no match
    for _ in range(5):
        assert not linear.search(text)
    assert patterns._SPENT[0] > 0.01  # more than the cut total: refused before
    monkeypatch.setattr(patterns, "TOTAL_SECONDS", 1.0)
    monkeypatch.setattr(patterns, "_ALLOWED", [1.0])
    monkeypatch.setattr(patterns, "_SPENT", [0.0])
    backtracking = patterns.UserRegex(re.compile(r"\w*\w*\w*!"), "diff.volatile_patterns", ".nbgit.toml")
    with pytest.raises(NbgitError, match=r"took more than 1 s in all, on \d KB of text"):
        for _ in range(1000):
            backtracking.search("a" * 140)


def test_a_huge_code_cell_with_a_marker_line_is_judged_without_compiling_it(tmp_path: Path) -> None:
    """A marker line in a Python cell is told from a string by compiling the cell, and source that does
    not compile took about 3 s and 500 MB a MB: one 2.4 MB cell held `nbgit check` (and the pre-commit
    hook) for 7 s and 1.2 GB, a 10 MB one for 30 s and 4.8 GB. Past 200,000 characters of a notebook's
    marked cells the marker counts without compiling."""
    huge = notebook(["# title", "x = 1\n" * 400_000 + "<<<<<<< HEAD\n", 'text = """\n<<<<<<< HEAD\n"""\n'])
    clone = stranger_clone(tmp_path, {"huge.ipynb": huge, ".nbgit.toml": '[check]\ndisable = ["duplicate-code"]\n'})  # (its own cost)
    done = nbgit_within(5, clone, "check", "--all", "--no-cache")
    found = [line for line in done.stdout.decode().splitlines() if line.endswith("[conflict]")]
    assert found == ["huge.ipynb cell 2: merge conflict marker <<<<<<< left in the cell [conflict]"], done.stdout.decode()  # cell 3's is in a string


def test_a_filter_command_with_an_unclosed_quote_is_a_filter_not_there(repo: Path) -> None:
    """`nbgit check`, the pre-commit hook and check-install split the configured filter command as a
    shell would; an unclosed quote raised ValueError: an internal error instead of `not-installed`."""
    (repo / "a.ipynb").write_bytes(notebook(["# A", "x = 1"]))
    git(repo, "config", "filter.nbgit.process", "'/opt/nbgit/bin/nbgit-filter-process")
    done = nbgit(repo, "check", "a.ipynb")
    assert done.returncode == 0 and "internal error" not in done.stderr.decode(), done.stderr.decode()
    assert "runs `'/opt/nbgit/bin/nbgit-filter-process`, which is not there" in done.stdout.decode() and "[not-installed]" in done.stdout.decode()
    done = nbgit(repo, "hook", "check-install")
    assert done.returncode == 1 and "which is not there" in done.stderr.decode(), done.stderr.decode()


def reported_lines(said: str, form: str) -> list[int]:
    """The line of each problem a CI format reports (github, gitlab or sarif)."""
    if form == "github":
        return [int(re.search(r",line=(\d+),", row).group(1)) for row in said.splitlines() if row.startswith("::error")]  # type: ignore[union-attr]
    if form == "gitlab":
        return [issue["location"]["lines"]["begin"] for issue in json.loads(said)]
    return [result["locations"][0]["physicalLocation"]["region"]["startLine"] for result in json.loads(said)["runs"][0]["results"]]

@pytest.mark.parametrize("form", ["github", "gitlab", "sarif"])
def test_a_notebook_of_thousands_of_problems_is_read_once_for_their_lines(tmp_path: Path, form: str) -> None:
    """The CI formats point each problem at the line where its cell opens, and found it by reading and
    scanning the notebook again for every problem: 20,000 marked cells (3 MB) took `--format github`
    (and `nbgit ci github`) more than two minutes."""
    data = notebook(["# title"] + ["<<<<<<< HEAD\n"] * 20_000)
    clone = stranger_clone(tmp_path, {"many.ipynb": data})
    done = subprocess.run([str(NBGIT), "check", "--all", "--no-cache", "--format", form], cwd=clone, capture_output=True, timeout=30, env=CI, check=False)
    assert done.returncode == 1, done.stderr.decode()
    openings = [number for number, line in enumerate(data.splitlines(), 1) if line == b"  {"]  # where each cell opens
    said = done.stdout.decode()
    lines = reported_lines(said, form)
    assert lines == openings[1:]  # cells 2 to 20,001


@pytest.mark.parametrize("pattern", ["a{4294967296}", "(" * 499 + "a" + ")" * 499], ids=["huge-repetition", "deep-groups"])
@pytest.mark.parametrize("key", ["check.untitled_pattern", "diff.volatile_patterns"])
def test_a_regular_expression_python_cannot_compile_is_one_error_naming_its_key(tmp_path: Path, pattern: str, key: str) -> None:
    """re.compile raises OverflowError for a repetition past 2**32 and RecursionError for groups nested
    hundreds deep, not re.error: reading such a policy ended every command with an internal error."""
    section, _, name = key.partition(".")
    value = json.dumps(pattern) if name == "untitled_pattern" else json.dumps([pattern])
    clone = stranger_clone(tmp_path, {".nbgit.toml": f"[{section}]\n{name} = {value}\n", "a.ipynb": notebook(["# A", "x = 1"])})
    for command in (("check", "--all"), ("diff",)):
        one_line_error(nbgit(clone, *command), f"`{key}` must be")


def test_a_pattern_python_warns_about_prints_no_warning(tmp_path: Path) -> None:
    """`[[a]` compiles with a FutureWarning (`Possible nested set`) that Python printed, with the line of
    nbgit that compiled it, from the reading and from every worker process the pattern was sent to."""
    files = {f"n{number:02}.ipynb": notebook(["# A", f"x = {number}"]) for number in range(60)}
    clone = stranger_clone(tmp_path, {".nbgit.toml": "[check]\nuntitled_pattern = '[[]Untitled'\n", **files})
    done = nbgit(clone, "check", "--all", "--no-cache", env=CI)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()


@pytest.mark.parametrize("form", ["github", "gitlab", "sarif"])
def test_staged_problems_point_at_the_lines_of_the_staged_blob(tmp_path: Path, form: str) -> None:
    """`--staged` judges the blob in git's index, but the CI formats took each cell's line from the
    working-tree file: a longer first cell saved after `git add` moved every annotation of the commit
    to another line (here cell 3 opened at line 21 of what is staged, and was shown at line 31)."""
    clone = stranger_clone(tmp_path, {"a.ipynb": notebook(["# A", "x = 1"])})
    (clone / "a.ipynb").write_bytes(notebook(["# A", "x = 1", "<<<<<<< HEAD\n"]))
    git(clone, "add", "a.ipynb")
    (clone / "a.ipynb").write_bytes(notebook(["# A\n" + "a longer title\n" * 10, "x = 1", "<<<<<<< HEAD\n"]))  # saved again, not staged
    staged = [number for number, line in enumerate(blob(clone, ":a.ipynb").splitlines(), 1) if line == b"  {"]
    done = nbgit(clone, "check", "--staged", "--format", form, env=CI)
    assert done.returncode == 1, done.stderr.decode()
    said = done.stdout.decode()
    lines = reported_lines(said, form)
    assert lines == [staged[2]] == [21], said


def test_paths_of_two_repositories_are_never_judged_under_one_policy(tmp_path: Path, repo: Path) -> None:
    """`nbgit check PATH...` took the repository of the first path for all: the notebooks of another were
    judged under the stranger's policy (here, said to be links leading out of the repository), and
    `--fix` would clean them by its rules. Paths of different repositories, or of none beside a
    repository's, are one error naming the path."""
    clone = stranger_clone(tmp_path, {".nbgit.toml": "[check]\nerrors = ['untitled']\nuntitled_pattern = 'a'\n", "b.ipynb": notebook(["# B", "y = 1"])})
    mine = notebook(["# A", "x = 1"]) + b" "  # not clean: `--fix` would rewrite it
    (repo / "a.ipynb").write_bytes(mine)
    outside = tmp_path / "loose.ipynb"
    outside.write_bytes(notebook(["# C", "z = 1"]))
    cases = [
        ((clone / "b.ipynb", repo / "a.ipynb"), f"{repo / 'a.ipynb'}: in the repository at {repo}, while {clone / 'b.ipynb'} is in the repository at {clone}"),
        ((repo / "a.ipynb", outside), f"{outside}: in no git repository, while {repo / 'a.ipynb'} is in the repository at {repo}"),
        ((outside, repo / "a.ipynb"), f"{repo / 'a.ipynb'}: in the repository at {repo}, while {outside} is in no git repository"),
    ]
    for paths, said in cases:
        for fix in ((), ("--fix",)):
            err = one_line_error(nbgit(tmp_path, "check", *fix, *map(str, paths)), said)
            assert err.splitlines()[1] == "hint: run `nbgit check` once for the paths of each repository", err
    assert (repo / "a.ipynb").read_bytes() == mine
    done = nbgit(tmp_path, "check", str(repo / "a.ipynb"), str(repo))  # one repository: judged under its own policy
    assert done.returncode == 1 and "a.ipynb: not in Jupyter's own JSON layout" in done.stdout.decode(), done.stdout.decode()
