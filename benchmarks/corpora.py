"""The notebooks every benchmark runs on: generated ones, and real ones from ../shared/corpus/dev.

Generated notebooks (`generate`) have a few large cells, each with one big PNG: the bytes are
mostly one string per image. Real notebooks look different (a 50 KB one from the corpus has about
50 cells and 30 small outputs), so every benchmark also runs on copies of the real ones
(`real`): the readable notebooks of ../shared/corpus/dev, repeated and renamed until there are
`count` files, either all of them at their own sizes (`MIXED`) or only those of about 50 KB
(`ABOUT_50KB`). Only nbformat 4 notebooks are taken: nb-clean 5 refuses older ones, and the peers
must do the same work as nbgit. Each set comes with what it holds (`Corpus.describe`): files, bytes, and cells and
outputs per notebook, for the tables in README.

Also here: variants of a notebook as a working session leaves it (`rerun`, `edit_source`), for
the diff, merge and sync benchmarks, which need histories and sides.
"""

from __future__ import annotations

import base64
import json
import random
import re
import statistics
import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"
MIXED = (0, 10**9)
ABOUT_50KB = (35_000, 75_000)


class Corpus(NamedTuple):
    """A set of notebooks written to a folder: the files, and what they hold."""

    label: str
    files: list[Path]
    bytes: int
    cells: float  # median per notebook
    outputs: float  # median per notebook

    def describe(self) -> str:
        """`1000 real notebooks (50 KB set): 51 MB, median 51 KB, 44 cells and 17 outputs each`."""
        sizes = sorted(p.stat().st_size for p in self.files)
        return (f"{len(self.files)} {self.label}: {self.bytes / 1e6:.0f} MB, median {statistics.median(sizes) / 1000:.0f} KB, "
                f"{self.cells:.0f} cells and {self.outputs:.0f} outputs per notebook (medians)")


# --- generated ---------------------------------------------------------------------------------


def png(rng: random.Random, size: int) -> bytes:
    """A valid PNG of about `size` bytes (noise does not compress, like real plots' base64 payload)."""
    width = max(8, int((size / 3) ** 0.5))
    rows = b"".join(b"\0" + rng.randbytes(width * 3) for _ in range(width))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def notebook(rng: random.Random, size: int) -> bytes:
    """A generated notebook of about `size` bytes: code with outputs and images, markdown, volatile metadata."""
    cells = []
    images = max(1, size // 40_000)
    image_bytes = int(size * 0.98 / images / 1.37)
    for n in range(images):
        cells.append({"cell_type": "markdown", "id": f"md{n}", "metadata": {}, "source": [f"## Step {n}\n", "Some words about the plot below.\n"]})
        source = [f"x{n} = load({n})\n", f"plt.plot(x{n}, x{n} ** 2)\n", "plt.show()"]
        outputs = [
            {"name": "stdout", "output_type": "stream", "text": [f"loaded {rng.randint(1, 10**6)} rows\n"] * 5},
            {
                "data": {"image/png": base64.b64encode(png(rng, image_bytes)).decode(), "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                "metadata": {"needs_background": "light"},
                "output_type": "display_data",
            },
            {
                "data": {"text/html": [f"<tr><td>{rng.random()}</td></tr>\n" for _ in range(20)], "text/plain": ["table"]},
                "execution_count": n + 1,
                "metadata": {},
                "output_type": "execute_result",
            },
        ]
        metadata = {"ExecuteTime": {"end_time": "2024-05-01T10:00:00.000Z", "start_time": "2024-05-01T09:59:59.000Z"}}
        cells.append({"cell_type": "code", "execution_count": n + 1, "id": f"code{n}", "metadata": metadata, "outputs": outputs, "source": source})
    content = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.4"},
            "vscode": {"interpreter": {"hash": rng.randbytes(32).hex()}},
            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {rng.randbytes(16).hex(): {"model_name": "IntSliderModel", "state": {"value": rng.randint(0, 99)}}}, "version_major": 2, "version_minor": 0}},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return dump(content)


