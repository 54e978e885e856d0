"""Line endings git converts: each version recorded with CRLF line endings is found by the blob git stores of it.

With `core.autocrlf=true` (Git for Windows' default) or the attributes `text`/`eol=crlf`, git runs the
clean filter on the work tree's CRLF bytes and converts what it answers to LF before storing it; it
converts a blob to CRLF before the smudge filter sees it (git's convert.c: clean, then CRLF to LF;
LF to CRLF, then smudge). The filter records the CRLF form, named by git's id of it (`record`), which
git never stores: a checkout of a version recorded so finds it (the smudge is handed that very form),
but the cell-by-cell restore asks git for a path's recent versions by those names, and git has none.

So beside a version whose line endings are all CRLF (JSON text holds no raw line break: in a
notebook saved with CRLF, every line ends so), a note names the blob git stores of it:

    eols/ab/<key>    git's id of the LF form of the cleaned blob named `key` (a record's name)

A note is a hint, never trusted: the blob git gives for it is converted back to CRLF and used only
where git's id of the result is `key` itself, so a damaged or crafted note costs at most the outputs
it was for. Notes are named by content alone (any path's version of one blob has one LF form), are
evicted with the rest of the store, and `nbgit gc` drops those no path's history names (`evict.collect`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nbgit.store.disk import Store, is_name

KIND = "eols"

Fetch = Callable[[list[str]], list[bytes | None]]  # blobs by git's ids, None for those git does not have


def lf_form(cleaned: bytes) -> bytes | None:
    """`cleaned` with its line endings converted to LF, as git stores it, when every one of them is CRLF;
    None otherwise."""
    if not crlf_first(cleaned):
        return None
    if cleaned.count(b"\r\n") != cleaned.count(b"\n"):
        return None  # (a lone LF would not come back as it was)
    return cleaned.replace(b"\r\n", b"\n")


def plain_lf_form(cleaned: bytes) -> bytes | None:
    """`lf_form`, when git, told to guess (`text=auto`, `core.autocrlf`), takes it for text: no NUL, no
    lone CR, no DEL (git's count of unprintable bytes, which JSON otherwise escapes); None otherwise."""
    lf = lf_form(cleaned)
    return lf if lf is not None and not any(byte in lf for byte in (b"\0", b"\r", b"\x7f")) else None


def converts(attributes: dict[str, str], autocrlf: str) -> bool:
    """Whether git converts CRLF line endings to LF when it stores a text file with these `text`, `crlf` and
    `eol` attributes (`git check-attr` values) under this `core.autocrlf` ("" when unset), as git's
    convert.c decides (convert_attrs): `-text` never; `text`, `text=auto` or an `eol` always (auto:
    text files whose blob holds no CR); otherwise as `core.autocrlf` says (true or input: as auto)."""
    mode = _mode(attributes.get("text", "unspecified"))
    if mode is None:
        mode = _mode(attributes.get("crlf", "unspecified"))  # (the attribute `text` replaced)
    if mode != "binary" and attributes.get("eol") in ("lf", "crlf"):
        return True
    if mode is None:
        return autocrlf.lower() in ("true", "yes", "on", "input") or autocrlf.isdigit() and int(autocrlf) != 0
    return mode != "binary"


def converting(root: Path, paths: list[str]) -> set[str]:
    """Those of `paths` (repo-relative) whose CRLF line endings git converts to LF when it stores them
    (`converts`); nothing is asked of git when there are none."""
    if not paths:
        return set()
    from nbgit import gitrepo

    attributes = gitrepo.attributes_of(paths, ("text", "crlf", "eol"), root)
    autocrlf = gitrepo.config_value("core.autocrlf", "bool-or-str", root) or ""  # (with no value: true, as git reads it)
    return {path for path in paths if converts(attributes.get(path, {}), autocrlf)}


def _mode(value: str) -> str | None:
    """What an attribute value says of a file's line endings: text, binary, auto, or nothing."""
    return {"set": "text", "input": "text", "unset": "binary", "auto": "auto"}.get(value)


def crlf_first(data: bytes) -> bool:
    """Whether the first line of `data` ends with CRLF: LF notebooks, the vast majority, are told by it alone."""
    newline = data.find(b"\n")
    return newline > 0 and data[newline - 1] == 0x0D


def note(store: Store, key: str, cleaned: bytes) -> None:
    """Note beside the version of blob `cleaned` (named `key`) the blob git stores of it, when its line
    endings are CRLF. A note there already is only marked used: one that names another blob (damaged,
    crafted) is never trusted, and `fetched` removes it."""
    if not crlf_first(cleaned):
        return
    if store.read(KIND, key) is not None:
        store.touch(KIND, key)
        return
    lf = lf_form(cleaned)
    if lf is not None:
        store.write(KIND, key, store.key(lf).encode("ascii"))


def fetched(store: Store, keys: list[str], fetch: Fetch) -> list[bytes | None]:
    """The blobs named `keys`, by `fetch`; for those git does not have, the CRLF form of the blob their
    note names, when git's id of that form is the key (checked: the note is only a hint)."""
    found = fetch(keys)
    noted = {}
    for key, blob in zip(keys, found):
        named = store.read(KIND, key) if blob is None else None
        if named is not None and is_name(named.strip()):
            noted[key] = named.strip().decode("ascii")
        elif named is not None:
            store.damaged(KIND, key, "it names no blob")
    if not noted:
        return found
    converted = dict(zip(noted, fetch(list(noted.values()))))
    result = []
    for key, blob in zip(keys, found):
        lf = converted.get(key)
        crlf = lf.replace(b"\n", b"\r\n") if lf is not None else None
        if blob is None and crlf is not None:
            if store.key(crlf) == key:
                store.touch(KIND, key)
                blob = crlf
            else:
                store.damaged(KIND, key, "it names a blob that is not this version's")
        result.append(blob)
    return result
