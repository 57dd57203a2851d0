"""The durable Slack queue, as seen from a transaction: what to post, update or say in a
thread is written as a row beside the change that caused it; the sender delivers it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import SlackPost, Ticket


class SlackQueue:
    """Writes Slack work into the caller's session; does nothing when Slack is off, so
    callers need not ask."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    async def touch_triage(self, s: AsyncSession, ticket: Ticket, now: datetime) -> None:
        """The ticket's triage post must show its current state: post it, or update it."""
        if not self.enabled:
            return
        key = f"triage:{ticket.id}"
        row = await s.scalar(select(SlackPost).where(SlackPost.key == key))
        if row is None:
            s.add(_row(key, ticket, "triage", now))
        else:
            row.version += 1
            row.state, row.next_attempt_at = "pending", now

    async def in_thread(
        self, s: AsyncSession, ticket: Ticket, key: str, payload: dict, now: datetime
    ) -> None:
        """A line in the ticket's triage thread; `key` names it once and for all."""
        if self.enabled and not await _exists(s, key):
            s.add(_row(key, ticket, "thread", now, payload=payload))

    async def to_requester(
        self,
        s: AsyncSession,
        ticket: Ticket,
        key: str,
        payload: dict,
        now: datetime,
        *,
        channel: str,
        thread_ts: str | None,
    ) -> None:
        """A message to the person who asked in Slack, in their thread."""
        if not await _exists(s, key):
            s.add(
                _row(
                    key, ticket, "chat", now, payload=payload, channel=channel, thread_ts=thread_ts
                )
            )


async def _exists(s: AsyncSession, key: str) -> bool:
    return await s.scalar(select(SlackPost.id).where(SlackPost.key == key)) is not None


def _row(
    key: str,
    ticket: Ticket,
    kind: str,
    now: datetime,
    *,
    payload: dict | None = None,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> SlackPost:
    return SlackPost(
        key=key,
        ticket_id=ticket.id,
        kind=kind,
        channel=channel,
        thread_ts=thread_ts,
        payload=payload or {},
        state="pending",
        version=1,
        sent_version=0,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
