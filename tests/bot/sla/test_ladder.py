"""The escalation ladder on a fake clock: warning, breach, repeats, nothing twice (across
a restart too), nothing outside business hours, and clocks that stop and restart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FakeClock
from bot.store.tables import Escalation, Event, Outbox, Ticket
from tests.conftest import make_mail, send

JST = ZoneInfo("Asia/Tokyo")
MANAGERS = {"escalation": {"manager_emails": ["boss@example.com"], "language": "en"}}
COMPLAINT = (
    "You sent my order history to another customer. This is unacceptable and I want an "
    "explanation of how this happened."
)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=JST)


async def open_complaint(running, clock, **sections):
    service = await running(clock=clock, **{**MANAGERS, **sections})
    raw = make_mail("Complaint: my data was leaked", COMPLAINT)
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket.category == "complaint"
    return service, ticket


async def rungs(service) -> list[str]:
    async with service.store.session() as s:
        return list(await s.scalars(select(Escalation.step).order_by(Escalation.id)))


async def manager_mail(service) -> list[Outbox]:
    async with service.store.session() as s:
        return list(await s.scalars(select(Outbox).where(Outbox.kind == "escalation")))


async def test_the_ladder_step_by_step(running):
    clock = FakeClock(at(1, 10))  # Tuesday 1 December, 10:00
    service, ticket = await open_complaint(running, clock)
    # 1 business day: close of Wednesday; 8 h + 9 h = 17 business hours, so 75% (12.75 h)
    # falls at Wednesday 13:45.
    assert ticket.due_at == at(2, 18)
    ladder = service.ladder

    clock.set(at(2, 13, 40))
    assert await ladder.sweep(clock.now()) == []
    clock.set(at(2, 13, 46))
    assert await ladder.sweep(clock.now()) == [(ticket.number, "warning")]
    assert await ladder.sweep(clock.now()) == []  # idempotent
    assert await manager_mail(service) == []  # a warning is for staff only

    clock.set(at(2, 18, 30))  # past due, but closed: held until the opening
    assert await ladder.sweep(clock.now()) == []
    clock.set(at(3, 9))
    assert await ladder.sweep(clock.now()) == [(ticket.number, "breach")]
    [mail] = await manager_mail(service)
    assert mail.recipient == "boss@example.com"
    assert ticket.number.encode() in mail.raw and b"hanako" not in mail.raw
    async with service.store.session() as s:
        assert (await s.get(Ticket, ticket.id)).overdue

    clock.set(at(3, 12, 59))
    assert await ladder.sweep(clock.now()) == []
    clock.set(at(3, 13))  # 4 business hours overdue
    assert await ladder.sweep(clock.now()) == [(ticket.number, "repeat")]
    assert await rungs(service) == ["warning", "breach", "repeat"]
    async with service.store.session() as s:
        kinds = list(await s.scalars(select(Event.kind).where(Event.kind.like("sla_%"))))
    assert kinds == ["sla_warning", "sla_breach", "sla_repeat"]


async def test_a_restart_between_sweeps_repeats_nothing(running):
    clock = FakeClock(at(1, 10))
    service, ticket = await open_complaint(running, clock)
    clock.set(at(3, 9))
    assert await service.ladder.sweep(clock.now()) == [(ticket.number, "breach")]
    await service.stop()
    again = await running(clock=clock, **MANAGERS)
    assert await again.ladder.sweep(clock.now()) == []
    assert len(await manager_mail(again)) == 1
    clock.set(at(3, 13))
    assert await again.ladder.sweep(clock.now()) == [(ticket.number, "repeat")]


async def test_a_late_sweep_announces_only_the_highest_rung(running):
    clock = FakeClock(at(1, 10))
    service, ticket = await open_complaint(running, clock)
    clock.set(at(4, 10))  # the service slept through warning and breach
    assert await service.ladder.sweep(clock.now()) == [(ticket.number, "repeat")]


async def test_answered_tickets_are_left_alone(running):
    clock = FakeClock(at(1, 10))
    service, ticket = await open_complaint(running, clock)
    async with service.store.session() as s, s.begin():
        row = await s.get(Ticket, ticket.id)
        await service.tickets.answered(s, row, "staff@example.com", "email", clock.now())
    clock.set(at(3, 9))
    assert await service.ladder.sweep(clock.now()) == []


async def test_a_follow_up_after_an_answer_reopens_with_a_fresh_clock(running):
    clock = FakeClock(at(1, 10))
    service, ticket = await open_complaint(running, clock)
    async with service.store.session() as s, s.begin():
        row = await s.get(Ticket, ticket.id)
        await service.tickets.answered(s, row, "staff@example.com", "email", clock.now())
    clock.set(at(7, 11))  # Monday
    raw = make_mail(f"Re: Complaint [{ticket.number}]", "That answer does not explain anything.")
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        row = await s.get(Ticket, ticket.id)
        kinds = list(await s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)))
    assert row.status == "open"
    assert row.clock_started_at == at(7, 11)
    assert row.due_at == at(8, 18)
    assert "reopened" in kinds
    clock.set(at(9, 9))
    assert await service.ladder.sweep(clock.now()) == [(ticket.number, "breach")]


async def test_staff_email_on_the_ticket_stops_the_clock(running):
    clock = FakeClock(at(1, 10))
    service, ticket = await open_complaint(running, clock, imap={"staff_domains": ["actio.jp"]})
    raw = make_mail(
        f"Re: Complaint [{ticket.number}]",
        "We are looking into it and will call you today.",
        sender="Staff <staff@actio.jp>",
    )
    clock.set(at(1, 15))
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        row = await s.get(Ticket, ticket.id)
    assert row.status == "answered" and row.first_response_at == at(1, 15)
    clock.set(at(3, 9))
    assert await service.ladder.sweep(clock.now()) == []


async def test_low_confidence_tickets_get_the_triage_target(running):
    clock = FakeClock(at(1, 10))
    service = await running(clock=clock, **MANAGERS)
    assert (await send(service.smtp_port, make_mail("hello", "hello?"))).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket.needs_human and ticket.due_at == at(1, 14)  # 4 business hours
    async with service.store.session() as s, s.begin():
        row = await s.get(Ticket, ticket.id)
        await service.tickets.reclassify(s, row, "consultation", "USTAFF", clock.now())
    async with service.store.session() as s:
        row = await s.get(Ticket, ticket.id)
    assert not row.needs_human and row.due_at == at(4, 18)  # 3 business days
