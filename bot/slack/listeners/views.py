"""The Reply modal's submission: the staff member's text goes to the requester."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from bot.store.tables import Ticket
from bot.tickets import TicketError

log = logging.getLogger(__name__)


def register(app: AsyncApp, desk) -> None:
    @app.view("reply_modal")
    async def submitted(ack, body, view) -> None:
        user = body["user"]["id"]
        if not desk.is_staff(user):
            await ack(response_action="clear")
            return
        await ack()
        text = view["state"]["values"]["reply"]["text"]["value"] or ""
        now = desk.clock.now()
        try:
            async with desk.store.session() as s, s.begin():
                ticket = await s.get(Ticket, int(view["private_metadata"]))
                if ticket is None:
                    return
                await desk.replies.send(
                    s, ticket, text, user=user, via="modal", now=now, wrap=False
                )
                number = ticket.number
        except TicketError as exc:
            log.warning("slack: modal reply refused: %s", exc)
            return
        log.info("slack: %s answered from the reply modal", number)
        desk.wake()
