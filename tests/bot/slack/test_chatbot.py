"""The chatbot: questions in an inquiry channel or a DM become tickets and are answered
in their thread, in the writer's language; noise is ignored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.store.tables import Event, Ticket
from tests.bot.slack.conftest import (
    ASKER,
    PUBLIC,
    STAFF,
    TRIAGE,
    click,
    next_ts,
    send_event,
    send_interaction,
    settle,
)

QUESTIONS = [
    (
        "en",
        "I want a copy of all the personal data you hold about me. How do I request it?",
        ["INQ-", "2,500"],
    ),
    (
        "ja",
        "御社が保有している私の個人情報の開示を請求したいです。手続きを教えてください。",
        ["INQ-", "2,500", "本籍"],
    ),
]


async def tickets(service) -> list[Ticket]:
    async with service.store.session() as s:
        return list(await s.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.mark.parametrize(("language", "text", "expected"), QUESTIONS)
async def test_channel_question_is_answered_in_its_thread(
    desk, slack_api, language, text, expected
):
    service = await desk()
    ts = next_ts()
    status = await send_event(
        service,
        {"channel": PUBLIC, "channel_type": "channel", "user": ASKER, "text": text, "ts": ts},
    )
    assert status == 200
    await settle(service)
    [ticket] = await tickets(service)
    assert ticket.channel == "slack" and ticket.language == language
    assert ticket.category == "disclosure_request"
    assert (ticket.slack_channel, ticket.slack_thread_ts) == (PUBLIC, ts)
    answers = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == PUBLIC]
    assert len(answers) == 1
    assert answers[0].args["thread_ts"] == ts
    for word in expected:
        assert word in answers[0].args["text"], word
    assert ticket.number in answers[0].args["text"]
    # The forms go up as files in the same thread.
    uploads = slack_api.calls_to("files.completeUploadExternal")
    assert uploads and all(c.args["channel_id"] == PUBLIC for c in uploads)
    assert all(c.args.get("thread_ts") == ts for c in uploads)
    # And the ticket has its triage post.
    [post] = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    assert ticket.number in post.args["text"]
    assert ticket.triage_ts is not None


async def test_a_direct_message_is_answered_in_the_dm(desk, slack_api):
    service = await desk()
    ts = next_ts()
    await send_event(
        service,
        {
            "channel": "D0ASKER",
            "channel_type": "im",
            "user": ASKER,
            "text": "What do you have on me? Please send me a copy.",
            "ts": ts,
        },
    )
    await settle(service)
    [ticket] = await tickets(service)
    [answer] = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == "D0ASKER"]
    assert answer.args["thread_ts"] == ts
    assert ticket.number in answer.args["text"]


async def test_a_follow_up_in_the_thread_joins_the_ticket(desk, slack_api):
    service = await desk()
    root = next_ts()
    base = {"channel": PUBLIC, "channel_type": "channel", "user": ASKER}
    await send_event(
        service, {**base, "text": "How long do you keep job applicant data?", "ts": root}
    )
    await settle(service)
    await send_event(
        service, {**base, "text": "Also, who can see it?", "ts": next_ts(), "thread_ts": root}
    )
    await settle(service)
    [ticket] = await tickets(service)
    async with service.store.session() as s:
        kinds = list(await s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)))
    assert "followup" in kinds


async def test_noise_is_ignored(desk, slack_api):
    service = await desk()
    base = {"channel": PUBLIC, "channel_type": "channel", "ts": next_ts()}
    noise = [
        {**base, "subtype": "bot_message", "bot_id": "B999", "text": "deploy finished"},
        {**base, "subtype": "message_changed", "message": {"text": "edited"}},
        {**base, "subtype": "channel_join", "user": "UNEW", "text": "<@UNEW> has joined"},
        {**base, "user": "UBOT", "bot_id": "BBOT", "text": "our own answer"},
        {**base, "channel": "COTHER", "user": ASKER, "text": "I want my data deleted"},
    ]
    for event in noise:
        assert await send_event(service, event) == 200
    await settle(service)
    assert await tickets(service) == []
    assert slack_api.calls_to("chat.postMessage") == []


async def test_personal_details_in_public_move_the_talk_to_a_dm(desk, slack_api):
    service = await desk()
    ts = next_ts()
    text = (
        "Please delete my data. My phone is 090-1234-5678 and I live at "
        "〒150-0001 東京都渋谷区神宮前1-2-3."
    )
    await send_event(
        service,
        {"channel": PUBLIC, "channel_type": "channel", "user": ASKER, "text": text, "ts": ts},
    )
    await settle(service)
    [ticket] = await tickets(service)
    in_thread = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == PUBLIC]
    assert len(in_thread) == 2  # the answer, then the notice with its button
    notice = in_thread[1].args
    buttons = [e for b in notice["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["continue_dm"]
    # The triage post never shows the details.
    [post] = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    shown = str(post.args["blocks"])
    assert "1234-5678" not in shown and "神宮前1-2-3" not in shown
    # The asker takes up the offer: the bot opens a DM and speaks first.
    payload = click(ticket.id, "continue_dm", user=ASKER)
    payload["channel"] = {"id": PUBLIC}
    assert await send_interaction(service, payload) == 200
    await slack_api.wait_for("conversations.open")
    await settle(service)
    dms = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"].startswith("D")]
    assert len(dms) == 1 and ticket.number in dms[0].args["text"]


async def test_staff_answer_in_the_askers_thread_stops_the_clock(desk, slack_api):
    service = await desk()
    root = next_ts()
    base = {"channel": PUBLIC, "channel_type": "channel"}
    await send_event(
        service, {**base, "user": ASKER, "text": "Who do you share my data with?", "ts": root}
    )
    await settle(service)
    await send_event(
        service,
        {
            **base,
            "user": STAFF,
            "text": "We share it with no one.",
            "ts": next_ts(),
            "thread_ts": root,
        },
    )
    await settle(service)
    [ticket] = await tickets(service)
    assert ticket.status == "answered" and ticket.answered_by == STAFF
    async with service.store.session() as s:
        answers = await s.scalar(
            select(func.count(Event.id)).where(
                Event.ticket_id == ticket.id, Event.kind == "answered"
            )
        )
    assert answers == 1
