"""Real-world-shaped mail from tests/fixtures/mail, checked against expected.toml:
charsets, transfer encodings, HTML, encoded words, attachments, quotes and signatures."""

from __future__ import annotations

import tomllib

import pytest

from bot.mail.parse import parse_message, synthetic_message_id
from responders.text import detect_language
from tests.conftest import FIXTURES

MAIL = FIXTURES / "mail"
EXPECTED = tomllib.loads((MAIL / "expected.toml").read_text(encoding="utf-8"))


def test_there_are_at_least_twenty_fixtures_in_both_languages():
    assert len(EXPECTED) >= 20
    assert {e["language"] for e in EXPECTED.values()} == {"en", "ja"}
    assert sorted(p.name for p in MAIL.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name):
    want = EXPECTED[name]
    raw = (MAIL / name).read_bytes()
    got = parse_message(raw)

    assert got.subject == want["subject"]
    assert got.sender_name == want.get("from_name", got.sender_name)
    assert got.sender == want["from_addr"].lower()
    for piece in want.get("body_contains", []):
        assert piece in got.body, f"body lacks {piece!r}"
    for piece in want.get("body_excludes", []):
        assert piece not in got.body, f"body still has {piece!r}"
    for piece in want.get("text_contains", []):
        assert piece in got.text, f"stripped text lacks {piece!r}"
    for piece in want.get("text_excludes", []):
        assert piece not in got.text, f"stripped text still has {piece!r}"
    attachments = [
        {"filename": a.filename, "content_type": a.content_type, "size": a.size}
        for a in got.attachments
    ]
    assert attachments == want.get("attachments", [])
    if want.get("kind", "inquiry") == "inquiry":
        assert detect_language(got.subject, got.text) == want["language"]
    if want.get("has_message_id", True):
        assert not got.synthetic_message_id
    else:
        assert got.message_id == synthetic_message_id(raw)
    # Nothing undecodable slipped through as replacement characters or raw escapes.
    assert "\ufffd" not in got.body + got.subject
    assert "\x1b" not in got.body + got.subject
