"""The SMTP receiver: accepts mail for the configured recipients, commits the raw bytes
and queues them. Nothing else: parsing and answering happen in the intake pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.clock import Clock
from bot.store.repo import Store

log = logging.getLogger(__name__)


class IntakeHandler:
    def __init__(
        self, store: Store, recipients: list[str], clock: Clock, queue: Callable[[int], None]
    ) -> None:
        self.store = store
        self.recipients = {r.lower() for r in recipients}
        self.clock = clock
        self.queue = queue

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() not in self.recipients:
            return "550 5.1.1 Mailbox unavailable: not an address of this service"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            inbound_id = await self.store.save_inbound(
                raw,
                channel="email",
                # aiosmtpd hands the null sender over as the literal "<>".
                envelope_from=(envelope.mail_from or "").strip().strip("<>"),
                recipients=list(envelope.rcpt_tos),
                now=self.clock.now(),
            )
        except Exception:
            log.exception("receiver: could not store a message")
            return "451 4.3.0 Message not stored; please try again later"
        self.queue(inbound_id)
        return f"250 2.0.0 Message accepted as {inbound_id}"


async def start_receiver(
    handler: IntakeHandler, *, host: str, port: int, max_bytes: int
) -> asyncio.Server:
    """Serve SMTP on the running event loop (aiosmtpd's Controller would use a thread
    with a loop of its own, away from the store's connections)."""
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="inquiry-desk",
            ident="inquiry-desk",
        )

    return await loop.create_server(factory, host=host, port=port)
