"""Crashes: a real `inquiry-desk serve` process killed with SIGKILL, restarted, and
counted against a real SMTP sink: every message answered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import select

from bot.service import Service
from bot.store.tables import Inbound
from tests.conftest import make_config, make_mail, send, serve_process
from tests.dovecot import free_port


def _write_config(tmp_path: Path, smtp_port: int, relay_port: int) -> Path:
    path = tmp_path / "serve.toml"
    path.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/store.db"\n'
        f"[smtp_receiver]\nport = {smtp_port}\n"
        f'[outbound]\nrelay = "smtp://127.0.0.1:{relay_port}"\nretry_initial_seconds = 0.1\n'
    )
    return path


async def test_sigkill_mid_batch_then_restart_replies_exactly_once(tmp_path, sink):
    port = free_port()
    config = _write_config(tmp_path, port, sink.port)
    # The relay defers everything while the first process lives, so every reply is
    # still ahead when the kill comes: some messages unprocessed, some replies queued.
    sink.refuse_with = "451 4.3.0 relay busy"
    proc = await serve_process(config, ready=b"smtp receiver listening")
    ids = []
    for n in range(12):
        raw = make_mail(
            f"Request {n}",
            "Please stop using my personal data.",
            message_id=f"<batch-{n}@example.jp>",
            sender=f"writer{n}@example.jp",
        )
        ids.append(f"<batch-{n}@example.jp>")
        answer = await send(port, raw, sender=f"writer{n}@example.jp")
        assert "accepted" in answer
    proc.send_signal(signal.SIGKILL)  # right after the last 250: mid-pipeline, mid-outbox
    await proc.wait()
    assert sink.messages == []
    sink.refuse_with = None

    proc = await serve_process(config, ready=b"smtp receiver listening")
    try:
        await sink.wait_for(12, timeout=30)
        await asyncio.sleep(0.5)  # room for any duplicate to show up
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    answered = sorted(m["In-Reply-To"] for m in sink.messages)
    assert answered == sorted(ids)


async def test_message_stored_but_not_processed_is_answered_at_start(tmp_path, sink):
    """A crash right after the 250: the row is 'received' and nothing else exists."""
    cfg = make_config(tmp_path, outbound={"relay": f"smtp://127.0.0.1:{sink.port}"})
    service = Service(cfg)
    await service.store.create_schema()
    await service.store.save_inbound(
        make_mail("Copy please", "Please disclose my personal data to me."),
        channel="email",
        envelope_from="hanako@example.jp",
        recipients=["inquiry@example.com"],
        now=service.clock.now(),
    )
    await service.start()
    try:
        await service.idle()
        await sink.wait_for(1)
        async with service.store.session() as s:
            assert list(await s.scalars(select(Inbound.state))) == ["done"]
    finally:
        await service.stop()
    assert len(sink.messages) == 1


async def test_unreadable_input_is_quarantined_not_lost(running, sink):
    service = await running()
    garbage = [
        b"",
        b"\x00\xff\xfe\r\n" * 500,
        b"Subject: =?x?Q?broken\r\n\r\n\xff",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
    ]
    for raw in garbage:
        assert "accepted" in await send(service.smtp_port, raw)
    await service.idle()
    async with service.store.session() as s:
        rows = list(await s.scalars(select(Inbound)))
    assert len(rows) == len(garbage)
    assert all(r.state in ("done", "quarantined") for r in rows)
    assert all(r.reason for r in rows if r.state == "quarantined")
    assert os.path.exists(cfg_db := service.cfg.store.url.split("///", 1)[1]) and cfg_db
