"""The store: one async SQLAlchemy engine and the few queries more than one module needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, or_, select, true, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bot.store.tables import Base, Health, Inbound, MailboxState, Outbox, Ticket


class Store:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        self.engine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def save_inbound(
        self,
        raw: bytes,
        *,
        channel: str,
        envelope_from: str | None,
        recipients: list[str],
        now: datetime,
    ) -> int:
        """Commit the raw message; only then may the sender be told it was accepted."""
        async with self.session() as s, s.begin():
            row = Inbound(
                channel=channel,
                raw=raw,
                envelope_from=envelope_from,
                recipients=recipients,
                received_at=now,
                state="received",
            )
            s.add(row)
            await s.flush()
            return row.id

    async def mailbox_state(self, mailbox: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last stored UID) of an IMAP folder, or None on first sight."""
        async with self.session() as s:
            row = await s.get(MailboxState, mailbox)
            return (row.uidvalidity, row.last_uid) if row else None

    async def save_mailbox_state(
        self, mailbox: str, uidvalidity: int, last_uid: int, now: datetime
    ) -> None:
        async with self.session() as s, s.begin():
            row = await s.get(MailboxState, mailbox)
            if row is None:
                s.add(
                    MailboxState(
                        mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now
                    )
                )
            else:
                row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, now

    async def report_health(self, component: str, state: str, detail: str, now: datetime) -> None:
        async with self.session() as s, s.begin():
            row = await s.get(Health, component)
            if row is None:
                s.add(Health(component=component, state=state, detail=detail, updated_at=now))
            else:
                row.state, row.detail, row.updated_at = state, detail, now

    async def health(self) -> list[Health]:
        async with self.session() as s:
            return list(await s.scalars(select(Health).order_by(Health.component)))

    async def unprocessed_inbound(self) -> list[int]:
        async with self.session() as s:
            rows = await s.scalars(
                select(Inbound.id).where(Inbound.state == "received").order_by(Inbound.id)
            )
            return list(rows)

    async def tickets(
        self, limit: int = 50, overdue_at: datetime | None = None
    ) -> list[tuple[Ticket, int]]:
        """Newest tickets (only those open past their due time at `overdue_at`, when
        given), each with its number of failed outbox rows."""
        failed = (
            select(Outbox.ticket_id, func.count().label("n"))
            .where(Outbox.state == "failed")
            .group_by(Outbox.ticket_id)
            .subquery()
        )
        async with self.session() as s:
            result = await s.execute(
                select(Ticket, func.coalesce(failed.c.n, 0))
                .outerjoin(failed, failed.c.ticket_id == Ticket.id)
                .where(
                    (Ticket.status == "open") & (Ticket.due_at <= overdue_at)
                    if overdue_at is not None
                    else true()
                )
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
            return [(t, int(n)) for t, n in result.all()]


async def claim_due(store: Store, model, now: datetime, lease: timedelta, batch: int) -> list:
    """Take due rows of a queue table (the outbox, the Slack queue) for delivery. Each row
    is taken by a conditional UPDATE of its lease, so two workers (or processes) never
    take the same row, on SQLite as on PostgreSQL."""
    free = or_(model.leased_until.is_(None), model.leased_until < now)
    async with store.session() as s, s.begin():
        rows = list(
            await s.scalars(
                select(model)
                .where(model.state == "pending", model.next_attempt_at <= now, free)
                .order_by(model.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        claimed = []
        for row in rows:
            result = await s.execute(
                update(model)
                .where(model.id == row.id, model.state == "pending", free)
                .values(leased_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(row)
        return claimed


async def release_leases(store: Store, model) -> None:
    """Free queue rows a dead worker had claimed. Only safe when no other process shares
    the store (SQLite); elsewhere leases simply expire."""
    async with store.session() as s, s.begin():
        await s.execute(
            update(model).where(model.leased_until.is_not(None)).values(leased_until=None)
        )


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the CLI read while the service writes; FULL sync because a 250 promises
    # the message survives a power cut.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
