"""The durable outbox: replies are rows first and mail second. A delivery loop claims due
rows, hands them to the transport and records the outcome, backing off on 4xx."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.clock import Clock
from bot.mail.transport import PermanentError, TransientError, Transport
from bot.store.repo import Store, claim_due
from bot.store.tables import Event, Outbox, Ticket
from bot.tasks import wait_for_wake

log = logging.getLogger(__name__)

# How long a claimed row is left alone by other workers while it is being delivered.
_LEASE = timedelta(minutes=2)
_BATCH = 20


def backoff(attempts: int, initial: float, maximum: float) -> timedelta:
    """Delay before attempt `attempts + 1`: doubling from `initial`, capped at `maximum`."""
    return timedelta(seconds=min(initial * 2 ** max(attempts - 1, 0), maximum))


def pending_mail(
    *,
    kind: str,
    mail_from: str,
    recipient: str,
    raw: bytes,
    message_id: str,
    now,
    ticket_id: int | None = None,
    inbound_id: int | None = None,
) -> Outbox:
    """A new outbox row, due at once; every kind of mail is queued through this."""
    return Outbox(
        ticket_id=ticket_id,
        inbound_id=inbound_id,
        message_id=message_id,
        kind=kind,
        mail_from=mail_from,
        recipient=recipient,
        raw=raw,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


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
            await wait_for_wake(self._wake, self.idle_poll)

    async def _claim(self) -> list[Outbox]:
        return await claim_due(self.store, Outbox, self.clock.now(), _LEASE, _BATCH)

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
