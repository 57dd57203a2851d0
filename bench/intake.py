"""Latency and throughput of the email spine, end to end: a real `inquiry-desk serve`
process, real SMTP in, replies written to a maildir. Prints figures; asserts nothing.

    uv run python bench/intake.py [--messages 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
BODIES = [
    ("Copy of my data", "Please send me a copy of all personal data you hold about me."),
    ("苦情", "配信停止を依頼したのに広告メールが届き続けています。大変不満です。"),
    ("Joint use", "Do you share my information with partner companies under joint use?"),
    ("利用停止のお願い", "私の個人情報の利用を停止し、消去してください。"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(n: int) -> EmailMessage:
    subject, body = BODIES[n % len(BODIES)]
    msg = EmailMessage()
    msg["From"] = f"writer{n}@example.jp"
    msg["To"] = "inquiry@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<bench-{n}@example.jp>"
    msg.set_content(body)
    return msg


async def wait_for_files(outbox: Path, count: int, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if len(list(outbox.glob("*.eml"))) >= count:
            return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"only {len(list(outbox.glob('*.eml')))} of {count} replies")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="inquiry-bench-"))
    port = free_port()
    config = tmp / "bench.toml"
    config.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp}/store.db"\n'
        f"[smtp_receiver]\nport = {port}\n"
        f'[outbound]\nrelay = "maildir:{tmp}/outbox"\n'
        "[loop_guard]\nmax_replies_per_sender_per_day = 1000000\n"
        '[service]\nlog_level = "WARNING"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--config", str(config), cwd=ROOT
    )
    outbox = tmp / "outbox" / "new"
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
        except OSError:
            await asyncio.sleep(0.02)

    try:
        # Latency: one message at a time, from the 250 to the reply file.
        latencies = []
        for n in range(20):
            await aiosmtplib.send(message(n), hostname="127.0.0.1", port=port)
            accepted = time.perf_counter()
            done = await wait_for_files(outbox, n + 1, 10)
            latencies.append((done - accepted) * 1000)
        latencies.sort()
        print(f"latency 250 -> reply file, {len(latencies)} messages sent one by one:")
        print(
            f"  median {statistics.median(latencies):.1f} ms, "
            f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.1f} ms, "
            f"max {latencies[-1]:.1f} ms"
        )

        # Throughput: many clients at once.
        first = 20
        semaphore = asyncio.Semaphore(args.concurrency)

        async def one(n: int) -> None:
            async with semaphore:
                await aiosmtplib.send(message(n), hostname="127.0.0.1", port=port)

        start = time.perf_counter()
        await asyncio.gather(*(one(first + n) for n in range(args.messages)))
        received = time.perf_counter()
        done = await wait_for_files(outbox, first + args.messages, 120)
        print(f"throughput, {args.messages} messages from {args.concurrency} clients:")
        print(
            f"  accepted at {args.messages / (received - start):.0f} msg/s, "
            f"all answered in {done - start:.2f} s = "
            f"{args.messages / (done - start):.0f} msg/s end to end"
        )
        replies = len(list(outbox.glob("*.eml")))
        print(f"  replies written: {replies} for {first + args.messages} messages")
    finally:
        proc.terminate()
        await proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
