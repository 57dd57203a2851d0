"""The escalation ladder: recomputed from the store on every sweep, it warns at a share
of a ticket's target, escalates a breach to managers, and repeats while the ticket stays
overdue. Each rung is a unique row, so no rung is ever announced twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.mail.mime import build_reply, new_message_id
from bot.mail.outbox import pending_mail
from bot.store.repo import Store
from bot.store.tables import Escalation, Event, Ticket
from bot.tickets import Tickets, line
from responders.models import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rung:
    step: str  # "warning", "breach" or "repeat"
    key: str  # unique per ticket, clock and rung
    mention: str  # who the thread line calls


def rung_due(tickets: Tickets, sla, ticket: Ticket, now: datetime) -> Rung | None:
    """The highest rung this ticket's clock has reached at `now` (pure but for the
    calendar): a breach outranks a warning, the latest repeat outranks the breach."""
    cal = tickets.calendar
    clock = f"{ticket.id}:{ticket.stage}:{ticket.clock_started_at.isoformat()}"
    if now >= ticket.due_at:
        over = cal.elapsed(ticket.due_at, now)
        n = int(over / timedelta(hours=sla.repeat_hours))
        if n >= 1:
            return Rung("repeat", f"{clock}:repeat:{n}", "managers")
        return Rung("breach", f"{clock}:breach", "managers")
    total = cal.elapsed(ticket.clock_started_at, ticket.due_at)
    spent = cal.elapsed(ticket.clock_started_at, now)
    if total > timedelta(0) and spent >= total * sla.warn_at:
        return Rung("warning", f"{clock}:warning", "assignee")
    return None


class Ladder:
    def __init__(self, cfg: Config, store: Store, tickets: Tickets, env, on_mail, on_slack):
        self.cfg = cfg
        self.store = store
        self.tickets = tickets
        self.env = env
        self.on_mail = on_mail
        self.on_slack = on_slack

    async def sweep(self, now: datetime) -> list[tuple[str, str]]:
        """One pass over every open ticket; returns (ticket number, step) for each rung
        announced. Outside business hours nothing is said: it waits for the opening."""
        if not self.tickets.calendar.is_open(now):
            return []
        announced = []
        async with self.store.session() as s, s.begin():
            open_tickets = await s.scalars(
                select(Ticket).where(Ticket.status == "open").order_by(Ticket.id)
            )
            for ticket in list(open_tickets):
                rung = rung_due(self.tickets, self.cfg.sla, ticket, now)
                if rung is None or await _reached(s, rung.key):
                    continue
                await self._announce(s, ticket, rung, now)
                announced.append((ticket.number, rung.step))
        if announced:
            log.info("sla: %s", ", ".join(f"{n} {step}" for n, step in announced))
            self.on_slack()
            self.on_mail()
        return announced

    async def _announce(self, s: AsyncSession, ticket: Ticket, rung: Rung, now: datetime):
        s.add(Escalation(key=rung.key, ticket_id=ticket.id, step=rung.step, at=now))
        overdue_hours = self._overdue_hours(ticket, now)
        s.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind=f"sla_{rung.step}",
                detail={"due": ticket.due_at.isoformat(), "overdue_hours": overdue_hours},
            )
        )
        slack = self.tickets.slack
        context = {
            "mention": rung.mention,
            "due": ticket.due_at.isoformat(),
            "overdue_hours": overdue_hours,
        }
        await slack.in_thread(s, ticket, f"sla:{rung.key}", line(rung.step, **context), now)
        if rung.step != "warning":
            if not ticket.overdue:
                ticket.overdue = True
                await slack.touch_triage(s, ticket, now)
            self._mail_managers(s, ticket, rung, overdue_hours, now)

    def _overdue_hours(self, ticket: Ticket, now: datetime) -> float:
        if now < ticket.due_at:
            return 0.0
        return round(self.tickets.calendar.elapsed(ticket.due_at, now) / timedelta(hours=1), 1)

    def _mail_managers(
        self, s: AsyncSession, ticket: Ticket, rung: Rung, overdue_hours: float, now: datetime
    ) -> None:
        managers = self.cfg.escalation.manager_emails
        if not managers:
            return
        language = self.cfg.escalation.language
        tz = self.tickets.calendar.tz
        context = {
            "ticket": ticket,
            "step": rung.step,
            "received": ticket.clock_started_at.astimezone(tz),
            "due": ticket.due_at.astimezone(tz),
            "overdue_hours": overdue_hours,
            "org": self.cfg.localized_organization(language),
        }
        subject = self.env.get_template(f"escalation/{language}/subject.txt.j2").render(context)
        body = self.env.get_template(f"escalation/{language}/breach.txt.j2").render(context)
        reply = Reply(language=language, subject=subject.strip(), body=body, kind="escalation")
        out = self.cfg.outbound
        for address in managers:
            message_id = new_message_id(out.from_address)
            raw = build_reply(
                reply,
                to_address=address,
                to_name="",
                from_address=out.from_address,
                from_name=out.from_name or context["org"]["name"],
                message_id=message_id,
                in_reply_to=None,
                references=(),
                loop_header=self.cfg.loop_guard.header,
                loop_value=out.from_address.lower(),
                now=now,
            )
            s.add(
                pending_mail(
                    ticket_id=ticket.id,
                    message_id=message_id,
                    kind="escalation",
                    mail_from=out.from_address,
                    recipient=address,
                    raw=raw,
                    now=now,
                )
            )


async def _reached(s: AsyncSession, key: str) -> bool:
    return await s.scalar(select(Escalation.id).where(Escalation.key == key)) is not None
