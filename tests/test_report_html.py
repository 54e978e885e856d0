"""The HTML report: one self-contained file, rendered in a real headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import nbformat
import pytest
from conftest import NBGIT, git, nbgit

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> str:
    """A real PNG of one colour with a darker diagonal, base64 as notebooks store it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    dark = tuple(c // 3 for c in rgb)
    rows = b"".join(
        b"\0" + b"".join(bytes(dark if abs(x * height - y * width) < width * 2 else rgb) for x in range(width)) for y in range(height)
    )
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


def figure_cell(source: str, cell_id: str, image: str, text: str) -> nbformat.NotebookNode:
    output = nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": text})
    return nbformat.v4.new_code_cell(source, id=cell_id, outputs=[output], execution_count=1)


def write(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=cells, metadata=meta)))


def make_change(repo: Path) -> dict[str, str]:
    """A repo that keeps outputs, with a commit and a work tree that changes sources, images and cells."""
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    old_blue, new_red, added_green = png(160, 100, (40, 90, 200)), png(160, 100, (210, 50, 40)), png(120, 80, (40, 160, 60))
    intro = nbformat.v4.new_markdown_cell("# Sales analysis\nQuarterly numbers.", id="intro-md")
    load = nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('sales.csv')", id="load-data")
    write(repo / "analysis.ipynb", [intro, load, figure_cell("df.plot(color='blue')", "plot-cell", old_blue, "<Figure blue>")])
    write(repo / "untouched.ipynb", [nbformat.v4.new_code_cell("print('same')", id="same-cell")])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    load2 = nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('sales-2024.csv')", id="load-data")
    plot = figure_cell("df.plot(color='red')", "plot-cell", new_red, "<Figure red>")
    write(repo / "analysis.ipynb", [intro, load2, plot, figure_cell("df.hist()", "hist-cell", added_green, "<Figure hist>")])
    return {"old": old_blue, "new": new_red, "added": added_green}


