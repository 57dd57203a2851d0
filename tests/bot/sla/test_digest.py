"""The digest gathered from a seeded store: an unanswered complaint is warned about, breaches
to the managers, then leads the next morning's digest; answered and due-today tickets and
response times are counted from the same store."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from bot.clock import FakeClock
from bot.store.tables import Outbox, Ticket
from tests.bot.sla.test_ladder import COMPLAINT, MANAGERS, at
from tests.conftest import make_mail, send

CONSULTATION = "What security measures do you take to protect customer information?"


async def arrive(service, clock, when, subject, body, sender) -> Ticket:
    clock.set(when)
    raw = make_mail(subject, body, sender=sender)
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        return await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))


async def test_an_unanswered_complaint_escalates_then_leads_the_digest(running):
    clock = FakeClock(at(1, 10))  # Tuesday 1 December 2026
    service = await running(clock=clock, **MANAGERS)
    complaint = await arrive(
        service, clock, at(1, 10), "Complaint: my data was leaked", COMPLAINT, "a@example.jp"
    )
    answered = await arrive(
        service, clock, at(1, 10), "Sharing", CONSULTATION, "Ben <b@example.jp>"
    )
    due_friday = await arrive(
        service, clock, at(1, 11), "Partners", CONSULTATION, "Cho <c@example.jp>"
    )
    assert complaint.category == "complaint"
    assert answered.category == due_friday.category == "consultation"
    assert due_friday.due_at == at(4, 18)

    # Staff answer one consultation two business hours after it came in.
    async with service.store.session() as s, s.begin():
        ticket = await s.get(Ticket, answered.id)
        await service.tickets.answered(s, ticket, by="USTAFF", via="email", now=at(1, 12))

    # Nobody answers the complaint: a warning, then a breach with mail to the managers.
    assert await service.ladder.sweep(at(2, 14)) == [(complaint.number, "warning")]
    assert await service.ladder.sweep(at(3, 9)) == [(complaint.number, "breach")]

    data = await service.digest.gather(at(4, 9))  # Friday morning
    assert data.counts["complaint"] == {"open": 1, "answered": 0, "closed": 0, "overdue": 1}
    assert data.counts["consultation"]["open"] == 1
    assert data.counts["consultation"]["answered"] == 1
    [late] = data.overdue
    assert late.number == complaint.number
    # Clock from Tue 10:00: 8 + 9 + 9 business hours; due Wed 18:00, so 9 hours late.
    assert (late.age_hours, late.overdue_hours) == (26.0, 9.0)
    assert [t.number for t in data.due_today] == [due_friday.number]
    week, month = data.response_times
    assert (week.count, week.median_hours, week.p90_hours) == (1, 2.0, 2.0)
    assert month.count == 1
    assert data.within_target["consultation"] == (1, 1)
    assert data.within_target["complaint"] == (0, 0)
    tuesday = next(day for day in data.days if day.day == at(1, 0).date())
    assert (tuesday.opened, tuesday.answered) == (3, 1)
    assert not data.weekly  # the week's summary is Monday's

    # The digest itself goes out once that morning, with the overdue complaint in both parts.
    assert await service.digest.send_if_due(at(4, 9))
    async with service.store.session() as s:
        [row] = await s.scalars(select(Outbox).where(Outbox.kind == "digest"))
    mail = email.message_from_bytes(row.raw, policy=email.policy.default)
    assert mail["To"] == "boss@example.com"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert complaint.number in text and complaint.number in html
    assert "a@example.jp" not in text + html  # managers see numbers, not requesters
