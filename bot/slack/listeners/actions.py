"""Triage buttons (Claim, Reclassify, Reply, Mark answered, Documents received, Close)
and the requester's Continue-in-DM button."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import Ticket
from bot.tickets import TicketError
from responders import slack as words

log = logging.getLogger(__name__)


def _ticket_id(body: dict) -> int:
    action = body["actions"][0]
    value = action.get("value") or action.get("block_id", "").removeprefix("ticket:")
    return int(value)


async def _refuse(client, body: dict, desk, name: str, **context) -> None:
    channel = (body.get("channel") or {}).get("id")
    if channel:
        text = words.staff_text(desk.renderer.env, desk.renderer.language, name, **context)
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)


def register(app: AsyncApp, desk) -> None:
    async def change(body: dict, client, what) -> None:
        """Run one change on the ticket in its own transaction, for staff only."""
        user = body["user"]["id"]
        if not desk.is_staff(user):
            await _refuse(client, body, desk, "not_staff")
            return
        now = desk.clock.now()
        try:
            async with desk.store.session() as s, s.begin():
                ticket = await s.get(Ticket, _ticket_id(body))
                if ticket is None:
                    return
                number = ticket.number
                await what(s, ticket, user, now)
        except TicketError as exc:
            await _refuse(client, body, desk, "action_failed", number=number, reason=str(exc))
            return
        desk.wake()

    @app.action("claim")
    async def claim(ack, body, client) -> None:
        await ack()
        await change(body, client, desk.tickets.claim)

    @app.action("reclassify")
    async def reclassify(ack, body, client) -> None:
        await ack()
        category = body["actions"][0]["selected_option"]["value"]

        async def to(s: AsyncSession, ticket: Ticket, user: str, now) -> None:
            await desk.tickets.reclassify(s, ticket, category, user, now)

        await change(body, client, to)

    @app.action("answered")
    async def answered(ack, body, client) -> None:
        await ack()

        async def mark(s: AsyncSession, ticket: Ticket, user: str, now) -> None:
            await desk.tickets.answered(s, ticket, user, "button", now)

        await change(body, client, mark)

    @app.action("documents")
    async def documents(ack, body, client) -> None:
        await ack()
        await change(body, client, desk.tickets.documents_received)

    @app.action("close")
    async def close(ack, body, client) -> None:
        await ack()
        await change(body, client, desk.tickets.close)

    @app.action("reply")
    async def reply(ack, body, client) -> None:
        await ack()
        if not desk.is_staff(body["user"]["id"]):
            await _refuse(client, body, desk, "not_staff")
            return
        async with desk.store.session() as s:
            ticket = await s.get(Ticket, _ticket_id(body))
            if ticket is None:
                return
            draft = await desk.replies.draft(s, ticket)
        view = words.reply_modal(
            desk.renderer.env,
            desk.renderer.language,
            ticket_id=ticket.id,
            number=ticket.number,
            channel=ticket.channel,
            draft=draft,
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action("continue_dm")
    async def continue_dm(ack, body, client) -> None:
        """The requester moves to a DM: the bot opens it and speaks first there."""
        await ack()
        user = body["user"]["id"]
        now = desk.clock.now()
        async with desk.store.session() as s, s.begin():
            ticket = await s.get(Ticket, _ticket_id(body))
            if ticket is None or ticket.sender != user:
                return
            opened = await client.conversations_open(users=user)
            await desk.tickets.slack.to_requester(
                s,
                ticket,
                f"dm:{ticket.id}:{user}",
                {
                    "template": "dm_opened",
                    "language": ticket.language,
                    "context": {"ticket_number": ticket.number},
                },
                now,
                channel=opened["channel"]["id"],
                thread_ts=None,
            )
        desk.wake()
