"""The store's tables: raw inbound mail, tickets, their messages and events, and the
outbox of replies waiting to leave."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Inbound(Base):
    """Every message exactly as received: committed before the sender is told 250."""

    __tablename__ = "inbound"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    envelope_from: Mapped[str | None] = mapped_column(String(512))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # received -> done | duplicate | quarantined
    state: Mapped[str] = mapped_column(String(16), default="received", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("year", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    category: Mapped[str] = mapped_column(String(32))
    categories: Mapped[list] = mapped_column(JSON)
    request_types: Mapped[list] = mapped_column(JSON)
    deputy: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(512), index=True)
    sender_name: Mapped[str] = mapped_column(String(512), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The response clock: started at receipt (or at a reopening follow-up, or when the
    # documents of a disclosure request arrive), due by the target of its stage.
    clock_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(16), default="response")  # or "fulfilment"
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(512))
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(64))  # Slack user id
    # Where a Slack ticket was asked: answers go into that thread.
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32))
    # The ticket's post in the triage channel, once Slack has it.
    triage_ts: Mapped[str | None] = mapped_column(String(32))


class Message(Base):
    """A message on a ticket, inbound or outbound. Bodies are stored with My Numbers masked."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"), unique=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" or "out"
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    sender: Mapped[str] = mapped_column(String(512), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    auto_reply: Mapped[str | None] = mapped_column(String(16))  # "sent", "suppressed"
    suppressed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Outbox(Base):
    """A reply waiting to leave. Its Message-ID is fixed when the row is written, so a
    retry is the same mail, and one inbound message has at most one auto-reply."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"), unique=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "full", "followup", "acknowledgement"
    mail_from: Mapped[str] = mapped_column(String(512))
    recipient: Mapped[str] = mapped_column(String(512), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> sent | failed
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set while a worker delivers the row; a lease left by a dead worker expires.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlackPost(Base):
    """Something to say in Slack, kept until Slack has it: the triage post of a ticket
    (posted once, then updated in place), a line in its triage thread, or a message to a
    requester. `key` makes each one unique, so nothing is posted twice."""

    __tablename__ = "slack_posts"
    __table_args__ = (Index("ix_slack_posts_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "triage", "thread", "chat"
    channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # pending -> sent | failed. A triage row goes back to pending when its ticket
    # changes; `version` counts those changes so an update racing a send is not lost.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    version: Mapped[int] = mapped_column(Integer, default=1)
    sent_version: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    """One rung of the escalation ladder reached by one clock of one ticket. The unique
    key is what keeps the ladder from saying anything twice, across restarts too."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    step: Mapped[str] = mapped_column(String(16))  # "warning", "breach", "repeat"
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Digest(Base):
    """A digest sent for one business day; the unique day keeps it to one."""

    __tablename__ = "digests"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # local ISO date
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailboxState(Base):
    """How far an IMAP folder has been read: the last UID stored, valid for one
    UIDVALIDITY. A changed UIDVALIDITY means the UIDs start over."""

    __tablename__ = "mailbox_state"
    mailbox: Mapped[str] = mapped_column(String(512), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(Integer)
    last_uid: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Health(Base):
    """The last state each long-running part reported, for `inquiry-desk status`."""

    __tablename__ = "health"
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # "ok", "degraded", "unhealthy"
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
