"""Message events: questions in inquiry channels and DMs become stored inbound messages
for the intake pipeline; staff lines in a triage thread are answers or notes."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from sqlalchemy import select

from bot.slack.parse import event_bytes, plain_text
from bot.store.tables import Ticket

log = logging.getLogger(__name__)

# Subtypes that are still a person writing; every other one (edits, deletions, joins,
# topic changes, bot messages) is ignored.
_PEOPLE = frozenset({None, "file_share", "thread_broadcast"})
_REPLY = re.compile(r"^\s*reply\s*[:：]\s*", re.IGNORECASE)


def register(app: AsyncApp, desk) -> None:
    slack = desk.cfg.slack
    inquiry_channels = frozenset(slack.inquiry_channels)

    @app.event("message")
    async def on_message(event: dict) -> None:
        if event.get("subtype") not in _PEOPLE or event.get("bot_id"):
            return
        user = event.get("user")
        if not user or user == desk.bot_user_id:
            return
        channel = event.get("channel")
        if channel == slack.triage_channel:
            thread_ts = event.get("thread_ts")
            if thread_ts and thread_ts != event.get("ts"):
                await triage_thread_line(desk, event)
            return
        if event.get("channel_type") == "im" or channel in inquiry_channels:
            inbound_id = await desk.store.save_inbound(
                event_bytes(event),
                channel="slack",
                envelope_from=None,
                recipients=[channel],
                now=desk.clock.now(),
            )
            desk.enqueue_inbound(inbound_id)


async def triage_thread_line(desk, event: dict) -> None:
    """`reply: …` from staff goes to the requester; anything else is an internal note."""
    user = event["user"]
    if not desk.is_staff(user):
        return
    now = desk.clock.now()
    text = plain_text(event.get("text") or "")
    async with desk.store.session() as s, s.begin():
        ticket = await s.scalar(select(Ticket).where(Ticket.triage_ts == event["thread_ts"]))
        if ticket is None:
            return
        reply = _REPLY.match(text)
        if reply and text[reply.end() :].strip():
            await desk.replies.send(
                s, ticket, text[reply.end() :], user=user, via="thread", now=now, wrap=True
            )
            log.info("slack: %s answered from the triage thread", ticket.number)
        else:
            await desk.tickets.note(s, ticket, user, now, event["ts"])
    desk.wake()
