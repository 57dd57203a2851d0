"""Slack fixtures: the fake Web API, a service with Slack on in HTTP mode pointed at it,
and signed requests into the real Bolt app."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, or_, select

from bot.service import Service
from bot.store.tables import SlackPost
from tests.slack_fake import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"
ENV = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
TRIAGE = "CTRIAGE"
PUBLIC = "CPUBLIC"
STAFF = "USTAFF"
ASKER = "UASKER"

_ts = itertools.count(1)


def next_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def triage_posts(api: FakeSlack) -> list:
    """The top-level triage posts Slack accepted (thread lines and failed calls left out)."""
    return [
        c
        for c in api.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == TRIAGE and not c.args.get("thread_ts")
    ]


def slack_sections(api: FakeSlack, **slack) -> dict:
    return {
        "slack": {
            "enabled": True,
            "mode": "http",
            "inquiry_channels": [PUBLIC],
            "triage_channel": TRIAGE,
            "manager_group": "SMANAGERS",
            "staff_user_ids": [STAFF],
            "api_url": api.url,
            "staff_language": "en",
            "retry_initial_seconds": 0.05,
            **slack,
        },
        "http": {"port": 0},
    }


@pytest.fixture
async def desk(running, slack_api: FakeSlack) -> Callable:
    """Start a service with Slack on; keyword arguments override [slack] keys."""

    async def start(clock=None, **slack) -> Service:
        service = await running(env=ENV, clock=clock, **slack_sections(slack_api, **slack))
        assert service.slack is not None
        service.slack.sender.idle_poll = 0.05
        return service

    return start


def sign(body: str, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


async def post_raw(service: Service, body: str, content_type: str, headers: dict) -> int:
    url = f"http://127.0.0.1:{service.http_port}/slack/events"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"Content-Type": content_type, **headers}) as r,
    ):
        return r.status


async def send_event(service: Service, event: dict, **signing) -> int:
    """An Events API callback, signed as Slack signs it, POSTed to the running app."""
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{next(_ts)}",
            "event_time": int(time.time()),
            "event": {"type": "message", **event},
        }
    )
    return await post_raw(service, body, "application/json", sign(body, **signing))


async def send_interaction(service: Service, payload: dict) -> int:
    """A block action or view submission, form-encoded and signed as Slack sends it."""
    payload = {"team": {"id": "T0001"}, "api_app_id": "A0001", "token": "legacy", **payload}
    body = urlencode({"payload": json.dumps(payload)})
    return await post_raw(service, body, "application/x-www-form-urlencoded", sign(body))


def click(ticket_id: int, action_id: str, *, user: str = STAFF, **extra) -> dict:
    action = {"action_id": action_id, "block_id": f"ticket:{ticket_id}", "type": "button"}
    action.update(extra)
    if "selected_option" not in extra:
        action["value"] = str(ticket_id)
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": TRIAGE},
        "trigger_id": "12345.98765.abcd",
        "container": {"type": "message", "channel_id": TRIAGE},
        "actions": [action],
    }


async def settle(service: Service, timeout: float = 5.0) -> None:
    """Let intake finish and the Slack queue drain: no row due or being sent."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await service.idle()
        now = service.clock.now()
        async with service.store.session() as s:
            busy = await s.scalar(
                select(func.count(SlackPost.id)).where(
                    or_(
                        SlackPost.leased_until.is_not(None),
                        (SlackPost.state == "pending") & (SlackPost.next_attempt_at <= now),
                    )
                )
            )
        if not busy and service.queue.empty():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{busy} Slack rows still due after {timeout} s")
        await asyncio.sleep(0.02)


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
