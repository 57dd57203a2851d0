"""Wires the parts together and runs them: the store, the intake workers, the SMTP
receiver, IMAP, the outbox, Slack, the HTTP listener and the scheduler. Work left
half-done by a crash is picked up at start."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.http import bound_port, make_http_app, start_http
from bot.intake import Intake
from bot.mail.imap import FolderWatch, ImapWatcher
from bot.mail.outbox import OutboxWorker
from bot.mail.receiver import IntakeHandler, start_receiver
from bot.mail.transport import Transport, make_transport
from bot.resources import load_lexicon, load_reply_kit
from bot.sla.calendar import BusinessCalendar
from bot.sla.digest import DigestMaker
from bot.sla.escalation import Ladder
from bot.sla.scheduler import JobsInFlight, make_scheduler
from bot.slack.queue import SlackQueue
from bot.slack.render import SlackRenderer
from bot.staff_reply import StaffReplies
from bot.store.repo import Store, release_leases
from bot.store.tables import Outbox, SlackPost
from bot.tasks import cancel_all, honour_swallowed_cancel
from bot.tickets import Tickets

log = logging.getLogger(__name__)


class Service:
    def __init__(
        self, cfg: Config, *, clock: Clock | None = None, transport: Transport | None = None
    ) -> None:
        self.cfg = cfg
        self.clock = clock or SystemClock()
        self.store = Store(cfg.store_url)
        self.outbox = OutboxWorker(
            self.store,
            transport or make_transport(cfg),
            self.clock,
            retry_initial=cfg.outbound.retry_initial_seconds,
            retry_max=cfg.outbound.retry_max_seconds,
            give_up_after=timedelta(hours=cfg.outbound.give_up_after_hours),
        )
        self.calendar = BusinessCalendar.from_config(cfg.sla)
        self.tickets = Tickets(cfg.sla, self.calendar, SlackQueue(cfg.slack.enabled))
        kit = load_reply_kit(cfg)
        self.replies = StaffReplies(cfg, kit, self.tickets)
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.slack = None
        if cfg.slack.enabled:
            from bot.slack.app import SlackConnector

            renderer = SlackRenderer(
                kit.env,
                cfg.slack,
                cfg.localized_organization,
                self.calendar.tz,
                self.clock.now,
            )
            self.slack = SlackConnector(
                cfg,
                self.store,
                self.clock,
                self.tickets,
                self.replies,
                renderer,
                self.queue.put_nowait,
                self.outbox.wake,
            )
        self.intake = Intake(
            self.store,
            cfg,
            load_lexicon(cfg),
            kit,
            self.clock,
            self.tickets,
            on_reply=self.outbox.wake,
            on_slack=self.slack.sender.wake if self.slack else lambda: None,
        )
        on_slack = self.slack.sender.wake if self.slack else lambda: None
        self.ladder = Ladder(cfg, self.store, self.tickets, kit.env, self.outbox.wake, on_slack)
        self.digest = DigestMaker(cfg, self.store, self.tickets, kit.env, self.outbox.wake)
        self.jobs = JobsInFlight()
        self.scheduler = make_scheduler(
            cfg, self.clock, self.ladder, self.digest, self.calendar.tz, self.jobs
        )
        self.smtp_server: asyncio.Server | None = None
        self.http_runner = None
        self.watchers: list[ImapWatcher] = []
        self._tasks: list[asyncio.Task] = []

    @property
    def smtp_port(self) -> int | None:
        if self.smtp_server is None:
            return None
        return self.smtp_server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        await self.store.create_schema()
        # Finish what a crash interrupted before accepting anything new.
        if self.store.is_sqlite:
            await release_leases(self.store, Outbox)
            await release_leases(self.store, SlackPost)
        for inbound_id in await self.store.unprocessed_inbound():
            self.queue.put_nowait(inbound_id)
        for n in range(max(1, self.cfg.service.workers)):
            self._tasks.append(asyncio.create_task(self._work(), name=f"intake-{n}"))
        self._tasks.append(asyncio.create_task(self.outbox.run(), name="outbox"))
        rec = self.cfg.smtp_receiver
        if rec.enabled:
            handler = IntakeHandler(self.store, rec.recipients, self.clock, self.queue.put_nowait)
            self.smtp_server = await start_receiver(
                handler, host=rec.host, port=rec.port, max_bytes=rec.max_message_bytes
            )
            log.info("smtp receiver listening on %s:%s", rec.host, self.smtp_port)
        if self.cfg.imap.enabled:
            self._start_imap()
        if self.slack is not None:
            await self.slack.connect()
        await self._start_http()
        self.scheduler.start()

    @property
    def http_port(self) -> int | None:
        return bound_port(self.http_runner) if self.http_runner else None

    async def _start_http(self) -> None:
        slack_http = self.slack is not None and self.cfg.slack.mode == "http"
        if not (self.cfg.http.enabled or slack_http):
            return
        app = make_http_app(self.health, self.slack.app if slack_http else None)
        self.http_runner = await start_http(app, self.cfg.http.host, self.cfg.http.port)
        log.info("http listener on %s:%s", self.cfg.http.host, self.http_port)

    async def health(self) -> tuple[bool, dict]:
        parts = {row.component: row.state for row in await self.store.health()}
        if self.slack is not None:
            parts["slack"] = "unhealthy" if self.slack.sender.auth_failed else "ok"
        return all(state != "unhealthy" for state in parts.values()), parts

    def _start_imap(self) -> None:
        imap = self.cfg.imap
        watches = [FolderWatch(imap.folder, "imap", processed_folder=imap.processed_folder)]
        if imap.sent_folder:
            watches.append(FolderWatch(imap.sent_folder, "imap-sent", mark=False))
        loop = asyncio.get_running_loop()
        for watch in watches:
            watcher = ImapWatcher(
                imap,
                self.cfg.secret("imap.password_env") or "",
                watch,
                self.store,
                self.clock,
                self.queue.put_nowait,
                loop,
            )
            watcher.connect()
            self.watchers.append(watcher)

    async def _work(self) -> None:
        while True:
            honour_swallowed_cancel()
            inbound_id = await self.queue.get()
            try:
                await self.intake.process(inbound_id)
            except Exception:
                # The store failed under us: the message stays 'received' and is tried
                # again shortly, never dropped.
                log.exception("intake: message %s will be retried", inbound_id)
                await asyncio.sleep(1)
                self.queue.put_nowait(inbound_id)
            finally:
                self.queue.task_done()

    async def idle(self) -> None:
        """Wait until every queued message has been processed (tests use this)."""
        await self.queue.join()

    async def stop(self) -> None:
        await self.jobs.stop(self.scheduler)
        if self.http_runner is not None:
            await self.http_runner.cleanup()
            self.http_runner = None
        if self.slack is not None:
            await self.slack.disconnect()
        for watcher in self.watchers:
            await watcher.disconnect()
        self.watchers.clear()
        if self.smtp_server is not None:
            self.smtp_server.close()
            await self.smtp_server.wait_closed()
        await cancel_all(self._tasks)
        await self.store.close()

    async def run_until_signalled(self) -> None:
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        relay = self.cfg.relay
        where = relay.path if relay.kind == "maildir" else f"{relay.host}:{relay.port}"
        log.info("inquiry-desk running; replies go to %s %s", relay.kind, where)
        await stop.wait()
        log.info("stopping")
        await self.stop()
