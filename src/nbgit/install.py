"""Apply, remove and inspect nbgit's wiring in one place: a repository, or (`--global`) the user's git config.

What each capability needs is data in `nbgit.wiring`; this module knows how to write config entries,
an attribute block, hooks and files, how to take exactly those away again, and how to tell whether
what git really uses is nbgit's (`nbgit status`).
"""

from __future__ import annotations

import functools
import os
import shlex
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo, peers
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.wiring import MANAGED_MARKER, NOTEBOOKS, ManagedFile, Setup, Wiring, nbgit_command

BEGIN = "# nbgit: begin (written by `nbgit install`; `nbgit uninstall` removes this block)"
END = "# nbgit: end"
HOOK_MARKER = "# nbgit: hook written by `nbgit install`"
HAND_HOOK_MARKER = "# nbgit: hook for wiring by hand"
CHAINED = ".nbgit-chained"
RECORD = "nbgit.wrote"  # shared config keys install wrote (multi-valued), so that uninstall removes only those
MIN_GIT = (2, 39, 0)
DRIVERS = ("filter", "diff", "merge")


class Target(NamedTuple):
    """Where install writes: a config file, an attribute file, a hooks folder and a work tree."""

    config: gitrepo.ConfigFile  # ("--local",) or ("--global",)
    attributes: Path
    macro: bool  # git reads macros (`[attr]nbgit ...`) from this attribute file
    root: Path | None  # the top of the work tree, None for --global outside a repository
    hooks: Path | None
    point_attributes_file: bool  # core.attributesFile must be set to `attributes`
    cwd: Path


class Finding(NamedTuple):
    """One line of `nbgit status`: a capability, its state (ok, missing, broken, stale, off, note) and details."""

    capability: str
    state: str
    detail: str


@functools.lru_cache(maxsize=8)
def repository_root(cwd: Path) -> Path | None:
    """The top of the work tree holding `cwd`, or None outside a repository."""
    try:
        return gitrepo.top_level(cwd).resolve()
    except NbgitError:
        return None


def default_global_attributes() -> Path:
    """The attribute file git reads when core.attributesFile is unset."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "git" / "attributes"


def target_for(global_: bool, attributes: str | None, cwd: Path) -> Target:
    """Where install / uninstall write, from `--global` and `--attributes`; errors for files git never reads."""
    root = repository_root(cwd)
    given = (cwd / attributes).resolve() if attributes else None
    if global_:
        configured = gitrepo.config_path("core.attributesFile", ("--global",), cwd)
        if configured and given and configured.resolve() != given:
            raise NbgitError(
                f"core.attributesFile already names {configured}, not {attributes}",
                "drop --attributes to use that file, or change core.attributesFile first",
            )
        path = given or configured or default_global_attributes()
        return Target(("--global",), path, True, root, None, given is not None and configured is None, cwd)
    if root is None:
        raise NbgitError("not inside a git repository", "run `nbgit install` inside a clone, or use `nbgit install --global`")
    info = gitrepo.git_dir_path("info/attributes", cwd).resolve()
    path = given or root / ".gitattributes"
    if path != info and (path.name != ".gitattributes" or not path.is_relative_to(root)):
        raise NbgitError(
            f"{attributes}: git does not read attributes from this file",
            "give a .gitattributes file inside the work tree, or .git/info/attributes (not committed)",
        )
    macro = path in (info, root / ".gitattributes")  # git ignores macros in nested .gitattributes files
    return Target(("--local",), path, macro, root, gitrepo.git_dir_path("hooks", cwd), False, cwd)


# --- config ---------------------------------------------------------------------------------


def _values(where: gitrepo.ConfigFile, cwd: Path) -> dict[str, gitrepo.ConfigValue]:
    """Every entry of one config file (or, with `where` empty, as git resolves them), by lower-cased key."""
    if where == ("--local",) and repository_root(cwd) is None:
        return {}
    return {entry.key.lower(): entry for entry in gitrepo.config_entries(".", where, cwd)}


def _recorded(target: Target) -> set[str]:
    """The shared keys install recorded writing into the target's config file."""
    return {e.value for e in gitrepo.config_entries("^" + RECORD.replace(".", r"\.") + "$", target.config, target.cwd)}


