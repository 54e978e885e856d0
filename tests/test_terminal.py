"""terminal.py: control characters shown as git shows them, with str.translate instead of a regular expression."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from nbgit.terminal import one_line, visible

NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}


def shown(match: re.Match[str]) -> str:
    char = match.group()
    return NAMED.get(char) or "".join(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape"))


# the regular expressions nbgit used before: C0 controls, DEL and C1 controls; content keeps tab and newline;
# and (since a file name's bytes that are not UTF-8 are shown as git shows them) U+DC80-U+DCFF, as those bytes;
# and (Trojan Source) the bidirectional controls and the invisible characters no text needs
BIDI_AND_INVISIBLE = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\ufeff\u2028\u2029"


def visible_by_regex(text: str) -> str:
    return re.sub(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_AND_INVISIBLE}\udc80-\udcff]", shown, text)


def one_line_by_regex(text: str) -> str:
    return re.sub(rf"[\x00-\x1f\x7f-\x9f{BIDI_AND_INVISIBLE}\udc80-\udcff]", shown, text)


TEXT = st.text(st.characters(codec=None, categories=None) | st.sampled_from(["\x1b", "\x9b", "\t", "\n", "\r", "\x00", "\x7f", "\u00a0", "\u200d", "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028"]))


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_the_same_as_the_regular_expressions(text: str) -> None:
    assert visible(text) == visible_by_regex(text)
    assert one_line(text) == one_line_by_regex(text)


def test_examples() -> None:
    assert visible("print('\x1b[2J')\n\tx\x07\x9b") == "print('\\033[2J')\n\tx\\a\\302\\233"
    assert one_line("a\nb\tc\x1b") == "a\\nb\\tc\\033"
    assert one_line("caf\udce9.ipynb") == "caf\\351.ipynb"  # a name's byte that is not UTF-8, as git shows it
    assert visible("naïve\u00a0text\n") == "naïve\u00a0text\n"
    # Trojan Source: what a bidirectional override would reorder on screen, and a zero width space, are shown
    assert visible('if x != "user\u202e \u2066# admin\u2069 \u2066":\n') == 'if x != "user\\342\\200\\256 \\342\\201\\246# admin\\342\\201\\251 \\342\\201\\246":\n'
    assert one_line("admin\u200b.ipynb") == "admin\\342\\200\\213.ipynb"
    assert visible("family 👨\u200d👩\u200d👧, ❤\ufe0f\n") == "family 👨\u200d👩\u200d👧, ❤\ufe0f\n"  # joiners and variation selectors stay
