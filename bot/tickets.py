"""What can happen to a ticket after it is opened (claimed, reclassified, answered,
closed, reopened, documents received), each recorded as an event, its response clock
kept right, and its triage post told. Callers own the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sla.calendar import BusinessCalendar
from bot.sla.targets import target_for
from bot.slack.queue import SlackQueue
from bot.store.tables import Event, Ticket
from responders.models import CATEGORIES


class TicketError(ValueError):
    """A change the ticket's state does not allow; the message says why."""


class Tickets:
    def __init__(self, sla, calendar: BusinessCalendar, slack: SlackQueue) -> None:
        self.sla = sla
        self.calendar = calendar
        self.slack = slack

    def target(self, ticket: Ticket):
        return target_for(
            self.sla, category=ticket.category, stage=ticket.stage, needs_human=ticket.needs_human
        )

    def promised_due(self, ticket: Ticket) -> datetime:
        """The date a reply promises: the category's own target, even while the ticket
        waits for triage on the shorter internal one."""
        if not ticket.needs_human:
            return ticket.due_at
        target = target_for(
            self.sla, category=ticket.category, stage=ticket.stage, needs_human=False
        )
        return target.due(self.calendar, ticket.clock_started_at)

    def start_clock(self, ticket: Ticket, start: datetime) -> None:
        """(Re)start the ticket's response clock at `start` against its current target."""
        ticket.clock_started_at = start
        ticket.due_at = self.target(ticket).due(self.calendar, start)
        ticket.overdue = False

    def recompute_due(self, ticket: Ticket) -> None:
        """The target changed (reclassified): same clock start, new due time."""
        ticket.due_at = self.target(ticket).due(self.calendar, ticket.clock_started_at)
        ticket.overdue = False

    async def _event(
        self, s: AsyncSession, ticket: Ticket, kind: str, now: datetime, **detail
    ) -> None:
        """Record the event, refresh the triage post, and say it in the post's thread."""
        s.add(Event(ticket_id=ticket.id, at=now, kind=kind, detail=detail))
        await self.slack.touch_triage(s, ticket, now)
        if kind != "opened":
            key = f"{kind}:{ticket.id}:{now.timestamp()}"
            await self.slack.in_thread(s, ticket, key, line(kind, **detail), now)

    async def opened(self, s: AsyncSession, ticket: Ticket, now: datetime, detail: dict) -> None:
        await self._event(s, ticket, "opened", now, **detail)

    async def followup(self, s: AsyncSession, ticket: Ticket, now: datetime, detail: dict) -> None:
        await self._event(s, ticket, "followup", now, **detail)

    async def claim(self, s: AsyncSession, ticket: Ticket, user: str, now: datetime) -> None:
        ticket.assignee = user
        await self._event(s, ticket, "claimed", now, by=user)

    async def reclassify(
        self, s: AsyncSession, ticket: Ticket, category: str, user: str, now: datetime
    ) -> None:
        if category not in CATEGORIES:
            raise TicketError(f"unknown category {category!r}")
        before = ticket.category
        ticket.category = category
        ticket.categories = [category, *(c for c in ticket.categories if c != category)]
        ticket.needs_human = False
        if ticket.status == "open":
            self.recompute_due(ticket)
        await self._event(s, ticket, "reclassified", now, by=user, before=before, after=category)

    async def answered(
        self, s: AsyncSession, ticket: Ticket, by: str, via: str, now: datetime
    ) -> None:
        """A human answered: the clock stops."""
        if ticket.status == "closed":
            raise TicketError(f"{ticket.number} is closed")
        ticket.status, ticket.answered_at, ticket.answered_by = "answered", now, by
        ticket.first_response_at = ticket.first_response_at or now
        ticket.overdue = False
        await self._event(s, ticket, "answered", now, by=by, via=via)

    async def close(self, s: AsyncSession, ticket: Ticket, user: str, now: datetime) -> None:
        ticket.status, ticket.closed_at, ticket.overdue = "closed", now, False
        await self._event(s, ticket, "closed", now, by=user)

    async def reopen(self, s: AsyncSession, ticket: Ticket, now: datetime) -> None:
        """The requester wrote again after an answer: a fresh clock from now."""
        ticket.status, ticket.closed_at = "open", None
        self.start_clock(ticket, now)
        await self._event(s, ticket, "reopened", now, due=ticket.due_at.isoformat())

    async def documents_received(
        self, s: AsyncSession, ticket: Ticket, user: str, now: datetime
    ) -> None:
        """A disclosure request's documents arrived: the fulfilment clock starts."""
        if "disclosure_request" not in ticket.categories:
            raise TicketError(f"{ticket.number} is not a disclosure request")
        ticket.stage, ticket.status = "fulfilment", "open"
        self.start_clock(ticket, now)
        await self._event(s, ticket, "documents_received", now, by=user)

    async def note(
        self, s: AsyncSession, ticket: Ticket, user: str, now: datetime, ts: str
    ) -> None:
        """An internal note in the triage thread: recorded, never sent."""
        s.add(Event(ticket_id=ticket.id, at=now, kind="note", detail={"by": user, "ts": ts}))


def line(template: str, **context) -> dict:
    """A triage-thread line: templates/slack/<lang>/lines/<template>, rendered when sent."""
    return {"template": template, "context": context}
