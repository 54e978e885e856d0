"""Every call into git lives here.

Plain `git` subprocesses for the few quick questions on fast paths; GitPython (imported lazily,
it costs about 0.1 s) where an object model helps.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NamedTuple

from nbgit.errors import NbgitError


def git(*args: str, cwd: Path | str | None = None, input: bytes | None = None, check: bool = True, hint: str = "") -> bytes:
    """Run `git ARGS` and return its stdout; raise NbgitError with git's message (and `hint`) when it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True)
    except FileNotFoundError:
        raise NbgitError("git is not installed or not on PATH", "install git 2.39 or newer") from None
    if check and done.returncode != 0:
        raise NbgitError(f"git {args[0]} failed: {_failure(done.stderr) or done.returncode}", hint or _failure_hint(done.stderr))
    return done.stdout


def _failure(stderr: bytes) -> str:
    """The line of git's error output that says what failed: its `fatal:` line, else its last line (git
    follows some with advice whose last line, alone, misleads: "remove the file manually to continue")."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
    return fatal[0] if fatal else lines[-1] if lines else ""


def _failure_hint(stderr: bytes) -> str:
    """The way out of a failure git explains at length: another git command holding the index lock."""
    if b"index.lock': File exists" in stderr:
        return "another git command is running in this repository: run this again once it is done (if none is, a crashed one left the lock file named above: delete it)"
    return ""


def commit_exists(revision: str, cwd: Path | str | None = None) -> bool:
    """Whether `revision` names a commit this clone has (a shallow CI clone may lack a pull request's base)."""
    return bool(git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", cwd=cwd, check=False).strip())


def ignored_paths(paths: list[Path]) -> set[Path]:
    """Those of `paths` that git ignores (none when outside a work tree)."""
    if not paths:
        return set()
    done = subprocess.run(
        ["git", "check-ignore", "-z", "--stdin"],
        input=b"\0".join(str(p).encode("utf-8", "surrogateescape") for p in paths),
        capture_output=True,
    )
    if done.returncode not in (0, 1):  # 128: not a repository
        return set()
    return {Path(p.decode("utf-8", "surrogateescape")) for p in done.stdout.split(b"\0") if p}


def ignoring_rule(root: Path, path: str) -> str | None:
    """The rule that has git ignore the untracked repo-relative `path` (`.gitignore:3: *.py`), None
    when no rule does (`git add PATH` then works)."""
    out = git("check-ignore", "-v", "-z", "--stdin", cwd=root, input=path.encode("utf-8", "surrogateescape") + b"\0", check=False)
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    if len(fields) < 4 or fields[2].startswith("!"):  # a negated rule matched last: not ignored
        return None
    return f"{fields[0]}:{fields[1]}: {fields[2]}"


NULL_BLOB = "0" * 40


class FileChange(NamedTuple):
    """One changed path between two revisions: status letter (A, D, M, R, T...), both paths and blobs.

    `new_blob` is NULL_BLOB when the new side is the working tree (read the file there).
    """

    status: str
    old_path: str | None
    new_path: str | None
    old_blob: str | None
    new_blob: str | None
    old_mode: str = ""  # as git prints it: 100644, 100755, 120000, 160000; 000000 for a missing side
    new_mode: str = ""


def top_level(cwd: Path | str | None = None) -> Path:
    """The top of the work tree `cwd` is in; NbgitError outside a repository."""
    return Path(path_line(git("rev-parse", "--show-toplevel", cwd=cwd)))


def top_level_refusal(cwd: Path | str) -> str:
    """What git says when asked for the top of the work tree at `cwd` and it has none ("" when it has one)."""
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, check=False)
    return "" if done.returncode == 0 else done.stderr.decode("utf-8", "replace")


def path_line(out: bytes) -> str:
    """The one path git printed on a line: only the "\n" git ends it with comes off (a folder's name
    may end in a space), and bytes that are not UTF-8 are kept as the file system has them."""
    return out.decode("utf-8", "surrogateescape").removesuffix("\n")


class WorkTree(NamedTuple):
    """A work tree as git sees it from some folder: its top, its index file and its object format."""

    root: Path
    index: Path  # honours GIT_INDEX_FILE and linked worktrees
    object_format: str  # sha1 or sha256


def work_tree(cwd: Path | str) -> WorkTree:
    """The work tree holding `cwd` (one `git rev-parse`); NbgitError outside one, or when a line
    break in its path makes git's three lines ambiguous.

    git ends each line with "\n" and nothing else: other characters Python counts as line breaks
    (U+001C, U+2028, form feed...) are part of a path, such as a submodule's that a stranger named.
    """
    out = git(
        "rev-parse", "--show-toplevel", "--git-path", "index", "--show-object-format", cwd=cwd,
        hint="run it inside a git work tree",
    )
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) != 4:  # three lines and the empty rest after the last "\n"
        raise NbgitError("the path of this work tree or of its git folder holds a line break, which makes git's answer ambiguous", "rename that folder")
    root, index, object_format, _ = lines
    return WorkTree(Path(root), Path(cwd, index).absolute(), object_format)


