"""The store: one async SQLAlchemy engine and the few queries more than one module needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, func, select
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

    async def tickets(self, limit: int = 50) -> list[tuple[Ticket, int]]:
        """Newest tickets, each with its number of failed outbox rows."""
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
                .order_by(Ticket.id.desc())
                .limit(limit)
            )
            return [(t, int(n)) for t, n in result.all()]


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the CLI read while the service writes; FULL sync because a 250 promises
    # the message survives a power cut.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
