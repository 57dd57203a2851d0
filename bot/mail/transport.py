"""Where replies leave: a local maildir or an SMTP relay. Both have one verb, `deliver`,
and report failure as transient (try again later) or permanent (give up)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Protocol

import aiosmtplib

from bot.config import Config


class TransientError(Exception):
    """Delivery failed for now (relay down, 4xx); try again later."""


class PermanentError(Exception):
    """The relay refused the message for good (5xx)."""


class Transport(Protocol):
    async def deliver(self, key: str, mail_from: str, recipient: str, raw: bytes) -> None: ...


class MaildirTransport:
    """Writes each reply as new/<key>.eml in a maildir: tmp/ first, then an atomic rename.
    The file name comes from the outbox row, so a retry overwrites and never duplicates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    async def deliver(self, key: str, mail_from: str, recipient: str, raw: bytes) -> None:
        try:
            await asyncio.to_thread(self._write, key, raw)
        except OSError as exc:
            raise TransientError(f"maildir write failed: {exc}") from exc

    def _write(self, key: str, raw: bytes) -> None:
        name = f"{key}.{socket.gethostname()}.eml"
        tmp = self.path / "tmp" / name
        with tmp.open("wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / "new" / name)


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        starttls: bool,
        implicit_tls: bool,
        username: str | None,
        password: str | None,
        timeout: float,
    ) -> None:
        self.host, self.port = host, port
        self.starttls, self.implicit_tls = starttls, implicit_tls
        self.username, self.password = username or None, password
        self.timeout = timeout

    async def deliver(self, key: str, mail_from: str, recipient: str, raw: bytes) -> None:
        try:
            await aiosmtplib.send(
                raw,
                sender=mail_from,
                recipients=[recipient],
                hostname=self.host,
                port=self.port,
                use_tls=self.implicit_tls,
                start_tls=self.starttls and not self.implicit_tls,
                username=self.username,
                password=self.password if self.username else None,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(c >= 500 for c in codes):
                raise PermanentError(f"recipient refused: {codes[0]}") from exc
            raise TransientError(f"recipient deferred: {codes}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # A wrong password is the operator's to fix; keep the replies until then.
            raise TransientError(f"relay authentication failed: {exc.code}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentError(f"relay answered {exc.code} {exc.message}") from exc
            raise TransientError(f"relay answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"relay unreachable: {type(exc).__name__}: {exc}") from exc


def make_transport(cfg: Config) -> Transport:
    relay = cfg.relay
    if relay.kind == "maildir":
        assert relay.path is not None
        return MaildirTransport(relay.path)
    return SmtpTransport(
        host=relay.host,
        port=relay.port,
        starttls=cfg.outbound.starttls,
        implicit_tls=relay.implicit_tls,
        username=cfg.outbound.username,
        password=cfg.secret("outbound.password_env"),
        timeout=cfg.outbound.timeout_seconds,
    )
