"""The scheduler wiring: the sweep and digest jobs are registered on APScheduler, and a
job that comes due runs against the injected clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import FakeClock

JST = ZoneInfo("Asia/Tokyo")


async def test_jobs_are_registered(running):
    service = await running(clock=FakeClock(datetime(2026, 12, 1, 10, tzinfo=JST)))
    sweep = service.scheduler.get_job("sla-sweep")
    digest = service.scheduler.get_job("digest")
    assert isinstance(sweep.trigger, IntervalTrigger)
    assert sweep.trigger.interval == timedelta(seconds=60)
    assert isinstance(digest.trigger, CronTrigger)
    assert digest.next_run_time.astimezone(JST).minute == 0
    assert 9 <= digest.next_run_time.astimezone(JST).hour <= 23


async def test_the_sweep_fires_when_due(running):
    clock = FakeClock(datetime(2026, 12, 1, 10, tzinfo=JST))
    service = await running(clock=clock, sla={"sweep_seconds": 0.1})
    seen: list[datetime] = []
    original = service.ladder.sweep

    async def counting(now):
        seen.append(now)
        return await original(now)

    service.ladder.sweep = counting
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    assert seen and seen[0] == clock.now()


async def test_the_digest_job_sends_once_per_business_day(running, sink):
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=JST))
    service = await running(
        clock=clock, escalation={"manager_emails": ["boss@example.com"], "language": "en"}
    )
    job = service.scheduler.get_job("digest")
    job.modify(next_run_time=datetime.now(JST))  # due now: the scheduler runs it
    service.scheduler.wakeup()
    await sink.wait_for(1)
    assert sink.messages[0]["To"] == "boss@example.com"
    assert sink.messages[0].get_content_type() == "multipart/alternative"
    assert await service.digest.send_if_due(clock.now()) is False  # once a day
    clock.set(datetime(2026, 12, 5, 9, 30, tzinfo=JST))  # a Saturday
    assert await service.digest.send_if_due(clock.now()) is False
