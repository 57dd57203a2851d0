"""Slack answer latency, end to end: a real `inquiry-desk serve` process in HTTP mode, the
fake Web API of the tests standing in for Slack, signed events POSTed to /slack/events.
Prints how long a question waits for its answer in the thread and for its triage post;
asserts nothing.

    uv run python bench/slack.py [--questions 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import free_port  # noqa: E402
from tests.bot.slack.conftest import sign  # noqa: E402
from tests.slack_fake import FakeSlack  # noqa: E402  (the same fake the tests use)

PUBLIC, TRIAGE = "CPUBLIC", "CTRIAGE"
QUESTIONS = [
    "I want a copy of all the personal data you hold about me. How do I request it?",
    "御社が保有している私の個人情報の開示を請求したいです。手続きを教えてください。",
    "Do you share my information with partner companies?",
    "配信停止を依頼したのに広告メールが届き続けています。大変不満です。",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(values):.0f} ms, "
        f"p95 {percentile(values, 0.95):.0f} ms, max {max(values):.0f} ms"
    )


async def wait_for_post(api: FakeSlack, channel: str, match, since: int) -> float:
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        for call in api.calls[since:]:
            posted = call.ok and call.method == "chat.postMessage"
            if posted and call.args["channel"] == channel and match(call.args):
                return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"no post in {channel} within 10 s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="inquiry-bench-slack-"))
    http_port = free_port()
    async with FakeSlack() as api:
        config = tmp / "bench.toml"
        config.write_text(
            f'[store]\nurl = "sqlite+aiosqlite:///{tmp}/store.db"\n'
            f"[smtp_receiver]\nport = {free_port()}\n"
            f'[outbound]\nrelay = "maildir:{tmp}/outbox"\n'
            '[service]\nlog_level = "WARNING"\n'
            f"[http]\nport = {http_port}\n"
            f'[slack]\nenabled = true\nmode = "http"\ninquiry_channels = ["{PUBLIC}"]\n'
            f'triage_channel = "{TRIAGE}"\nstaff_user_ids = ["USTAFF"]\n'
            f'api_url = "{api.url}"\n'
        )
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": api.token,
            "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--config", str(config), cwd=ROOT, env=env
        )
        url = f"http://127.0.0.1:{http_port}/slack/events"
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(500):
                    try:
                        async with http.get(f"http://127.0.0.1:{http_port}/healthz"):
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.02)
                answers, triage = [], []
                for n in range(args.questions):
                    ts = f"{int(time.time())}.{n:06d}"
                    event = {
                        "type": "event_callback",
                        "team_id": api.team_id,
                        "api_app_id": "A0001",
                        "event_id": f"EvBench{n}",
                        "event_time": int(time.time()),
                        "event": {
                            "type": "message",
                            "channel": PUBLIC,
                            "channel_type": "channel",
                            "user": f"UASKER{n}",
                            "text": QUESTIONS[n % len(QUESTIONS)],
                            "ts": ts,
                        },
                    }
                    body = json.dumps(event)
                    since = len(api.calls)
                    start = time.perf_counter()
                    headers = {"Content-Type": "application/json", **sign(body)}
                    async with http.post(url, data=body, headers=headers) as response:
                        assert response.status == 200, response.status
                    answered = await wait_for_post(
                        api, PUBLIC, lambda a, ts=ts: a.get("thread_ts") == ts, since
                    )
                    posted = await wait_for_post(
                        api, TRIAGE, lambda a: not a.get("thread_ts"), since
                    )
                    answers.append((answered - start) * 1000)
                    triage.append((posted - start) * 1000)
            print(f"{args.questions} questions in an inquiry channel, one at a time:")
            print("  " + summary("event -> answer in its thread", answers))
            print("  " + summary("event -> triage post", triage))
            print(f"  answers within 2 s: {sum(a < 2000 for a in answers)}/{len(answers)}")
        finally:
            proc.terminate()
            await proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