def apply_config(wiring: Wiring, target: Target) -> None:
    """Write a capability's config entries into the target file; drop its keys it no longer wants."""
    current = _values(target.config, target.cwd)
    recorded = _recorded(target)
    wanted = {entry.key.lower() for entry in wiring.config}
    for key in wiring.owned_keys:
        if key.lower() not in wanted and key.lower() in current:
            gitrepo.config_unset(key, target.config, target.cwd)
    for entry in wiring.config:
        have = current.get(entry.key.lower())
        ours = not entry.shared or entry.key.lower() in recorded
        if have is None or (ours and have.value != entry.value):
            gitrepo.config_set(entry.key, entry.value, target.config, target.cwd)
        if entry.shared and have is None and entry.key.lower() not in recorded:
            gitrepo.config_set(RECORD, entry.key.lower(), target.config, target.cwd, add=True)


def remove_config(wirings: list[Wiring], target: Target) -> list[str]:
    """Remove every key nbgit owns and every shared key it recorded writing; the keys removed."""
    current = _values(target.config, target.cwd)
    keys = [k for w in wirings for k in w.owned_keys] + sorted(_recorded(target))
    removed = [key for key in dict.fromkeys(keys) if key.lower() in current]
    for key in removed:
        gitrepo.config_unset(key, target.config, target.cwd)
    if RECORD in current:
        gitrepo.config_unset(RECORD, target.config, target.cwd)
    return removed


# --- attributes -------------------------------------------------------------------------------


def block_text(wirings: list[Wiring], macro: bool) -> str:
    """nbgit's marked block of attribute lines: the `nbgit` macro where git allows one, then each capability's lines."""
    tokens = " ".join(t for w in wirings for t in w.tokens)
    lines = [f"[attr]nbgit {tokens}", f"{NOTEBOOKS} nbgit"] if macro else [f"{NOTEBOOKS} {tokens}"]
    lines += [line for w in wirings for line in w.lines]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def _split_block(text: str) -> tuple[str, str, str] | None:
    """(before, block, after) of nbgit's block in an attribute file's text, or None when there is none."""
    lines = text.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.startswith(BEGIN[:14])), None)
    if begin is None:
        return None
    end = next((i for i in range(begin, len(lines)) if lines[i].rstrip("\r\n") == END), len(lines) - 1)
    return "".join(lines[:begin]), "".join(lines[begin : end + 1]), "".join(lines[end + 1 :])


def write_block(path: Path, block: str) -> bool:
    """Put nbgit's block in an attribute file: replace it in place, or put it first so later lines can override it."""
    text = path.read_bytes().decode("utf-8", "surrogateescape") if path.is_file() else ""
    parts = _split_block(text)
    new = parts[0] + block + parts[2] if parts else block + text
    if new == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, new.encode("utf-8", "surrogateescape"))
    return True


def remove_block(path: Path) -> bool:
    """Take nbgit's block out of an attribute file; a file left empty is removed. False when there was no block."""
    if not path.is_file():
        return False
    parts = _split_block(path.read_bytes().decode("utf-8", "surrogateescape"))
    if parts is None:
        return False
    rest = parts[0] + parts[2]
    if rest:
        write_atomic(path, rest.encode("utf-8", "surrogateescape"))
    else:
        path.unlink()
    return True


def attribute_files(cwd: Path) -> list[Path]:
    """Every attribute file git reads here: the global one, the work tree's .gitattributes files, info/attributes."""
    files = [gitrepo.config_path("core.attributesFile", (), cwd) or default_global_attributes()]
    root = repository_root(cwd)
    if root is not None:
        nested = gitrepo.tracked_files(":(glob)**/.gitattributes", root, untracked=True)
        files += [root / ".gitattributes", *(root / p for p in nested), gitrepo.git_dir_path("info/attributes", cwd)]
    return list(dict.fromkeys(p.resolve() for p in files))


