"""Background-task plumbing shared by the workers: waiting to be woken, and stopping."""

from __future__ import annotations

import asyncio
import contextlib


def honour_swallowed_cancel() -> None:
    """Raise CancelledError if this task was asked to stop and the request got lost on the
    way (a library caught it); a worker loop calls this before it waits for more work."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Wait until `wake` is set or `seconds` pass, then clear it.

    Not asyncio.wait_for: on Python 3.11 it can swallow a cancel that lands as the event
    fires, and a worker loop would then never stop. For the same reason a cancel that was
    swallowed earlier in the round (SQLAlchemy logs and drops one that lands while a
    connection goes back to its pool) is honoured here."""
    honour_swallowed_cancel()
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
