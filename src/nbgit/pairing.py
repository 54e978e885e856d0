"""Which notebooks are paired with a jupytext text twin, and where each twin lives.

Stdlib only at import: the paths and the "nothing to do" decision of `nbgit sync` must not pay for
jupytext. The conversions themselves live in `nbgit.twins` (jupytext imported there, lazily).

A notebook is paired when the policy selects it (`[pair] enabled = true`, `include`, `exclude`, and
the top-level `exclude`), or when a twin made by jupytext or nbgit (a text file whose header names
jupytext) sits where its twin belongs: `nbgit pair` works without any policy.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from nbgit.errors import NbgitError
from nbgit.files import RealPaths
from nbgit.gitrepo import is_submodule
from nbgit.policy import Policy, glob_matches

NOTEBOOK_SUFFIX = ".ipynb"
AUTO = ".auto"
HEADER_BYTES = 4096
# The kernel languages whose extension is known without jupytext (checked against jupytext in tests).
KNOWN_LANGUAGES = {"python": ".py", "python3": ".py", "r": ".R", "ir": ".R", "julia": ".jl"}
# jupytext's fix-ups of a kernel's declared file extension (jupytext.formats.auto_ext_from_metadata).
EXTENSION_FIXUPS = {".r": ".R", ".fs": ".fsx", ".resource": ".robot", ".C": ".cpp"}
# A twin's extension comes from repository content (a kernel's `file_extension`): a short suffix of
# safe characters, never a path (jupytext's own extensions all fit: .py, .R, .fsx, .wolfram...).
SAFE_EXTENSION = re.compile(r"\.[A-Za-z0-9][A-Za-z0-9_+-]{0,15}")
# jupytext's notebook extensions and format names (jupytext.formats; checked against it in tests), so
# that the simple formats a notebook names itself are read without importing jupytext
JUPYTEXT_EXTENSIONS = frozenset(
    ".ipynb .md .markdown .Rmd .py .coco .R .r .jl .cpp .ss .clj .scm .sh .ps1 .q .m .wolfram .pro .js .ts .scala .rs .robot "
    ".resource .cs .fsx .fs .sos .java .groovy .sage .ml .hs .tcl .mac .gp .do .sas .jenner .xsh .lgt .logtalk .lua .go .qmd "
    ".myst .mystnb .mnb".split()
)
JUPYTEXT_FORMAT_NAMES = frozenset("hydrogen light marimo markdown myst nomarker pandoc percent quarto rmarkdown sphinx spin".split())
# names jupytext reads as a whole other format ("markdown" is md, "script" is auto): left to jupytext
JUPYTEXT_ALIASES = frozenset({"notebook", "rmarkdown", "quarto", "marimo", "markdown", "script", "c++", "myst", "pandoc"})
# one simple format: an extension, maybe after a file-name suffix, maybe with a format name; no folders
_SIMPLE_FORMAT = re.compile(r"(?P<stem>[A-Za-z0-9_.+-]+)(?::(?P<name>[a-z]+))?")


class Twin(NamedTuple):
    """Where a notebook's twin lives (repo-relative) and its jupytext format (`py:percent`, `md`, `md:myst`)."""

    path: str
    format: str