# --- hooks ------------------------------------------------------------------------------------


def hook_script(name: str, nbgit: str) -> str:
    """nbgit's hook: run `nbgit hook NAME`, then any hook it replaced with the same arguments; fail if either fails.

    The hooks nbgit installs read nothing on stdin, so the chained hook gets git's stdin untouched;
    git's environment (GIT_INDEX_FILE for `commit -a`) passes through to both.
    """
    chained = f'"$(dirname "$0")/{name}{CHAINED}"'
    return (
        f"#!/bin/sh\n{HOOK_MARKER}; it runs any hook that was here before, kept as {name}{CHAINED}\n"
        f'{nbgit} hook {name} "$@" </dev/null\nstatus=$?\n'
        f'if [ -x {chained} ]; then {chained} "$@" || {{ code=$?; [ "$status" -eq 0 ] && status=$code; }}; fi\n'
        "exit $status\n"
    )


def _is_ours(path: Path, marker: str = HOOK_MARKER) -> bool:
    try:
        with path.open("rb") as handle:
            return marker.encode() in handle.read(4096)
    except OSError:
        return False


def install_hook(hooks: Path, name: str, script: str) -> str:
    """Install one hook, keeping a hook already there as NAME.nbgit-chained (run after nbgit's); what was done."""
    hook, chained = hooks / name, hooks / f"{name}{CHAINED}"
    if _is_ours(hooks / f"{name}.legacy"):
        return f"{name}: nbgit's hook already runs through the pre-commit framework's hook (as {name}.legacy)"
    if _is_ours(hook, HAND_HOOK_MARKER):
        return f"{name}: kept nbgit's hand-wired hook {hook}"
    said = f"{name}: installed in {hook.parent}"
    if os.path.lexists(hook) and not _is_ours(hook):
        if os.path.lexists(chained):
            raise NbgitError(f"{hook} is not nbgit's and {chained} already exists", "move one of them away, then run `nbgit install` again")
        os.replace(hook, chained)
        said = f"{name}: installed; your existing hook is kept as {chained.name} and still runs after nbgit's"
    elif _is_ours(hook) and hook.read_text() == script:
        return f"{name}: already installed"
    hooks.mkdir(parents=True, exist_ok=True)
    write_atomic(hook, script.encode())
    hook.chmod(0o755)
    return said


def remove_hooks(hooks: Path) -> list[str]:
    """Remove nbgit's hooks from a hooks folder, putting back each hook they had chained, byte for byte."""
    said = []
    for hook in sorted(hooks.iterdir()) if hooks.is_dir() else []:
        if hook.name.endswith(CHAINED) or not _is_ours(hook):
            continue
        name = hook.name.removesuffix(".legacy")
        chained = hooks / f"{name}{CHAINED}"
        if os.path.lexists(chained):
            os.replace(chained, hook)
            said.append(f"{hook.name}: restored the hook that was there before nbgit")
        else:
            hook.unlink()
            said.append(f"{hook.name}: removed")
    return said


# --- files ------------------------------------------------------------------------------------


def write_file(root: Path, managed: ManagedFile) -> str | None:
    """Write (or, when no longer wanted, remove) a file nbgit manages; a file that is not nbgit's is left alone."""
    path = root / managed.path
    ours = _is_ours(path, MANAGED_MARKER)
    if managed.text is None:
        if ours:
            path.unlink()
            return f"removed {managed.path} (no longer needed)"
        return None
    if path.exists() and not ours:
        return f"kept your own {managed.path} (not written by nbgit)"
    if ours and path.read_text(encoding="utf-8") == managed.text:
        return None
    write_atomic(path, managed.text.encode("utf-8"))
    return f"wrote {managed.path}"


def remove_file(root: Path, managed: ManagedFile) -> str | None:
    """Remove a managed file if it is nbgit's."""
    path = root / managed.path
    if _is_ours(path, MANAGED_MARKER):
        path.unlink()
        return f"removed {managed.path}"
    return None


