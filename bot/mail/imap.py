"""The IMAP channel: watches one folder of a hosted mailbox and hands every new message
to the store, exactly like the SMTP receiver does.

imapclient is synchronous and not thread-safe, so each watched folder gets its own
thread and its own client; the thread calls into the event loop only to store and queue.
Order per message: store (committed) -> flag or move -> remember its UID. A crash at any
point re-reads the message at most once more, and Message-ID dedupe stops a second reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from types import SimpleNamespace

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from bot.clock import Clock
from bot.store.repo import Store

log = logging.getLogger(__name__)

_BATCH = 25
_SEEN = b"\\Seen"


@dataclass(frozen=True)
class FolderWatch:
    """What to watch and what to do with what is read there."""

    folder: str
    channel: str  # "imap" for the inquiry folder, "imap-sent" for staff's Sent folder
    processed_folder: str = ""  # move here after storing; "" = mark \Seen instead
    mark: bool = True  # flag or move at all (the Sent folder is left untouched)


class ImapWatcher:
    """connect / listen / disconnect for one IMAP folder, in a thread of its own."""

    def __init__(
        self,
        settings: SimpleNamespace,
        password: str,
        watch: FolderWatch,
        store: Store,
        clock: Clock,
        queue: Callable[[int], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.settings = settings
        self.password = password
        self.watch = watch
        self.store = store
        self.clock = clock
        self.queue = queue
        self.loop = loop
        self.mailbox = f"{settings.username}@{settings.host}:{settings.port}/{watch.folder}"
        self.component = f"imap:{watch.folder}"
        self.state = "starting"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: IMAPClient | None = None

    # -- the connector verbs ----------------------------------------------------------

    def connect(self) -> None:
        """Start watching (returns at once; the work happens in the watcher's thread)."""
        self._thread = threading.Thread(target=self._run, name=self.component, daemon=True)
        self._thread.start()

    async def disconnect(self, timeout: float = 10.0) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            # Wake a blocking IDLE so the thread notices the stop at once.
            with contextlib.suppress(OSError, AttributeError):
                client.socket().shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            # Joined off the loop: the thread may still need the loop to finish a store.
            await asyncio.to_thread(self._thread.join, timeout)

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.settings.reconnect_initial_seconds
        while not self._stop.is_set():
            try:
                client = self._open()
            except LoginError:
                self._report(
                    "unhealthy",
                    f"login refused for {self.settings.username!r}: "
                    f"check imap.username and ${self.settings.password_env}",
                )
                return  # a wrong password stays wrong: no retry loop
            except (OSError, IMAPClientError, imaplib.IMAP4.error, ssl.SSLError) as exc:
                self._report("disconnected", f"cannot connect: {_describe(exc)}")
                self._stop.wait(delay)
                delay = min(delay * 2, self.settings.reconnect_max_seconds)
                continue
            delay = self.settings.reconnect_initial_seconds
            try:
                self._client = client
                self._listen(client)
            except (OSError, IMAPClientError, imaplib.IMAP4.error, ssl.SSLError, EOFError) as exc:
                if not self._stop.is_set():
                    self._report("disconnected", f"connection lost: {_describe(exc)}")
                    self._stop.wait(delay)
            except Exception as exc:  # never let the thread die silently
                log.exception("imap %s: unexpected error", self.watch.folder)
                self._report("disconnected", f"error: {_describe(exc)}")
                self._stop.wait(delay)
            finally:
                self._client = None
                with contextlib.suppress(Exception):
                    client.logout()
        self._report("stopped", "stopped")

    def _open(self) -> IMAPClient:
        s = self.settings
        context = ssl.create_default_context()
        client = IMAPClient(
            s.host,
            port=s.port,
            ssl=s.security == "ssl",
            ssl_context=context if s.security == "ssl" else None,
            timeout=s.timeout_seconds,
        )
        try:
            if s.security == "starttls":
                client.starttls(context)
            client.login(s.username, self.password)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        return client

    def _listen(self, client: IMAPClient) -> None:
        info = client.select_folder(self.watch.folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        uidnext = int(info.get(b"UIDNEXT", 0)) or None
        last = self._first_uid(uidvalidity, uidnext, client)
        if self.watch.processed_folder:
            if not client.folder_exists(self.watch.processed_folder):
                client.create_folder(self.watch.processed_folder)
            self._move_leftovers(client, last)
        idle = b"IDLE" in client.capabilities()
        self._report("ok", f"watching {self.watch.folder} ({'IDLE' if idle else 'polling'})")
        while not self._stop.is_set():
            last = self._fetch_new(client, uidvalidity, last)
            if not idle:
                self._stop.wait(self.settings.poll_seconds)
                client.noop()
            elif not _arrived_meanwhile(client):
                self._idle(client)

    def _first_uid(self, uidvalidity: int, uidnext: int | None, client: IMAPClient) -> int:
        saved = self._call(self.store.mailbox_state(self.mailbox))
        if saved is not None and saved[0] == uidvalidity:
            return saved[1]
        if saved is not None:
            log.warning(
                "imap %s: UIDVALIDITY changed; rescanning the folder (dedupe "
                "prevents second replies)",
                self.watch.folder,
            )
            last = 0
        elif self.settings.start_from == "now":
            if uidnext is None:
                uids = client.search(["ALL"])
                uidnext = (max(uids) + 1) if uids else 1
            last = uidnext - 1
            log.info(
                "imap %s: first start; mail already in the folder is left alone", self.watch.folder
            )
        else:
            last = 0
        self._call(self.store.save_mailbox_state(self.mailbox, uidvalidity, last, self.clock.now()))
        return last

    def _move_leftovers(self, client: IMAPClient, last: int) -> None:
        """Messages stored before a crash but never moved: move them now."""
        if last <= 0:
            return
        leftovers = [u for u in client.search(["UID", f"1:{last}"]) if u <= last]
        if leftovers:
            self._move(client, leftovers)

    def _fetch_new(self, client: IMAPClient, uidvalidity: int, last: int) -> int:
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        total = len(uids)
        started = time.monotonic()
        for index in range(0, total, _BATCH):
            batch = uids[index : index + _BATCH]
            data = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                if self._stop.is_set():
                    return last
                raw = data.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged meanwhile
                    continue
                inbound_id = self._call(
                    self.store.save_inbound(
                        raw,
                        channel=self.watch.channel,
                        envelope_from=None,
                        recipients=[],
                        now=self.clock.now(),
                    )
                )
                self.loop.call_soon_threadsafe(self.queue, inbound_id)
                if self.watch.mark:
                    if self.watch.processed_folder:
                        self._move(client, [uid])
                    else:
                        client.add_flags([uid], [_SEEN])
                last = uid
                self._call(
                    self.store.save_mailbox_state(self.mailbox, uidvalidity, last, self.clock.now())
                )
            if total > _BATCH:
                log.info(
                    "imap %s: %d of %d messages read (%.0f/s)",
                    self.watch.folder,
                    min(index + _BATCH, total),
                    total,
                    min(index + _BATCH, total) / max(time.monotonic() - started, 1e-3),
                )
        return last

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        if client.has_capability("MOVE"):
            client.move(uids, self.watch.processed_folder)
        else:
            client.copy(uids, self.watch.processed_folder)
            client.delete_messages(uids)
            client.expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the server reports a change, the IDLE budget runs out or we stop."""
        deadline = time.monotonic() + self.settings.idle_seconds
        client.idle()
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=1)
                if any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1):
                    return
                if any(r and r[0] == b"BYE" for r in responses):
                    raise EOFError("server said BYE")
        finally:
            if not self._stop.is_set():
                client.idle_done()

    # -- bridges to the event loop ------------------------------------------------------

    def _call(self, coro):
        future: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=120)

    def _report(self, state: str, detail: str) -> None:
        """Log and record a state change: one line per change, not one per attempt."""
        if state == self.state:
            return
        self.state = state
        level = (
            logging.ERROR
            if state == "unhealthy"
            else (logging.WARNING if state == "disconnected" else logging.INFO)
        )
        log.log(level, "imap %s: %s", self.watch.folder, detail)
        health = {"ok": "ok", "disconnected": "degraded", "stopped": "ok"}.get(state, state)
        with contextlib.suppress(Exception):  # the loop may be shutting down
            self._call(self.store.report_health(self.component, health, detail, self.clock.now()))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "…"


def _arrived_meanwhile(client: IMAPClient) -> bool:
    """Did the server announce new mail while we searched, fetched or moved?

    It says so once, with whichever command was running, and IDLE would not say it again:
    the message would wait for the next IDLE round (up to idle_seconds). imapclient leaves
    such announcements in imaplib's store of untagged responses, which has no public API.
    """
    pending = client._imap.untagged_responses
    return bool(pending.pop("EXISTS", None)) | bool(pending.pop("RECENT", None))
