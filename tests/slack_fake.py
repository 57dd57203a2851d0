"""A fake of Slack's Web API over real HTTP: the SDK and Bolt talk to it through `base_url`;
it answers the methods inquiry-desk uses and records every call."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

# The SDK JSON-encodes these when a method goes out as form fields or query parameters
# (files.completeUploadExternal's `files`, and everything from the sync client).
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})

# The upload POST is no Web API method but gets recorded (and can be failed) like one.
UPLOAD = "upload"


@dataclass
class Call:
    method: str  # "chat.postMessage", or UPLOAD for the bytes sent to an upload_url
    args: dict  # query, form and JSON body merged; JSON-string fields decoded
    token: str | None
    status: int = 200  # the HTTP status the fake answered
    ok: bool = True  # False for HTTP failures and {"ok": false} answers alike


class SlackError(Exception):
    """Answered as HTTP 200 {"ok": false, "error": code}, which is how Slack refuses."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Failure:
    status: int
    retry_after: int
    error: str | None
    left: int


_HANDLERS: dict[str, Callable[[FakeSlack, dict], dict]] = {}


def _answers(method: str) -> Callable:
    def register(fn: Callable[[FakeSlack, dict], dict]) -> Callable[[FakeSlack, dict], dict]:
        _HANDLERS[method] = fn
        return fn

    return register


class FakeSlack:
    """A local aiohttp server that answers the Web API methods inquiry-desk uses and records
    every call. Tests may seed `users` (user id -> fields merged into users.info) and
    `usergroups` (group id -> member ids)."""

    def __init__(
        self,
        *,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T0001",
        token: str = "xoxb-test",
        app_token: str = "xapp-test",
    ) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.token = token
        self.app_token = app_token
        self.url = ""
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict]] = {}
        self.ephemerals: list[dict] = []
        self.files: dict[str, dict] = {}  # file id -> name, title, length, content, channels...
        self.views: dict[str, dict] = {}
        self.reactions: list[dict] = []
        self.users: dict[str, dict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._dms: dict[str, str] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- control -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail: HTTP `status` (a 429 carries Retry-After,
        anything else a plain-text body), or, given `error`, HTTP 200 {"ok": false, "error"}.
        Injected failures come before the token check, as an outage would."""
        self._failures.setdefault(method, []).append(
            _Failure(200 if error else status, retry_after, error, times)
        )

    def calls_to(self, method: str) -> list[Call]:
        """Every call of `method`, failed ones included; filter on `ok` or `status`."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` has succeeded at least `count` times; returns those calls."""

        def successes() -> list[Call]:
            return [c for c in self.calls if c.method == method and c.ok]

        async def enough() -> list[Call]:
            while len(successes()) < count:
                self._changed.clear()
                await self._changed.wait()
            return successes()

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            seen = Counter(f"{c.method} {c.status}{'' if c.ok else ' failed'}" for c in self.calls)
            summary = ", ".join(f"{n} x {what}" for what, n in seen.items()) or "no calls"
            raise TimeoutError(
                f"wanted {count} successful {method} within {timeout} s, got "
                f"{len(successes())}; seen: {summary}"
            ) from None

    # -- the server ----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, {}, None)
        self.calls.append(call)
        try:
            call.args = await _read_args(request)
            call.token = _bearer(request) or call.args.pop("token", None)
            failed = self._injected_failure(method, call)
            if failed is not None:
                return failed
            self._check_token(method, call.token)
            handler = _HANDLERS.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            return web.json_response({"ok": True, **handler(self, call.args)})
        except SlackError as refused:
            call.ok = False
            return web.json_response({"ok": False, "error": refused.code})
        finally:
            self._changed.set()

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        call = Call(UPLOAD, {"file_id": file_id}, _bearer(request))
        self.calls.append(call)
        try:
            failed = self._injected_failure(UPLOAD, call)
            if failed is not None:
                return failed
            if file_id not in self.files:
                call.ok, call.status = False, 404
                return web.Response(status=404, text="Not Found")
            content = await _read_upload(request)
            call.args["length"] = len(content)
            self.files[file_id]["content"] = content
            # files.slack.com answers in plain text, which is what the SDK expects there.
            return web.Response(text=f"OK - {len(content)}")
        finally:
            self._changed.set()

    def _injected_failure(self, method: str, call: Call) -> web.Response | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.left -= 1
        if failure.left <= 0:
            queue.pop(0)
        call.ok, call.status = False, failure.status
        if failure.error:
            return web.json_response({"ok": False, "error": failure.error})
        if failure.status == 429:
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(failure.retry_after)},
            )
        return web.Response(status=failure.status, text=f"HTTP {failure.status} from FakeSlack")

    def _check_token(self, method: str, token: str | None) -> None:
        # Socket Mode's apps.connections.open is the one method that wants the app token.
        wanted = self.app_token if method == "apps.connections.open" else self.token
        if token == wanted:
            return
        if not token:
            raise SlackError("not_authed")
        if token in (self.token, self.app_token):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    # -- helpers for the methods ---------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def _next_ts(self) -> str:
        # Near the wall clock, like Slack's, and strictly increasing even within a microsecond.
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _find_message(self, channel: str | None, ts: str | None) -> dict | None:
        for message in self.messages.get(channel or "", []):
            if message["ts"] == ts:
                return message
        return None

    def _view(self, view: Any, view_id: str, previous: dict | None = None) -> dict:
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        answered = {
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "root_view_id": (previous or {}).get("root_view_id", view_id),
            "app_id": "AFAKE",
            "bot_id": self.bot_id,
        }
        self.views[view_id] = answered
        return answered


