"""Where a character no text may hold is found in a body (shared/http.py; issue #21 item 2).

C0 controls but tab, line feed and carriage return, DEL, and unpaired surrogates, in JSON
(escaped), JSON Lines and plain text (raw); the field is named so the caller can fix it.
"""

from __future__ import annotations

import pytest

from shared.http import _bad_in_body

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"text": "x\\u0000y"}', ("text", "\x00")),
        (b'{"a": {"b": ["ok", "\\u001F"]}}', ("a.b.1", "\x1f")),
        (b'{"a": "\\b"}', ("a", "\x08")),
        (b'{"a": "\x7f"}', ("a", "\x7f")),
        (b'{"a": "\\ud800"}', ("a", "\ud800")),
        (b'{"k\\u0007": 1}', ("k\\x07", "\x07")),  # a key: named with the character escaped
        (b'{"a": 1}\n{"text": "\\u0000"}', ("line.2.text", "\x00")),  # JSON Lines
        (b"source,text\nhotline,\x00noise", ("body.line.2", "\x00")),  # CSV
    ],
)
def test_a_bad_character_is_found_with_its_field(body: bytes, found: tuple[str, str]) -> None:
    assert _bad_in_body(body) == found


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "\\n\\t\\r \xe5\x99\xaa\xe9\x9f\xb3"}',
        b'{"path": "C:\\\\bin"}',  # an escaped backslash, then b
        b'{"emoji": "\\ud83d\\ude00", "accent": "\\u00e9"}',  # a pair; Latin-1 is text
        b'{"text": "\\u0000"',  # not JSON: FastAPI answers it (400)
        b"",
    ],
)
def test_text_without_them_passes(body: bytes) -> None:
    assert _bad_in_body(body) is None
