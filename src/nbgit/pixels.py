"""Images as a reader sees them: decoded pixels, compared, and a picture of where they differ.

Pillow is optional (`pip install 'nbgit[images]'`): a plot re-encoded to other PNG bytes with the
same pixels is then no change, and the HTML report shows the changed pixels. Without Pillow, images
are compared by their bytes and the report shows before and after only. Only images whose bytes
differ are ever decoded, so a report pays for the images that changed, not for every image.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
from typing import Any, NamedTuple

# the mime types Pillow decodes (SVG is text: compared as text)
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp"})
# the most pixels decoded or drawn at once (4096 x 4096; one RGBA copy is 64 MB, a difference picture
# takes a few): a larger image compares by its bytes. A PNG of a few hundred bytes can be 10,000 x 10,000,
# and two of 1 x 12,000 and 12,000 x 1 made a canvas of 144 million pixels (gigabytes) for their difference.
MAX_PIXELS = 1 << 24
HIGHLIGHT = (230, 0, 90, 255)  # changed pixels in the difference picture
FADE = 0.25  # how much of the after image shows, greyed, under the highlight


class Difference(NamedTuple):
    """How two images differ: the changed pixel count, the compared area, a PNG picture of it (bytes)."""

    changed: int
    total: int
    picture: bytes


@functools.lru_cache(maxsize=1)
def _pillow() -> Any:
    """Pillow's Image module, or None when nbgit[images] is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def available() -> bool:
    """Whether images can be compared by their pixels here."""
    return _pillow() is not None


def _opened(mime: str, payload: str) -> Any:
    """The image opened, its header read but its pixels not yet decoded; None when it cannot be."""
    image_module = _pillow()
    if image_module is None or mime not in RASTER:
        return None
    try:
        image = image_module.open(io.BytesIO(base64.b64decode("".join(payload.split()), validate=False)))
    except (binascii.Error, ValueError, OSError, image_module.DecompressionBombError):
        return None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        return None
    return image


@functools.lru_cache(maxsize=4)  # a changed pair is decoded once for the comparison and once for its picture
def _decode(mime: str, payload: str) -> Any:
    """The image as RGBA pixels, or None when it cannot be decoded (no Pillow, bad data, a decompression
    bomb, more than MAX_PIXELS)."""
    image = _opened(mime, payload)
    if image is None:
        return None
    try:
        with image:
            return image.convert("RGBA")
    except (ValueError, OSError, _pillow().DecompressionBombError):
        return None


def same_pixels(mime_a: str, payload_a: str, mime_b: str, payload_b: str) -> bool:
    """Whether two base64 images show exactly the same pixels (False when either cannot be decoded).

    Images of different sizes differ without being decoded."""
    a, b = _opened(mime_a, payload_a), _opened(mime_b, payload_b)
    if a is None or b is None or a.size != b.size:
        return False
    a, b = _decode(mime_a, payload_a), _decode(mime_b, payload_b)
    return a is not None and b is not None and a.tobytes() == b.tobytes()


def difference(mime_a: str, payload_a: str, mime_b: str, payload_b: str) -> Difference | None:
    """The after image greyed and faded, its changed pixels highlighted; None when either cannot be decoded.

    Images of different sizes are compared on the larger canvas, top-left aligned: what lies outside
    one of them counts as changed; None too when that canvas would hold more than MAX_PIXELS.
    """
    a, b = _decode(mime_a, payload_a), _decode(mime_b, payload_b)
    if a is None or b is None:
        return None
    from PIL import Image, ImageChops

    size = (max(a.width, b.width), max(a.height, b.height))
    if size[0] * size[1] > MAX_PIXELS:
        return None
    if a.size != size or b.size != size:
        a, b = _on_canvas(a, size), _on_canvas(b, size)
    changed_mask = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    changed = changed_mask.histogram()[255]
    background = Image.new("RGBA", size, (255, 255, 255, 255))
    greyed = Image.alpha_composite(background, b).convert("L").convert("RGBA")
    picture = Image.blend(background, greyed, FADE)
    picture.paste(Image.new("RGBA", size, HIGHLIGHT), mask=changed_mask)
    out = io.BytesIO()
    picture.convert("RGB").save(out, "PNG", compress_level=1)
    return Difference(changed, size[0] * size[1], out.getvalue())


def _on_canvas(image: Any, size: tuple[int, int]) -> Any:
    from PIL import Image

    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.paste(image, (0, 0))
    return canvas
