"""Background-task plumbing shared by the workers: waiting to be woken, and stopping."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Wait until `wake` is set or `seconds` pass, then clear it.

    Not asyncio.wait_for: on Python 3.11 it can swallow a cancel that lands as the event
    fires, and a worker loop would then never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


async def cancel_all(tasks: list[asyncio.Task]) -> None:
    """Cancel every task, wait for each to finish, and empty the list."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    tasks.clear()
