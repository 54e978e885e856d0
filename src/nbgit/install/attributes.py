"""nbgit's marked block of attribute lines, and the attribute files git reads."""

from __future__ import annotations

from pathlib import Path

from nbgit import gitrepo
from nbgit.files import write_atomic
from nbgit.install.target import default_global_attributes, repository_root
from nbgit.install.wiring import NOTEBOOKS, Wiring

BEGIN = "# nbgit: begin (written by `nbgit install`; `nbgit uninstall` removes this block)"
END = "# nbgit: end"


def block_text(wirings: list[Wiring], macro: bool) -> str:
    """nbgit's marked block of attribute lines: the `nbgit` macro where git allows one, then each capability's lines."""
    tokens = " ".join(t for w in wirings for t in w.tokens)
    lines = [f"[attr]nbgit {tokens}", f"{NOTEBOOKS} nbgit"] if macro else [f"{NOTEBOOKS} {tokens}"]
    lines += [line for w in wirings for line in w.lines]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def split_block(text: str) -> tuple[str, str, str] | None:
    """(before, block, after) of nbgit's block in an attribute file's text, or None when there is none."""
    lines = text.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.startswith(BEGIN[:14])), None)
    if begin is None:
        return None
    end = next((i for i in range(begin, len(lines)) if lines[i].rstrip("\r\n") == END), len(lines) - 1)
    return "".join(lines[:begin]), "".join(lines[begin : end + 1]), "".join(lines[end + 1 :])


def has_block(path: Path) -> bool:
    return path.is_file() and split_block(path.read_bytes().decode("utf-8", "surrogateescape")) is not None


def write_block(path: Path, block: str) -> bool:
    """Put nbgit's block in an attribute file: replace it in place, or put it first so later lines can override it."""
    text = path.read_bytes().decode("utf-8", "surrogateescape") if path.is_file() else ""
    parts = split_block(text)
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
    parts = split_block(path.read_bytes().decode("utf-8", "surrogateescape"))
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