def filtered_paths(paths: list[str], driver: str, cwd: Path | str | None = None) -> set[str]:
    """Those of `paths` (repo-relative) that git runs the clean filter `driver` on: its attribute names
    the driver and the config gives the driver a command (without one, git stores files as they are)."""
    if not paths or not config_entries(rf"^filter\.{driver}\.(process|clean)$", (), cwd):
        return set()
    return {path for path, values in attributes_of(paths, ("filter",), cwd).items() if values.get("filter") == driver}


def changed_files(revisions: list[str], paths: list[str], cwd: Path | str | None = None) -> list[FileChange]:
    """Paths changed between `revisions` as `git diff` reads them (none: HEAD vs work tree), renames found.

    One `git diff --raw -z` call; paths come back relative to the top of the work tree.
    """
    out = git(
        "diff", "--raw", "-z", "-M", "--no-abbrev", "--no-ext-diff", "--no-textconv", *revisions, "--", *paths, cwd=cwd,
        hint="name revisions that exist (`git log --oneline` lists them); before the first commit there is no HEAD, "
        "and a shallow clone has no history before its oldest commit (`git fetch --unshallow` fetches it)",
    )
    return _raw_changes(out)


def stat_dirty(paths: list[str], cwd: Path | str | None = None, literal: bool = False) -> list[FileChange]:
    """Index entries whose work-tree file's stat data no longer matches (`git diff-files`), as FileChanges.

    git decides from stat data alone here, as `git status` first does: a file whose size changed
    is listed without its content being read, one only touched is listed too (unless racily clean).
    `paths` are pathspecs relative to `cwd` (`literal`: no glob magic); none means the whole work tree.
    """
    options = ["--literal-pathspecs"] if literal else []
    return _raw_changes(git(*options, "diff-files", "-z", "--no-abbrev", "--", *paths, cwd=cwd))