class PairSettings(NamedTuple):
    """The `[pair]` table, validated: the twin format split into extension and format name."""

    enabled: bool
    format: str
    extension: str  # ".py", ".md"... or AUTO: follows the notebook's kernel language
    format_name: str  # "percent", "light", "myst"... or "" for jupytext's default of that extension
    folders: tuple[tuple[str, str], ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def key(self) -> str:
        """What the twin's path and text depend on; a cache made under other settings is void."""
        return repr((self.format, self.folders))


def settings(policy: Policy) -> PairSettings:
    """The validated `[pair]` settings of `policy`; errors name the key and what is allowed."""
    table = policy.section("pair")
    extension, name = _split_format(table["format"], policy.source)
    folders = tuple((_check_folder(policy.source, notebooks), _check_folder(policy.source, twins)) for notebooks, twins in table["folders"].items())
    if len(folders) > 1:
        raise NbgitError(
            f"{policy.source}: `pair.folders` maps {len(folders)} folders; jupytext can mirror only one",
            'keep one mapping, e.g. folders = {notebooks = "scripts"}',
        )
    for notebook_folder, twin_folder in folders:
        if notebook_folder == twin_folder:
            raise NbgitError(f"{policy.source}: `pair.folders` maps `{notebook_folder}` to itself", "drop `folders` to keep twins beside their notebooks")
    return PairSettings(
        enabled=table["enabled"],
        format=table["format"],
        extension=extension,
        format_name=name,
        folders=folders,
        include=tuple(table["include"]),
        exclude=tuple(table["exclude"]) + tuple(policy.exclude),
    )


def _split_format(text: str, source: str) -> tuple[str, str]:
    """`py:percent` -> (".py", "percent"); `percent` or `auto:percent` -> (AUTO, "percent"); `md:myst` -> (".md", "myst")."""
    extension, _, name = text.strip().partition(":")
    if not name and extension.lower() in ("percent", "light", "hydrogen", "nomarker", "sphinx", "spin"):
        extension, name = "auto", extension
    if extension.lower() in ("myst", "markdown") and not name:
        return ".md", "myst" if extension.lower() == "myst" else ""
    valid_name = not name or name.replace("_", "").replace("-", "").isalnum()
    if not extension or not extension.replace("_", "").isalnum() or extension.lower() == "ipynb" or not valid_name:
        raise NbgitError(
            f"{source}: `pair.format` must be a jupytext text format such as \"py:percent\", \"auto:percent\" or \"md\", not {text!r}",
            "see https://jupytext.readthedocs.io/en/latest/formats.html",
        )
    return ("." + extension if extension != "auto" else AUTO), name


def _check_folder(source: str, value: str) -> str:
    """The folder's name as the paths of notebooks and twins hold it (`./scripts/` is `scripts`: a
    twin named `./scripts/a.py` was not the tracked `scripts/a.py`, so `check --all` missed orphans)."""
    path = PurePosixPath(value.strip("/"))
    unsafe = value.startswith("/") or "\\" in value or not value.isprintable()
    if unsafe or len(path.parts) != 1 or path.parts[0] in ("..", ".") or path.parts[0].lower() == ".git":
        raise NbgitError(
            f"{source}: `pair.folders`: {value!r} is not a top-level folder of the repository",
            'name folders at the top of the repository, e.g. folders = {notebooks = "scripts"}; paths outside it, and .git, are not allowed',
        )
    return path.parts[0]


def selected(relative: str, pair: PairSettings) -> bool:
    """Whether the policy pairs the notebook at this repo-relative POSIX path."""
    if not pair.enabled or glob_matches(relative, pair.exclude) or not glob_matches(relative, pair.include):
        return False
    return not pair.folders or relative.startswith(pair.folders[0][0].strip("/") + "/")


def twin_relpath(notebook: str, extension: str, pair: PairSettings) -> str | None:
    """The twin of a repo-relative notebook path, or None when the notebook lies outside the mirrored folder."""
    stem = notebook[: -len(NOTEBOOK_SUFFIX)]
    if pair.folders:
        source, target = (f.strip("/") for f in pair.folders[0])
        if not stem.startswith(source + "/"):
            return None
        stem = target + stem[len(source) :]
    return stem + extension


def notebook_relpath(twin: str, pair: PairSettings) -> str | None:
    """The notebook a repo-relative twin path belongs to (None when it cannot be one under these settings)."""
    stem, dot, extension = twin.rpartition(".")
    if not dot or "/" in extension or f".{extension}" == NOTEBOOK_SUFFIX:
        return None
    if pair.extension != AUTO and f".{extension}" != pair.extension:
        return None
    if pair.folders:
        source, target = (f.strip("/") for f in pair.folders[0])
        if not stem.startswith(target + "/"):
            return None
        stem = source + stem[len(target) :]
    return stem + NOTEBOOK_SUFFIX


def twin_for(root: Path, notebook: str, metadata: dict[str, Any], pair: PairSettings) -> Twin | None:
    """Where the twin of the repo-relative `notebook` lives, and its format; None when it has none there
    (outside the mirrored folder, or its own formats name no text format).

    A notebook that names its own formats (`metadata.jupytext.formats`, e.g. "ipynb,md") is paired as
    jupytext pairs it, whatever the policy says, so that a save in JupyterLab and `nbgit sync` agree.
    Otherwise the policy decides. jupytext is imported only for own formats and unusual kernels.
    """
    if own_formats(metadata) is not None:
        from nbgit.twins import own_twin

        return own_twin(root, notebook, metadata, pair)
    extension = extension_for(metadata, pair, notebook)
    if extension is None:
        from nbgit.twins import twin_extension

        extension = twin_extension(metadata, pair, notebook)
    twin = twin_relpath(notebook, extension, pair)
    return None if twin is None else Twin(twin, twin_format(extension, pair.format_name))


def own_formats(metadata: dict[str, Any]) -> Any:
    """The notebook's own jupytext formats (`metadata.jupytext.formats`), None when it names none."""
    jupytext = metadata.get("jupytext")
    formats = jupytext.get("formats") if isinstance(jupytext, dict) else None
    return formats if isinstance(formats, (str, list)) and formats else None


def simple_paired_paths(main_path: str, formats: Any) -> list[tuple[str, dict[str, str]]] | None:
    """What jupytext's `paired_paths(main_path, "ipynb", formats)` answers, without importing it, for the
    simple formats most notebooks name (`ipynb,py:percent`, `ipynb,md`, `ipynb,.nb.py`: no prefix
    folders, no options); None for anything else, which jupytext then answers (or says what is wrong).

    Identical to jupytext's answer wherever it answers (tests compare both over many format strings);
    every path is the notebook's own folder, its name's stem plus a suffix and an extension.
    """
    base, extension = os.path.splitext(main_path)
    if not isinstance(formats, str) or extension != NOTEBOOK_SUFFIX:
        return None
    read = [_simple_format(text) for text in formats.split(",") if text]
    parsed = [fmt for fmt in read if fmt is not None]
    if len(parsed) < len(read):
        return None
    suffix = next((fmt.get("suffix", "") for fmt in parsed if fmt["extension"] == NOTEBOOK_SUFFIX), "")
    if not base.endswith(suffix):
        return None
    base = base[: len(base) - len(suffix)]
    paths = [base + fmt.get("suffix", "") + fmt["extension"] for fmt in parsed]
    if main_path not in paths or len(set(paths)) < len(paths):
        return None
    return list(zip(paths, parsed))


def _simple_format(text: str) -> dict[str, str] | None:
    """One element of a formats string as jupytext's long form (`nb.py:percent` -> suffix `nb`,
    extension `.py`, format name `percent`), None when it is not a simple one."""
    found = _SIMPLE_FORMAT.fullmatch(text)
    if found is None or text.lower() in JUPYTEXT_ALIASES:
        return None
    extension, name = found["stem"], found["name"]
    fmt: dict[str, str] = {}
    if extension.rfind(".") > 0:
        fmt["suffix"], extension = os.path.splitext(extension)
    if not extension.startswith("."):
        extension = "." + extension
    if extension not in JUPYTEXT_EXTENSIONS or (name is not None and name not in JUPYTEXT_FORMAT_NAMES):
        return None
    fmt["extension"] = extension
    if name is not None:
        fmt["format_name"] = name
    return fmt


def twin_format(extension: str, format_name: str) -> str:
    """The jupytext format string for a twin with this extension, e.g. `jl:percent` or `md:myst`."""
    return f"{extension[1:]}:{format_name}" if format_name else extension[1:]


def extension_for(metadata: dict[str, Any], pair: PairSettings, notebook: str) -> str | None:
    """The twin's extension for a notebook with this metadata, without jupytext when it can be told.

    None means "ask jupytext" (`nbgit.twins.twin_extension`): an unusual kernel language. Where
    jupytext's own rule finds nothing (Colab names no `kernelspec.language`), the language's name
    in `language_info` or the kernel's name still tells Python, R and Julia apart.
    """
    if pair.extension != AUTO:
        return pair.extension
    info = metadata.get("language_info") if isinstance(metadata.get("language_info"), dict) else {}
    kernel = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    declared = info.get("file_extension")
    if isinstance(declared, str):
        check_extension(declared, notebook)
        if declared == ".py" and kernel.get("language") == "sage":
            return ".sage"
        return EXTENSION_FIXUPS.get(declared, declared)
    if declared is not None:
        return None
    # Colab and some older tools name the language only in language_info.name or the kernel's name
    for language in (kernel.get("language"), info.get("name"), kernel.get("name")):
        if isinstance(language, str) and language.lower() in KNOWN_LANGUAGES:
            return KNOWN_LANGUAGES[language.lower()]
    return None


def check_extension(extension: str, notebook: str) -> str:
    """`extension` when it is a twin's extension (a short suffix of safe characters, not `.ipynb`);
    else an error naming the notebook: a kernel's `file_extension` comes from repository content."""
    if SAFE_EXTENSION.fullmatch(extension) and extension.lower() != NOTEBOOK_SUFFIX:
        return extension
    raise NbgitError(
        f"{notebook}: its kernel's file_extension {extension!r} is not a file extension; its twin is not placed",
        'give the twin a fixed format in the policy ([pair] format = "py:percent"), or exclude it with [pair] exclude',
    )


def inside_repository(root: Path, relative: str, real: RealPaths | None = None) -> Path:
    """The real path of a repo-relative path that nbgit derived from repository content (a twin's or a
    notebook's), symlinks resolved; an error when it leaves the work tree or leads into `.git`.

    A symlink that stays inside the work tree is followed: reads and writes go to its target. `real`
    resolves the folders of many paths once each.
    """
    return Path(real_path_inside(root, relative, real))


def real_path_inside(root: Path, relative: str, real: RealPaths | None = None) -> str:
    """`inside_repository` as a string (no Path made: this runs for every notebook of a check or sync)."""
    lexical_escape = not relative or relative.startswith("/") or ".." in relative.split("/") or "\0" in relative
    real = real or RealPaths()
    top = real.folder(root)
    if not lexical_escape:  # (strings, not pathlib: this runs for every notebook of a check or sync)
        resolved = real.of(os.path.join(top, relative))
        prefix = top.rstrip(os.sep) + os.sep
        below = resolved[len(prefix):] if resolved != top and resolved.startswith(prefix) else None
        if below is not None and f"{os.sep}.git{os.sep}" not in f"{os.sep}{below.lower()}{os.sep}":  # no part of it is .git
            nested = _nested_repository(top, below, real)
            if nested is None:
                return resolved
            raise NbgitError(
                f"{relative}: lies in another repository (the submodule or clone at {nested}); nbgit never reads or writes there",
                "keep twins in this repository's own folders ([pair] folders), or exclude the notebook with [pair] exclude",
            )
        if below is not None or resolved == top:
            raise NbgitError(f"{relative}: leads into git's own folder (.git); nbgit never reads or writes there", "remove the symlink, or exclude the notebook with [pair] exclude")
    raise NbgitError(
        f"{relative}: leads outside the repository; nbgit never reads or writes there",
        "remove the symlink (a twin or notebook linked out of the work tree), or exclude the notebook with [pair] exclude",
    )


def _nested_repository(top: str, below: str, real: RealPaths) -> str | None:
    """The folder (repo-relative, POSIX) of another repository that the real path `top/below` lies in,
    None when it is this repository's own: a submodule checked out or any clone inside the work tree
    (its folder holds a `.git`), or a submodule not checked out (an empty folder the index records as
    one). Git tracks nothing of this repository there: a twin written there lands in another's tree."""
    parts = below.split(os.sep)[:-1]
    for depth in range(1, len(parts) + 1):
        folder = os.path.join(top, *parts[:depth])
        nested = real.repositories.get(folder)
        if nested is None:
            nested = real.repositories[folder] = _starts_a_repository(top, "/".join(parts[:depth]), folder)
        if nested:
            return "/".join(parts[:depth])
    return None


def _starts_a_repository(top: str, relative: str, folder: str) -> bool:
    """Whether another repository's work tree starts at `folder` (`relative` below `top`); git is asked
    only about an empty folder (a submodule not checked out), which is rare."""
    if os.path.lexists(os.path.join(folder, ".git")):
        return True
    try:
        with os.scandir(folder) as entries:  # (the first entry is enough: no listing of a big folder)
            empty = next(entries, None) is None
    except OSError:
        return False
    return empty and is_submodule(Path(top), relative)


def looks_like_twin(path: Path) -> bool:
    """Whether a text file's header says jupytext (or nbgit) wrote it: the mark of a twin whose notebook is
    missing. Only regular files are read (a FIFO would block)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
    except OSError:
        return False
    return b"jupytext:" in head and b"\0" not in head


def relative_to_root(path: Path, root: Path, key: str = "path") -> str:
    """A path given on the command line as repo-relative POSIX text ("" for the root itself); an error
    naming `key` when it lies outside the repository. A symlink named is not followed: it is the
    link's own path that names a notebook or twin (`inside_repository` checks where it leads)."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    if absolute.name in ("", ".", ".."):
        absolute = absolute.resolve()
    else:
        absolute = absolute.parent.resolve() / absolute.name
    try:
        relative = absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise NbgitError(f"{path}: outside the repository at {root}", f"give a {key} inside the repository") from None
    return "" if relative == "." else relative


def jupytext_options(policy: Policy) -> dict[str, str]:
    """jupytext settings shared by nbgit's twins and `jupytext.toml`: cell metadata the clean filter
    strips is filtered out of twins (so JupyterLab does not write it there either); the filter that
    JupyterLab then echoes into the notebook's metadata, the clean filter strips (`nbgit.clean`)."""
    from nbgit.clean import KeyRules, jupytext_cell_filter

    cell_filter = jupytext_cell_filter(KeyRules.for_policy(policy))
    return {"cell_metadata_filter": cell_filter} if cell_filter else {}


def jupytext_config_text(policy: Policy) -> str | None:
    """The `jupytext.toml` that makes JupyterLab with jupytext pair notebooks exactly as `nbgit sync` does.

    None when the policy does not enable pairing. With it, jupytext writes the very twin nbgit writes.
    """
    pair = settings(policy)
    if not pair.enabled:
        return None
    twin_format = f"auto:{pair.format_name}" if pair.extension == AUTO else pair.format
    if pair.folders:
        source, target = (f.strip("/") for f in pair.folders[0])
        formats = f"{source}///ipynb,{target}///{twin_format}"
    else:
        formats = f"ipynb,{twin_format}"
    lines = [
        "# Written by nbgit from the [pair] policy: JupyterLab with jupytext pairs notebooks as `nbgit sync` does.",
        "# Edit the policy and re-run `nbgit install` rather than this file.",
        f"formats = {_toml_string(formats)}",
        *(f"{key} = {_toml_string(value)}" for key, value in jupytext_options(policy).items()),
    ]
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    """`text` as a TOML string, whatever the policy's folder names and keys hold (quotes, newlines):
    JSON's escapes are TOML's, and TOML wants DEL escaped as well."""
    import json

    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
