"""Files on disk: atomic writes and finding the notebooks a command should look at."""

from __future__ import annotations

import os
from pathlib import Path

from nbgit.errors import NbgitError

SKIPPED_DIRS = frozenset({".git", ".ipynb_checkpoints", "__pycache__", ".venv", "node_modules"})


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` through a temporary file and a rename, keeping its permissions."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.nbgit-tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def find_notebooks(paths: list[str], suffix: str = ".ipynb") -> list[Path]:
    """Files named in `paths`, and every `*.ipynb` below the folders among them, minus what git ignores.

    Folders named `.ipynb_checkpoints` (Jupyter's autosaves) and `.git` are never entered.
    A file named explicitly is always included; a missing path is an error.
    """
    found: list[Path] = []
    walked: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
                walked.extend(Path(folder) / f for f in sorted(files) if f.endswith(suffix))
        elif path.is_file():
            found.append(path)
        else:
            raise NbgitError(f"{name}: no such file or folder", "check the path")
    if walked:
        from nbgit import gitrepo  # subprocess costs start-up time; only folders need git

        ignored = gitrepo.ignored_paths(walked)
        found.extend(p for p in walked if p not in ignored)
    return list(dict.fromkeys(found))
