"""The fake Slack Web API answers the real SDK and Bolt as Slack does, so the Slack tests
test our code and not the fake."""

from __future__ import annotations

import json
import re
import time

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack_fake import UPLOAD, FakeSlack

DIVIDER = [{"type": "divider"}]


def client(api: FakeSlack, token: str = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=api.url)


async def test_posts_get_unique_increasing_ts_and_are_recorded_with_blocks(slack_api):
    web = client(slack_api)
    first = await web.chat_postMessage(channel="C1", text="one", blocks=DIVIDER)
    second = await web.chat_postMessage(channel="C1", text="two", thread_ts=first["ts"])
    assert re.fullmatch(r"\d{10}\.\d{6}", first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1" and first["message"]["blocks"] == DIVIDER
    [call, _] = slack_api.calls_to("chat.postMessage")
    assert call.args["blocks"] == DIVIDER and call.token == "xoxb-test"
    assert [(m["text"], m["thread_ts"]) for m in slack_api.messages["C1"]] == [
        ("one", None),
        ("two", first["ts"]),
    ]


async def test_chat_update_changes_the_stored_message_in_place(slack_api):
    web = client(slack_api)
    posted = await web.chat_postMessage(channel="C1", text="one", blocks=DIVIDER)
    updated = await web.chat_update(channel="C1", ts=posted["ts"], text="changed")
    assert (updated["ts"], updated["text"]) == (posted["ts"], "changed")
    [message] = slack_api.messages["C1"]
    assert message["text"] == "changed" and message["blocks"] == DIVIDER  # kept, as on Slack
    with pytest.raises(SlackApiError) as err:
        await web.chat_update(channel="C1", ts="1.000001", text="nothing there")
    assert err.value.response["error"] == "message_not_found"


async def test_a_wrong_token_is_invalid_auth(slack_api):
    with pytest.raises(SlackApiError) as err:
        await client(slack_api, "xoxb-wrong").chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "invalid_auth"
    [call] = slack_api.calls
    assert (call.token, call.ok) == ("xoxb-wrong", False)
    assert slack_api.messages == {}


async def test_a_429_carries_retry_after_and_the_next_call_succeeds(slack_api):
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    web = client(slack_api)
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert err.value.response["error"] == "ratelimited"
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]
    assert [c.status for c in slack_api.calls_to("chat.postMessage")] == [429, 200]


async def test_the_sdk_rate_limit_handler_retries_after_one_429(slack_api):
    slack_api.fail_next("chat.postMessage", status=429, retry_after=1)
    web = client(slack_api)
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    started = time.monotonic()
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]
    assert time.monotonic() - started >= 1  # it honoured Retry-After
    assert [c.status for c in slack_api.calls] == [429, 200]


