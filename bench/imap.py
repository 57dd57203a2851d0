"""IMAP push latency against a real Dovecot on loopback: APPEND -> reply written.
Needs root and Dovecot (as the tests do). Prints figures; asserts nothing.

    uv run python bench/imap.py [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_config
from bot.service import Service
from tests.conftest import make_mail
from tests.dovecot import Dovecot, dovecot_available


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    reason = dovecot_available()
    if reason:
        sys.exit(f"cannot run: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="inquiry-imap-bench-"))
    with Dovecot() as server:
        cfg = load_config(
            env={"PW": server.password},
            overrides={
                "store": {"url": f"sqlite+aiosqlite:///{tmp}/store.db"},
                "smtp_receiver": {"enabled": False},
                "outbound": {"relay": f"maildir:{tmp}/outbox"},
                "loop_guard": {"max_replies_per_sender_per_day": 100000},
                "imap": {
                    "enabled": True,
                    "host": server.host,
                    "port": server.port,
                    "security": "none",
                    "username": server.username,
                    "password_env": "PW",
                },
            },
        )
        service = Service(cfg)
        await service.start()
        outbox = tmp / "outbox" / "new"
        while not any(w.state == "ok" for w in service.watchers):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        latencies = []
        for n in range(args.messages):
            raw = make_mail(f"Bench {n}", "Please delete my data.", sender=f"b{n}@example.jp")
            start = time.perf_counter()
            await asyncio.to_thread(server.append, raw)
            while len(list(outbox.glob("*.eml"))) < n + 1:
                await asyncio.sleep(0.002)
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.1)  # let the watcher return to IDLE
        await service.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    latencies.sort()
    print(f"IMAP APPEND -> reply file, {len(latencies)} messages one by one (IDLE):")
    print(
        f"  median {statistics.median(latencies):.0f} ms, "
        f"p90 {latencies[int(len(latencies) * 0.9) - 1]:.0f} ms, max {latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
