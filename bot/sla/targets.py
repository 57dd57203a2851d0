"""Which response target a ticket's clock runs against, and when that clock is due:
targets are "Nd" (business days) or "Nh" (business hours) strings from [sla]."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.sla.calendar import BusinessCalendar

_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dh])\s*$")
TARGET_KEYS = ("complaint", "disclosure_request", "consultation", "disclosure_fulfilment", "triage")


@dataclass(frozen=True)
class Target:
    name: str  # the [sla] key it came from
    amount: float
    unit: str  # "d" or "h"

    def due(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        if self.unit == "d":
            return calendar.due(start, days=int(self.amount))
        return calendar.due(start, hours=self.amount)

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}"


def parse_target(name: str, text: str) -> Target:
    m = _TARGET.match(text)
    if not m or (m[2] == "d" and not float(m[1]).is_integer()):
        raise ValueError(f"config key sla.{name} must look like '2d' or '4h', not {text!r}")
    return Target(name, float(m[1]), m[2])


def target_for(sla, *, category: str, stage: str, needs_human: bool) -> Target:
    """The target a ticket's current clock runs against."""
    if stage == "fulfilment":
        name = "disclosure_fulfilment"
    elif needs_human:
        name = "triage"
    else:
        name = category
    return parse_target(name, getattr(sla, name))