def generate(folder: Path, count: int, size: int, seed: int) -> Corpus:
    """`count` generated notebooks of about `size` bytes in `folder` (created)."""
    folder.mkdir(parents=True)
    files = []
    for i in range(count):
        path = folder / f"nb{i:04d}.ipynb"
        path.write_bytes(notebook(random.Random(seed * 100_000 + i), size))
        files.append(path)
    cells = len(json.loads(files[0].read_bytes())["cells"])
    return Corpus(f"generated notebooks of ~{_size(size)}", files, sum(p.stat().st_size for p in files), cells, cells // 2 * 3)


# --- real --------------------------------------------------------------------------------------


def real_sources(sizes: tuple[int, int] = MIXED, python_only: bool = False, with_outputs: bool = False) -> list[Path]:
    """The readable nbformat 4 notebooks of the corpus whose size is within `sizes` (bytes), in a fixed
    order; only Python ones with `python_only`, only those with outputs with `with_outputs`."""
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus of real notebooks is not at {CORPUS}: run the benchmark from a checkout beside shared/")
    found = []
    for path in sorted(CORPUS.rglob("*.ipynb")):
        if not sizes[0] <= path.stat().st_size <= sizes[1]:
            continue
        content = _content(path)
        if content is None or content.get("nbformat") != 4 or (python_only and _language(content) != "python"):
            continue
        if with_outputs and not any(c.get("outputs") for c in _cells(content)):
            continue
        found.append(path)
    return found


def real(folder: Path, count: int, sizes: tuple[int, int] = MIXED, python_only: bool = False, with_outputs: bool = False,
         distinct: bool = False) -> Corpus:
    """`count` copies of the real notebooks within `sizes` (see `real_sources`), repeated in turn and
    renamed, in `folder` (created).

    Copies are identical, so git stores each distinct notebook once however many copies it adds:
    without a filter `git add -A` then writes a few dozen objects for a thousand files, which no real
    repository gives it. With `distinct`, every copy's first source line starts with its own number
    (`distinguish`): each file is then a notebook of its own, as in a real repository, and every tool
    still does the same work on it.
    """
    sources = real_sources(sizes, python_only, with_outputs)
    folder.mkdir(parents=True)
    files, cells, outputs = [], [], []
    for i in range(count):
        source = sources[i % len(sources)]
        target = folder / f"{i:04d}-{re.sub(r'[^A-Za-z0-9_-]+', '_', source.stem)[:40]}.ipynb"
        data = source.read_bytes()
        target.write_bytes(distinguish(data, i) if distinct else data)
        files.append(target)
        content = _content(source) or {}
        all_cells = _cells(content)
        cells.append(len(all_cells))
        outputs.append(sum(len(c.get("outputs") or []) for c in all_cells))
    label = "real notebooks (every one of the corpus, at its own size)" if sizes == MIXED else f"real notebooks of {_size(sizes[0])}-{_size(sizes[1])}"
    label += f" with outputs ({len(sources)} distinct)" if with_outputs else ""
    label += ", each copy made distinct" if distinct else ""
    return Corpus(label, files, sum(p.stat().st_size for p in files), statistics.median(cells), statistics.median(outputs))


# the first string of a cell's source, as Jupyter writes it (a list of lines) or as one string
_FIRST_SOURCE = re.compile(rb'"source"\s*:\s*(?:\[\s*)?"')


def distinguish(data: bytes, number: int) -> bytes:
    """Notebook bytes whose first source line starts with `copy <number>: ` (nothing else moves: the
    layout stays the file's own); the bytes unchanged when no cell has a source line."""
    found = _FIRST_SOURCE.search(data)
    if found is None:
        return data
    return data[: found.end()] + b"copy %04d: " % number + data[found.end() :]


def _content(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    return content if isinstance(content, dict) and (isinstance(content.get("cells"), list) or "worksheets" in content) else None


def _cells(content: dict[str, Any]) -> list[dict[str, Any]]:
    if "cells" in content:
        return [c for c in content["cells"] if isinstance(c, dict)]
    return [c for sheet in content.get("worksheets") or [] for c in sheet.get("cells") or [] if isinstance(c, dict)]


def _language(content: dict[str, Any]) -> str:
    metadata = content.get("metadata") or {}
    return str((metadata.get("kernelspec") or {}).get("language") or (metadata.get("language_info") or {}).get("name") or "python").lower()


def _size(count: int) -> str:
    return f"{count / 1e6:.0f} MB" if count >= 1_000_000 else f"{count / 1000:.0f} KB"


# --- variants: what a working session leaves ---------------------------------------------------


def dump(content: dict[str, Any]) -> bytes:
    """Notebook bytes in Jupyter's layout."""
    return (json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def rerun(content: dict[str, Any], seed: int) -> dict[str, Any]:
    """A copy as if every code cell ran again: new execution counts, and numbers in text outputs changed."""
    rng = random.Random(seed)
    content = json.loads(json.dumps(content))
    count = rng.randint(1, 50)
    for cell in _cells(content):
        if cell.get("cell_type") != "code":
            continue
        count += 1
        key = "execution_count" if "execution_count" in cell else "prompt_number"
        cell[key] = count
        for output in cell.get("outputs") or []:
            if key in output:
                output[key] = count
            if output.get("output_type") == "stream":
                text = "".join(output.get("text") or [])
                output["text"] = re.sub(r"\d+", lambda m: str(rng.randint(0, 10 ** len(m.group()))), text).splitlines(True)
    return content


def edit_source(content: dict[str, Any], which: int, line: str) -> dict[str, Any]:
    """A copy with `line` appended to the `which`-th code cell (negative counts from the end)."""
    content = json.loads(json.dumps(content))
    code = [c for c in _cells(content) if c.get("cell_type") == "code"]
    cell = code[which]
    key = "source" if "source" in cell else "input"
    text = "".join(cell[key]) if isinstance(cell[key], list) else cell[key]
    cell[key] = (text + ("\n" if text and not text.endswith("\n") else "") + line).splitlines(True)
    return content
