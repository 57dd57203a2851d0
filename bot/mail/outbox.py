"""The durable outbox: replies are rows first and mail second. A delivery loop claims due
rows, hands them to the transport and records the outcome, backing off on 4xx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from bot.clock import Clock
from bot.mail.transport import PermanentError, TransientError, Transport
from bot.store.repo import Store
from bot.store.tables import Event, Outbox, Ticket

log = logging.getLogger(__name__)

# How long a claimed row is left alone by other workers while it is being delivered.
_LEASE = timedelta(minutes=2)
_BATCH = 20


def backoff(attempts: int, initial: float, maximum: float) -> timedelta:
    """Delay before attempt `attempts + 1`: doubling from `initial`, capped at `maximum`."""
    return timedelta(seconds=min(initial * 2 ** max(attempts - 1, 0), maximum))


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        clock: Clock,
        *,
        retry_initial: float,
        retry_max: float,
        give_up_after: timedelta,
        idle_poll: float = 1.0,
    ) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.give_up_after = give_up_after
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("outbox: delivery pass failed")
                delivered = 0
            if delivered:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll)
            self._wake.clear()

    async def _claim(self) -> list[Outbox]:
        """Take due rows for delivery. Each row is taken by a conditional UPDATE, so two
        workers (or processes) never take the same row, on SQLite as on PostgreSQL."""
        now = self.clock.now()
        async with self.store.session() as s, s.begin():
            rows = list(
                await s.scalars(
                    select(Outbox)
                    .where(
                        Outbox.state == "pending",
                        Outbox.next_attempt_at <= now,
                        or_(Outbox.leased_until.is_(None), Outbox.leased_until < now),
                    )
                    .order_by(Outbox.id)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            claimed = []
            for row in rows:
                lease = or_(Outbox.leased_until.is_(None), Outbox.leased_until < now)
                result = await s.execute(
                    update(Outbox)
                    .where(Outbox.id == row.id, Outbox.state == "pending", lease)
                    .values(leased_until=now + _LEASE)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    claimed.append(row)
            return claimed

    async def release_leases(self) -> None:
        """Free rows a dead worker had claimed. Only safe when no other process shares
        the store (SQLite); elsewhere leases simply expire."""
        async with self.store.session() as s, s.begin():
            await s.execute(
                update(Outbox).where(Outbox.leased_until.is_not(None)).values(leased_until=None)
            )

    async def deliver_due(self) -> int:
        """Deliver every due row once; returns how many rows were attempted."""
        rows = await self._claim()
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: Outbox) -> None:
        key = f"{row.id:08d}"
        try:
            await self.transport.deliver(key, row.mail_from, row.recipient, row.raw)
        except PermanentError as exc:
            await self._record(row, "failed", str(exc))
            log.warning("outbox: reply %s failed permanently: %s", row.id, exc)
        except TransientError as exc:
            await self._record(row, "retry", str(exc))
        else:
            await self._record(row, "sent", None)

    async def _record(self, claimed: Outbox, outcome: str, error: str | None) -> None:
        now = self.clock.now()
        async with self.store.session() as s, s.begin():
            row = await s.get(Outbox, claimed.id)
            assert row is not None
            row.attempts += 1
            row.last_error = error
            row.leased_until = None
            if outcome == "retry" and now - row.created_at >= self.give_up_after:
                outcome = "failed"
                row.last_error = f"gave up after {row.attempts} attempts: {error}"
            if outcome == "sent":
                row.state, row.sent_at = "sent", now
            elif outcome == "failed":
                row.state = "failed"
            else:
                row.next_attempt_at = now + backoff(
                    row.attempts, self.retry_initial, self.retry_max
                )
                log.info("outbox: reply %s deferred (attempt %s): %s", row.id, row.attempts, error)
            if row.ticket_id is not None and outcome in ("sent", "failed"):
                s.add(
                    Event(
                        ticket_id=row.ticket_id,
                        at=now,
                        kind=f"reply_{outcome}",
                        detail={"outbox_id": row.id, "error": row.last_error},
                    )
                )
                if outcome == "failed":
                    ticket = await s.get(Ticket, row.ticket_id)
                    log.warning("outbox: reply for %s failed", ticket.number if ticket else "?")
