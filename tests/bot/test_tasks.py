"""Worker plumbing: a worker waiting to be woken always stops when cancelled."""

from __future__ import annotations

import asyncio

import pytest

from bot.tasks import cancel_all, wait_for_wake


async def worker(wake: asyncio.Event, rounds: list[int]) -> None:
    while True:
        rounds.append(1)
        await wait_for_wake(wake, 10)


@pytest.mark.parametrize("settle_ticks", [0, 1, 2, 3])
async def test_a_cancel_landing_with_a_wake_still_stops_the_worker(settle_ticks):
    wake, rounds = asyncio.Event(), []
    task = asyncio.create_task(worker(wake, rounds))
    for _ in range(settle_ticks + 1):
        await asyncio.sleep(0)
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert done and task.cancelled()


async def test_a_cancel_swallowed_inside_the_round_still_stops_the_worker():
    wake, busy = asyncio.Event(), asyncio.Event()

    async def swallowing_worker() -> None:
        while True:
            try:
                busy.set()
                await asyncio.sleep(10)  # a store call that a library lets no cancel out of
            except asyncio.CancelledError:
                pass
            await wait_for_wake(wake, 10)

    task = asyncio.create_task(swallowing_worker())
    await busy.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert done and task.cancelled()


async def test_a_wake_ends_the_wait_and_is_cleared():
    wake, rounds = asyncio.Event(), []
    task = asyncio.create_task(worker(wake, rounds))
    await asyncio.sleep(0)
    wake.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(rounds) == 2 and not wake.is_set()
    tasks = [task]
    await cancel_all(tasks)
    assert task.cancelled() and tasks == []
