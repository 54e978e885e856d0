"""Whether two outputs differ as a reader sees them, not as their bytes do.

A re-run changes outputs that no reader would call a change: a plot re-encoded to other PNG bytes
with the same pixels, a memory address (`<Figure at 0x7f3a...>`), a timing (`Wall time: 1.2 s`,
`9.50it/s`). Texts are compared with the matches of volatile patterns (the built-in ones below plus
the policy's `[diff] volatile_patterns`) blanked; images by their decoded pixels (`nbgit.pixels`).
`nbgit diff` and the merge driver use this; outputs that differ otherwise are compared exactly.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from nbgit import pixels
from nbgit.patterns import UserRegex, user_regex
from nbgit.policy import Policy
from nbgit.render import Part

# output text that changes on every run; README lists them
VOLATILE_PATTERNS: tuple[str, ...] = (
    r"\b0x[0-9a-fA-F]{6,16}\b",  # memory addresses: <Figure at 0x7f3a2b1c4d50>
    r"(?m)^(CPU times|Wall time):.*$",  # IPython's %time
    r"(?m)^.* per loop \(mean ± std\. dev\. of .*$",  # IPython's %timeit
    r"(?m)^\d+ loops?, best of \d+: .* per loop$",  # older %timeit
    r"\[(\d+:)?\d+:\d+<[^\]\n]{0,40}\]",  # tqdm's elapsed<remaining, rate: [00:01<00:00, 9.50it/s]
    r"\b\d+(\.\d+)?\s?(it/s|s/it|ms/step|s/step|us/step|µs/step|ms/epoch|s/epoch)\b",  # progress rates (tqdm, Keras)
    r"ipykernel_\d+/\d+\.py",  # the kernel's temporary file names in warnings and tracebacks
)
_BLANK = "\N{HORIZONTAL ELLIPSIS}"
MAX_NORMALISED_CHARS = 200_000  # longer texts are compared exactly: patterns never run on huge outputs


class Sameness:
    """Compares outputs as a reader would: volatile text blanked, images by pixels."""

    def __init__(self, extra_patterns: Iterable[str] = (), source: str = "the policy") -> None:
        # the policy's patterns are a repository's: they run under a time limit (`nbgit.patterns`)
        extra = (user_regex(p, "diff.volatile_patterns", source) for p in extra_patterns)
        self.patterns: list[re.Pattern[str] | UserRegex] = [*(re.compile(p) for p in VOLATILE_PATTERNS), *extra]

    @classmethod
    def of(cls, policy: Policy) -> Sameness:
        """The comparison the policy asks for (its `[diff] volatile_patterns` added to the built-in ones)."""
        return cls(policy.section("diff")["volatile_patterns"], policy.source)

    def normalised(self, text: str) -> str:
        """`text` with every volatile match replaced by one placeholder."""
        if len(text) > MAX_NORMALISED_CHARS:
            return text
        for pattern in self.patterns:
            text = pattern.sub(_BLANK, text)
        return text

    def same_text(self, a: str, b: str) -> bool:
        """Whether two texts are equal once volatile matches are blanked."""
        return a == b or self.normalised(a) == self.normalised(b)

    def same_part(self, a: Part, b: Part) -> bool:
        """Whether two shown pieces of output say the same to a reader."""
        if a == b:
            return True
        if a.text is not None and b.text is not None:
            return a.label == b.label and self.same_text(a.text, b.text)
        if a.is_image and b.is_image and a.label == b.label:
            return a.digest == b.digest or pixels.same_pixels(a.mime, a.payload or "", b.mime, b.payload or "")
        return False

    def same_outputs(self, a: list[Any], b: list[Any]) -> bool:
        """Whether two cells' nbformat outputs say the same to a reader (for the merge driver)."""
        if a == b:
            return True
        return len(a) == len(b) and all(self._same_output(x, y) for x, y in zip(a, b))

    def _same_output(self, a: Any, b: Any) -> bool:
        if a == b:
            return True
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return False
        for key in a:
            x, y = a[key], b[key]
            if key == "data" and isinstance(x, dict) and isinstance(y, dict):
                if set(x) != set(y) or not all(self._same_value(mime, x[mime], y[mime]) for mime in x):
                    return False
            elif key == "text" and x != y:
                if not self.same_text(_joined(x), _joined(y)):
                    return False
            elif key != "execution_count" and x != y:
                return False
        return True

    def _same_value(self, mime: str, a: Any, b: Any) -> bool:
        if a == b:
            return True
        if mime in pixels.RASTER and isinstance(a, str) and isinstance(b, str):
            return pixels.same_pixels(mime, a, mime, b)
        if mime.startswith("text/") or mime == "image/svg+xml":
            return self.same_text(_joined(a), _joined(b))
        return False


def _joined(value: Any) -> str:
    """nbformat's multiline strings (a string or a list of lines) as one string."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else repr(value)