def test_html_is_one_self_contained_file(repo: Path) -> None:
    images = make_change(repo)
    done = nbgit(repo, "diff", "--format", "html", "--output", "report.html")
    assert done.returncode == 0, done.stderr
    html = (repo / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert not re.search(r"url\(|@import|@font-face", html, re.I)
    assert "default-src 'none'" in html  # and the browser is told to fetch nothing
    for image in images.values():
        assert f"data:image/png;base64,{image}" in html
    assert "untouched.ipynb" not in html
    assert nbgit(repo, "diff", "--format", "html", "-o", "short.html").returncode == 0
    assert (repo / "short.html").read_text() == html


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium); .ci/run installs it")
def test_html_report_in_headless_chromium(repo: Path, tmp_path: Path) -> None:
    images = make_change(repo)
    report = tmp_path / "report.html"
    assert nbgit(repo, "diff", "--format", "html", "--output", str(report)).returncode == 0
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report_html.png"
    base = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000",
    ]  # fmt: skip
    done = subprocess.run([*base, "--dump-dom", report.as_uri()], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    dom = done.stdout.decode()
    # the summary first, then the changed cells: source edits, the image before and after, the new cell
    assert dom.index("<table") < dom.index('<section id="nb-1"')
    assert "analysis.ipynb" in dom and "2 modified" in dom and "1 added" in dom
    assert "load-dat" in dom and "sales-2024.csv" in dom and "plot-cel" in dom and "hist-cel" in dom
    assert "intro-md" not in dom  # unchanged cells are not listed
    figures = re.findall(r'<figure class="(before|after)">.*?<img [^>]*src="data:image/png;base64,([^"]+)"', dom)
    assert ("before", images["old"]) in figures and ("after", images["new"]) in figures and ("after", images["added"]) in figures
    screenshot.unlink(missing_ok=True)
    done = subprocess.run([*base, f"--screenshot={screenshot}", report.as_uri()], capture_output=True, timeout=120)
    assert done.returncode == 0 and screenshot.stat().st_size > 10_000, done.stderr.decode()[-2000:]


@pytest.mark.parametrize("sizes", [((1, 12_000), (12_000, 1)), ((4_500, 4_500), (4_500, 4_500))])
def test_images_of_many_pixels_in_few_bytes_are_compared_by_bytes_in_little_memory(repo: Path, sizes: tuple) -> None:
    """A PNG of a few hundred bytes can hold millions of pixels: two thin ones made a difference canvas of
    144 million (gigabytes), and large ones were each decoded whole. The report is made under 1 GB of
    address space, each image shown, without a difference picture."""
    import resource

    from PIL import Image

    def tiny_png(size: tuple[int, int], colour: tuple[int, int, int]) -> str:
        data = io.BytesIO()
        Image.new("RGB", size, colour).save(data, "PNG", optimize=True)
        return base64.b64encode(data.getvalue()).decode()

    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    before, after = tiny_png(sizes[0], (200, 0, 0)), tiny_png(sizes[1], (0, 200, 0))
    write(repo / "plots.ipynb", [figure_cell("plot()", "plot", before, "<Figure>")])
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    write(repo / "plots.ipynb", [figure_cell("plot()", "plot", after, "<Figure>")])

    def one_gigabyte() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([str(NBGIT), "diff", "--format", "html", "-o", "report.html"], check=False, cwd=repo, capture_output=True,
                          timeout=120, preexec_fn=one_gigabyte)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    html = (repo / "report.html").read_text()
    assert before in html and after in html and 'class="diff"' not in html


class DevTools:
    """A page of headless Chromium driven over the DevTools protocol: what a person does, no page script."""

    def __init__(self, url: str, profile: Path) -> None:
        import json
        import urllib.request

        import websocket

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "--window-size=1200,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        line = b""
        while b"DevTools listening on" not in line:
            line = self.process.stderr.readline()  # type: ignore[union-attr]
            assert line, "chromium did not start its DevTools endpoint"
        port = re.search(rb"ws://127\.0\.0\.1:(\d+)/", line).group(1).decode()  # type: ignore[union-attr]
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30).read())
        self.socket = websocket.create_connection(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"], timeout=60)
        self.json, self.ids, self.events = json, iter(range(1, 10**6)), []
        self.call("Network.enable")
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def call(self, method: str, **params: object) -> dict:
        number = next(self.ids)
        self.socket.send(self.json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = self.json.loads(self.socket.recv())
            if message.get("id") == number:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self.json.loads(self.socket.recv()))

    def box(self, selector: str) -> tuple[float, float, float, float]:
        """The element's border box in the viewport, scrolled into view first."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, selector
        self.call("DOM.scrollIntoViewIfNeeded", nodeId=node)
        quad = self.call("DOM.getBoxModel", nodeId=node)["model"]["border"]
        return quad[0], quad[1], quad[4] - quad[0], quad[5] - quad[1]

    def click(self, selector: str) -> None:
        x, y, width, height = self.box(selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x + width / 2, y=y + height / 2, button="left", clickCount=1)

    def colours(self, selector: str) -> set[tuple[int, int, int]]:
        """The colours shown in an element's box, from a real screenshot."""
        import io

        from PIL import Image

        x, y, width, height = self.box(selector)
        viewport = self.call("Page.getLayoutMetrics")["cssVisualViewport"]  # the clip is in page coordinates
        x, y = x + viewport["pageX"], y + viewport["pageY"]
        shot = self.call("Page.captureScreenshot", format="png", clip={"x": x, "y": y, "width": max(width, 1), "height": max(height, 1), "scale": 1})
        image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
        return {colour for _, colour in image.getcolors(maxcolors=1 << 20)}

    def close(self) -> None:
        self.socket.close()
        self.process.kill()
        self.process.wait()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium); .ci/run installs it")
def test_before_after_flip_works_without_script_and_nothing_is_fetched(repo: Path, tmp_path: Path) -> None:
    """Click the tabs of a changed plot as a reader would: before, after and the difference show in turn."""
    pytest.importorskip("websocket")
    images = make_change(repo)
    report = tmp_path / "report.html"
    assert nbgit(repo, "diff", "--format", "html", "--output", str(report)).returncode == 0
    blue, red, magenta = (40, 90, 200), (210, 50, 40), (230, 0, 90)
    page = DevTools(report.as_uri(), tmp_path / "profile")
    try:
        panes = "#flip-1 .panes"
        both = page.colours(panes)
        assert blue in both and red in both and magenta not in both  # side by side, both images rendered
        page.click('label[for="flip-1-before"]')
        assert blue in page.colours(panes) and red not in page.colours(panes)
        page.click('label[for="flip-1-after"]')
        assert red in page.colours(panes) and blue not in page.colours(panes)
        page.click('label[for="flip-1-diff"]')
        shown = page.colours(panes)
        assert magenta in shown and blue not in shown and red not in shown  # every pixel changed colour: highlighted
        requested = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
        assert requested and all(url.startswith(("file:", "data:")) for url in requested), requested
        assert images["added"] in report.read_text()
    finally:
        page.close()


