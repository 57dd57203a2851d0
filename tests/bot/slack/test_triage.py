"""The triage desk: one post per ticket from any channel, updated in place, and the
buttons, modal and thread replies that staff answer with."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from bot.store.tables import Event, Ticket
from tests.bot.slack.conftest import (
    STAFF,
    TRIAGE,
    click,
    next_ts,
    send_event,
    send_interaction,
    settle,
    triage_posts,
)
from tests.conftest import make_mail, send

COMPLAINT = (
    "I asked you twice to stop sending me marketing mail and you ignored me. This is "
    "unacceptable. Call me on 090-1234-5678 or write to my wife at mika@example.org."
)


async def email_ticket(service, sink, subject="Complaint about your marketing", body=COMPLAINT):
    raw = make_mail(subject, body, sender="Taro Yamada <taro.yamada@example.jp>")
    assert (await send(service.smtp_port, raw)).startswith("2")
    await settle(service)
    await sink.wait_for(1)
    async with service.store.session() as s:
        return await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1)), raw


async def reload(service, ticket_id) -> Ticket:
    async with service.store.session() as s:
        return await s.get(Ticket, ticket_id)


async def test_an_email_ticket_gets_one_redacted_triage_post(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink)
    [post] = triage_posts(slack_api)
    assert post.args.get("thread_ts") is None
    blocks = post.args["blocks"]
    shown = str(blocks)
    assert ticket.number in shown and "Complaint" in shown
    assert "t***@e***.jp" in shown  # the sender, masked
    assert "taro.yamada" not in shown
    assert "1234-5678" not in shown and "mika@example.org" not in shown
    assert "ignored me" in shown  # the excerpt itself is there
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions[:3] == ["claim", "reclassify", "reply"]
    assert "answered" in actions and "close" in actions
    assert ticket.triage_ts == slack_api.messages[TRIAGE][0]["ts"]


async def test_low_confidence_tickets_stand_out(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink, subject="hello", body="hello?")
    assert ticket.needs_human
    [post] = triage_posts(slack_api)
    assert ":warning:" in post.args["blocks"][0]["text"]["text"]


async def test_claim_and_reclassify_update_the_post_in_place(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink)
    due_before = ticket.due_at
    assert await send_interaction(service, click(ticket.id, "claim")) == 200
    await settle(service)
    ticket = await reload(service, ticket.id)
    assert ticket.assignee == STAFF
    update = slack_api.calls_to("chat.update")[-1]
    assert update.args["ts"] == ticket.triage_ts
    assert f"<@{STAFF}>" in str(update.args["blocks"])

    select_consultation = click(
        ticket.id,
        "reclassify",
        type="static_select",
        selected_option={"value": "consultation", "text": {"type": "plain_text", "text": "x"}},
    )
    assert await send_interaction(service, select_consultation) == 200
    await settle(service)
    ticket = await reload(service, ticket.id)
    assert ticket.category == "consultation"
    assert ticket.due_at > due_before  # 3 business days instead of 1
    assert len(triage_posts(slack_api)) == 1  # never a second post
    lines = [c.args["text"] for c in triage_posts(slack_api) if c.args.get("thread_ts")]
    thread = [
        c.args["text"]
        for c in slack_api.calls_to("chat.postMessage")
        if c.args.get("thread_ts") == ticket.triage_ts
    ]
    assert lines == [] and any("claimed" in t for t in thread)
    assert any("reclassified" in t for t in thread)


async def test_reply_modal_sends_the_email_and_records_the_answer(desk, slack_api, sink):
    service = await desk()
    ticket, raw = await email_ticket(service, sink)
    original = email.message_from_bytes(raw, policy=email.policy.default)
    assert await send_interaction(service, click(ticket.id, "reply")) == 200
    [opened] = await slack_api.wait_for("views.open")
    view = opened.args["view"]
    draft = view["blocks"][1]["element"]["initial_value"]
    assert ticket.number in draft and "investigat" in draft  # the complaint template, in English
    submission = {
        "type": "view_submission",
        "user": {"id": STAFF},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "reply_modal",
            "private_metadata": view["private_metadata"],
            "state": {
                "values": {
                    "reply": {
                        "text": {"type": "plain_text_input", "value": "We are sorry. " + draft}
                    }
                }
            },
        },
    }
    assert await send_interaction(service, submission) == 200
    await sink.wait_for(2)
    sent = sink.messages[1]
    assert sent["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in sent["References"]
    assert sent["Auto-Submitted"] is None  # a person wrote it
    assert f"[{ticket.number}]" in sent["Subject"]
    assert sent.get_content().startswith("We are sorry.")
    ticket = await reload(service, ticket.id)
    assert ticket.status == "answered" and ticket.answered_by == STAFF
    assert ticket.first_response_at is not None


async def test_reply_prefix_sends_and_other_thread_lines_are_notes(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink)
    base = {"channel": TRIAGE, "channel_type": "group", "thread_ts": ticket.triage_ts}
    await send_event(
        service, {**base, "user": STAFF, "text": "He called too; checking CRM.", "ts": next_ts()}
    )
    await settle(service)
    assert len(sink.messages) == 1  # only the auto-reply: a note is never sent
    assert (await reload(service, ticket.id)).status == "open"

    await send_event(
        service,
        {**base, "user": "UOUTSIDER", "text": "reply: not staff, never sent", "ts": next_ts()},
    )
    await send_event(
        service,
        {
            **base,
            "user": STAFF,
            "text": "Reply: We have stopped all marketing mail.",
            "ts": next_ts(),
        },
    )
    await settle(service)
    await sink.wait_for(2)
    assert len(sink.messages) == 2
    body = sink.messages[1].get_content()
    assert "We have stopped all marketing mail." in body and "not staff" not in body
    assert ticket.number in body
    ticket = await reload(service, ticket.id)
    assert ticket.status == "answered" and ticket.answered_by == STAFF
    async with service.store.session() as s:
        kinds = list(await s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)))
    assert kinds.count("note") == 1 and kinds.count("answered") == 1


async def test_buttons_are_for_staff_only(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink)
    assert await send_interaction(service, click(ticket.id, "close", user="UOUTSIDER")) == 200
    await slack_api.wait_for("chat.postEphemeral")
    assert (await reload(service, ticket.id)).status == "open"


async def test_mark_answered_and_close(desk, slack_api, sink):
    service = await desk()
    ticket, _ = await email_ticket(service, sink)
    await send_interaction(service, click(ticket.id, "answered"))
    await settle(service)
    assert (await reload(service, ticket.id)).status == "answered"
    await send_interaction(service, click(ticket.id, "close"))
    await settle(service)
    ticket = await reload(service, ticket.id)
    assert ticket.status == "closed"
    last = slack_api.messages[TRIAGE][0]
    assert not any(b["type"] == "actions" for b in last["blocks"])
