"""Other notebook tools wired to the same files: nbstripout, nb-clean, nbwipers and nbdime's git integration.

Found in git config (any scope) and in attribute files; `install --replace-peers` removes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from nbgit import gitrepo
from nbgit.files import write_atomic


class Peer(NamedTuple):
    """A tool's git drivers: config sections such as `filter.nbstripout`, each with a word its values must
    contain to be the tool's ("" for a name only the tool uses). Section `filter.x` pairs with attribute `filter=x`."""

    name: str
    sections: tuple[tuple[str, str], ...]


PEERS = (
    Peer("nbstripout", (("filter.nbstripout", ""), ("diff.ipynb", "nbstripout"))),
    Peer("nb-clean", (("filter.nb-clean", ""),)),
    Peer("nbwipers", (("filter.nbwipers", ""), ("diff.nbwipers", ""))),
    Peer("nbdime", (("diff.jupyternotebook", ""), ("merge.jupyternotebook", ""))),
)


class PeerConfig(NamedTuple):
    """A peer's config section found in one file."""

    peer: str
    section: str
    scope: str
    file: Path


class PeerLine(NamedTuple):
    """A line of an attribute file that gives notebooks a peer's driver."""

    peer: str
    file: Path
    number: int
    line: str
    tokens: tuple[str, ...]


def find_config(cwd: Path) -> list[PeerConfig]:
    """Peers' config sections in every scope git reads here."""
    found: dict[tuple[str, Path], PeerConfig] = {}
    for peer in PEERS:
        for section, word in peer.sections:
            entries = gitrepo.config_entries("^" + section.replace(".", r"\.") + r"\.", cwd=cwd)
            if word and not any(word in e.value for e in entries):
                continue
            for entry in entries:
                found.setdefault((section, entry.file), PeerConfig(peer.name, section, entry.scope, entry.file))
    return list(found.values())


def peer_tokens(configs: list[PeerConfig]) -> dict[str, str]:
    """Attributes (`filter=nbstripout`) that select a peer's driver, and the peer; a generic driver name
    (`diff=ipynb`) counts only where the peer's config for it was found."""
    found = {c.section for c in configs}
    return {
        section.replace(".", "=", 1): peer.name
        for peer in PEERS
        for section, word in peer.sections
        if not word or section in found
    }


def find_lines(files: list[Path], configs: list[PeerConfig]) -> list[PeerLine]:
    """Lines of these attribute files that wire a peer."""
    known = peer_tokens(configs)
    found: list[PeerLine] = []
    for path in files:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("#") or words[0].startswith("[attr]"):
                continue
            tokens = tuple(w for w in words[1:] if w in known)
            if tokens:
                found.append(PeerLine(known[tokens[0]], path, number, line, tokens))
    return found


def remove_lines(lines: list[PeerLine]) -> None:
    """Take the peers' attributes out of their lines; a line left with only its pattern goes."""
    for path in dict.fromkeys(line.file for line in lines):
        doomed = {line.number: set(line.tokens) for line in lines if line.file == path}
        data = path.read_bytes().decode("utf-8", "surrogateescape")
        kept: list[str] = []
        for number, text in enumerate(data.splitlines(keepends=True), 1):
            if number in doomed:
                words = text.split()
                rest = [w for w in words[1:] if w not in doomed[number]]
                if not rest:
                    continue
                text = " ".join([words[0], *rest]) + "\n"
            kept.append(text)
        write_atomic(path, "".join(kept).encode("utf-8", "surrogateescape"))


def remove_config(item: PeerConfig, cwd: Path) -> bool:
    """Remove a peer's config section from the file it is in; False when git may not write there (system scope)."""
    if item.scope not in ("local", "global", "worktree"):
        return False
    return gitrepo.config_remove_section(item.section, ("--file", str(item.file)), cwd)
