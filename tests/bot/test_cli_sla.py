"""The sla, tickets --overdue and digest commands, run as a person runs them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FakeClock
from bot.store.tables import Ticket
from tests.conftest import ROOT, make_mail, send

JST = ZoneInfo("Asia/Tokyo")


def cli(*args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sla_due_across_the_new_year_closure():
    # Monday 28 December 17:30: half an hour before closing, then the closure (29 Dec -
    # 3 Jan). One business day counts from that day, so it ends at the close of the
    # first business day of January, Monday 4 January.
    done = cli("sla", "due", "complaint", "2026-12-28T17:30:00+09:00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2027-01-04T18:00:00+09:00"


def test_sla_due_other_targets():
    assert cli("sla", "due", "consultation", "2026-11-20T10:00:00+09:00").stdout.strip() == (
        "2026-11-26T18:00:00+09:00"  # Mon 23 Nov is Labour Thanksgiving Day
    )
    fulfil = cli(
        "sla",
        "due",
        "disclosure_request",
        "2026-12-01T10:00:00+09:00",
        "--request-type",
        "fulfilment",
    )
    assert fulfil.stdout.strip() == "2026-12-15T18:00:00+09:00"


def test_sla_due_refuses_a_naive_time():
    done = cli("sla", "due", "complaint", "2026-12-28T17:30:00")
    assert done.returncode == 2 and "offset" in done.stderr


async def test_explain_overdue_and_digest_preview(running, tmp_path):
    clock = FakeClock(datetime(2026, 12, 1, 10, tzinfo=JST))
    service = await running(clock=clock)
    raw = make_mail("Complaint", "You leaked my address to a mailing company. I am furious.")
    assert (await send(service.smtp_port, raw)).startswith("2")
    await service.idle()
    async with service.store.session() as s:
        ticket = await s.scalar(select(Ticket))
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[store]\nurl = "{service.cfg.store.url}"\n[outbound]\nrelay = "maildir:{tmp_path}/o"\n'
        '[escalation]\nlanguage = "en"\n'
    )

    # The operator runs these beside the live service; its loop must keep running meanwhile.
    async def run(*args: str) -> subprocess.CompletedProcess:
        return await asyncio.to_thread(cli, *args, config=config)

    # 13 of 17 business hours: past the 75% warning (12.75 h), short of the breach.
    await service.ladder.sweep(datetime(2026, 12, 2, 14, tzinfo=JST))
    explain = await run("sla", "explain", ticket.number, "--now", "2026-12-02T14:00:00+09:00")
    assert explain.returncode == 0, explain.stderr
    assert "complaint = 1d" in explain.stdout
    assert "elapsed:         13.0 business hours" in explain.stdout
    assert "remaining:       4.0 business hours" in explain.stdout
    assert "warning:         2026-12-02T14:00:00+09:00" in explain.stdout
    assert "breach" not in explain.stdout

    not_yet = await run("tickets", "--overdue", "--now", "2026-12-02T17:59:00+09:00")
    assert ticket.number not in not_yet.stdout
    overdue = await run("tickets", "--overdue", "--now", "2026-12-02T18:00:00+09:00")
    assert ticket.number in overdue.stdout and "overdue" in overdue.stdout

    out = tmp_path / "digest.html"
    preview = await run(
        "digest",
        "--preview",
        "--now",
        "2026-12-03T09:00:00+09:00",
        "--out",
        str(out),
    )
    assert preview.returncode == 0, preview.stderr
    html = out.read_text()
    assert ticket.number in html and "<svg" in html
    assert ticket.number in out.with_suffix(".txt").read_text()
