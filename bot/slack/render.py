"""Gathers what a Slack message shows from the store (the ticket, its latest message
redacted) and has responders/slack render it in the staff's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import jinja2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import Message, SlackPost, Ticket
from responders import slack as words
from responders.redact import mask_address, redact
from responders.text import strip_quoted


class SlackRenderer:
    def __init__(
        self,
        env: jinja2.Environment,
        slack_cfg,
        organization: Callable[[str], dict],
        tz,
        now: Callable[[], datetime],
    ) -> None:
        self.env = env
        self.cfg = slack_cfg
        self.language = slack_cfg.staff_language
        self.organization = organization
        self.tz = tz
        self.now = now
        self._numbers: dict[int, str] = {}

    async def excerpt(self, s: AsyncSession, ticket: Ticket) -> str | None:
        """The requester's latest words, personal data masked; never the raw text."""
        if self.cfg.include_text != "redacted":
            return None
        body = await s.scalar(
            select(Message.body)
            .where(Message.ticket_id == ticket.id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(1)
        )
        if not body:
            return None
        text = redact(strip_quoted(body), sender=ticket.sender).strip()
        limit = self.cfg.excerpt_chars
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    def sender(self, ticket: Ticket) -> str:
        return mask_address(ticket.sender) if "@" in ticket.sender else f"<@{ticket.sender}>"

    async def triage(self, s: AsyncSession, ticket: Ticket) -> tuple[str, list]:
        view = {
            "id": ticket.id,
            "number": ticket.number,
            "category": ticket.category,
            "categories": ticket.categories,
            "request_types": ticket.request_types,
            "deputy": ticket.deputy,
            "confidence": ticket.confidence,
            "needs_human": ticket.needs_human,
            "reasons": [redact(r) for r in ticket.reasons],
            "channel": ticket.channel,
            "sender": self.sender(ticket),
            "due": ticket.due_at.astimezone(self.tz),
            "status": ticket.status,
            "stage": ticket.stage,
            "overdue": ticket.overdue,
            "assignee": ticket.assignee,
            "excerpt": await self.excerpt(s, ticket),
        }
        return words.triage_message(self.env, self.language, view)

    async def line(self, s: AsyncSession, ticket: Ticket, payload: dict) -> str:
        context = dict(payload.get("context", {}))
        context.setdefault("number", ticket.number)
        context["mention"] = self.mention(ticket, context.get("mention"))
        return words.thread_line(self.env, self.language, payload["template"], context)

    def mention(self, ticket: Ticket, whom: str | None) -> str:
        """Who a ladder line calls: the assignee, the staff group, or the managers."""
        if whom == "managers" and self.cfg.manager_group:
            return f"<!subteam^{self.cfg.manager_group}>"
        if whom in ("assignee", "managers") and ticket.assignee:
            return f"<@{ticket.assignee}>"
        if whom and self.cfg.staff_group:
            return f"<!subteam^{self.cfg.staff_group}>"
        if whom and self.cfg.staff_user_ids:
            return " ".join(f"<@{u}>" for u in self.cfg.staff_user_ids)
        return ""

    def chat(self, ticket_id: int | None, payload: dict) -> tuple[str, list | None]:
        if "text" in payload:
            return payload["text"], None
        language = payload.get("language", "en")
        context = {"org": self.organization(language), **payload.get("context", {})}
        text = words.chat_notice(self.env, language, payload["template"], **context)
        if payload["template"] != "pii_public":
            return text, None
        label = words.chat_notice(self.env, language, "pii_public_button", **context)
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "continue_dm",
                        "value": str(ticket_id),
                        "text": {"type": "plain_text", "text": label[:75]},
                    }
                ],
            },
        ]
        return text, blocks

    def form(self, row: SlackPost, payload: dict, form_id: str) -> tuple[str, str, str]:
        """(title, file name, content) of one request form for the requester."""
        language = payload.get("language", "en")
        number = payload.get("ticket_number", "")
        content = self.env.get_template(f"forms/{language}/{form_id}.txt.j2").render(
            org=self.organization(language),
            ticket_number=number,
            today=self.now().astimezone(self.tz).date(),
        )
        title = next((ln.strip() for ln in content.splitlines() if ln.strip()), form_id)
        return title, f"{number or 'form'}-{form_id}.txt", content
