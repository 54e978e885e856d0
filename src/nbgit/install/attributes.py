"""nbgit's marked block of attribute lines, and the attribute files git reads."""

from __future__ import annotations

from pathlib import Path

from nbgit import gitrepo
from nbgit.errors import NbgitError
from nbgit.files import write_atomic
from nbgit.install.target import default_global_attributes, repository_root
from nbgit.install.wiring import NOTEBOOKS, Wiring

BEGIN = "# nbgit: begin (written by `nbgit install`; `nbgit uninstall` removes this block)"
END = "# nbgit: end"
BOM = "\ufeff"


def block_text(wirings: list[Wiring], macro: bool) -> str:
    """nbgit's marked block of attribute lines: the `nbgit` macro where git allows one, then each capability's lines."""
    tokens = " ".join(t for w in wirings for t in w.tokens)
    lines = [f"[attr]nbgit {tokens}", f"{NOTEBOOKS} nbgit"] if macro else [f"{NOTEBOOKS} {tokens}"]
    lines += [line for w in wirings for line in w.lines]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def split_block(text: str, path: Path) -> tuple[str, str, str] | None:
    """(before, block, after) of nbgit's block in the text of the attribute file at `path` (its BOM left
    out: see `_text`), or None when there is none. A block whose end line is gone (edited away, a merge)
    is an NbgitError: where nbgit's lines end and yours begin is unknown, and taking everything after the
    begin line took your lines with it."""
    lines = text.splitlines(keepends=True)
    begin = next((i for i, line in enumerate(lines) if line.startswith(BEGIN[:14])), None)
    if begin is None:
        return None
    end = next((i for i in range(begin + 1, len(lines)) if lines[i].strip() == END), None)
    if end is None:
        raise NbgitError(
            f"{path}: nbgit's block has no `{END}` line, so nbgit cannot tell its lines from yours; left as it is",
            f"put `{END}` back after nbgit's lines (or delete its block by hand), then run the command again",
        )
    return "".join(lines[:begin]), "".join(lines[begin : end + 1]), "".join(lines[end + 1 :])


def _text(path: Path) -> tuple[str, str]:
    """(BOM, text) of an attribute file: a UTF-8 byte order mark git skips only at the very start stays there."""
    text = path.read_bytes().decode("utf-8", "surrogateescape") if path.is_file() else ""
    return (BOM, text[1:]) if text.startswith(BOM) else ("", text)


def check_block(path: Path) -> None:
    """Raise the NbgitError of `split_block` before install or uninstall writes anything."""
    split_block(_text(path)[1], path)


def has_block(path: Path) -> bool:
    try:
        return path.is_file() and split_block(_text(path)[1], path) is not None
    except NbgitError:
        return True  # git reads its lines all the same; install and uninstall say what is wrong


def write_block(path: Path, block: str) -> bool:
    """Put nbgit's block in an attribute file: replace it in place, or put it first so later lines can override it."""
    bom, text = _text(path)
    parts = split_block(text, path)
    new = parts[0] + block + parts[2] if parts else block + text
    if new == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (bom + new).encode("utf-8", "surrogateescape"))
    return True


def remove_block(path: Path) -> bool:
    """Take nbgit's block out of an attribute file; a file left empty is removed. False when there was no block."""
    if not path.is_file():
        return False
    bom, text = _text(path)
    parts = split_block(text, path)
    if parts is None:
        return False
    rest = bom + parts[0] + parts[2]
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
