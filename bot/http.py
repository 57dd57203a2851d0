"""The service's one HTTP listener: /healthz, and Slack's Events API and interactivity at
/slack/events when Slack runs in HTTP mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp


def make_http_app(
    health: Callable[[], Awaitable[tuple[bool, dict]]], slack_app: AsyncApp | None
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        ok, parts = await health()
        return web.json_response({"ok": ok, "parts": parts}, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
    if slack_app is not None:

        async def slack_events(request: web.Request) -> web.Response:
            # Bolt checks the signature and the timestamp's age itself (401 otherwise).
            response = await slack_app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        app.router.add_post("/slack/events", slack_events)
    return app


async def start_http(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    server = runner.addresses[0]
    return server[1]