# --- install / uninstall ----------------------------------------------------------------------


def install(wirings: list[Wiring], target: Target, setup: Setup, replace_peers: bool, with_hooks: bool) -> tuple[list[str], bool]:
    """Wire every capability into the target; the report, and whether a peer still overrides nbgit."""
    if not with_hooks:
        wirings = [w._replace(hooks=(), off="skipped (--no-hooks)") if w.hooks else w for w in wirings]
    report = [f"warning: {w}" for wiring in wirings for w in wiring.warnings]
    if replace_peers:
        report += replace(target)
    for wiring in wirings:
        apply_config(wiring, target)
    if target.point_attributes_file:
        gitrepo.config_set("core.attributesFile", str(target.attributes), target.config, target.cwd)
        gitrepo.config_set(RECORD, "core.attributesfile", target.config, target.cwd, add=True)
    if write_block(target.attributes, block_text(wirings, target.macro)):
        report.append(f"attributes: wrote nbgit's block in {shown_path(target.attributes, target.root)}")
    nbgit = nbgit_command(setup)
    for wiring in wirings:
        if wiring.hooks and target.hooks is not None:
            report += [install_hook(target.hooks, name, hook_script(name, nbgit)) for name in wiring.hooks]
        if target.root is not None:
            report += [said for f in wiring.files if (said := write_file(target.root, f))]
    for wiring in wirings:
        report.append(f"{wiring.capability:<10} {'off: ' + wiring.off if wiring.off else wiring.summary}")
    found = [f for f in inspect_peers(target.cwd) if f.state in ("broken", "note")]
    report += [f"{f.state}: {f.detail}" for f in found]
    return report, any(f.state == "broken" for f in found)


def uninstall(wirings: list[Wiring], target: Target) -> list[str]:
    """Remove exactly what install wrote to the target: config keys, the attribute block, hooks, managed files."""
    report = [f"config: removed {key}" for key in remove_config(wirings, target)]
    if report and target.config == ("--global",):
        _drop_if_empty(Path.home() / ".gitconfig")
    if remove_block(target.attributes):
        report.append(f"attributes: removed nbgit's block from {shown_path(target.attributes, target.root)}")
    if target.hooks is not None and target.config != ("--global",):
        report += remove_hooks(target.hooks)
    if target.root is not None and target.config != ("--global",):
        report += [said for w in wirings for f in w.files if (said := remove_file(target.root, f))]
    return report


def _drop_if_empty(path: Path) -> None:
    """A config file nbgit's removals left empty goes too (install created it, or it held only nbgit's)."""
    if path.is_file() and not path.read_bytes().strip():
        path.unlink()


def replace(target: Target) -> list[str]:
    """Remove the peers' wiring that the target's scope owns (its config file, its attribute files); say what went."""
    configs = peers.find_config(target.cwd)
    lines = peers.find_lines(attribute_files(target.cwd), configs)
    report = []
    mine = _scope_files(target)
    removable = [line for line in lines if line.file in mine]
    peers.remove_lines(removable)
    report += [f"removed {line.peer}'s `{' '.join(line.tokens)}` from {shown_path(line.file, target.root)}:{line.number}" for line in removable]
    scopes = ("global",) if target.config == ("--global",) else ("local", "worktree")
    for item in configs:
        if item.scope in scopes and peers.remove_config(item, target.cwd):
            report.append(f"removed {item.peer}'s [{item.section}] from {item.file}")
        else:
            report.append(f"kept {item.peer}'s [{item.section}] in {item.file} ({item.scope} config; remove it there if it clashes)")
    return report


def _scope_files(target: Target) -> set[Path]:
    """The attribute files a local install owns (the work tree's and info/attributes), or --global's one file."""
    if target.config == ("--global",):
        return {target.attributes.resolve()}
    return {p for p in attribute_files(target.cwd) if _is_repository_file(p, target.cwd)}