def _raw_changes(out: bytes) -> list[FileChange]:
    """FileChanges from `git diff --raw -z`-style output (renames and copies carry two paths)."""
    fields = out.split(b"\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode("ascii").lstrip(":").split()
        old_mode, new_mode, old_blob, new_blob, status = meta[0], meta[1], meta[2], meta[3], meta[4][0]
        first = fields[i + 1].decode("utf-8", "surrogateescape")
        if status in ("R", "C"):
            second = fields[i + 2].decode("utf-8", "surrogateescape")
            i += 3
        else:
            second = first
            i += 2
        changes.append(
            FileChange(
                status,
                None if status == "A" else first,
                None if status == "D" else second,
                None if old_mode == "000000" else old_blob,
                None if new_mode == "000000" else new_blob,
                old_mode,
                new_mode,
            )
        )
    return changes


def read_blobs(blobs: list[str], cwd: Path | str | None = None) -> dict[str, bytes]:
    """The contents of many blobs through one `git cat-file --batch` process."""
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    out = git("cat-file", "--batch", cwd=cwd, input="".join(f"{b}\n" for b in wanted).encode("ascii"))
    result: dict[str, bytes] = {}
    at = 0
    for blob in wanted:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3 or header[1] == b"missing":
            raise NbgitError(f"git object {blob} is missing", "run `git fsck`; the repository may be a partial clone")
        size = int(header[2])
        result[blob] = out[at : at + size]
        at += size + 1
    return result


# --- configuration, attributes and paths for `nbgit install` / `uninstall` / `status` ---

ConfigFile = tuple[str, ...]  # git config's choice of file: ("--local",), ("--global",) or ("--file", PATH)


class ConfigValue(NamedTuple):
    """One config entry as git reports it: scope (local, global, system...), the file, key, value."""

    scope: str
    file: Path
    key: str
    value: str


def config_entries(pattern: str, where: ConfigFile = (), cwd: Path | str | None = None) -> list[ConfigValue]:
    """Entries whose key matches the regular expression `pattern`, in every scope unless `where` names a file.

    Keys come back as git canonicalises them: section and name lower-cased, subsection as written.
    """
    args = ["git", "config", *where, "--show-scope", "--show-origin", "-z", "--get-regexp", pattern]
    done = subprocess.run(args, cwd=cwd, capture_output=True)
    if done.returncode == 1:  # nothing matches, or the file does not exist
        return []
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise NbgitError(f"git config failed: {message}", "fix the git config file it names")
    fields = done.stdout.split(b"\0")
    entries: list[ConfigValue] = []
    for i in range(0, len(fields) - 2, 3):
        origin = fields[i + 1].decode("utf-8", "surrogateescape").removeprefix("file:")
        key, _, value = fields[i + 2].decode("utf-8", "surrogateescape").partition("\n")
        entries.append(ConfigValue(fields[i].decode("ascii"), Path(cwd or ".", origin).absolute(), key, value))
    return entries


def config_value(key: str, kind: str, cwd: Path | str | None = None) -> str | None:
    """The value git reads for `key` (its last), as `git config --type=KIND` gives it, or None when unset:
    with a `bool` kind, a key with no value is `true` and an empty one `false`, as git reads them, where
    `config_entries` gives "" for both."""
    done = subprocess.run(["git", "config", f"--type={kind}", "--get", key], cwd=cwd, capture_output=True, check=False)
    if done.returncode == 1:  # unset
        return None
    if done.returncode != 0:
        raise NbgitError(f"git config failed: {_failure(done.stderr)}", "fix the git config file it names")
    return done.stdout.decode("utf-8", "surrogateescape").removesuffix("\n")


def config_set(key: str, value: str, where: ConfigFile, cwd: Path | str | None = None, add: bool = False) -> None:
    """Set `key` to `value` in one config file (replacing every value it had), or `add` one more value."""
    git("config", *where, "--add" if add else "--replace-all", key, value, cwd=cwd)


def config_unset(key: str, where: ConfigFile, cwd: Path | str | None = None, value_pattern: str | None = None) -> None:
    """Remove `key` (every value, or those matching `value_pattern`) from one config file, and its section if that empties it."""
    extra = [value_pattern] if value_pattern is not None else []
    subprocess.run(["git", "config", *where, "--unset-all", key, *extra], cwd=cwd, capture_output=True)
    section = key.rsplit(".", 1)[0]
    if not config_entries("^" + section.replace(".", r"\.") + r"\.", where, cwd):
        config_remove_section(section, where, cwd)


def config_remove_section(section: str, where: ConfigFile, cwd: Path | str | None = None) -> bool:
    """Remove a whole `[section]` from one config file; False when it was not there."""
    done = subprocess.run(["git", "config", *where, "--remove-section", section], cwd=cwd, capture_output=True)
    return done.returncode == 0


def config_path(key: str, where: ConfigFile = (), cwd: Path | str | None = None) -> Path | None:
    """A config value that names a file (`~` expanded as git does), or None when unset."""
    done = subprocess.run(["git", "config", *where, "--type=path", "--get", key], cwd=cwd, capture_output=True)
    value = path_line(done.stdout)
    return Path(cwd or ".", value).absolute() if done.returncode == 0 and value else None


def git_dir_path(name: str, cwd: Path | str | None = None) -> Path:
    """Where git keeps `name` (`hooks`, `info/attributes`): honours core.hooksPath and linked worktrees."""
    return Path(cwd or ".", path_line(git("rev-parse", "--git-path", name, cwd=cwd))).absolute()


def version() -> tuple[int, int, int]:
    """The version of the git on PATH, as numbers (`git version 2.39.5.windows.1` -> (2, 39, 5))."""
    import re

    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", git("--version").decode("ascii", "replace"))
    if found is None:
        return (0, 0, 0)
    return (int(found[1]), int(found[2]), int(found[3] or 0))


def attributes_of(paths: list[str], names: tuple[str, ...], cwd: Path | str | None = None) -> dict[str, dict[str, str]]:
    """The attributes in effect for each path (every attribute file, precedence applied), as `git check-attr` says.

    Values are the driver name, `set`, `unset` or `unspecified`.
    """
    result: dict[str, dict[str, str]] = {path: {} for path in paths}
    if not paths:
        return result
    out = git("check-attr", "--stdin", "-z", *names, cwd=cwd, input=b"\0".join(p.encode("utf-8", "surrogateescape") for p in paths) + b"\0")
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    for i in range(0, len(fields) - 2, 3):
        result.setdefault(fields[i], {})[fields[i + 1]] = fields[i + 2]
    return result


def uncommitted(paths: list[str], cwd: Path | str | None = None) -> list[str]:
    """Those of `paths` (relative to `cwd`) whose work-tree or staged content differs from HEAD, untracked ones included."""
    if not paths:
        return []
    out = git("status", "--porcelain", "-z", "--untracked-files=all", "--", *paths, cwd=cwd)
    entries = out.decode("utf-8", "surrogateescape").split("\0")
    return [path for path in paths if any(entry[3:] == path for entry in entries)]


def tracked_files(pathspec: str, cwd: Path | str | None = None, untracked: bool = False) -> list[str]:
    """Paths (relative to `cwd`) that git tracks and match `pathspec`; with `untracked`, also those not ignored."""
    extra = ["--others", "--exclude-standard"] if untracked else []
    out = git("ls-files", "-z", "--cached", *extra, "--", pathspec, cwd=cwd)
    return list(dict.fromkeys(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p))


def stage_many(contents: list[tuple[IndexEntry, bytes]], cwd: Path | str | None = None) -> None:
    """Replace what the index holds for many entries at once (no filters; the working tree is left alone).

    Two git processes whatever the number of files: `hash-object --stdin-paths` and `update-index --index-info`.
    """
    import tempfile

    if not contents:
        return
    with tempfile.TemporaryDirectory(prefix="nbgit-stage-") as folder:
        names = []
        for number, (_, data) in enumerate(contents):
            name = Path(folder, str(number))
            name.write_bytes(data)
            names.append(str(name))
        out = git("hash-object", "-w", "--no-filters", "--stdin-paths", cwd=cwd, input="".join(f"{n}\n" for n in names).encode())
    blobs = out.decode("ascii").split()
    info = "".join(f"{entry.mode} {blob}\t{entry.path}\0" for (entry, _), blob in zip(contents, blobs))
    git("update-index", "-z", "--index-info", cwd=cwd, input=info.encode("utf-8", "surrogateescape"))


def merge_file(
    local: bytes,
    base: bytes,
    remote: bytes,
    marker_size: int = 7,
    labels: tuple[str, str, str] = ("local", "base", "remote"),
    cwd: Path | str | None = None,
    prefer: str | None = None,
) -> tuple[bytes, int]:
    """git's own three-way line merge (`git merge-file -p`, with these labels, git's marker size and
    the repository's merge.conflictStyle): the merged bytes and the number of conflicts; with `prefer`
    ("local" or "remote"), conflicts settled that side's way (`--ours`, `--theirs`): none left."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbgit-merge-") as folder:
        paths = []
        for name, data in (("local", local), ("base", base), ("remote", remote)):
            paths.append(Path(folder) / name)
            paths[-1].write_bytes(data)
        options = [f"--marker-size={marker_size}", *(arg for label in labels for arg in ("-L", label))]
        options += {"local": ["--ours"], "remote": ["--theirs"]}.get(prefer or "", [])
        done = subprocess.run(["git", "merge-file", "-p", *options, *map(str, paths)], cwd=cwd, capture_output=True)
    if done.returncode < 0 or done.returncode > 127:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise NbgitError(f"git merge-file failed: {message or done.returncode}")
    return done.stdout, done.returncode


def merge_labels(environ: dict[str, str], cwd: Path | str | None = None) -> tuple[str, str] | None:
    """The labels git writes on its own conflict markers in the merge running now, for a merge driver.

    git 2.39 passes a driver no labels (`%S %X %Y` came in 2.44), but says enough: ours is `HEAD`;
    theirs is the name `git merge` (and so `git pull`) gives in `GITHEAD_<commit>`, or, in a rebase,
    the commit being picked, `<short hash> (<subject>)`, the last line of `rebase-merge/done`.
    None when neither is there (cherry-pick, stash, checkout -m): the caller keeps its own labels.
    """
    named = [value for key, value in environ.items() if key.startswith("GITHEAD_")]
    if len(named) == 1:
        return "HEAD", named[0]
    try:
        done = Path(cwd or ".", path_line(git("rev-parse", "--git-path", "rebase-merge/done", cwd=cwd)))
        last = done.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1].split(maxsplit=2)
        short = git("rev-parse", "--short", last[1], cwd=cwd).decode().strip()
    except (NbgitError, OSError, IndexError):
        return None
    return "HEAD", f"{short} ({last[2]})" if len(last) > 2 else short


def unmerged_paths(suffix: str, cwd: Path | str | None = None) -> list[str]:
    """The paths git lists as unmerged (a conflicted merge, rebase, cherry-pick, stash pop) that end with
    `suffix`, relative to `cwd`, each once, in git's order; empty outside a repository."""
    listing = git("ls-files", "-u", "-z", cwd=cwd, check=False)
    names = (entry.partition(b"\t")[2].decode("utf-8", "surrogateescape") for entry in filter(None, listing.split(b"\0")))
    return [name for name in dict.fromkeys(names) if name.endswith(suffix)]


def conflict_stages(path: str, cwd: Path | str | None = None) -> dict[int, bytes]:
    """The versions git keeps for an unmerged path: {1: base, 2: ours, 3: theirs}, those present
    (no 1 for add/add); empty when the path is not in conflict or not in a repository."""
    listing = git("--literal-pathspecs", "ls-files", "-u", "-z", "--", path, cwd=cwd, check=False)
    stages: dict[int, bytes] = {}
    for entry in filter(None, listing.split(b"\0")):
        info, _, _name = entry.partition(b"\t")
        _mode, blob, stage = info.decode().split()
        stages[int(stage)] = git("cat-file", "blob", blob, cwd=cwd)
    return stages


# --- the index, for `nbgit check --staged` and the pre-commit hook (GIT_INDEX_FILE is honoured) ---


class IndexEntry(NamedTuple):
    """One stage-0 entry of the index: file mode, blob and repo-relative path; `outside`: a sparse checkout
    leaves it out of the work tree (skip-worktree: a partial clone may lack its blob, and reading one
    fetches it from the remote), as told by `index_entries(..., sparse=True)`."""

    mode: str
    blob: str
    path: str
    outside: bool = False


def index_entries(pathspecs: list[str], cwd: Path | str | None = None, sparse: bool = False) -> list[IndexEntry]:
    """The index entries matching `pathspecs` (every entry when empty), as the commit would record them;
    with `sparse`, each says whether a sparse checkout leaves it out (`IndexEntry.outside`)."""
    out = git("ls-files", "--stage", "-z", *(["-t"] if sparse else []), "--", *pathspecs, cwd=cwd)
    entries: list[IndexEntry] = []
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if record:
            outside = sparse and record.startswith("S ")
            meta, _, path = record[2 if sparse else 0 :].partition("\t")
            mode, blob, stage = meta.split()
            if stage == "0":
                entries.append(IndexEntry(mode, blob, path, outside))
    return entries


def is_submodule(root: Path, relative: str) -> bool:
    """Whether the index records the repo-relative folder `relative` as a submodule (a gitlink)."""
    out = git("--literal-pathspecs", "ls-files", "--stage", "-z", "--", relative, cwd=root, check=False)
    return any(record.startswith("160000 ") and record.endswith("\t" + relative) for record in out.decode("utf-8", "surrogateescape").split("\0"))


def tree_blobs(revision: str, cwd: Path | str | None = None) -> dict[str, str]:
    """{path: blob} of every file in a commit's tree (`git ls-tree -r`); empty when the revision does not exist."""
    done = subprocess.run(["git", "ls-tree", "-r", "-z", "--full-tree", revision], cwd=cwd, capture_output=True)
    blobs: dict[str, str] = {}
    for record in done.stdout.decode("utf-8", "surrogateescape").split("\0") if done.returncode == 0 else []:
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == "blob":
            blobs[path] = fields[2]
    return blobs


def stage_content(entry: IndexEntry, data: bytes, cwd: Path | str | None = None) -> None:
    """Replace what the index holds for `entry.path` with `data` (no filters), leaving the working tree alone."""
    blob = git("hash-object", "-w", "--stdin", "--no-filters", cwd=cwd, input=data).decode("ascii").strip()
    git("update-index", "--cacheinfo", f"{entry.mode},{blob},{entry.path}", cwd=cwd)


# --- pairing (`nbgit sync`): listing, committed and staged versions, text merges ---


class Listing(NamedTuple):
    """The repo-relative paths git knows (tracked, even if deleted on disk, and untracked but not
    ignored), in git's order, and those among them that git tracks."""

    paths: list[str]
    tracked: set[str]


def listing(root: Path, pathspecs: list[str]) -> Listing:
    """What git knows under `pathspecs` (`listed_files`) and what of it git tracks, from one `git ls-files`
    (`-t` tags each path: `?` for an untracked one)."""
    out = git("ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--", *pathspecs, cwd=root)
    tagged = [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
    return Listing(list(dict.fromkeys(p[2:] for p in tagged)), {p[2:] for p in tagged if not p.startswith("?")})


def listed_files(root: Path, pathspecs: list[str]) -> list[str]:
    """Repo-relative paths git knows under `pathspecs`: tracked (even if deleted on disk) and untracked but not ignored."""
    return listing(root, pathspecs).paths


# What keeps git from fetching a missing object from a partial clone's remote: GIT_NO_LAZY_FETCH
# (git 2.44 and newer), and before it no transport allowed, so that the fetch git starts fails at once.
_NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "none"}


def revision_files(root: Path, specs: list[str], local_only: bool = False) -> list[bytes | None]:
    """The contents of `REV:path` specs (`HEAD:a.py`, `:a.py` for the index) in one `git cat-file` process; None when absent.

    `local_only`: None for what this clone does not hold, never fetched from a partial clone's remote
    (for objects git may never have stored: asking the remote costs a round trip each, or a wait offline)."""
    if not specs:
        return []
    out, at, result = _cat_file("--batch", specs, root, local_only), 0, []
    for _ in specs:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3 or header[-1] in (b"missing", b"ambiguous") or header[1] != b"blob":
            result.append(None)
            continue
        size = int(header[2])
        result.append(out[at : at + size])
        at += size + 1
    return result


def blob_sizes(blobs: list[str], cwd: Path | str | None = None) -> dict[str, int]:
    """The sizes of blobs this clone holds (one `git cat-file --batch-check`; those it lacks are left out,
    never fetched from a partial clone's remote)."""
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    sizes = {}
    for line in _cat_file("--batch-check", wanted, cwd, local_only=True).decode("ascii", "replace").splitlines():
        name, kind, *size = line.split()
        if kind == "blob" and size and size[0].isdigit():
            sizes[name] = int(size[0])
    return sizes


def branches_holding(root: Path, paths: list[str]) -> dict[str, str]:
    """Of `paths`, those some local branch's tip holds (a file or a folder there), each with the first
    such branch: an untracked file at one of them stops `git checkout` of that branch. One
    `git for-each-ref` and one `git cat-file` process; a path holding a newline is not looked up."""
    asked = [path for path in paths if "\n" not in path]
    if not asked:
        return {}
    refs = git("for-each-ref", "--format=%(refname)", "refs/heads/", cwd=root).decode("utf-8", "surrogateescape").split()
    specs = [(ref, path) for ref in refs for path in asked]
    if not specs:
        return {}
    out = _cat_file("--batch-check=%(objecttype)", [f"{ref}:{path}" for ref, path in specs], root, local_only=True)
    found: dict[str, str] = {}
    for (ref, path), line in zip(specs, out.decode("utf-8", "surrogateescape").split("\n")):
        if not line.endswith((" missing", " ambiguous")):
            found.setdefault(path, ref.removeprefix("refs/heads/"))
    return found


def outside_sparse_checkout(root: Path, paths: list[str]) -> set[str]:
    """Those of the repo-relative `paths` that git tracks but keeps out of the work tree (the
    skip-worktree bit of a sparse checkout): absent on disk, yet not deleted."""
    if not paths:
        return set()
    return {entry.path for entry in index_entries(paths, cwd=root, sparse=True) if entry.outside} & set(paths)


def _cat_file(mode: str, specs: list[str], cwd: Path | str | None, local_only: bool) -> bytes:
    """`git cat-file MODE -z` (a spec may hold a newline) of `specs` in one process, its output;
    `local_only`: objects this clone does not hold are never fetched from a partial clone's remote."""
    done = subprocess.run(
        ["git", "cat-file", mode, "-z"],
        cwd=cwd,
        input="".join(f"{spec}\0" for spec in specs).encode("utf-8", "surrogateescape"),
        capture_output=True,
        check=False,
        env={**os.environ, **_NO_LAZY_FETCH} if local_only else None,
    )
    if done.returncode != 0:
        raise NbgitError(f"git cat-file failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def path_history(root: Path, paths: tuple[str, ...], limit: int) -> list[str]:
    """The newest `limit` commits reachable from HEAD that changed any of `paths`, newest first
    (none before the first commit). Paths are literal, never pathspec patterns."""
    out = git("--literal-pathspecs", "log", f"--max-count={limit}", "--format=%H", "HEAD", "--", *paths, cwd=root, check=False)
    return out.decode("ascii", "replace").split()


def merge_texts(base: str, ours: str, theirs: str, labels: tuple[str, str, str]) -> tuple[str, bool]:
    """Three-way merge of texts with `git merge-file`: (merged text, True when clean)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbgit-merge-") as folder:
        names = []
        for name, text in zip(("ours", "base", "theirs"), (ours, base, theirs)):
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8", newline="")
            names.append(str(path))
        args = [a for label in (labels[0], labels[1], labels[2]) for a in ("-L", label)]
        done = subprocess.run(["git", "merge-file", "-p", *args, *names], capture_output=True)
    if done.returncode < 0 or done.returncode > 127:
        raise NbgitError(f"git merge-file failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8", "surrogateescape"), done.returncode == 0


def git_path(root: Path, name: str) -> Path:
    """Where git keeps a private file named `name` for this work tree (`.git/name`, honouring worktrees)."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git / name
    return root / path_line(git("rev-parse", "--git-path", name, cwd=root))
