"""The Slack queue: rate limits honoured, Slack trouble never blocking email, and no
post repeated after a restart."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.tables import SlackPost, Ticket
from tests.bot.slack.conftest import (
    ASKER,
    PUBLIC,
    click,
    next_ts,
    send_event,
    send_interaction,
    settle,
    triage_posts,
    wait_until,
)
from tests.conftest import make_mail, send
from tests.slack_fake import UPLOAD


async def one_email(service, sink, n=1):
    raw = make_mail("Question", "How do you protect my personal information?")
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    await sink.wait_for(n)


async def test_a_429_is_retried_after_retry_after(desk, slack_api, sink):
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    service = await desk()
    await one_email(service, sink)

    async def deferred() -> SlackPost | None:
        async with service.store.session() as s:
            row = await s.scalar(select(SlackPost).where(SlackPost.kind == "triage"))
        return row if row is not None and row.last_error == "429" else None

    await wait_until(deferred)
    row = await deferred()
    waits = (row.next_attempt_at - row.created_at).total_seconds()
    assert 0.9 <= waits <= 1.5  # Retry-After, not our own shorter backoff
    assert row.attempts == 0  # a rate limit is no failed attempt
    await slack_api.wait_for("chat.postMessage", timeout=5)
    statuses = [c.status for c in slack_api.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 200]


async def test_slack_down_never_holds_up_email(desk, slack_api, sink):
    slack_api.fail_next("chat.postMessage", status=500, times=50)
    slack_api.fail_next("auth.test", status=500, times=50)
    service = await desk()
    await one_email(service, sink)  # the auto-reply goes out regardless
    assert len(sink.messages) == 1


async def test_an_invalid_token_is_reported_and_email_still_flows(desk, slack_api, sink):
    slack_api.fail_next("chat.postMessage", error="invalid_auth", times=50)
    service = await desk()
    await one_email(service, sink)

    async def refused() -> bool:
        return service.slack.sender.auth_failed == "invalid_auth"

    await wait_until(refused)
    ok, parts = await service.health()
    assert not ok and parts["slack"] == "unhealthy"


async def test_no_duplicate_post_after_a_restart(desk, slack_api, sink, running):
    service = await desk()
    await one_email(service, sink)
    await settle(service)
    assert len(triage_posts(slack_api)) == 1
    async with service.store.session() as s:
        ticket = await s.scalar(select(Ticket))
    # A change Slack cannot take yet (500s), then the process goes away.
    slack_api.fail_next("chat.update", status=500, times=3)
    await send_interaction(service, click(ticket.id, "claim"))
    await slack_api.wait_for("chat.update", count=0)
    await service.stop()
    # The next process finds the post's ts in the store: it updates, it does not repost.
    again = await desk()
    await settle(again)
    await slack_api.wait_for("chat.update", count=1, timeout=5)
    assert len(triage_posts(slack_api)) == 1
    assert slack_api.calls_to("chat.update")[-1].args["ts"] == ticket.triage_ts


async def test_a_failed_form_upload_resumes_without_repeating_the_answer(desk, slack_api):
    slack_api.fail_next(UPLOAD, status=503, times=2)
    service = await desk()
    text = "I want a copy of all the personal data you hold about me. How do I request it?"
    event = {"channel": PUBLIC, "channel_type": "channel", "user": ASKER, "text": text}
    assert await send_event(service, {**event, "ts": next_ts()}) == 200

    async def chat_row() -> SlackPost | None:
        async with service.store.session() as s:
            row = await s.scalar(select(SlackPost).where(SlackPost.kind == "chat"))
        return row if row is not None and row.state == "sent" else None

    await wait_until(chat_row)
    row = await chat_row()
    assert row.payload["uploaded"] == row.payload["forms"]
    assert len(slack_api.calls_to("files.completeUploadExternal")) == len(row.payload["forms"])
    answers = [c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == PUBLIC]
    assert len(answers) == 1  # the retry picked up at the form, not at the answer
    assert [c.status for c in slack_api.calls_to(UPLOAD)][:3] == [503, 503, 200]
