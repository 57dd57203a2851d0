"""The intake pipeline: an ordered list of small named steps that turn one stored raw
message into a ticket, a message, events and (when allowed) one queued reply.

All steps of one message run in one transaction, committed at the end, so a crash at any
point leaves the message 'received' and the next start processes it again from the top.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Config
from bot.mail.loopguard import Verdict, can_acknowledge
from bot.mail.mime import build_reply, new_message_id
from bot.mail.outbox import pending_mail
from bot.mail.parse import parse_message
from bot.slack.parse import is_direct, parse_event, slack_place
from bot.store.repo import Store
from bot.store.tables import Event, Inbound, Message, Outbox, SlackPost, Ticket
from bot.tickets import Tickets
from responders.classify import classify
from responders.compose import ReplyKit, compose, forms_for
from responders.lexicon import Lexicon
from responders.models import Classification, Inquiry, Reply
from responders.redact import find_my_numbers, find_pii, mask_my_numbers

log = logging.getLogger(__name__)

_TICKET_TAG = re.compile(r"\[(INQ-(\d{4})-(\d{6}))\]")


@dataclass
class Context:
    """What the steps know about one message so far."""

    session: AsyncSession
    inbound: Inbound
    now: datetime
    inquiry: Inquiry | None = None
    staff: bool = False  # written by staff: an answer to a ticket, never answered itself
    my_number: bool = False
    pii_in_public: bool = False  # personal details asked about in a public Slack channel
    duplicate_of: int | None = None
    verdict: Verdict | None = None
    ticket: Ticket | None = None
    followup: bool = False
    classification: Classification | None = None
    message: Message | None = None
    reply: Reply | None = None
    notes: list[str] = field(default_factory=list)
    done: str | None = None  # set by a step that ends the pipeline early: the final state


Step = Callable[["Intake", Context], Awaitable[None]]


class Intake:
    def __init__(
        self,
        store: Store,
        cfg: Config,
        lexicon: Lexicon,
        kit: ReplyKit,
        clock: Clock,
        tickets: Tickets,
        on_reply: Callable[[], None] = lambda: None,
        on_slack: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.lexicon = lexicon
        self.kit = kit
        self.clock = clock
        self.tickets = tickets
        self.on_reply = on_reply
        self.on_slack = on_slack
        self.staff_users = frozenset(cfg.slack.staff_user_ids)
        self.loop_value = cfg.outbound.from_address.lower()

    # -- steps, in order ------------------------------------------------------------

    async def parse(self, ctx: Context) -> None:
        raw = ctx.inbound.raw or b""
        if ctx.inbound.channel == "slack":
            inquiry = parse_event(raw)
            ctx.staff = inquiry.sender in self.staff_users
            # A public channel shows the message to everyone: such a writer is asked to
            # move to a DM or email.
            ctx.pii_in_public = not is_direct(inquiry) and bool(find_pii(inquiry.body))
        else:
            inquiry = parse_message(
                raw, envelope_from=ctx.inbound.envelope_from, received_at=ctx.inbound.received_at
            )
            domain = inquiry.sender.rpartition("@")[2]
            ctx.staff = ctx.inbound.channel == "imap-sent" or domain in self.cfg.staff_domains
        if find_my_numbers(f"{inquiry.subject}\n{inquiry.body}"):
            ctx.my_number = True
            ctx.inbound.raw = (
                _masked_raw(raw)
                if ctx.inbound.channel != "slack"
                else mask_my_numbers(raw.decode()).encode()
            )
        ctx.inquiry = inquiry

    async def dedupe(self, ctx: Context) -> None:
        assert ctx.inquiry is not None
        seen = await ctx.session.scalar(
            select(Message.id).where(Message.message_id == ctx.inquiry.message_id)
        )
        if seen is not None:
            ctx.duplicate_of = seen
            ctx.done = "duplicate"

    async def loop_guard(self, ctx: Context) -> None:
        assert ctx.inquiry is not None
        since = ctx.now - timedelta(days=1)
        if ctx.inquiry.channel == "slack":
            replies_today = await ctx.session.scalar(
                select(func.count(SlackPost.id))
                .join(Ticket, Ticket.id == SlackPost.ticket_id)
                .where(
                    SlackPost.kind == "chat",
                    Ticket.sender == ctx.inquiry.sender,
                    SlackPost.created_at > since,
                )
            )
        else:
            replies_today = await ctx.session.scalar(
                select(func.count(Outbox.id)).where(
                    Outbox.recipient == ctx.inquiry.sender,
                    Outbox.created_at > since,
                    Outbox.kind != "staff",  # people's answers are no auto-replies
                )
            )
        ctx.verdict = can_acknowledge(
            ctx.inquiry,
            own_addresses=self.cfg.own_addresses,
            loop_header=self.cfg.loop_guard.header,
            loop_value=self.loop_value,
            replies_today=replies_today or 0,
            max_replies_per_day=self.cfg.loop_guard.max_replies_per_sender_per_day,
        )

    async def thread(self, ctx: Context) -> None:
        inquiry = ctx.inquiry
        assert inquiry is not None
        tag = _TICKET_TAG.search(inquiry.subject)
        if tag:
            ticket = await ctx.session.scalar(select(Ticket).where(Ticket.number == tag[1]))
            if ticket is not None and (ticket.sender == inquiry.sender or ctx.staff):
                ctx.ticket, ctx.followup = ticket, True
                return
            if ticket is not None:
                ctx.notes.append(f"subject names {tag[1]}, but the sender differs")
        ids = [i for i in (inquiry.in_reply_to, *inquiry.references) if i]
        if ids:
            ticket_id = await ctx.session.scalar(
                select(Message.ticket_id)
                .where(Message.message_id.in_(ids), Message.ticket_id.is_not(None))
                .order_by(Message.id.desc())
                .limit(1)
            )
            if ticket_id is not None:
                ctx.ticket = await ctx.session.get(Ticket, ticket_id)
                ctx.followup = True

    async def staff_answer(self, ctx: Context) -> None:
        """Staff mail on a ticket is a human answer: it stops the clock, gets no reply."""
        if not ctx.staff:
            return
        inquiry = ctx.inquiry
        assert inquiry is not None
        ctx.done = "done"
        if ctx.ticket is None:
            ctx.inbound.reason = "staff mail that threads onto no ticket"
            return
        ticket = ctx.ticket
        via = "slack" if inquiry.channel == "slack" else "email"
        await self.tickets.answered(ctx.session, ticket, inquiry.sender, via, ctx.now)
        ctx.session.add(
            Message(
                ticket_id=ticket.id,
                inbound_id=ctx.inbound.id,
                direction="out",
                message_id=inquiry.message_id,
                sender=inquiry.sender,
                subject=inquiry.subject,
                body=mask_my_numbers(inquiry.body),
                created_at=ctx.now,
            )
        )
        log.info("intake: %s answered by staff (%s)", ticket.number, via)

    async def classify(self, ctx: Context) -> None:
        assert ctx.inquiry is not None
        cls = classify(
            ctx.inquiry,
            self.lexicon,
            needs_human_threshold=self.cfg.classifier.needs_human_threshold,
        )
        if ctx.verdict is not None and not ctx.verdict.ok and not ctx.followup:
            # Mail we may not answer still reaches staff, flagged for a human look.
            cls = replace(
                cls,
                needs_human=True,
                reasons=(*cls.reasons, f"no auto-reply: {ctx.verdict.reason}"),
            )
        ctx.classification = cls

    async def store(self, ctx: Context) -> None:
        inquiry, cls = ctx.inquiry, ctx.classification
        assert inquiry is not None and cls is not None
        s = ctx.session
        if ctx.ticket is None:
            ctx.ticket = await self._open_ticket(s, inquiry, cls, ctx.now)
            kind = "opened"
        else:
            kind = "followup"
            if ctx.ticket.status != "open":
                await self.tickets.reopen(s, ctx.ticket, ctx.now)
        body = mask_my_numbers(inquiry.body) if ctx.my_number else inquiry.body
        ctx.message = Message(
            ticket_id=ctx.ticket.id,
            inbound_id=ctx.inbound.id,
            direction="in",
            message_id=inquiry.message_id,
            sender=inquiry.sender,
            subject=mask_my_numbers(inquiry.subject),
            body=body,
            attachments=[vars(a) for a in inquiry.attachments],
            created_at=ctx.now,
        )
        s.add(ctx.message)
        detail: dict = {"message_id": inquiry.message_id, "notes": ctx.notes}
        if kind == "opened":
            detail["classification"] = cls.as_dict()
        if ctx.my_number:
            detail["my_number_masked"] = True
        if kind == "opened":
            await self.tickets.opened(s, ctx.ticket, ctx.now, detail)
        else:
            await self.tickets.followup(s, ctx.ticket, ctx.now, detail)

    async def compose(self, ctx: Context) -> None:
        inquiry, cls, ticket, message = ctx.inquiry, ctx.classification, ctx.ticket, ctx.message
        assert inquiry and cls and ticket and message and ctx.verdict is not None
        if not ctx.verdict.ok:
            message.auto_reply, message.suppressed_reason = "suppressed", ctx.verdict.reason
            ctx.session.add(
                Event(
                    ticket_id=ticket.id,
                    at=ctx.now,
                    kind="no_auto_reply",
                    detail={"reason": ctx.verdict.reason},
                )
            )
            return
        if ctx.followup:
            # A follow-up gets a short note in the ticket's language, never the full mail.
            cls = replace(cls, language=ticket.language, needs_human=False)
        ctx.reply = compose(
            inquiry,
            cls,
            self.kit,
            ticket_number=ticket.number,
            due=self.tickets.promised_due(ticket).astimezone(_tz(self.cfg)),
            organization=self.cfg.localized_organization(cls.language),
            kind="followup" if ctx.followup else "full",
            my_number_found=ctx.my_number,
            medium="chat" if inquiry.channel == "slack" else "email",
        )

    async def enqueue(self, ctx: Context) -> None:
        if ctx.reply is None:
            return
        inquiry, ticket, message = ctx.inquiry, ctx.ticket, ctx.message
        assert inquiry and ticket and message
        if inquiry.channel == "slack":
            await self._enqueue_chat(ctx)
            return
        out = self.cfg.outbound
        organization = self.cfg.localized_organization(ctx.reply.language)
        message_id = new_message_id(out.from_address)
        raw = build_reply(
            ctx.reply,
            to_address=inquiry.sender,
            to_name=inquiry.sender_name,
            from_address=out.from_address,
            from_name=out.from_name or organization["name"],
            message_id=message_id,
            in_reply_to=inquiry.message_id,
            references=inquiry.references,
            loop_header=self.cfg.loop_guard.header,
            loop_value=self.loop_value,
            now=ctx.now,
        )
        s = ctx.session
        s.add(
            pending_mail(
                ticket_id=ticket.id,
                inbound_id=ctx.inbound.id,
                message_id=message_id,
                kind=ctx.reply.kind,
                mail_from=out.from_address,
                recipient=inquiry.sender,
                raw=raw,
                now=ctx.now,
            )
        )
        s.add(
            Message(
                ticket_id=ticket.id,
                direction="out",
                message_id=message_id,
                sender=out.from_address,
                subject=ctx.reply.subject,
                body=ctx.reply.body,
                created_at=ctx.now,
            )
        )
        message.auto_reply = "sent"
        s.add(
            Event(
                ticket_id=ticket.id,
                at=ctx.now,
                kind="auto_reply_queued",
                detail={"kind": ctx.reply.kind, "message_id": message_id},
            )
        )

    async def _enqueue_chat(self, ctx: Context) -> None:
        """The answer goes into the asker's Slack thread, with the forms as files."""
        inquiry, ticket, message, reply, cls = (
            ctx.inquiry,
            ctx.ticket,
            ctx.message,
            ctx.reply,
            ctx.classification,
        )
        assert inquiry and ticket and message and reply and cls
        channel, thread_ts = slack_place(inquiry)
        forms = [] if ctx.followup or cls.needs_human else forms_for(cls, self.kit)
        payload = {
            "text": reply.body,
            "forms": forms,
            "language": reply.language,
            "ticket_number": ticket.number,
        }
        slack = self.tickets.slack
        await slack.to_requester(
            ctx.session,
            ticket,
            f"answer:{inquiry.message_id}",
            payload,
            ctx.now,
            channel=channel,
            thread_ts=thread_ts,
        )
        if ctx.pii_in_public:
            await slack.to_requester(
                ctx.session,
                ticket,
                f"pii:{inquiry.message_id}",
                {
                    "template": "pii_public",
                    "language": reply.language,
                    "context": {"ticket_number": ticket.number},
                },
                ctx.now,
                channel=channel,
                thread_ts=thread_ts,
            )
        ctx.session.add(
            Message(
                ticket_id=ticket.id,
                direction="out",
                message_id=f"answer:{inquiry.message_id}",
                sender="bot",
                subject="",
                body=reply.body,
                created_at=ctx.now,
            )
        )
        message.auto_reply = "sent"
        ctx.session.add(
            Event(
                ticket_id=ticket.id,
                at=ctx.now,
                kind="auto_reply_queued",
                detail={"kind": reply.kind, "channel": "slack"},
            )
        )

    STEPS: tuple[Step, ...] = (
        parse,
        dedupe,
        loop_guard,
        thread,
        staff_answer,
        classify,
        store,
        compose,
        enqueue,
    )

    # -- running ----------------------------------------------------------------------

    async def process(self, inbound_id: int) -> str | None:
        """Run every step for one stored message; returns its final state."""
        for attempt in range(3):
            try:
                return await self._run(inbound_id)
            except IntegrityError:
                # Another worker took the same ticket number or Message-ID first: the
                # next attempt sees its row (dedupe, or the next free number).
                if attempt == 2:
                    raise
        return None

    async def _run(self, inbound_id: int) -> str | None:
        async with self.store.session() as s:
            try:
                async with s.begin():
                    inbound = await s.get(Inbound, inbound_id, with_for_update=True)
                    if inbound is None or inbound.state != "received":
                        return None
                    ctx = Context(session=s, inbound=inbound, now=self.clock.now())
                    for step in self.STEPS:
                        await step(self, ctx)
                        if ctx.done:
                            break
                    inbound.state = ctx.done or "done"
                    inbound.processed_at = ctx.now
                    if ctx.inquiry is not None:
                        inbound.message_id = ctx.inquiry.message_id
                    if ctx.done == "duplicate":
                        inbound.reason = f"same Message-ID as message {ctx.duplicate_of}"
            except SQLAlchemyError:
                raise  # the store's trouble, not the message's: retried, not quarantined
            except Exception as exc:
                await self._quarantine(inbound_id, f"{type(exc).__name__}: {exc}")
                log.exception("intake: message %s quarantined", inbound_id)
                return "quarantined"
        if ctx.ticket is not None and ctx.classification is not None:
            log.info(
                "intake: message %s -> %s (%s%s)",
                inbound_id,
                ctx.ticket.number,
                "follow-up" if ctx.followup else ctx.classification.category,
                "" if ctx.reply else ", no auto-reply",
            )
        if ctx.reply is not None:
            self.on_reply()
        self.on_slack()
        return inbound.state

    async def _quarantine(self, inbound_id: int, reason: str) -> None:
        async with self.store.session() as s, s.begin():
            inbound = await s.get(Inbound, inbound_id)
            if inbound is not None:
                inbound.state, inbound.reason = "quarantined", reason[:2000]
                inbound.processed_at = self.clock.now()

    async def _open_ticket(
        self, s: AsyncSession, inquiry: Inquiry, cls: Classification, now: datetime
    ) -> Ticket:
        tz = _tz(self.cfg)
        year = now.astimezone(tz).year
        seq = (await s.scalar(select(func.max(Ticket.seq)).where(Ticket.year == year)) or 0) + 1
        ticket = Ticket(
            number=f"INQ-{year}-{seq:06d}",
            year=year,
            seq=seq,
            status="open",
            category=cls.category,
            categories=list(cls.categories),
            request_types=list(cls.request_types),
            deputy=cls.deputy,
            language=cls.language,
            confidence=cls.confidence,
            needs_human=cls.needs_human,
            reasons=list(cls.reasons),
            channel=inquiry.channel,
            sender=inquiry.sender,
            sender_name=inquiry.sender_name,
            subject=mask_my_numbers(inquiry.subject),
            created_at=now,
            stage="response",
            overdue=False,
        )
        if inquiry.channel == "slack":
            ticket.slack_channel, ticket.slack_thread_ts = slack_place(inquiry)
        self.tickets.start_clock(ticket, now)
        s.add(ticket)
        await s.flush()
        return ticket


def _tz(cfg: Config) -> ZoneInfo:
    return ZoneInfo(cfg.sla.timezone)


def _masked_raw(raw: bytes) -> bytes | None:
    """The raw message with literal My Numbers masked, or None when one survives in an
    encoded part: then the raw copy is not kept at all, only the masked text."""
    masked = mask_my_numbers(raw.decode("latin-1")).encode("latin-1")
    check = parse_message(masked)
    if find_my_numbers(f"{check.subject}\n{check.body}"):
        return None
    return masked
