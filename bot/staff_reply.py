"""A staff member's answer to a requester, written in Slack (the Reply modal or a
`reply:` line in the triage thread): sent through the outbox, threaded, and recorded as
the human answer that stops the ticket's clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.mail.mime import build_reply, new_message_id
from bot.mail.outbox import pending_mail
from bot.store.tables import Message, Ticket
from bot.tickets import Tickets
from responders.compose import ReplyKit, compose, reply_subject
from responders.models import Classification, Inquiry, Reply


class StaffReplies:
    def __init__(self, cfg: Config, kit: ReplyKit, tickets: Tickets) -> None:
        self.cfg = cfg
        self.kit = kit
        self.tickets = tickets

    async def _messages(self, s: AsyncSession, ticket: Ticket) -> list[Message]:
        return list(
            await s.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            )
        )

    async def draft(self, s: AsyncSession, ticket: Ticket) -> str:
        """The category's reply in the ticket's language: the modal's starting text."""
        first = next((m for m in await self._messages(s, ticket) if m.direction == "in"), None)
        inquiry = Inquiry(
            channel=ticket.channel,
            message_id=first.message_id if first else "",
            sender=ticket.sender,
            sender_name=ticket.sender_name,
            subject=ticket.subject,
            body=first.body if first else "",
            text=first.body if first else "",
        )
        cls = Classification(
            category=ticket.category,
            categories=tuple(ticket.categories),
            request_types=tuple(ticket.request_types),
            deputy=ticket.deputy,
            language=ticket.language,
            confidence=1.0,
            needs_human=False,
        )
        reply = compose(
            inquiry,
            cls,
            self.kit,
            ticket_number=ticket.number,
            due=self.tickets.promised_due(ticket).astimezone(self.tickets.calendar.tz),
            organization=self.cfg.localized_organization(ticket.language),
            medium="chat" if ticket.channel == "slack" else "email",
        )
        return reply.body

    async def send(
        self,
        s: AsyncSession,
        ticket: Ticket,
        text: str,
        *,
        user: str,
        via: str,
        now: datetime,
        wrap: bool,
    ) -> None:
        """Queue `text` to the requester and record the answer. `wrap` adds the greeting,
        ticket number and contact block around a short line from the triage thread."""
        if ticket.channel == "slack":
            await self._to_slack(s, ticket, text, now)
        else:
            await self._to_email(s, ticket, text, now, wrap=wrap)
        await self.tickets.answered(s, ticket, user, via, now)

    async def _to_slack(self, s: AsyncSession, ticket: Ticket, text: str, now: datetime) -> None:
        key = f"staff:{ticket.id}:{now.timestamp()}"
        await self.tickets.slack.to_requester(
            s,
            ticket,
            key,
            {"text": text, "language": ticket.language},
            now,
            channel=ticket.slack_channel or "",
            thread_ts=ticket.slack_thread_ts,
        )
        s.add(
            Message(
                ticket_id=ticket.id,
                direction="out",
                message_id=key,
                sender="staff",
                body=text,
                created_at=now,
            )
        )

    async def _to_email(
        self, s: AsyncSession, ticket: Ticket, text: str, now: datetime, *, wrap: bool
    ) -> None:
        language = ticket.language if ticket.language in ("en", "ja") else "en"
        env = self.kit.env
        organization = self.cfg.localized_organization(language)
        if wrap:
            text = env.get_template(f"email/{language}/staff_reply.txt.j2").render(
                text=text.strip(),
                sender_name=ticket.sender_name,
                ticket_number=ticket.number,
                org=organization,
            )
        fallback = env.get_template(f"email/{language}/subject_fallback.txt.j2").render().strip()
        reply = Reply(
            language=language,
            subject=reply_subject(ticket.subject, ticket.number, fallback),
            body=text.strip() + "\n",
            kind="staff",
        )
        thread = [m for m in await self._messages(s, ticket) if "@" in m.message_id]
        last_in = next((m for m in reversed(thread) if m.direction == "in"), None)
        out = self.cfg.outbound
        message_id = new_message_id(out.from_address)
        raw = build_reply(
            reply,
            to_address=ticket.sender,
            to_name=ticket.sender_name,
            from_address=out.from_address,
            from_name=out.from_name or organization["name"],
            message_id=message_id,
            in_reply_to=last_in.message_id if last_in else None,
            references=tuple(m.message_id for m in thread),
            loop_header=self.cfg.loop_guard.header,
            loop_value=out.from_address.lower(),
            now=now,
            auto=False,
        )
        s.add(
            pending_mail(
                ticket_id=ticket.id,
                message_id=message_id,
                kind="staff",
                mail_from=out.from_address,
                recipient=ticket.sender,
                raw=raw,
                now=now,
            )
        )
        s.add(
            Message(
                ticket_id=ticket.id,
                direction="out",
                message_id=message_id,
                sender=out.from_address,
                subject=reply.subject,
                body=reply.body,
                created_at=now,
            )
        )