def _is_repository_file(path: Path, cwd: Path) -> bool:
    root = repository_root(cwd)
    return root is not None and (path.is_relative_to(root) or path == _info_attributes(cwd))


@functools.lru_cache(maxsize=8)
def _info_attributes(cwd: Path) -> Path | None:
    return gitrepo.git_dir_path("info/attributes", cwd).resolve() if repository_root(cwd) else None


def shown_path(path: Path, root: Path | None) -> str:
    """`path` relative to the work tree when it is inside it (for messages), else absolute."""
    if root is not None and path.resolve().is_relative_to(root):
        return path.resolve().relative_to(root).as_posix()
    return str(path)


# --- status -----------------------------------------------------------------------------------


def _probes(cwd: Path) -> tuple[Path | None, list[str]]:
    """The work tree and notebook paths whose attributes tell what git really does: tracked notebooks and a probe."""
    root = repository_root(cwd)
    if root is None:
        return None, []
    notebooks = gitrepo.tracked_files(NOTEBOOKS, root)
    block_dirs = [p.parent for p in attribute_files(cwd) if p.name == ".gitattributes" and _has_block(p)]
    probes = [(d.relative_to(root) / "nbgit-probe.ipynb").as_posix() for d in block_dirs if d.is_relative_to(root)]
    return root, list(dict.fromkeys([*notebooks, *(probes or ["nbgit-probe.ipynb"])]))


def _has_block(path: Path) -> bool:
    return path.is_file() and _split_block(path.read_bytes().decode("utf-8", "surrogateescape")) is not None


