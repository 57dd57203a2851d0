"""Shared fixtures: a config pointing at temporary files, a real aiosmtpd sink acting as
the relay, and a running service with a real SMTP receiver."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP

from bot.clock import Clock
from bot.config import Config, load_config
from bot.service import Service
from tests.dovecot import dovecot  # noqa: F401  (a fixture for the IMAP tests)
from tests.slack_fake import slack_api  # noqa: F401  (a fake Slack Web API)

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


def make_config(tmp_path: Path, env: dict[str, str] | None = None, **sections: dict) -> Config:
    overrides: dict = {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/store.db"},
        "smtp_receiver": {"port": 0},
        "outbound": {"relay": f"maildir:{tmp_path}/outbox"},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(overrides=overrides, env=env or {})


@dataclass
class Sink:
    """An SMTP relay that records what it accepts; `answers` scripts refusals."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # popped per DATA; empty = accept
    refuse_with: str | None = None  # while set, every DATA gets this answer
    attempts: int = 0
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.attempts += 1
        if self.refuse_with:
            return self.refuse_with
        if self.answers:
            return self.answers.pop(0)
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(msg)
        self.arrived.set()
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    relay = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(relay, decode_data=False), "127.0.0.1", 0)
    relay.port = server.sockets[0].getsockname()[1]
    yield relay
    server.close()
    await server.wait_closed()


@pytest.fixture
async def running(tmp_path: Path, sink: Sink) -> AsyncIterator[Callable]:
    """A factory for started services relaying to the sink; stops them all afterwards."""
    started: list[Service] = []

    async def start(
        env: dict[str, str] | None = None, clock: Clock | None = None, **sections: dict
    ) -> Service:
        outbound = {
            "relay": f"smtp://127.0.0.1:{sink.port}",
            "retry_initial_seconds": 0.05,
            **sections.pop("outbound", {}),
        }
        cfg = make_config(tmp_path, env=env, outbound=outbound, **sections)
        service = Service(cfg, clock=clock)
        service.outbox.idle_poll = 0.05
        await service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        await stop_or_explain(service)


async def stop_or_explain(service: Service, timeout: float = 30.0) -> None:
    """Stop a service; a stop that hangs fails the test with every task's stack instead of
    hanging the suite."""
    stopping = asyncio.ensure_future(service.stop())
    done, _ = await asyncio.wait({stopping}, timeout=timeout)
    if not done:
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        stopping.cancel()
        raise AssertionError(f"Service.stop() still running after {timeout} s; stacks above")
    stopping.result()


async def send(
    port: int, raw: bytes, *, sender: str = "someone@example.jp", to: str = "inquiry@example.com"
) -> str:
    """Hand one message to the receiver over real SMTP; returns the DATA answer."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        _, answer = await client.sendmail(sender, [to], raw)
        return answer


async def serve_process(
    config: Path, *, ready: bytes, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """A real `inquiry-desk serve` process, returned once its log shows `ready`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    while True:
        # Only a guard against a hang: a first start with no stored model learns it first
        # (about 15 s here, more on a busy two-core CI machine).
        line = await asyncio.wait_for(proc.stderr.readline(), 120)
        if not line:
            raise AssertionError(f"service exited before logging {ready!r}")
        if ready in line:
            break

    async def drain() -> None:  # keep reading, or a full pipe would stall the service
        while await proc.stderr.readline():
            pass

    _background.add(task := asyncio.get_running_loop().create_task(drain()))
    task.add_done_callback(_background.discard)
    return proc


_background: set[asyncio.Task] = set()


def fixture_mail(name: str) -> bytes:
    return (FIXTURES / "mail" / name).read_bytes()


def make_mail(
    subject: str,
    body: str,
    *,
    sender: str = "Hanako Yamada <hanako@example.jp>",
    message_id: str | None = "<default>",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain UTF-8 message as a mail client would send it."""
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = "inquiry@example.com"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 24 Nov 2026 10:00:00 +0900"
    if message_id == "<default>":
        message_id = email.utils.make_msgid(domain="example.jp")
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)