async def test_a_500_raises_and_the_next_call_succeeds(slack_api):
    slack_api.fail_next("chat.postMessage", status=500)
    web = client(slack_api)
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 500
    assert isinstance(err.value.response.data, str)  # a text body: response.get() won't do
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_an_injected_error_is_ok_false_with_http_200(slack_api):
    slack_api.fail_next("chat.postMessage", error="channel_not_found", times=2)
    web = client(slack_api)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await web.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "channel_not_found"
    assert (await web.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_unknown_methods_are_refused_and_recorded(slack_api):
    with pytest.raises(SlackApiError) as err:
        await client(slack_api).api_call("no.such.method", json={"a": 1})
    assert err.value.response["error"] == "unknown_method"
    assert slack_api.calls_to("no.such.method")[0].args == {"a": 1}


async def test_wait_for_counts_only_successes_and_names_what_it_saw(slack_api):
    slack_api.fail_next("chat.postMessage", status=500)
    web = client(slack_api)
    with pytest.raises(SlackApiError):
        await web.chat_postMessage(channel="C1", text="x")
    with pytest.raises(TimeoutError, match=r"1 x chat.postMessage 500 failed"):
        await slack_api.wait_for("chat.postMessage", timeout=0.2)
    await web.chat_postMessage(channel="C1", text="x")
    [ok] = await slack_api.wait_for("chat.postMessage")
    assert ok.status == 200


async def test_files_upload_v2_round_trips(slack_api):
    web = client(slack_api)
    parent = await web.chat_postMessage(channel="C1", text="here is your copy")
    answer = await web.files_upload_v2(
        channel="C1",
        content=b"%PDF-1.4 fake",
        filename="x.pdf",
        thread_ts=parent["ts"],
        initial_comment="Attached.",
    )
    file_id = answer["file"]["id"]
    assert file_id.startswith("F") and answer["file"]["title"] == "x.pdf"
    assert slack_api.files[file_id]["content"] == b"%PDF-1.4 fake"
    [asked] = slack_api.calls_to("files.getUploadURLExternal")
    assert asked.args == {"filename": "x.pdf", "length": "13"}  # query strings: all str
    [complete] = slack_api.calls_to("files.completeUploadExternal")
    assert complete.args["files"] == [{"id": file_id, "title": "x.pdf"}]
    assert complete.args["channel_id"] == "C1" and complete.args["thread_ts"] == parent["ts"]
    assert complete.args["initial_comment"] == "Attached."
    shared = slack_api.messages["C1"][-1]
    assert shared["files"] == [file_id] and shared["thread_ts"] == parent["ts"]


async def test_a_failed_upload_is_a_request_error_not_an_api_error(slack_api):
    slack_api.fail_next(UPLOAD, status=500)
    with pytest.raises(SlackRequestError, match="status: 500"):
        await client(slack_api).files_upload_v2(channel="C1", content=b"x", filename="x.pdf")
    assert slack_api.calls_to("files.completeUploadExternal") == []


async def test_form_and_multipart_bodies_are_read_like_json(slack_api):
    blocks = json.dumps(DIVIDER)
    async with aiohttp.ClientSession() as http:
        form = {"token": "xoxb-test", "channel": "C1", "text": "form", "blocks": blocks}
        async with http.post(slack_api.url + "chat.postMessage", data=form) as r:
            assert (await r.json())["ok"]
        multipart = aiohttp.FormData({"channel": "C2", "text": "multi", "blocks": blocks})
        multipart.add_field("attachment", b"bytes", filename="a.bin")
        headers = {"Authorization": "Bearer xoxb-test"}
        async with http.post(
            slack_api.url + "chat.postMessage", data=multipart, headers=headers
        ) as r:
            assert (await r.json())["ok"]
    form_call, multipart_call = slack_api.calls_to("chat.postMessage")
    assert form_call.token == "xoxb-test" and "token" not in form_call.args
    assert form_call.args["blocks"] == DIVIDER == multipart_call.args["blocks"]
    assert multipart_call.args["attachment"] == b"bytes"


async def test_dms_views_users_reactions_and_groups(slack_api):
    web = client(slack_api)
    slack_api.users["UASKER"] = {"real_name": "Taro Yamada", "profile": {"display_name": "taro"}}
    slack_api.usergroups["SMANAGERS"] = ["UBOSS"]

    first = await web.conversations_open(users="UASKER")
    again = await web.conversations_open(users="UASKER")
    assert first["channel"]["id"] == again["channel"]["id"] == "DUASKER"
    assert again["already_open"] and "already_open" not in first

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Reply"}, "blocks": []}
    opened = await web.views_open(trigger_id="123.456", view=modal)
    assert opened["view"]["id"].startswith("V") and opened["view"]["title"] == modal["title"]
    updated = await web.views_update(
        view_id=opened["view"]["id"], view={**modal, "blocks": DIVIDER}
    )
    assert updated["view"]["id"] == opened["view"]["id"] and updated["view"]["blocks"] == DIVIDER

    user = (await web.users_info(user="UASKER"))["user"]
    assert (user["real_name"], user["profile"]["display_name"], user["tz"]) == (
        "Taro Yamada",
        "taro",
        "Asia/Tokyo",
    )

    posted = await web.chat_postMessage(channel="C1", text="x")
    await web.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await web.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")

    assert (await web.usergroups_users_list(usergroup="SMANAGERS"))["users"] == ["UBOSS"]
    assert (await web.chat_postEphemeral(channel="C1", user="UASKER", text="psst"))["message_ts"]


async def test_a_bolt_app_authorizes_and_says_through_the_fake(slack_api):
    app = AsyncApp(
        client=client(slack_api), request_verification_enabled=False, process_before_response=True
    )

    @app.event("app_mention")
    async def answer(event, say):
        await say(text="hello", thread_ts=event["ts"])

    event = {
        "type": "app_mention",
        "user": "UASKER",
        "text": "<@UBOT> hi",
        "ts": "1732492800.000100",
        "channel": "C1",
        "event_ts": "1732492800.000100",
    }
    body = {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "AFAKE",
        "event": event,
        "event_id": "Ev1",
        "event_time": 1732492800,
    }
    headers = {"content-type": ["application/json"]}
    response = await app.async_dispatch(AsyncBoltRequest(body=json.dumps(body), headers=headers))
    assert response.status == 200
    [said] = await slack_api.wait_for("chat.postMessage")
    assert said.args["thread_ts"] == event["ts"] and said.args["channel"] == "C1"
    assert slack_api.calls_to("auth.test")[0].ok  # Bolt checked who it is first
