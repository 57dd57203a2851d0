"""The managers' digest: figures gathered from the store for one business morning,
rendered by responders/digest and queued as one email per manager."""

from __future__ import annotations

import logging
import statistics
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.config import Config
from bot.mail.mime import build_report, new_message_id
from bot.mail.outbox import pending_mail
from bot.store.repo import Store
from bot.store.tables import Digest, Ticket
from bot.tickets import Tickets
from responders.digest import (
    DayCount,
    DigestData,
    DigestTicket,
    RenderedDigest,
    ResponseTimes,
    render_digest,
)
from responders.models import CATEGORIES

log = logging.getLogger(__name__)

_HOUR = timedelta(hours=1)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


class DigestMaker:
    def __init__(self, cfg: Config, store: Store, tickets: Tickets, env, on_mail) -> None:
        self.cfg = cfg
        self.store = store
        self.tickets = tickets
        self.env = env
        self.on_mail = on_mail

    @property
    def cal(self):
        return self.tickets.calendar

    async def gather(self, now: datetime) -> DigestData:
        cal, tz = self.cal, self.cal.tz
        local_now = now.astimezone(tz)
        today = local_now.date()
        async with self.store.session() as s:
            tickets = list(await s.scalars(select(Ticket).order_by(Ticket.id)))
        counts = {c: {"open": 0, "answered": 0, "closed": 0, "overdue": 0} for c in CATEGORIES}
        overdue, due_today = [], []
        for t in tickets:
            late = t.status == "open" and t.due_at <= now
            counts[t.category][t.status] += 1
            if late:
                counts[t.category]["overdue"] += 1
            if t.status != "open":
                continue
            line = DigestTicket(
                number=t.number,
                category=t.category,
                status=t.status,
                assignee=t.assignee,
                due_at=t.due_at.astimezone(tz),
                age_hours=round(cal.elapsed(t.clock_started_at, now) / _HOUR, 1),
                overdue_hours=round(cal.elapsed(t.due_at, now) / _HOUR, 1) if late else 0.0,
            )
            if late:
                overdue.append(line)
            elif t.due_at.astimezone(tz).date() == today:
                due_today.append(line)
        response_times = tuple(self._response_times(tickets, now, days) for days in (7, 30))
        within = {}
        since = now - timedelta(days=30)
        for category in CATEGORIES:
            answered = [
                t
                for t in tickets
                if t.category == category
                and t.first_response_at is not None
                and t.first_response_at >= since
            ]
            within[category] = (
                sum(1 for t in answered if t.first_response_at <= t.due_at),
                len(answered),
            )
        days = tuple(self._day_counts(tickets, cal.business_days_before(today, 14)))
        weekly = local_now.strftime("%a").lower() == self.cfg.digest.weekly_day
        week = self._week(tickets, now) if weekly else None
        language = self.cfg.escalation.language
        return DigestData(
            organization=self.cfg.localized_organization(language)["name"],
            language=language,
            generated_at=local_now,
            weekly=weekly,
            counts=counts,
            overdue=tuple(sorted(overdue, key=lambda x: -x.overdue_hours)),
            due_today=tuple(sorted(due_today, key=lambda x: x.due_at)),
            response_times=response_times,
            within_target=within,
            days=days,
            week=week,
        )

    def _response_times(self, tickets: list[Ticket], now: datetime, days: int) -> ResponseTimes:
        since = now - timedelta(days=days)
        hours = [
            self.cal.elapsed(t.created_at, t.first_response_at) / _HOUR
            for t in tickets
            if t.first_response_at is not None and t.first_response_at >= since
        ]
        if not hours:
            return ResponseTimes(days=days, count=0, median_hours=None, p90_hours=None)
        return ResponseTimes(
            days=days,
            count=len(hours),
            median_hours=round(statistics.median(hours), 1),
            p90_hours=round(_p90(hours), 1),
        )

    def _day_counts(self, tickets: list[Ticket], days) -> list[DayCount]:
        tz = self.cal.tz
        opened: dict = {}
        answered: dict = {}
        for t in tickets:
            opened[t.created_at.astimezone(tz).date()] = (
                opened.get(t.created_at.astimezone(tz).date(), 0) + 1
            )
            if t.first_response_at is not None:
                day = t.first_response_at.astimezone(tz).date()
                answered[day] = answered.get(day, 0) + 1
        return [DayCount(day=d, opened=opened.get(d, 0), answered=answered.get(d, 0)) for d in days]

    def _week(self, tickets: list[Ticket], now: datetime) -> dict[str, int]:
        since = now - timedelta(days=7)
        return {
            "opened": sum(1 for t in tickets if t.created_at >= since),
            "answered": sum(
                1 for t in tickets if t.first_response_at and t.first_response_at >= since
            ),
            "breached": sum(
                1
                for t in tickets
                if since <= t.due_at <= now
                and (t.first_response_at is None or t.first_response_at > t.due_at)
            ),
        }

    async def render(self, now: datetime) -> RenderedDigest:
        return render_digest(await self.gather(now), self.env)

    async def send_if_due(self, now: datetime) -> bool:
        """Queue today's digest, once, on business days at or after the configured time."""
        cal = self.cal
        local = now.astimezone(cal.tz)
        hour, minute = (int(x) for x in self.cfg.digest.time.split(":"))
        if not cal.is_business_day(local.date()) or local.time() < time(hour, minute):
            return False
        managers = self.cfg.escalation.manager_emails
        if not managers:
            return False
        digest = await self.render(now)
        out = self.cfg.outbound
        language = self.cfg.escalation.language
        try:
            async with self.store.session() as s, s.begin():
                if await s.get(Digest, local.date().isoformat()) is not None:
                    return False
                s.add(Digest(day=local.date().isoformat(), sent_at=now))
                await s.flush()  # the day's row first: a second instance stops here
                for address in managers:
                    message_id = new_message_id(out.from_address)
                    raw = build_report(
                        subject=digest.subject,
                        text=digest.text,
                        html=digest.html,
                        language=language,
                        to_address=address,
                        from_address=out.from_address,
                        from_name=out.from_name
                        or self.cfg.localized_organization(language)["name"],
                        message_id=message_id,
                        loop_header=self.cfg.loop_guard.header,
                        loop_value=out.from_address.lower(),
                        now=now,
                    )
                    s.add(
                        pending_mail(
                            message_id=message_id,
                            kind="digest",
                            mail_from=out.from_address,
                            recipient=address,
                            raw=raw,
                            now=now,
                        )
                    )
        except IntegrityError:
            return False
        log.info("digest: queued for %s manager(s)", len(managers))
        self.on_mail()
        return True
