"""The Slack connector: builds the Bolt app with its listeners, connects it by Socket
Mode or over the HTTP listener, and runs the sender of the Slack queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.config import Config
from bot.slack.listeners import actions, events, views
from bot.slack.render import SlackRenderer
from bot.slack.sender import SlackSender
from bot.staff_reply import StaffReplies
from bot.store.repo import Store
from bot.tasks import cancel_all
from bot.tickets import Tickets

log = logging.getLogger(__name__)


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads $SLACK_BOT_TOKEN by itself and then warns, at every start, that our client
    # wins; that client carries the same token, plus api_url.
    return not str(record.msg).startswith("As you gave `client` as well")


logging.getLogger("slack_bolt.AsyncApp").addFilter(_not_the_token_warning)


@dataclass
class Desk:
    """What the listeners need: the store and the ways a ticket can change."""

    cfg: Config
    store: Store
    clock: Clock
    tickets: Tickets
    replies: StaffReplies
    renderer: SlackRenderer
    enqueue_inbound: Callable[[int], None]
    wake: Callable[[], None]
    staff: set[str] = field(default_factory=set)
    bot_user_id: str | None = None

    def is_staff(self, user: str | None) -> bool:
        return bool(user) and user in self.staff


class SlackConnector:
    """connect / disconnect; listening is Bolt's, responding is the sender's."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        clock: Clock,
        tickets: Tickets,
        replies: StaffReplies,
        renderer: SlackRenderer,
        enqueue_inbound: Callable[[int], None],
        wake_outbox: Callable[[], None],
    ) -> None:
        slack = cfg.slack
        self.cfg = cfg
        self.client = AsyncWebClient(
            token=cfg.secret("slack.bot_token_env"),
            base_url=slack.api_url,
            timeout=int(slack.timeout_seconds),
        )
        self.sender = SlackSender(
            store,
            self.client,
            clock,
            renderer,
            triage_channel=slack.triage_channel,
            retry_initial=slack.retry_initial_seconds,
            retry_max=slack.retry_max_seconds,
        )
        self.desk = Desk(
            cfg=cfg,
            store=store,
            clock=clock,
            tickets=tickets,
            replies=replies,
            renderer=renderer,
            enqueue_inbound=enqueue_inbound,
            wake=lambda: (self.sender.wake(), wake_outbox()),
            staff=set(slack.staff_user_ids),
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=cfg.secret("slack.signing_secret_env") or "unused-in-socket-mode",
            # Slack hears "200" only once a message is committed, as SMTP hears 250; every
            # listener's work is a few milliseconds of store writes, well inside 3 s.
            process_before_response=True,
        )
        for listeners in (events, actions, views):
            listeners.register(self.app, self.desk)
        self._socket = None
        self._tasks: list[asyncio.Task] = []

    async def connect(self) -> None:
        """Start delivering the queue at once; learn who we are and who staff are in the
        background, so a Slack outage never delays the start (or the email path)."""
        self._tasks.append(asyncio.create_task(self.sender.run(), name="slack-sender"))
        self._tasks.append(asyncio.create_task(self._introduce(), name="slack-connect"))

    async def _introduce(self) -> None:
        delay = 1.0
        while True:
            try:
                auth = await self.client.auth_test()
                self.desk.bot_user_id = auth.get("user_id")
                await self._load_staff_group()
                break
            except (SlackApiError, OSError, TimeoutError) as exc:
                log.warning("slack: cannot reach Slack yet (%s); retrying", _reason(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300)
        if self.cfg.slack.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.cfg.secret("slack.app_token_env"))
            await self._socket.connect_async()
            log.info("slack: connected by Socket Mode")

    async def _load_staff_group(self) -> None:
        group = self.cfg.slack.staff_group
        if group:
            users = await self.client.usergroups_users_list(usergroup=group)
            self.desk.staff.update(users.get("users", []))

    async def disconnect(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()
        await cancel_all(self._tasks)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else None
        return str(error or exc.response.status_code)
    return repr(exc)
