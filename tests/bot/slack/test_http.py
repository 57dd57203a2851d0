"""HTTP mode: only requests Slack signed, recently, reach the app; Socket Mode payloads
reach the same listeners."""

from __future__ import annotations

import json
import time

from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import select

from bot.store.tables import Ticket
from tests.bot.slack.conftest import ASKER, PUBLIC, next_ts, post_raw, send_event, settle, sign


def question(ts: str) -> dict:
    return {
        "channel": PUBLIC,
        "channel_type": "channel",
        "user": ASKER,
        "text": "Please stop using my personal data for advertising.",
        "ts": ts,
    }


async def count_tickets(service) -> int:
    async with service.store.session() as s:
        return len(list(await s.scalars(select(Ticket.id))))


async def test_a_bad_signature_is_rejected(desk):
    service = await desk()
    status = await send_event(service, question(next_ts()), secret="not-the-secret")
    assert status == 401
    await settle(service)
    assert await count_tickets(service) == 0


async def test_a_stale_timestamp_is_rejected(desk):
    service = await desk()
    status = await send_event(service, question(next_ts()), timestamp=int(time.time()) - 600)
    assert status == 401
    await settle(service)
    assert await count_tickets(service) == 0


async def test_an_unsigned_request_is_rejected(desk):
    service = await desk()
    assert await post_raw(service, "{}", "application/json", {}) == 401


async def test_url_verification_is_answered(desk):
    service = await desk()
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    assert await post_raw(service, body, "application/json", sign(body)) == 200


async def test_healthz(desk):
    import aiohttp

    service = await desk()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{service.http_port}/healthz") as r,
    ):
        assert r.status == 200
        assert (await r.json())["ok"] is True


async def test_socket_mode_payloads_reach_the_same_listeners(desk, slack_api):
    service = await desk()
    envelope = {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": "EvSocket1",
        "event_time": int(time.time()),
        "event": {"type": "message", **question(next_ts())},
    }
    request = AsyncBoltRequest(body=envelope, mode="socket_mode")
    response = await service.slack.app.async_dispatch(request)
    assert response.status == 200
    await settle(service)
    assert await count_tickets(service) == 1