def missing_program(command: str) -> str | None:
    """The program (or its interpreter) a configured command runs, when it no longer exists; None when it does."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    words = [w for w in words if "=" not in w.split("/")[0] and w != "exec"] or [""]
    program = Path(words[0]) if os.path.isabs(words[0]) else None
    if program is None:
        from shutil import which

        return None if which(words[0]) else words[0]
    if not program.is_file():
        return str(program)
    with program.open("rb") as handle:
        first = handle.readline(512)
    if first.startswith(b"#!"):
        interpreter = first[2:].split()[0].decode("utf-8", "replace") if first[2:].split() else ""
        if interpreter and not Path(interpreter).exists():
            return f"{interpreter} (the interpreter of {program})"
    return None


def inspect(wirings: list[Wiring], cwd: Path) -> list[Finding]:
    """What git really uses here, capability by capability (the basis of `nbgit status`)."""
    effective = _values((), cwd)
    root, probes = _probes(cwd)
    attrs = gitrepo.attributes_of(probes, DRIVERS, root) if root else {}
    findings = [_git_version()]
    for wiring in wirings:
        findings.append(_inspect_one(wiring, effective, attrs, root))
    findings.append(_inspect_attributes(wirings, attrs, cwd, root))
    findings += inspect_peers(cwd, attrs)
    return findings


def _git_version() -> Finding:
    have = gitrepo.version()
    shown = ".".join(map(str, have))
    if have < MIN_GIT:
        return Finding("git", "broken", f"git {shown} is older than {'.'.join(map(str, MIN_GIT))}, the oldest nbgit supports: upgrade git")
    return Finding("git", "ok", f"git {shown} (nbgit needs {'.'.join(map(str, MIN_GIT[:2]))} or newer)")


def _inspect_one(wiring: Wiring, effective: dict[str, gitrepo.ConfigValue], attrs: dict[str, dict[str, str]], root: Path | None) -> Finding:
    if wiring.off:
        return Finding(wiring.capability, "off", wiring.off)
    broken: list[str] = []
    missing: list[str] = []
    stale: list[str] = []
    for entry in wiring.config:
        have = effective.get(entry.key.lower())
        if have is None:
            missing.append(f"{entry.key} is not set")
        elif not entry.shared and have.value != entry.value:
            gone = missing_program(have.value)
            if gone:
                broken.append(f"{entry.key} runs {gone}, which no longer exists: run `nbgit install` again")
            else:
                stale.append(f"{entry.key} = {have.value} ({have.scope}) is not this nbgit's: `nbgit install` rewires it")
    for token in wiring.tokens:
        name, value = token.split("=", 1)
        if not attrs:
            continue
        got = {p: a.get(name, "unspecified") for p, a in attrs.items()}
        other = {p: v for p, v in got.items() if v not in (value, "unspecified")}  # unspecified: outside nbgit's patterns
        if other:
            path, instead = next(iter(other.items()))
            broken.append(f"{len(other)} notebook path(s) get {name}={instead} instead of {value} (e.g. {path}): see `peers` / a later attribute line")
        elif value not in got.values():
            missing.append(f"no attribute gives notebooks {token}")
    for name in wiring.hooks:
        state, said = _hook_state(root, name)
        {"broken": broken, "missing": missing}.get(state, []).append(said)
    for managed in wiring.files:
        if root is not None and managed.text is not None and not (root / managed.path).exists():
            missing.append(f"{managed.path} is missing")
    if wiring.config and len(missing) >= len(wiring.config):
        missing = ["not wired: run `nbgit install`"]
    detail = wiring.summary
    if wiring.capability == "diff":
        active = "nbdime (diff.nbgit.command)" if "diff.nbgit.command" in effective else "nbgit's text rendering (textconv)"
        detail = f"active driver: {active}; {detail}"
    for state, problems in (("broken", broken), ("missing", missing), ("stale", stale)):
        if problems:
            return Finding(wiring.capability, state, "; ".join(problems))
    return Finding(wiring.capability, "ok", detail)


def _hook_state(root: Path | None, name: str) -> tuple[str, str]:
    """(state, what to say) of one of nbgit's hooks."""
    if root is None:
        return "missing", "not in a repository"
    hooks = gitrepo.git_dir_path("hooks", root)
    for path in (hooks / name, hooks / f"{name}.legacy"):
        if _is_ours(path) or _is_ours(path, HAND_HOOK_MARKER):
            if not os.access(path, os.X_OK):
                return "broken", f"{path} is not executable (chmod +x it)"
            text = path.read_text(encoding="utf-8", errors="replace")
            command = next((line for line in text.splitlines() if " hook " in line and not line.startswith("#")), "")
            gone = missing_program(command.split(" hook ")[0]) if command else None
            if gone:
                return "broken", f"{path.name} runs {gone}, which no longer exists: run `nbgit install` again"
            return "ok", str(path)
    if (hooks / name).exists():
        return "missing", f"{hooks / name} is not nbgit's (`nbgit install` chains it)"
    return "missing", f"no {name} hook in {hooks}"


def _inspect_attributes(wirings: list[Wiring], attrs: dict[str, dict[str, str]], cwd: Path, root: Path | None) -> Finding:
    where = [p for p in attribute_files(cwd) if _has_block(p)]
    if where:
        return Finding("attributes", "ok", "nbgit's block in " + ", ".join(shown_path(p, root) for p in where))
    tokens = [t.split("=", 1) for w in wirings for t in w.tokens]
    if attrs and all(a.get(name) == value for a in attrs.values() for name, value in tokens):
        return Finding("attributes", "ok", "notebooks get nbgit's drivers (lines written by hand)")
    return Finding("attributes", "missing", "no nbgit attributes: run `nbgit install`")