# What a stranger's notebook can hold that a browser would act on: markup and scripts in every place
# the report shows text, SVG that scripts, embeds HTML and fetches, mime types and payloads that try to
# close the attribute they sit in, and Trojan Source (U+202E reorders a line; U+2066-U+2069 isolate).
FETCH = "http://127.0.0.1:9/leak"
OWNED = "document.title='OWNED'"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60"><script>{owned}</script>'
    '<image href="{fetch}" width="9" height="9"/><foreignObject width="60" height="60">'
    '<iframe xmlns="http://www.w3.org/1999/xhtml" src="{fetch}"></iframe></foreignObject>'
    '<rect width="40" height="40" fill="{colour}"/></svg>'
)
MARKUP = [
    f"<script>{OWNED}</script>", f'<img src=x onerror="{OWNED}">', f'<iframe src="{FETCH}"></iframe>', "[x](javascript:alert(1))",
    f"</style><script>{OWNED}</script>", "</pre></span></code><b>out</b>", f"<style>@import url({FETCH}); body{{background:url({FETCH})}}</style>",
]  # fmt: skip
TROJAN = 'if access_level != "user\u202e \u2066# Check if admin\u2069 \u2066":'
HOSTILE_NAME = "a\"<img src=x onerror=alert(1)>'\u202e.ipynb"


def hostile_cells(version: int) -> list[nbformat.NotebookNode]:
    """Cells whose every shown piece is hostile; `version` changes each of them, so that all are shown."""
    odd = {
        f'image/png" onerror="{OWNED}': "AAAA", "image/png": f'" onerror="{OWNED}" x="', "image/x-foo": f"</style><script>{OWNED}</script>",
        "image/svg+xml": SVG.format(owned=OWNED, fetch=FETCH, colour="red"), "text/html": f'<script>{OWNED}</script><img src="{FETCH}">',
    }  # fmt: skip
    output = nbformat.v4.new_output("display_data", data={mime: value + "QUJD" * version for mime, value in odd.items()})
    cells = [nbformat.v4.new_markdown_cell(f"{markup} v{version}", id=f"m{k}") for k, markup in enumerate(MARKUP)]
    cells.append(nbformat.v4.new_code_cell(f"{TROJAN}\n    print({version})", id="code", outputs=[output], execution_count=1))
    attachment = {f'a"<b>{version}.svg': {"image/svg+xml": SVG.format(owned=OWNED, fetch=FETCH, colour="blue" if version else "green")}}
    cells.append(nbformat.v4.new_markdown_cell(f"![a](attachment:a{version}.svg)", id="att", attachments=attachment))
    return cells


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium); .ci/run installs it")
@pytest.mark.parametrize("whole", [False, True])
def test_a_strangers_notebook_runs_no_script_fetches_nothing_and_shows_its_hidden_characters(repo: Path, tmp_path: Path, whole: bool) -> None:
    pytest.importorskip("websocket")
    (repo / ".nbgit.toml").write_text('outputs = "keep"\n')
    write(repo / HOSTILE_NAME, hostile_cells(0))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    write(repo / HOSTILE_NAME, hostile_cells(1))
    report = tmp_path / "report.html"
    assert nbgit(repo, "diff", "--format", "html", *(["--whole"] if whole else []), "--output", str(report)).returncode == 0
    page = DevTools(report.as_uri(), tmp_path / "profile")
    try:
        found = page.call("Runtime.evaluate", expression=(
            "JSON.stringify([document.title, document.querySelectorAll('script,iframe,object,embed,link,form,b,a[href^=javascript]').length,"
            " document.images.length, document.body.innerText])"
        ), returnByValue=True)  # fmt: skip
        title, elements, images, text = json.loads(found["result"]["value"])
        requested = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
    finally:
        page.close()
    assert title.startswith("Notebook diff:") and elements == 0, (title, elements)  # no script ran, no markup from the notebook
    assert images >= 6  # the images are shown, as images, and nothing else
    assert all(url.startswith(("file:", "data:")) for url in requested), requested
    assert "<script>document.title='OWNED'</script>" in text and "[x](javascript:alert(1))" in text  # shown as text
    assert not any(char in text for char in "\u202e\u2066\u2069"), "a bidirectional control reached the page"
    assert 'if access_level != "user\\342\\200\\256 \\342\\201\\246# Check if admin\\342\\201\\251 \\342\\201\\246":' in text
    assert "'\\342\\200\\256.ipynb" in text
