"""The one-pass shortcut of the content hex-string rule (6.1.6) answers as the token scan does."""

from __future__ import annotations

import random

from lantai.formats import pdfa_lexical
from lantai.formats.pdfa_lexical import ALL_HEX_WELL_FORMED, content_hex_problem, scan_content_hex

PIECES = [b"<", b">", b"<<", b">>", b"(", b")", b"\\", b"%", b"\n", b" ", b"\r", b"0", b"a", b"F", b"g", b"z",
          b" ID ", b" EI ", b"\x00", b"<00>", b"<0A1b>", b"<abc>", b"(x<)", b"BT", b"Tj", b"/F1 12 Tf"]


def test_shortcut_agrees_with_the_token_scan_on_random_content() -> None:
    rng = random.Random(16)
    shortcut = 0
    for _ in range(20000):
        data = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 24)))
        if ALL_HEX_WELL_FORMED.match(data).end() == len(data):
            shortcut += 1
        assert content_hex_problem(data) == scan_content_hex(data), data
    assert shortcut > 1000  # the shortcut was really taken, not only the scan


def test_typical_text_content_takes_the_shortcut() -> None:
    content = b"BT /F1 12 Tf 72 700 Td <0033004C0051> Tj [<0044> -120 <00450046>] TJ ET q 1 0 0 1 0 0 cm Q " * 200
    assert ALL_HEX_WELL_FORMED.match(content).end() == len(content)
    assert content_hex_problem(content) is None


def test_problems_the_shortcut_must_not_hide() -> None:
    assert content_hex_problem(b"(a<) <4> Tj") == "a hexadecimal string has an odd number of digits"
    assert content_hex_problem(b"<00 1> Tj") == "a hexadecimal string has an odd number of digits"
    assert content_hex_problem(b"<0g> Tj").startswith("a hexadecimal string contains characters other")
    assert content_hex_problem(b"BT <0041") == "a hexadecimal string is not terminated"
    assert content_hex_problem(b"(<x>) Tj % <zz>\n<<>> BDC") is None
    assert pdfa_lexical.MAX_CONTENT_SCAN > 0