def inspect_peers(cwd: Path, attrs: dict[str, dict[str, str]] | None = None) -> list[Finding]:
    """Peers wired to the same files: a clash (broken) when git would use their driver, else a note."""
    if attrs is None:
        root, probes = _probes(cwd)
        attrs = gitrepo.attributes_of(probes, DRIVERS, root) if root else {}
    root = repository_root(cwd)
    configs = peers.find_config(cwd)
    lines = peers.find_lines(attribute_files(cwd), configs)
    findings: list[Finding] = []
    used: set[str] = set()
    for line in lines:
        hits = [p for p, a in attrs.items() for t in line.tokens if a.get(t.split("=")[0]) == t.split("=")[1]]
        where = f"{shown_path(line.file, root)}:{line.number}"
        fix = "nbgit install --replace-peers" if _is_repository_file(line.file, cwd) else "nbgit install --global --replace-peers"
        if hits:
            used.add(line.peer)
            why = " (.git/info/attributes overrides .gitattributes)" if line.file == _info_attributes(cwd) else ""
            findings.append(Finding("peers", "broken", f"{where}: `{line.line.strip()}` makes git run {line.peer} on {len(set(hits))} notebook path(s){why}; fix: {fix}"))
        else:
            findings.append(Finding("peers", "note", f"{where}: `{line.line.strip()}` wires {line.peer}, overridden by nbgit here; tidy up: {fix}"))
    for item in configs:
        if item.peer not in used:
            findings.append(Finding("peers", "note", f"{item.file} configures {item.peer} ([{item.section}], {item.scope}), unused by these notebooks"))
    return findings or [Finding("peers", "ok", "no nbstripout, nb-clean, nbwipers or nbdime wiring")]


def exit_code(findings: list[Finding], wirings: list[Wiring]) -> int:
    """1 when something is broken, or a capability nbgit needs is missing; else 0."""
    optional = {w.capability for w in wirings if w.optional}
    bad = any(f.state == "broken" or f.state == "missing" and f.capability not in optional for f in findings)
    return 1 if bad else 0



# --- entry points shared by the commands ------------------------------------------------------


def make_setup(target_root: Path | None, global_: bool, diff: str | None, config: gitrepo.ConfigFile, cwd: Path, lenient: bool = False) -> Setup:
    """The Setup for this run: nbgit's folder, the policy, and the diff driver (flag, else policy or what is wired).

    `lenient` (uninstall, status): a broken policy falls back to the defaults instead of stopping.
    """
    from nbgit.policy import Policy, load_policy
    from nbgit.wiring import interpreter_bin_dir

    try:
        policy = load_policy(target_root)
    except NbgitError:
        if not lenient:
            raise
        policy = Policy()
    if diff is None:
        wired = "diff.nbgit.command" in _values(config, cwd)
        diff = "nbdime" if wired or policy.section("diff")["driver"] == "nbdime" else "text"
    return Setup(interpreter_bin_dir(), policy, diff, global_)


def renormalize(cwd: Path) -> list[str]:
    """Re-clean what the index holds for every tracked notebook, as nbgit's filter would store it; the paths changed.

    Works on the staged blobs themselves (like `git add --renormalize`, but edits in the working
    tree stay unstaged), with the very code and policy the filter process runs.
    """
    from nbgit.filter import Cleaner
    from nbgit.progress import progress

    root = repository_root(cwd)
    if root is None:
        raise NbgitError("not inside a git repository", "run `nbgit renormalize` inside the repository")
    entries = gitrepo.index_entries([NOTEBOOKS], root)
    paths = [e.path for e in entries] or ["nbgit-probe.ipynb"]
    wired = gitrepo.attributes_of(paths, ("filter",), root)
    filters = {a.get("filter") for a in wired.values()}
    if "nbgit" not in filters or not ({"filter.nbgit.process", "filter.nbgit.clean"} & _values((), cwd).keys()):
        raise NbgitError("nbgit's filter is not wired here, so renormalising would change nothing", "run `nbgit install` first")
    cleaner = Cleaner.for_directory(root)
    if cleaner.problem is not None:
        raise cleaner.problem
    staged = gitrepo.read_blobs([e.blob for e in entries], root)
    changed = []
    for entry in progress(entries, "renormalizing"):
        if wired[entry.path].get("filter") != "nbgit":
            continue  # git would not run nbgit's filter on this one either
        state, data = cleaner("clean", entry.path, staged[entry.blob])
        if state == "success" and data is not None and data != staged[entry.blob]:
            changed.append((entry, data))
    gitrepo.stage_many(changed, root)
    return [entry.path for entry, _ in changed]
