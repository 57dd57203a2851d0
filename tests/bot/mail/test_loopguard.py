"""Each RFC 3834 rule of can_acknowledge, one at a time, on otherwise ordinary mail."""

from __future__ import annotations

import pytest

from bot.mail.loopguard import can_acknowledge
from responders.models import Inquiry

OWN = frozenset({"inquiry@example.com"})


def inquiry(
    headers=(),
    *,
    sender="hanako@example.jp",
    content_type="text/plain",
    envelope_from="hanako@example.jp",
) -> Inquiry:
    base = (("from", f"Hanako <{sender}>"), ("subject", "Question"))
    return Inquiry(
        channel="email",
        message_id="<1@example.jp>",
        sender=sender,
        sender_name="Hanako",
        subject="Question",
        body="Hello",
        text="Hello",
        headers=base + tuple(headers),
        content_type=content_type,
        envelope_from=envelope_from,
    )


def verdict(msg: Inquiry, **kw):
    return can_acknowledge(
        msg,
        own_addresses=OWN,
        loop_header="X-Inquiry-Desk-Loop",
        loop_value="inquiry@example.com",
        **kw,
    )


def test_ordinary_mail_is_answered():
    assert verdict(inquiry()).ok


def test_auto_submitted_no_is_answered():
    assert verdict(inquiry([("auto-submitted", "no")])).ok


def test_precedence_first_class_is_answered():
    assert verdict(inquiry([("precedence", "first-class")])).ok


def test_someone_elses_loop_header_is_answered():
    assert verdict(inquiry([("x-inquiry-desk-loop", "other@example.net")])).ok


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("auto-submitted", "auto-replied")], "Auto-Submitted"),
        ([("auto-submitted", "auto-generated; owner-email=x@example.jp")], "Auto-Submitted"),
        ([("precedence", "bulk")], "Precedence"),
        ([("precedence", "List")], "Precedence"),
        ([("precedence", "junk")], "Precedence"),
        ([("list-id", "<a.example.jp>")], "mailing-list"),
        ([("list-post", "<mailto:a@example.jp>")], "mailing-list"),
        ([("x-auto-response-suppress", "All")], "X-Auto-Response-Suppress"),
        ([("x-inquiry-desk-loop", "inquiry@example.com")], "of our own"),
        ([("return-path", "<>")], "empty return path"),
    ],
)
def test_header_rules(headers, reason):
    result = verdict(inquiry(headers))
    assert not result.ok
    assert reason in result.reason


def test_null_envelope_sender():
    assert "empty return path" in verdict(inquiry(envelope_from="")).reason


def test_delivery_report():
    assert "multipart/report" in verdict(inquiry(content_type="multipart/report")).reason


@pytest.mark.parametrize(
    "sender",
    [
        "mailer-daemon@example.jp",
        "MAILER-DAEMON@example.jp",
        "postmaster@example.jp",
        "no-reply@example.jp",
        "noreply@example.jp",
        "do-not-reply@example.jp",
        "list-bounces@example.jp",
    ],
)
def test_robot_senders(sender):
    result = verdict(inquiry(sender=sender.lower()))
    assert not result.ok and "automated sender" in result.reason


def test_our_own_address():
    assert "our own" in verdict(inquiry(sender="inquiry@example.com")).reason


def test_missing_sender():
    assert not verdict(inquiry(sender="")).ok


def test_daily_limit_per_sender():
    assert verdict(inquiry(), replies_today=4, max_replies_per_day=5).ok
    result = verdict(inquiry(), replies_today=5, max_replies_per_day=5)
    assert not result.ok and "last day" in result.reason
