"""The email spine end to end: real SMTP in, the real pipeline and SQLite store, real
SMTP out to an aiosmtpd sink acting as the relay."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.store.tables import Event, Inbound, Message, Outbox, Ticket
from tests.conftest import make_mail, send

CASES = [
    # (language, subject, body, category, words the reply must contain)
    (
        "en",
        "Complaint about your marketing emails",
        "I unsubscribed from your newsletter three months ago and you keep sending me "
        "marketing emails. This is unacceptable. I want to file a complaint about how you "
        "handle my personal information.",
        "complaint",
        ["investigat", "INQ-"],
    ),
    (
        "ja",
        "個人情報の取り扱いに関する苦情",
        "御社のメールマガジンの配信停止を申し込んだのに、いまだに広告メールが届きます。"
        "個人情報の取り扱いに大変不満です。苦情として申し上げます。",
        "complaint",
        ["調査", "INQ-"],
    ),
    (
        "en",
        "Request for disclosure of my personal data",
        "Under the APPI I request disclosure of all personal data you hold about me. "
        "Please send me the request forms.",
        "disclosure_request",
        [
            "2,500",
            "Request for the Notification of Personal Information Usage",
            "legal domicile",
            "photo",
        ],
    ),
    (
        "ja",
        "保有個人データの開示請求",
        "私に関する保有個人データの開示を請求いたします。請求書の送付をお願いします。",
        "disclosure_request",
        ["2,500", "本籍", "個人情報利用目的通知請求書"],
    ),
    (
        "en",
        "Question about joint use",
        "Does actio share customers' personal information with partner companies under "
        "joint use? I am just curious how that works in general.",
        "consultation",
        ["joint use"],
    ),
    (
        "ja",
        "共同利用についての質問",
        "御社では個人情報を提携先と共同利用していますか。共同利用とはどういう仕組みなのでしょうか。",
        "consultation",
        ["共同利用"],
    ),
]


@pytest.mark.parametrize(
    ("language", "subject", "body", "category", "words"),
    CASES,
    ids=[f"{c[3]}-{c[0]}" for c in CASES],
)
async def test_each_category_in_each_language_gets_one_correct_reply(
    running, sink, language, subject, body, category, words
):
    service = await running()
    raw = make_mail(subject, body)
    answer = await send(service.smtp_port, raw)
    assert answer.startswith("2.0.0 Message accepted") or "accepted" in answer

    await sink.wait_for(1)
    await service.idle()
    reply = sink.messages[0]
    text = reply.get_content()
    async with service.store.session() as s:
        ticket = (await s.scalars(select(Ticket))).one()
    assert ticket.category == category
    assert ticket.language == language
    assert reply["Subject"] == f"Re: {subject} [{ticket.number}]"
    assert reply["Content-Language"] == language
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["X-Auto-Response-Suppress"] == "All"
    assert reply["X-Inquiry-Desk-Loop"] == "inquiry@example.com"
    original_id = email_message_id(raw)
    assert reply["In-Reply-To"] == original_id
    assert original_id in reply["References"]
    for word in words:
        assert word in text
    # The organization block comes from config.
    assert "5771-6426" in text
    assert len(sink.messages) == 1


def email_message_id(raw: bytes) -> str:
    import email

    return email.message_from_bytes(raw)["Message-ID"]


async def test_reply_to_the_auto_reply_threads_onto_the_ticket_with_a_short_note(running, sink):
    service = await running()
    first = make_mail(
        "Copy of my data",
        "Please send me a copy of all personal data you hold about me. I request disclosure.",
    )
    await send(service.smtp_port, first)
    await sink.wait_for(1)
    ours = sink.messages[0]

    follow = make_mail(
        "Re: " + ours["Subject"],
        "I forgot to add: my customer number is A-1234.",
        headers={"In-Reply-To": ours["Message-ID"], "References": ours["Message-ID"]},
    )
    await send(service.smtp_port, follow)
    await sink.wait_for(2)
    note = sink.messages[1].get_content()
    async with service.store.session() as s:
        tickets = (await s.scalars(select(Ticket))).all()
        inbound_messages = await s.scalar(
            select(func.count(Message.id)).where(Message.direction == "in")
        )
    assert len(tickets) == 1
    assert inbound_messages == 2
    assert tickets[0].number in note
    assert "added to your inquiry" in note
    assert "2,500" not in note  # never a second full instruction mail


async def test_ticket_number_in_subject_threads_only_for_the_same_sender(running, sink):
    service = await running()
    await send(
        service.smtp_port,
        make_mail("Question", "What is the purpose of use of job applicants' data?"),
    )
    await sink.wait_for(1)
    number = (await _tickets(service))[0].number

    same = make_mail(f"More on [{number}]", "And how long do you keep it?")
    await send(service.smtp_port, same)
    stranger = make_mail(
        f"About [{number}]",
        "What data do you have about me? Tell me.",
        sender="Mallory <mallory@example.net>",
    )
    await send(service.smtp_port, stranger)
    await sink.wait_for(3)
    tickets = await _tickets(service)
    assert len(tickets) == 2
    assert {t.sender for t in tickets} == {"hanako@example.jp", "mallory@example.net"}
    to_stranger = next(m for m in sink.messages if "mallory" in m["To"])
    assert number not in to_stranger["Subject"]


async def test_second_delivery_of_the_same_message_id_gets_no_second_reply(running, sink):
    service = await running()
    raw = make_mail(
        "Delete my data", "Please delete all my personal data.", message_id="<same-id-1@example.jp>"
    )
    await send(service.smtp_port, raw)
    await send(service.smtp_port, raw)
    await service.idle()
    await sink.wait_for(1)
    await service.outbox.deliver_due()
    assert len(sink.messages) == 1
    async with service.store.session() as s:
        states = sorted((await s.scalars(select(Inbound.state))).all())
    assert states == ["done", "duplicate"]


async def test_message_without_message_id_gets_a_stable_synthetic_one(running, sink):
    service = await running()
    raw = make_mail(
        "No id", "What is your policy on anonymously processed information?", message_id=None
    )
    await send(service.smtp_port, raw)
    await send(service.smtp_port, raw)
    await service.idle()
    await sink.wait_for(1)
    await service.outbox.deliver_due()
    assert len(sink.messages) == 1
    assert sink.messages[0]["In-Reply-To"].endswith("@synthetic.inquiry-desk>")


LOOP_RULES = [
    ("auto-submitted", {"Auto-Submitted": "auto-replied"}, "Hanako <hanako@example.jp>"),
    ("auto-generated", {"Auto-Submitted": "auto-generated"}, "Hanako <hanako@example.jp>"),
    ("precedence-bulk", {"Precedence": "bulk"}, "Hanako <hanako@example.jp>"),
    ("precedence-list", {"Precedence": "list"}, "Hanako <hanako@example.jp>"),
    ("precedence-junk", {"Precedence": "junk"}, "Hanako <hanako@example.jp>"),
    ("list-id", {"List-Id": "<news.example.jp>"}, "Hanako <hanako@example.jp>"),
    (
        "list-unsubscribe",
        {"List-Unsubscribe": "<mailto:u@example.jp>"},
        "Hanako <hanako@example.jp>",
    ),
    ("x-auto-response-suppress", {"X-Auto-Response-Suppress": "OOF"}, "Hanako <hanako@example.jp>"),
    (
        "our-loop-header",
        {"X-Inquiry-Desk-Loop": "inquiry@example.com"},
        "Hanako <hanako@example.jp>",
    ),
    ("return-path-empty", {"Return-Path": "<>"}, "Hanako <hanako@example.jp>"),
    ("mailer-daemon", {}, "Mail Delivery System <MAILER-DAEMON@example.jp>"),
    ("postmaster", {}, "postmaster@example.jp"),
    ("no-reply", {}, "Shop <no-reply@example.jp>"),
    ("noreply", {}, "Shop <noreply@example.jp>"),
    ("our-own-address", {}, "Inquiry <inquiry@example.com>"),
]


@pytest.mark.parametrize(("rule", "headers", "sender"), LOOP_RULES, ids=[r[0] for r in LOOP_RULES])
async def test_loop_guard_rule_suppresses_reply_but_keeps_the_mail(
    running, sink, rule, headers, sender
):
    service = await running()
    raw = make_mail(
        "Out of office",
        "I am away until Monday. Please delete my data.",
        sender=sender,
        headers=headers,
    )
    await send(service.smtp_port, raw)
    await service.idle()
    await service.outbox.deliver_due()
    assert sink.messages == []
    async with service.store.session() as s:
        message = (await s.scalars(select(Message))).one()
        ticket = (await s.scalars(select(Ticket))).one()
        kinds = list(await s.scalars(select(Event.kind)))
    assert message.auto_reply == "suppressed"
    assert message.suppressed_reason
    assert ticket.needs_human  # shown to staff for a look
    assert "no_auto_reply" in kinds


async def test_null_envelope_sender_gets_no_reply(running, sink):
    service = await running()
    await send(service.smtp_port, make_mail("Hi", "Please tell me what data you hold."), sender="")
    await service.idle()
    await service.outbox.deliver_due()
    assert sink.messages == []


async def test_delivery_status_notification_gets_no_reply(running, sink):
    service = await running()
    raw = (
        b"From: Mail Delivery Subsystem <daemon@example.jp>\r\n"
        b"To: inquiry@example.com\r\nSubject: Delivery Status Notification\r\n"
        b"Message-ID: <dsn-1@example.jp>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n\r\n--b--\r\n"
    )
    await send(service.smtp_port, raw, sender="daemon@example.jp")
    await service.idle()
    await service.outbox.deliver_due()
    assert sink.messages == []


async def test_at_most_n_auto_replies_per_sender_per_day(running, sink):
    service = await running(loop_guard={"max_replies_per_sender_per_day": 2})
    for n in range(4):
        await send(service.smtp_port, make_mail(f"Question {n}", "What do you use my data for?"))
    await service.idle()
    await sink.wait_for(2)
    await service.outbox.deliver_due()
    assert len(sink.messages) == 2
    assert len(await _tickets(service)) == 4  # all four stored and shown to staff


async def test_recipient_not_ours_is_refused_with_550(running):
    import aiosmtplib

    service = await running()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=service.smtp_port) as client:
        await client.mail("a@example.jp")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("sales@example.com")
    assert refused.value.code == 550


async def test_relay_4xx_delays_then_delivers_exactly_once(running, sink):
    sink.answers = ["451 4.3.0 Try again later", "421 4.7.0 Busy"]
    service = await running()
    await send(
        service.smtp_port, make_mail("Stop using my data", "Please stop using my personal data.")
    )
    await sink.wait_for(1, timeout=10)
    row = await _settled_outbox_row(service)
    assert len(sink.messages) == 1
    assert sink.attempts == 3
    assert (row.state, row.attempts) == ("sent", 3)


async def test_relay_5xx_marks_reply_failed_and_visible(running, sink):
    sink.answers = ["554 5.7.1 Rejected"]
    service = await running()
    await send(
        service.smtp_port,
        make_mail("Complaint", "Your staff leaked my address. This is unacceptable."),
    )
    await service.idle()
    row = await _settled_outbox_row(service)
    assert row.state == "failed"
    assert "554" in row.last_error
    assert sink.messages == []

    from tests.bot.test_config import run_cli

    cfg_file = service.cfg.store.url.split("///", 1)[1].replace("store.db", "cfg.toml")
    with open(cfg_file, "w") as fh:
        fh.write(f'[store]\nurl = "{service.cfg.store.url}"\n')
    listing = await asyncio.to_thread(run_cli, "tickets", "--config", cfg_file)
    assert listing.returncode == 0, listing.stderr
    assert "1 reply failed" in listing.stdout


async def _tickets(service) -> list[Ticket]:
    async with service.store.session() as s:
        return list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())


async def _settled_outbox_row(service) -> Outbox:
    """The only outbox row, once it has left 'pending' (the worker runs beside the test)."""
    for _ in range(200):
        async with service.store.session() as s:
            row = (await s.scalars(select(Outbox))).one()
        if row.state != "pending":
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox row still pending after {row.attempts} attempts")


async def test_my_number_is_masked_in_the_store_and_the_reply_warns(running, sink):
    from responders.redact import my_number_check_digit

    number = "12345678901" + str(my_number_check_digit("12345678901"))
    service = await running()
    raw = make_mail(
        "開示請求", f"私の保有個人データの開示を請求します。マイナンバーは{number}です。"
    )
    await send(service.smtp_port, raw)
    await sink.wait_for(1)
    await service.idle()
    reply = sink.messages[0].get_content()
    assert "マイナンバー" in reply and "メールでお送りにならない" in reply
    assert number not in reply
    async with service.store.session() as s:
        message = (await s.scalars(select(Message).where(Message.direction == "in"))).one()
        inbound = (await s.scalars(select(Inbound))).one()
        events = list(await s.scalars(select(Event)))
    assert number not in message.body and "************" in message.body
    assert inbound.raw is None or number.encode() not in inbound.raw
    assert any(e.detail.get("my_number_masked") for e in events)


async def test_original_subject_cannot_inject_headers(running, sink):
    service = await running()
    raw = (
        b"From: eve@example.net\r\nTo: inquiry@example.com\r\nMessage-ID: <inj@example.net>\r\n"
        b"Subject: =?utf-8?Q?Hello=0D=0ABcc=3A_victim=40example=2Ecom?=\r\n\r\n"
        b"What do you use my data for?\r\n"
    )
    await send(service.smtp_port, raw, sender="eve@example.net")
    await sink.wait_for(1)
    reply = sink.messages[0]
    assert reply["Bcc"] is None
    assert "\n" not in reply["Subject"] and reply["Subject"].startswith("Re: Hello Bcc: victim")
    assert reply["Subject"].endswith("]")


async def test_the_daily_limit_is_a_rolling_24_hours(running, sink):
    from datetime import UTC, datetime

    from bot.clock import FakeClock

    clock = FakeClock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    service = await running(clock=clock, loop_guard={"max_replies_per_sender_per_day": 1})
    await send(service.smtp_port, make_mail("One", "What do you use my data for?"))
    await send(service.smtp_port, make_mail("Two", "What do you use my data for?"))
    await service.idle()
    await sink.wait_for(1)
    clock.advance(hours=23)
    await send(service.smtp_port, make_mail("Three", "What do you use my data for?"))
    await service.idle()
    await service.outbox.deliver_due()
    assert [m["Subject"].split(" [")[0] for m in sink.messages] == ["Re: One"]
    clock.advance(hours=2)  # 25 hours after the first reply
    await send(service.smtp_port, make_mail("Four", "What do you use my data for?"))
    await sink.wait_for(2)
    assert sink.messages[1]["Subject"].startswith("Re: Four")
