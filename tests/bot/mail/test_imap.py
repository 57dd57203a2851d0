"""The IMAP channel against a real Dovecot on loopback: IDLE push, restarts, crashes,
the processed-folder move, staff answers and the backlog rule."""

from __future__ import annotations

import asyncio
import email
import signal
import sqlite3
import threading
import time
from pathlib import Path

from imapclient import IMAPClient
from sqlalchemy import select

from bot.store.tables import Event, Health, Ticket
from tests.conftest import make_mail, send, serve_process
from tests.dovecot import Dovecot

ENV = {"IMAP_PW": "secret"}


def imap_settings(server: Dovecot, **extra) -> dict:
    return {
        "enabled": True,
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.username,
        "password_env": "IMAP_PW",
        "reconnect_initial_seconds": 0.1,
        "reconnect_max_seconds": 0.5,
        **extra,
    }


async def until(predicate, timeout: float = 5.0, what: str = "condition") -> float:
    """Wait for an async predicate; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def watcher_state(service, state: str) -> bool:
    return any(w.state == state for w in service.watchers)


async def test_message_appended_while_idling_is_answered_within_2_seconds(
    running,
    sink,
    dovecot,
):
    service = await running(env=ENV, imap=imap_settings(dovecot), smtp_receiver={"enabled": False})
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await asyncio.sleep(0.3)  # let the watcher enter IDLE
    uid = await asyncio.to_thread(
        dovecot.append, make_mail("Copy of my data", "Please send me a copy of my data.")
    )
    start = time.monotonic()
    await sink.wait_for(1, timeout=5)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"answered after {elapsed:.2f}s"
    assert b"\\Seen" in await asyncio.to_thread(dovecot.flags, uid)


async def test_mail_announced_during_a_search_is_not_left_for_the_next_idle(
    running, sink, dovecot, monkeypatch
):
    # The server announces a new message once, with whatever command is running; here it
    # lands right after the watcher's search, and the announcement rides on the next
    # command. IDLE would not announce it again.
    original = IMAPClient.search
    raced = []

    def search_then_new_mail(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        # Only the watcher's own search, in its thread ("imap:INBOX"), and only once.
        if not raced and threading.current_thread().name.startswith("imap"):
            raced.append(True)
            dovecot.append(make_mail("Raced", "Please send me a copy of my data."))
            self._imap._simple_command("NOOP")  # the EXISTS arrives with a command
        return found

    monkeypatch.setattr(IMAPClient, "search", search_then_new_mail)
    service = await running(env=ENV, imap=imap_settings(dovecot), smtp_receiver={"enabled": False})
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await sink.wait_for(1, timeout=3)
    assert raced and sink.messages[0]["Subject"].startswith("Re: Raced")


async def test_mail_that_arrived_while_stopped_is_answered_after_start(
    running,
    sink,
    dovecot,
):
    settings = imap_settings(dovecot)
    first = await running(env=ENV, imap=settings, smtp_receiver={"enabled": False})
    await until(lambda: watcher_state(first, "ok"), what="IMAP connected")
    await first.stop()
    for n in range(3):
        await asyncio.to_thread(
            dovecot.append,
            make_mail(f"Q{n}", "What do you use my data for?", sender=f"w{n}@example.jp"),
        )
    second = await running(env=ENV, imap=settings, smtp_receiver={"enabled": False})
    await sink.wait_for(3, timeout=10)
    await second.idle()
    assert len(sink.messages) == 3


async def test_dovecot_restart_mid_session_reconnects(running, sink, dovecot):
    service = await running(env=ENV, imap=imap_settings(dovecot), smtp_receiver={"enabled": False})
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await asyncio.to_thread(dovecot.restart)
    await asyncio.to_thread(dovecot.append, make_mail("After restart", "Please delete my data."))
    await sink.wait_for(1, timeout=10)
    async with service.store.session() as s:
        health = await s.get(Health, "imap:INBOX")
    assert health is not None and health.state == "ok"


async def test_processed_folder_move(running, sink, dovecot):
    service = await running(
        env=ENV,
        imap=imap_settings(dovecot, processed_folder="Handled"),
        smtp_receiver={"enabled": False},
    )
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await asyncio.to_thread(dovecot.append, make_mail("Move me", "Please delete my data."))
    await sink.wait_for(1, timeout=5)
    await until(lambda: _count(dovecot, "Handled", 1), what="message moved to a folder it created")
    assert await asyncio.to_thread(dovecot.count, "INBOX") == 0


async def _count(server: Dovecot, folder: str, n: int) -> bool:
    return await asyncio.to_thread(server.count, folder) == n


async def test_staff_reply_marks_the_ticket_answered_without_a_reply(
    running,
    sink,
    dovecot,
):
    service = await running(env=ENV, imap=imap_settings(dovecot, staff_domains=["actio.example"]))
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await send(service.smtp_port, make_mail("Stop using my data", "Please stop using my data."))
    await sink.wait_for(1)
    ours = sink.messages[0]
    staff = make_mail(
        "Re: " + ours["Subject"],
        "We have stopped all use of your data.",
        sender="Sato <sato@actio.example>",
        headers={"In-Reply-To": ours["Message-ID"]},
    )
    await asyncio.to_thread(dovecot.append, staff)

    async def answered() -> bool:
        async with service.store.session() as s:
            return (await s.scalars(select(Ticket))).one().status == "answered"

    await until(answered, what="ticket answered")
    await service.idle()
    await service.outbox.deliver_due()
    assert len(sink.messages) == 1  # the staff mail got no auto-reply
    async with service.store.session() as s:
        kinds = list(await s.scalars(select(Event.kind)))
    assert "answered" in kinds


async def test_reply_in_the_sent_folder_marks_the_ticket_answered(
    running,
    sink,
    dovecot,
):
    service = await running(env=ENV, imap=imap_settings(dovecot, sent_folder="Sent"))
    await send(service.smtp_port, make_mail("Question", "What is joint use?"))
    await sink.wait_for(1)
    ours = sink.messages[0]
    await until(lambda: _all_ok(service), what="both folders connected")
    sent = make_mail(
        "Re: " + ours["Subject"],
        "Joint use means...",
        sender="inquiry@example.com",
        headers={"In-Reply-To": ours["Message-ID"]},
    )
    await asyncio.to_thread(dovecot.append, sent, "Sent")

    async def answered() -> bool:
        async with service.store.session() as s:
            return (await s.scalars(select(Ticket))).one().status == "answered"

    await until(answered, what="ticket answered from Sent")


async def _all_ok(service) -> bool:
    return all(w.state == "ok" for w in service.watchers)


async def test_backlog_is_not_answered_on_first_start(running, sink, dovecot):
    for n in range(30):
        await asyncio.to_thread(
            dovecot.append, make_mail(f"Old {n}", "Old mail", sender=f"old{n}@example.jp")
        )
    service = await running(env=ENV, imap=imap_settings(dovecot), smtp_receiver={"enabled": False})
    await until(lambda: watcher_state(service, "ok"), what="IMAP connected")
    await asyncio.sleep(0.3)
    await asyncio.to_thread(dovecot.append, make_mail("New", "Please delete my data."))
    await sink.wait_for(1, timeout=5)
    await asyncio.sleep(0.3)
    assert len(sink.messages) == 1
    assert sink.messages[0]["Subject"].startswith("Re: New")


async def test_start_from_all_answers_the_backlog(running, sink, dovecot):
    for n in range(5):
        await asyncio.to_thread(
            dovecot.append,
            make_mail(f"Old {n}", "Please delete my data.", sender=f"old{n}@example.jp"),
        )
    await running(
        env=ENV, imap=imap_settings(dovecot, start_from="all"), smtp_receiver={"enabled": False}
    )
    await sink.wait_for(5, timeout=10)


async def test_bad_credentials_give_one_error_and_an_unhealthy_state(
    running, sink, dovecot, caplog, tmp_path
):
    service = await running(
        env={"IMAP_PW": "wrong"}, imap=imap_settings(dovecot), smtp_receiver={"enabled": False}
    )
    await until(lambda: watcher_state(service, "unhealthy"), what="unhealthy state")
    await asyncio.sleep(0.5)  # no retry loop: still exactly one error line
    errors = [r for r in caplog.records if r.name == "bot.mail.imap" and r.levelname == "ERROR"]
    assert len(errors) == 1 and "login refused" in errors[0].getMessage()
    async with service.store.session() as s:
        health = await s.get(Health, "imap:INBOX")
    assert health.state == "unhealthy"

    from tests.bot.test_config import run_cli

    cfg_file = tmp_path / "status.toml"
    cfg_file.write_text(f'[store]\nurl = "{service.cfg.store.url}"\n')
    status = await asyncio.to_thread(run_cli, "status", "--config", str(cfg_file))
    assert status.returncode == 1
    assert "imap:INBOX" in status.stdout and "unhealthy" in status.stdout


async def test_sigkill_mid_batch_of_50_answers_all_exactly_once(tmp_path, dovecot):
    outbox = tmp_path / "outbox"
    config = tmp_path / "imap.toml"
    config.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/store.db"\n'
        "[smtp_receiver]\nenabled = false\n"
        f'[outbound]\nrelay = "maildir:{outbox}"\n'
        f'[imap]\nenabled = true\nhost = "{dovecot.host}"\nport = {dovecot.port}\n'
        f'security = "none"\nusername = "{dovecot.username}"\npassword_env = "IMAP_PW"\n'
        'start_from = "all"\n'
    )
    for n in range(50):
        await asyncio.to_thread(
            dovecot.append,
            make_mail(
                f"Request {n}",
                "Please stop using my data.",
                sender=f"writer{n}@example.jp",
                message_id=f"<imap-batch-{n}@example.jp>",
            ),
        )

    async def serve() -> asyncio.subprocess.Process:
        return await serve_process(config, ready=b"watching", env={"IMAP_PW": dovecot.password})

    def replies() -> list[Path]:
        return list((outbox / "new").glob("*.eml")) if (outbox / "new").exists() else []

    proc = await serve()
    start = time.monotonic()
    while len(replies()) < 10 and time.monotonic() - start < 20:
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # mid-batch: some answered, some not yet read
    await proc.wait()
    killed_at = len(replies())
    assert 0 < killed_at < 50, f"kill came at {killed_at} replies; the batch was not cut"

    proc = await serve()
    try:
        start = time.monotonic()
        while len(replies()) < 50 and time.monotonic() - start < 30:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # room for a duplicate to appear
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    answered = sorted(email.message_from_bytes(p.read_bytes())["In-Reply-To"] for p in replies())
    assert answered == sorted(f"<imap-batch-{n}@example.jp>" for n in range(50))
    db = sqlite3.connect(tmp_path / "store.db")
    assert db.execute("select count(*) from tickets").fetchone()[0] == 50
