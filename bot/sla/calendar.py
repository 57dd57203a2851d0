"""The business calendar: when the inquiry center is open, when a target of N business hours
or days falls due, and how much business time lies between two instants (pure, no clock)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Every day loop gives up after this many days without a working day, so a calendar with
# no working days (empty workdays, a closure all year) fails loudly instead of hanging.
_SEARCH_DAYS = 366 * 2
# The day caches are a convenience, not a store: a long-running service may ask about any
# number of days, so they are simply dropped when they grow this large.
_CACHE_DAYS = 20_000
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)

_Window = tuple[datetime, datetime]


def _aware(t: datetime) -> datetime:
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise ValueError(f"an instant must be a timezone-aware datetime, not {t!r}")
    return t


def _utc(t: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo subtract as wall clocks; UTC keeps durations real.
    return _aware(t).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone: unknown time zone {name!r}") from None


def _clock(text: str, key: str) -> time:
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", str(text))
    if not m:
        raise ValueError(f"{key}: {text!r} is not a time of day HH:MM (00:00-23:59)")
    return time(int(m[1]), int(m[2]))


def _weekday(name: str) -> int:
    key = str(name).strip().lower()
    if key not in WEEKDAYS:
        raise ValueError(f"workdays: {name!r} is not one of {' '.join(WEEKDAYS)}")
    return WEEKDAYS.index(key)


def _iso_date(text: str | date, key: str) -> date:
    if isinstance(text, datetime):
        raise ValueError(f"{key}: {text!r} is a datetime, not a date")
    if isinstance(text, date):
        return text
    # date.fromisoformat alone also takes "20260813" and week dates: too lenient for config.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(text)):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{key}: {text!r} is not a date YYYY-MM-DD")


def _no_working_day(near: date) -> ValueError:
    return ValueError(
        f"the business calendar has no working day within {_SEARCH_DAYS} days of {near}"
    )


def _list(value, key: str) -> list:
    # A bare string would be iterated letter by letter: catch the easy TOML slip.
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{key}: expected a list, not {value!r}")
    return list(value)


@dataclass(frozen=True)
class _Closure:
    """Days the company is closed: a date range once, or a month-day range every year
    (which may wrap the new year, as 12-29..01-03 does)."""

    first: date | tuple[int, int]
    last: date | tuple[int, int]

    @classmethod
    def parse(cls, text: str) -> _Closure:
        if not isinstance(text, str):
            raise ValueError(f"closures: {text!r} is not a string")
        first, dots, last = text.partition("..")
        if dots and not last.strip():
            raise ValueError(f"closures: {text!r} has no end after '..'")
        ends = [cls._end(text, part.strip()) for part in (first, last if dots else first)]
        if type(ends[0]) is not type(ends[1]):
            raise ValueError(f"closures: {text!r} mixes YYYY-MM-DD with MM-DD")
        if isinstance(ends[0], date) and ends[0] > ends[1]:
            raise ValueError(f"closures: {text!r} ends before it starts")
        return cls(ends[0], ends[1])

    @staticmethod
    def _end(text: str, part: str) -> date | tuple[int, int]:
        m = re.fullmatch(r"(\d{2})-(\d{2})", part)
        try:
            if m:
                date(2000, int(m[1]), int(m[2]))  # a leap year, so 02-29 is a real day
                return int(m[1]), int(m[2])
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                return date.fromisoformat(part)
        except ValueError:
            pass
        raise ValueError(f"closures: {part!r} in {text!r} is not a date MM-DD or YYYY-MM-DD")

    def __contains__(self, day: date) -> bool:
        if isinstance(self.first, date):
            return self.first <= day <= self.last
        md = (day.month, day.day)
        if self.first <= self.last:
            return self.first <= md <= self.last
        return md >= self.first or md <= self.last


class BusinessCalendar:
    """Opening hours on working days, minus public holidays and company closures, plus
    any extra working days. Every instant in and out is timezone-aware; results are in
    the calendar's own zone."""

    def __init__(
        self,
        *,
        timezone: str = "Asia/Tokyo",
        opens: time = time(9),
        closes: time = time(18),
        workdays: Iterable[int] = (0, 1, 2, 3, 4),
        country: str | None = "JP",
        subdivision: str | None = None,
        closures: Iterable[str] = (),
        extra_workdays: Iterable[str | date] = (),
    ) -> None:
        self.tz = _zone(timezone)
        self.opens, self.closes = self._hours(opens, closes)
        self.workdays = frozenset(self._workday(d) for d in _list(workdays, "workdays"))
        self.country, self.subdivision = country or None, subdivision or None
        self._check_holidays()
        self.closures = tuple(_Closure.parse(c) for c in _list(closures, "closures"))
        self.extra_workdays = frozenset(
            _iso_date(d, "extra_workdays") for d in _list(extra_workdays, "extra_workdays")
        )
        self._holidays: dict[int, frozenset[date]] = {}
        self._business: dict[date, bool] = {}
        self._windows: dict[date, _Window | None] = {}

    @staticmethod
    def _hours(opens: time, closes: time) -> tuple[time, time]:
        for key, value in (("opens", opens), ("closes", closes)):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{key}: {value!r} must be a time of day without a zone")
        # fold=0 everywhere: an ambiguous wall time means its first occurrence.
        opens, closes = opens.replace(fold=0), closes.replace(fold=0)
        if opens >= closes:
            raise ValueError(f"opens: {opens} must come before closes {closes}")
        return opens, closes

    @staticmethod
    def _workday(day: int) -> int:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"workdays: {day!r} is not a weekday number 0 (Monday) to 6")
        return day

    def _check_holidays(self) -> None:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError(f"holidays_subdivision: {self.subdivision!r} needs a country")
            return
        try:
            holiday_tables.country_holidays(self.country, years=())
        except NotImplementedError:
            raise ValueError(
                f"holidays_country: no public holidays known for {self.country!r} "
                "(want an ISO 3166 code such as JP)"
            ) from None
        try:
            holiday_tables.country_holidays(self.country, subdiv=self.subdivision, years=())
        except NotImplementedError:
            raise ValueError(
                f"holidays_subdivision: {self.country!r} has no subdivision {self.subdivision!r}"
            ) from None

    @classmethod
    def from_config(cls, section) -> BusinessCalendar:
        """The calendar of an [sla] config section; a bad setting raises ValueError naming
        the key and the value."""
        try:
            return cls(
                timezone=section.timezone,
                opens=_clock(section.opens, "opens"),
                closes=_clock(section.closes, "closes"),
                workdays=cls._config_workdays(section.workdays),
                country=section.holidays_country or None,
                subdivision=section.holidays_subdivision or None,
                closures=section.closures,
                extra_workdays=section.extra_workdays,
            )
        except ValueError as exc:
            raise ValueError(f"config key sla.{exc}") from None

    @staticmethod
    def _config_workdays(names) -> list[int]:
        days = [_weekday(name) for name in _list(names, "workdays")]
        # The constructor allows none (its day loops then fail), but as a setting it is a slip.
        if not days:
            raise ValueError("workdays: the list is empty; name at least one day, e.g. 'mon'")
        return days

    # -- days ----------------------------------------------------------------------------

    @property
    def day_length(self) -> timedelta:
        """The nominal length of a business day (a DST day may be an hour off)."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def is_business_day(self, d: date) -> bool:
        known = self._business.get(d)
        if known is None:
            if len(self._business) > _CACHE_DAYS:
                self._business.clear()
            known = self._business[d] = self._decide(d)
        return known

    def _decide(self, d: date) -> bool:
        if d in self.extra_workdays:
            return True
        if d.weekday() not in self.workdays or d in self._holidays_of(d.year):
            return False
        return not any(d in closure for closure in self.closures)

    def _holidays_of(self, year: int) -> frozenset[date]:
        table = self._holidays.get(year)
        if table is None:
            table = frozenset()
            if self.country is not None:
                table = frozenset(
                    holiday_tables.country_holidays(
                        self.country, subdiv=self.subdivision, years=year
                    )
                )
            self._holidays[year] = table
        return table

    def _window(self, d: date) -> _Window | None:
        """The business hours of day `d` as UTC instants, or None when it has none."""
        if d in self._windows:
            return self._windows[d]
        if len(self._windows) > _CACHE_DAYS:
            self._windows.clear()
        window = None
        if self.is_business_day(d):
            opening = datetime.combine(d, self.opens, tzinfo=self.tz)
            closing = datetime.combine(d, self.closes, tzinfo=self.tz)
            # A zone can skip a whole wall-clock day (Samoa, 2011-12-30): no hours that day,
            # or its window would overlap the next day's.
            if opening.astimezone(UTC).astimezone(self.tz).date() == d:
                window = (opening.astimezone(UTC), closing.astimezone(UTC))
        self._windows[d] = window
        return window

    def _open_days(self, d: date) -> Iterator[tuple[date, _Window]]:
        """Days with business hours from `d` on (inclusive)."""
        misses = 0
        while True:
            window = self._window(d)
            if window is not None:
                misses = 0
                yield d, window
            elif (misses := misses + 1) > _SEARCH_DAYS:
                raise _no_working_day(d - _ONE_DAY * (misses - 1))
            d += _ONE_DAY

    def business_days_before(self, d: date, n: int) -> list[date]:
        """The n business days ending with `d` (included if it is one), oldest first."""
        if n < 0:
            raise ValueError(f"cannot list {n} business days")
        found: list[date] = []
        misses = 0
        while len(found) < n:
            if self.is_business_day(d):
                found.append(d)
                misses = 0
            elif (misses := misses + 1) > _SEARCH_DAYS:
                raise _no_working_day(d + _ONE_DAY * (misses - 1))
            d -= _ONE_DAY
        return found[::-1]

    # -- instants ------------------------------------------------------------------------

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self.tz).date()

    def is_open(self, t: datetime) -> bool:
        """Whether `t` falls within the opening hours (opens <= local time < closes) of a
        business day."""
        t = _utc(t)
        window = self._window(self._local_date(t))
        return window is not None and window[0] <= t < window[1]

    def _clock_start(self, t: datetime) -> tuple[date, datetime]:
        """The business day a clock started at `t` runs on, and the UTC instant it runs from."""
        t = _utc(t)
        for d, (opening, closing) in self._open_days(self._local_date(t)):
            if t < closing:
                return d, max(t, opening)
        raise AssertionError("unreachable: _open_days never ends without raising")

    def next_opening(self, t: datetime) -> datetime:
        """`t` itself (in the calendar's zone) when open, otherwise the next opening."""
        return self._clock_start(t)[1].astimezone(self.tz)

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """The instant `delta` of business time after `start` (a clock started at `start`
        runs from the next opening). Landing exactly on a closing time gives that closing
        instant, not the next day's opening."""
        if delta < _ZERO:
            raise ValueError(f"cannot add negative business time {delta}")
        d, t = self._clock_start(start)
        for _, (opening, closing) in self._open_days(d):
            t = max(t, opening)
            if delta <= closing - t:
                return (t + delta).astimezone(self.tz)
            delta -= closing - t
        raise AssertionError("unreachable: _open_days never ends without raising")

    def due(
        self, start: datetime, *, hours: float | None = None, days: int | None = None
    ) -> datetime:
        """When a target started at `start` falls due: `hours` of business time later, or
        the closing time of the `days`-th business day after the day the clock starts on."""
        if (hours is None) == (days is None):
            raise ValueError("due() takes exactly one of hours or days")
        if hours is not None:
            if hours < 0:
                raise ValueError(f"a target cannot be negative: {hours} hours")
            return self.add(start, timedelta(hours=hours))
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"a target in days must be a whole number >= 0, not {days!r}")
        first, _ = self._clock_start(start)
        for counted, (_, (_, closing)) in enumerate(self._open_days(first)):
            if counted == days:
                return closing.astimezone(self.tz)
        raise AssertionError("unreachable: _open_days never ends without raising")

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Business time in [a, b); negative (-elapsed(b, a)) when b comes before a."""
        a, b = _utc(a), _utc(b)
        if b < a:
            return -self.elapsed(b, a)
        total, d, last = _ZERO, self._local_date(a), self._local_date(b)
        while d <= last:
            window = self._window(d)
            if window is not None:
                total += max(_ZERO, min(window[1], b) - max(window[0], a))
            d += _ONE_DAY
        return total