async def _read_args(request: web.Request) -> dict:
    args: dict = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        args.update(body)
    elif request.content_type.startswith("multipart/"):
        async for part in await request.multipart():
            args[part.name] = await part.read() if part.filename else await part.text()
    elif request.can_read_body:
        args.update(await request.post())
    for key in _JSON_FIELDS & args.keys():
        if isinstance(args[key], str):
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(args[key])
    return args


async def _read_upload(request: web.Request) -> bytes:
    # The SDK posts the raw bytes; `curl -F file=@...` style multipart works on Slack too.
    if request.content_type.startswith("multipart/"):
        async for part in await request.multipart():
            if part.filename or part.name == "file":
                return await part.read()
        return b""
    return await request.read()


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _required(args: dict, name: str, error: str) -> Any:
    value = args.get(name)
    if value in (None, "", [], {}):
        raise SlackError(error)
    return value


# -- the methods -------------------------------------------------------------------------


@_answers("auth.test")
def _auth_test(fake: FakeSlack, args: dict) -> dict:
    return {
        "url": "https://inquiry-desk-test.slack.com/",
        "team": "Inquiry Desk Test",
        "user": "inquiry-desk",
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
    }


@_answers("chat.postMessage")
def _chat_post_message(fake: FakeSlack, args: dict) -> dict:
    channel = _required(args, "channel", "channel_not_found")
    if not (args.get("text") or args.get("blocks") or args.get("attachments")):
        raise SlackError("no_text")
    ts = fake._next_ts()
    message = {
        "type": "message",
        "ts": ts,
        "thread_ts": args.get("thread_ts") or None,
        "text": args.get("text", ""),
        "blocks": args.get("blocks"),
        "attachments": args.get("attachments"),
        "metadata": args.get("metadata"),
        "user": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "team": fake.team_id,
    }
    fake.messages.setdefault(channel, []).append(message)
    return {"channel": channel, "ts": ts, "message": _present(message)}


@_answers("chat.update")
def _chat_update(fake: FakeSlack, args: dict) -> dict:
    channel = _required(args, "channel", "channel_not_found")
    message = fake._find_message(channel, args.get("ts"))
    if message is None:
        raise SlackError("message_not_found")
    # As on Slack, fields left out keep their old value; an empty `blocks` removes them.
    for key in ("text", "blocks", "attachments", "metadata"):
        if key in args:
            message[key] = args[key]
    message["edited"] = {"user": fake.bot_user_id, "ts": fake._next_ts()}
    return {
        "channel": channel,
        "ts": message["ts"],
        "text": message["text"],
        "message": _present(message),
    }


@_answers("chat.postEphemeral")
def _chat_post_ephemeral(fake: FakeSlack, args: dict) -> dict:
    channel = _required(args, "channel", "channel_not_found")
    user = _required(args, "user", "user_not_in_channel")
    if not (args.get("text") or args.get("blocks") or args.get("attachments")):
        raise SlackError("no_text")
    ts = fake._next_ts()
    fake.ephemerals.append({"channel": channel, "user": user, "ts": ts, **args})
    return {"message_ts": ts}


@_answers("conversations.open")
def _conversations_open(fake: FakeSlack, args: dict) -> dict:
    if args.get("channel"):
        return {"channel": {"id": args["channel"]}, "no_op": True, "already_open": True}
    users = _required(args, "users", "users_list_not_supplied")
    key = ",".join(sorted(str(users).split(",")))
    already = key in fake._dms
    # A stable id per user, so tests can name the DM without asking: UASKER -> DUASKER.
    channel = fake._dms.setdefault(key, ("D" if "," not in key else "G") + key.replace(",", ""))
    answer: dict = {"channel": {"id": channel}}
    if already:
        answer.update(no_op=True, already_open=True)
    return answer


@_answers("views.open")
def _views_open(fake: FakeSlack, args: dict) -> dict:
    _required(args, "trigger_id", "invalid_trigger_id")
    return {"view": fake._view(args.get("view"), fake._next_id("V"))}


