"""What git really uses here, capability by capability: the findings of `nbgit status`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.install import peers
from nbgit.install.attributes import attribute_files, has_block
from nbgit.install.hooks import HAND_HOOK_MARKER, is_ours, not_a_hook_file, read_small
from nbgit.install.programs import program_of, program_problem, runs_through_shell
from nbgit.install.target import config_values, info_attributes, is_repository_file, repository_root, shown_path
from nbgit.install.wiring import NOTEBOOKS, Wiring

MIN_GIT = (2, 39, 0)
PROBE = "nbgit-probe.ipynb"  # a notebook path asked about beside each block of nbgit's attributes; no notebook of the repository
DRIVERS = ("filter", "diff", "merge")
PROCESS_KEY = "filter.nbgit.process"
REQUIRED_KEY = "filter.nbgit.required"
COMMAND_KEYS = frozenset({"clean", "smudge", "process", "textconv", "command", "driver"})  # the last word of a key git runs as a command
SHELL_FAILURE_SURVIVED = (2, 55, 0)  # from this git on, a process started through the shell that fails does not kill git


class Finding(NamedTuple):
    """One line of `nbgit status`: a capability, its state (ok, missing, broken, stale, off, note) and details."""

    capability: str
    state: str
    detail: str


def _probes(cwd: Path) -> tuple[Path | None, list[str]]:
    """The work tree and notebook paths whose attributes tell what git really does: tracked notebooks and a probe."""
    root = repository_root(cwd)
    if root is None:
        return None, []
    notebooks = gitrepo.tracked_files(NOTEBOOKS, root)
    block_dirs = [p.parent for p in attribute_files(cwd) if p.name == ".gitattributes" and has_block(p)]
    probes = [(d.relative_to(root) / PROBE).as_posix() for d in block_dirs if d.is_relative_to(root)]
    return root, list(dict.fromkeys([*notebooks, *(probes or [PROBE])]))


def _counted(paths: list[str]) -> list[str]:
    """The paths to count and name in a message: the repository's notebooks, the probes only when there are none."""
    return [p for p in paths if p.rpartition("/")[2] != PROBE] or paths


def _same_install(have: str | None, want: str | None) -> bool:
    """Whether a configured program is the wanted one, or another of nbgit's programs beside it (older
    installs wired `nbgit textconv` and `nbgit-textconv` where the interpreter running nbgit_textconv is now)."""
    if have is None or want is None:
        return False
    name = os.path.basename(have)
    return have == want or (os.path.dirname(have) == os.path.dirname(want) and (name == "nbgit" or name.startswith("nbgit-")))


def inspect(wirings: list[Wiring], cwd: Path) -> list[Finding]:
    """What git really uses here, capability by capability (the basis of `nbgit status`)."""
    effective = config_values((), cwd)
    root, probes = _probes(cwd)
    names = (*DRIVERS, *sorted({name for w in wirings for line in w.lines for name in _line_attributes(line)}))
    attrs = gitrepo.attributes_of(probes, names, root) if root else {}
    findings = [_git_version()]
    filter_state = _filter_state(effective, root)
    for wiring in wirings:
        findings.append(_inspect_one(wiring, effective, attrs, root, filter_state))
    findings.append(_inspect_attributes(wirings, attrs, cwd, root))
    findings += inspect_peers(cwd, attrs)
    return findings


def _git_version() -> Finding:
    have = gitrepo.version()
    shown = ".".join(map(str, have))
    if have < MIN_GIT:
        return Finding("git", "broken", f"git {shown} is older than {'.'.join(map(str, MIN_GIT))}, the oldest nbgit supports: upgrade git")
    return Finding("git", "ok", f"git {shown} (nbgit needs {'.'.join(map(str, MIN_GIT[:2]))} or newer)")


def _filter_state(effective: dict[str, gitrepo.ConfigValue], root: Path | None) -> Finding:
    """Whether git can start nbgit's filter here: "ok", "missing" (filter.nbgit.process is not set) or
    "broken" (the program it names cannot start; the detail says what git does then, and the way out).

    The process wins over filter.nbgit.clean and smudge whenever it is set, so it alone decides.
    """
    process = effective.get(PROCESS_KEY)
    if process is None:
        return Finding("filter", "missing", f"{PROCESS_KEY} is not set")
    problem = program_problem(process.value, root)
    if problem is None:
        return Finding("filter", "ok", "")
    if _is_true(effective.get(REQUIRED_KEY)):
        effect = f"with {REQUIRED_KEY} set, every git command that reads or writes a notebook fails (add, commit, checkout, stash...)"
    elif runs_through_shell(process.value) and gitrepo.version() < SHELL_FAILURE_SURVIVED:
        effect = "git runs it through the shell, so every git command that reads or writes a notebook fails (add, commit, checkout, stash...)"
    else:
        effect = "git prints an error for each notebook and stores it as it is, outputs and all; checkouts put no outputs back"
    return Finding("filter", "broken", f"{PROCESS_KEY} runs {problem}: {effect}; fix: re-run `nbgit install` from an environment where nbgit is installed")


def _is_true(value: gitrepo.ConfigValue | None) -> bool:
    """A git config boolean that is set and true (one git cannot read makes git stop: as good as true here)."""
    from nbgit.store.location import parse_bool

    if value is None:
        return False
    try:
        return parse_bool(value.value, value.key)
    except NbgitError:
        return True


def _inspect_one(
    wiring: Wiring, effective: dict[str, gitrepo.ConfigValue], attrs: dict[str, dict[str, str]], root: Path | None, filter_state: Finding
) -> Finding:
    if wiring.off:
        return Finding(wiring.capability, "off", wiring.off)
    if wiring.capability == "filter" and filter_state.state == "broken":
        return filter_state
    if wiring.capability == "outputs" and filter_state.state != "ok":  # the filter is what keeps and puts back outputs
        why = "cannot start" if filter_state.state == "broken" else "is not wired"
        return Finding("outputs", filter_state.state, f"no outputs are kept or put back while the filter {why} (see filter)")
    if wiring.broken:
        return Finding(wiring.capability, "broken", wiring.broken)
    broken: list[str] = []
    missing: list[str] = []
    stale: list[str] = []
    for entry in wiring.config:
        have = effective.get(entry.key.lower())
        if have is None:
            missing.append(f"{entry.key} is not set")
        elif not entry.shared and have.value != entry.value:
            problem = program_problem(have.value, root) if entry.key.rsplit(".", 1)[-1].lower() in COMMAND_KEYS else None
            if problem:
                broken.append(f"{entry.key} runs {problem}: run `nbgit install` again")
            elif _same_install(program_of(have.value), program_of(entry.value)):
                stale.append(f"{entry.key} = {have.value} ({have.scope}) was written by an older nbgit: `nbgit install` upgrades it")
            else:
                stale.append(f"{entry.key} = {have.value} ({have.scope}) is not this nbgit's: `nbgit install` rewires it")
    for token in wiring.tokens:
        name, value = token.split("=", 1)
        if not attrs:
            continue
        got = {p: a.get(name, "unspecified") for p, a in attrs.items()}
        other = {p: v for p, v in got.items() if v not in (value, "unspecified")}  # unspecified: outside nbgit's patterns
        if other:
            shown = _counted(list(other))
            path, instead = shown[0], other[shown[0]]
            broken.append(f"{len(shown)} notebook path(s) get {name}={instead} instead of {value} (e.g. {path}): see `peers` / a later attribute line")
        elif value not in got.values():
            missing.append(f"no attribute gives notebooks {token}")
    for line in wiring.lines:
        wanted = _line_attributes(line)
        if attrs and not any(all(a.get(name) == "set" for name in wanted) for a in attrs.values()):
            missing.append(f"no attribute gives notebooks {' '.join(wanted)}")
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


def _line_attributes(line: str) -> list[str]:
    """The attributes an attribute line of nbgit's sets: `*.ipynb linguist-generated gitlab-generated` -> both names."""
    return line.split()[1:]


def _hook_state(root: Path | None, name: str) -> tuple[str, str]:
    """(state, what to say) of one of nbgit's hooks."""
    if root is None:
        return "missing", "not in a repository"
    hooks = gitrepo.git_dir_path("hooks", root)
    for path in (hooks / name, hooks / f"{name}.legacy"):
        if is_ours(path) or is_ours(path, HAND_HOOK_MARKER):
            if not os.access(path, os.X_OK):
                return "broken", f"{path} is not executable (chmod +x it)"
            text = (read_small(path) or b"").decode("utf-8", errors="replace")
            command = next((line for line in text.splitlines() if " hook " in line and not line.startswith("#")), "")
            problem = program_problem(command.split(" hook ")[0], root) if command else None
            if problem:
                return "broken", f"{path.name} runs {problem}: run `nbgit install` again"
            return "ok", str(path)
    kind = not_a_hook_file(hooks / name)
    if kind is not None:
        return "missing", f"{hooks / name} is {kind}, not a hook script: move it away, then run `nbgit install`"
    if (hooks / name).exists():
        return "missing", f"{hooks / name} is not nbgit's (`nbgit install` chains it)"
    return "missing", f"no {name} hook in {hooks}"


def _inspect_attributes(wirings: list[Wiring], attrs: dict[str, dict[str, str]], cwd: Path, root: Path | None) -> Finding:
    where = [p for p in attribute_files(cwd) if has_block(p)]
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
        hits = _counted([p for p, a in attrs.items() for t in line.tokens if a.get(t.split("=")[0]) == t.split("=")[1]])
        where = f"{shown_path(line.file, root)}:{line.number}"
        fix = "nbgit install --replace-peers" if is_repository_file(line.file, cwd) else "nbgit install --global --replace-peers"
        if hits:
            used.add(line.peer)
            why = " (.git/info/attributes overrides .gitattributes)" if line.file == info_attributes(cwd) else ""
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
