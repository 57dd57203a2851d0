"""When a ticket is due: the close of business N working days after receipt.

A plain weekday rule until the business-time calendar (holidays, closures) replaces it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def due_at(received: datetime, working_days: int, *, timezone: str, close_hour: int) -> datetime:
    tz = ZoneInfo(timezone)
    local = received.astimezone(tz)
    day = local.date()
    if local.time() >= time(close_hour) or day.weekday() >= 5:
        # Received after closing or at a weekend: the clock starts at the next opening.
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        working_days = max(working_days - 1, 0)
    while working_days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            working_days -= 1
    return datetime.combine(day, time(close_hour), tzinfo=tz)