@_answers("views.push")
def _views_push(fake: FakeSlack, args: dict) -> dict:
    _required(args, "trigger_id", "invalid_trigger_id")
    return {"view": fake._view(args.get("view"), fake._next_id("V"))}


@_answers("views.update")
def _views_update(fake: FakeSlack, args: dict) -> dict:
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next(
            (v["id"] for v in fake.views.values() if v["external_id"] == args["external_id"]),
            None,
        )
    previous = fake.views.get(view_id or "")
    if previous is None:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != previous["hash"]:
        raise SlackError("hash_conflict")
    return {"view": fake._view(args.get("view"), previous["id"], previous)}


@_answers("users.info")
def _users_info(fake: FakeSlack, args: dict) -> dict:
    user_id = _required(args, "user", "user_not_found")
    name = user_id.lower()
    user = {
        "id": user_id,
        "team_id": fake.team_id,
        "name": name,
        "real_name": f"User {user_id}",
        "deleted": False,
        "is_bot": user_id == fake.bot_user_id,
        "tz": "Asia/Tokyo",
        "tz_label": "Japan Standard Time",
        "tz_offset": 32400,
        "profile": {"display_name": name, "real_name": f"User {user_id}"},
    }
    seeded = fake.users.get(user_id, {})
    user.update({k: v for k, v in seeded.items() if k != "profile"})
    user["profile"].update(seeded.get("profile", {}))
    return {"user": user}


@_answers("reactions.add")
def _reactions_add(fake: FakeSlack, args: dict) -> dict:
    channel = _required(args, "channel", "no_item_specified")
    timestamp = _required(args, "timestamp", "no_item_specified")
    name = _required(args, "name", "invalid_name")
    reaction = {"channel": channel, "timestamp": timestamp, "name": name}
    if reaction in fake.reactions:
        raise SlackError("already_reacted")
    fake.reactions.append(reaction)
    message = fake._find_message(channel, timestamp)
    if message is not None:
        message.setdefault("reactions", []).append(
            {"name": name, "users": [fake.bot_user_id], "count": 1}
        )
    return {}


@_answers("usergroups.users.list")
def _usergroups_users_list(fake: FakeSlack, args: dict) -> dict:
    group = _required(args, "usergroup", "no_such_subteam")
    # Groups no test seeded are empty rather than refused, so a configured group just works.
    return {"users": list(fake.usergroups.get(group, []))}


@_answers("apps.connections.open")
def _apps_connections_open(fake: FakeSlack, args: dict) -> dict:
    return {"url": "wss://127.0.0.1:9/link/?ticket=fake"}


@_answers("files.getUploadURLExternal")
def _files_get_upload_url_external(fake: FakeSlack, args: dict) -> dict:
    filename = _required(args, "filename", "invalid_arguments")
    try:
        length = int(_required(args, "length", "invalid_arguments"))
    except ValueError:
        raise SlackError("invalid_arguments") from None
    file_id = fake._next_id("F")
    fake.files[file_id] = {
        "id": file_id,
        "name": filename,
        "title": filename,
        "length": length,
        "content": None,
        "alt_txt": args.get("alt_txt"),
        "channels": [],
        "thread_ts": None,
        "initial_comment": None,
    }
    origin = fake.url.removesuffix("/api/")
    return {"upload_url": f"{origin}/upload/v1/{file_id}", "file_id": file_id}


@_answers("files.completeUploadExternal")
def _files_complete_upload_external(fake: FakeSlack, args: dict) -> dict:
    listed = _required(args, "files", "invalid_arguments")
    if not isinstance(listed, list) or not all(isinstance(f, dict) for f in listed):
        raise SlackError("invalid_arguments")
    files = [fake.files.get(str(f.get("id"))) for f in listed]
    if any(f is None or f["content"] is None for f in files):
        raise SlackError("file_not_found")
    channels = [c for c in str(args.get("channels") or "").split(",") if c]
    if args.get("channel_id"):
        channels.insert(0, args["channel_id"])
    for f, asked in zip(files, listed, strict=True):
        f.update(
            title=asked.get("title") or f["name"],
            channels=channels,
            thread_ts=args.get("thread_ts"),
            initial_comment=args.get("initial_comment"),
        )
    # Sharing posts one message carrying the files, in the thread when thread_ts is given.
    for channel in channels:
        fake.messages.setdefault(channel, []).append(
            {
                "type": "message",
                "ts": fake._next_ts(),
                "thread_ts": args.get("thread_ts") or None,
                "text": args.get("initial_comment") or "",
                "blocks": None,
                "files": [f["id"] for f in files],
                "upload": True,
                "user": fake.bot_user_id,
            }
        )
    return {
        "files": [
            {"id": f["id"], "title": f["title"], "name": f["name"], "size": len(f["content"])}
            for f in files
        ]
    }


def _present(message: dict) -> dict:
    return {k: v for k, v in message.items() if v is not None}


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake
