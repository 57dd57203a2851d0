"""The timed jobs, on APScheduler: the escalation sweep every minute and the digest check
each morning. Jobs take 'now' from the injected clock and recompute from the store, so
the scheduler keeps no state of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.sla.digest import DigestMaker
from bot.sla.escalation import Ladder

log = logging.getLogger(__name__)


class JobsInFlight:
    """The job runs under way, so that a stop lets them finish: APScheduler's own shutdown
    cancels them mid-transaction, and a cancel inside the store can leave a run hanging."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task] = set()

    def track(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            finally:
                self._running.discard(task)

        return run

    async def stop(self, scheduler: AsyncIOScheduler, timeout: float = 30.0) -> None:
        if not scheduler.running:
            return
        scheduler.pause()  # no new runs while the current ones finish
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        scheduler.shutdown(wait=False)


def make_scheduler(
    cfg, clock: Clock, ladder: Ladder, digest: DigestMaker, timezone, jobs: JobsInFlight
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone)

    @jobs.track
    async def sweep() -> None:
        try:
            await ladder.sweep(clock.now())
        except Exception:
            log.exception("sla: sweep failed; the next one recomputes everything")

    @jobs.track
    async def morning() -> None:
        try:
            await digest.send_if_due(clock.now())
        except Exception:
            log.exception("digest: failed; it is tried again at the next check")

    scheduler.add_job(
        sweep,
        IntervalTrigger(seconds=cfg.sla.sweep_seconds, timezone=timezone),
        id="sla-sweep",
        name="sla-sweep",
        max_instances=1,
        coalesce=True,
    )
    if cfg.digest.enabled:
        hour, minute = (int(x) for x in cfg.digest.time.split(":"))
        # At the configured time, then hourly through the day: a service started late, or
        # a relay down at nine, still gets the day's digest out (send_if_due sends once).
        scheduler.add_job(
            morning,
            CronTrigger(hour=f"{hour}-23", minute=minute, timezone=timezone),
            id="digest",
            name="digest",
            max_instances=1,
            coalesce=True,
        )
    return scheduler
