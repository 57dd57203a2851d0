"""Delivers the Slack queue: claims due rows, posts or updates them, stores each
message's ts at once (so a restart never posts twice), honours 429 Retry-After and
backs off when Slack is down, without ever holding up the email path."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import case, select, update

from bot.clock import Clock
from bot.mail.outbox import backoff
from bot.slack.render import SlackRenderer
from bot.store.repo import Store, claim_due
from bot.store.tables import Message, SlackPost, Ticket
from bot.tasks import wait_for_wake

log = logging.getLogger(__name__)

_LEASE = timedelta(minutes=2)
_BATCH = 20
# Errors a retry cannot mend: the row is marked failed and the reason kept.
_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "invalid_arguments",
    }
)
# Token trouble: nothing will work until the operator fixes it, so keep trying, slowly.
_AUTH = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})


class Later(Exception):
    """Not yet: try again after `seconds`, without counting an attempt."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class SlackSender:
    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        clock: Clock,
        renderer: SlackRenderer,
        *,
        triage_channel: str,
        retry_initial: float,
        retry_max: float,
        idle_poll: float = 1.0,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.renderer = renderer
        self.triage_channel = triage_channel
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self.auth_failed: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("slack: delivery pass failed")
                sent = 0
            if sent:
                continue
            await wait_for_wake(self._wake, self.idle_poll)

    async def deliver_due(self) -> int:
        rows = await claim_due(self.store, SlackPost, self.clock.now(), _LEASE, _BATCH)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: SlackPost) -> None:
        try:
            if row.kind == "triage":
                await self._triage(row)
            elif row.kind == "thread":
                await self._thread(row)
            else:
                await self._chat(row)
        except Later as later:
            await self._defer(row, timedelta(seconds=later.seconds), count=False, error=None)
        except SlackApiError as exc:
            await self._failed_call(row, exc)
        except (aiohttp.ClientError, TimeoutError, OSError, SlackRequestError) as exc:
            # SlackRequestError here is files.slack.com refusing the bytes of a form.
            delay = backoff(row.attempts + 1, self.retry_initial, self.retry_max)
            await self._defer(row, delay, count=True, error=f"Slack unreachable: {exc!r}")
        except Exception as exc:
            # A bug or bad data in one row must not stop the others.
            log.exception("slack: row %s failed", row.id)
            await self._finish(row, "failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self.auth_failed = None
            await self._finish(row, "sent")

    async def _failed_call(self, row: SlackPost, exc: SlackApiError) -> None:
        response = exc.response
        error = response.get("error") if isinstance(response.data, dict) else None
        if response.status_code == 429:
            retry_after = float(
                response.headers.get("Retry-After", response.headers.get("retry-after", 1))
            )
            log.info("slack: rate limited, row %s waits %.0f s", row.id, retry_after)
            await self._defer(row, timedelta(seconds=retry_after), count=False, error="429")
        elif error in _PERMANENT:
            log.warning("slack: row %s (%s) refused: %s", row.id, row.key, error)
            await self._finish(row, "failed", error=error)
        else:
            if error in _AUTH:
                self.auth_failed = error
                log.error("slack: the bot token is refused (%s); posts wait", error)
            delay = backoff(row.attempts + 1, self.retry_initial, self.retry_max)
            reason = error or f"HTTP {response.status_code}"
            await self._defer(row, delay, count=True, error=reason)

    # -- the three kinds of row --------------------------------------------------------

    async def _triage(self, row: SlackPost) -> None:
        async with self.store.session() as s:
            ticket = await s.get(Ticket, row.ticket_id)
            assert ticket is not None
            text, blocks = await self.renderer.triage(s, ticket)
        if ticket.triage_ts is None:
            response = await self.client.chat_postMessage(
                channel=self.triage_channel, text=text, blocks=blocks, unfurl_links=False
            )
            await self._remember_triage_ts(row, ticket.id, response["ts"])
        else:
            await self.client.chat_update(
                channel=self.triage_channel, ts=ticket.triage_ts, text=text, blocks=blocks
            )

    async def _remember_triage_ts(self, row: SlackPost, ticket_id: int, ts: str) -> None:
        # Committed before anything else: after a crash the post is updated, not repeated.
        async with self.store.session() as s, s.begin():
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.triage_ts = ts
            await s.execute(update(SlackPost).where(SlackPost.id == row.id).values(ts=ts))

    async def _thread(self, row: SlackPost) -> None:
        async with self.store.session() as s:
            ticket = await s.get(Ticket, row.ticket_id)
            assert ticket is not None
            if ticket.triage_ts is None:
                raise Later(2)  # the triage post goes first
            text = await self.renderer.line(s, ticket, row.payload)
        response = await self.client.chat_postMessage(
            channel=self.triage_channel, thread_ts=ticket.triage_ts, text=text
        )
        await self._remember_ts(row, response["ts"])

    async def _chat(self, row: SlackPost) -> None:
        """An answer in the requester's thread, then its forms, one file at a time; each
        step is recorded as it succeeds, so a retry resumes where it stopped."""
        payload = dict(row.payload)
        if row.ts is None:
            text, blocks = self.renderer.chat(row.ticket_id, payload)
            response = await self.client.chat_postMessage(
                channel=row.channel,
                thread_ts=row.thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            row.ts = response["ts"]
            await self._remember_ts(row, row.ts)
            await self._link_message(row)
        uploaded = list(payload.get("uploaded", []))
        for form in payload.get("forms", []):
            if form in uploaded:
                continue
            title, filename, content = self.renderer.form(row, payload, form)
            await self.client.files_upload_v2(
                channel=row.channel,
                thread_ts=row.thread_ts or row.ts,
                content=content.encode(),
                filename=filename,
                title=title,
            )
            uploaded.append(form)
            payload["uploaded"] = uploaded
            async with self.store.session() as s, s.begin():
                await s.execute(
                    update(SlackPost).where(SlackPost.id == row.id).values(payload=dict(payload))
                )

    async def _remember_ts(self, row: SlackPost, ts: str) -> None:
        async with self.store.session() as s, s.begin():
            await s.execute(update(SlackPost).where(SlackPost.id == row.id).values(ts=ts))

    async def _link_message(self, row: SlackPost) -> None:
        """A bot message that starts a new thread (a DM) is stored under its Slack id, so
        the requester's replies in that thread land on the ticket."""
        if row.thread_ts is not None or row.ticket_id is None:
            return
        message_id = f"slack:{row.channel}:{row.ts}"
        async with self.store.session() as s, s.begin():
            seen = await s.scalar(select(Message.id).where(Message.message_id == message_id))
            if seen is None:
                s.add(
                    Message(
                        ticket_id=row.ticket_id,
                        direction="out",
                        message_id=message_id,
                        sender="bot",
                        created_at=self.clock.now(),
                    )
                )

    # -- outcomes ----------------------------------------------------------------------

    async def _finish(self, claimed: SlackPost, outcome: str, error: str | None = None) -> None:
        now = self.clock.now()
        async with self.store.session() as s, s.begin():
            values: dict = {"leased_until": None, "last_error": error}
            if outcome == "sent":
                # A triage row touched while it was being sent stays pending: the newer
                # state still has to reach Slack.
                values["state"] = case(
                    (SlackPost.version == claimed.version, "sent"), else_="pending"
                )
                values["sent_version"] = claimed.version
                values["sent_at"] = now
                values["attempts"] = SlackPost.attempts + 1
            else:
                values["state"] = "failed"
                values["attempts"] = SlackPost.attempts + 1
            await s.execute(update(SlackPost).where(SlackPost.id == claimed.id).values(**values))

    async def _defer(
        self, claimed: SlackPost, delay: timedelta, *, count: bool, error: str | None
    ) -> None:
        now: datetime = self.clock.now()
        async with self.store.session() as s, s.begin():
            values: dict = {
                "leased_until": None,
                "next_attempt_at": now + delay,
                "last_error": error,
            }
            if count:
                values["attempts"] = SlackPost.attempts + 1
            await s.execute(update(SlackPost).where(SlackPost.id == claimed.id).values(**values))
