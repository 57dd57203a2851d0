"""Wires the parts together and runs them: the store, the intake workers, the SMTP
receiver and the outbox. Work left half-done by a crash is picked up at start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.intake import Intake
from bot.mail.imap import FolderWatch, ImapWatcher
from bot.mail.outbox import OutboxWorker
from bot.mail.receiver import IntakeHandler, start_receiver
from bot.mail.transport import Transport, make_transport
from bot.resources import load_lexicon, load_reply_kit
from bot.store.repo import Store

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
        self.intake = Intake(
            self.store,
            cfg,
            load_lexicon(cfg),
            load_reply_kit(cfg),
            self.clock,
            on_reply=self.outbox.wake,
        )
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.smtp_server: asyncio.Server | None = None
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
            await self.outbox.release_leases()
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
        for watcher in self.watchers:
            await watcher.disconnect()
        self.watchers.clear()
        if self.smtp_server is not None:
            self.smtp_server.close()
            await self.smtp_server.wait_closed()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
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
