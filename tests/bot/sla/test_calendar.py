"""The business calendar: concrete Japanese cases (weekends, public holidays, the New Year
closure), config validation, DST days, and properties tying due(), add() and elapsed()."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sla.calendar import BusinessCalendar

ROOT = Path(__file__).resolve().parents[3]
JST = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)

TOKYO = BusinessCalendar(closures=["12-29..01-03"])


def jst(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JST)


def section(**changes) -> SimpleNamespace:
    values = {
        "timezone": "Asia/Tokyo",
        "opens": "09:00",
        "closes": "18:00",
        "workdays": ["mon", "tue", "wed", "thu", "fri"],
        "holidays_country": "JP",
        "holidays_subdivision": "",
        "closures": ["12-29..01-03"],
        "extra_workdays": [],
    }
    return SimpleNamespace(**{**values, **changes})


# -- concrete cases (Asia/Tokyo, JP holidays, closed 12-29..01-03) -----------------------


def test_two_business_hours_across_a_weekend():
    assert jst(11, 13, 17).weekday() == 4  # a Friday
    assert TOKYO.due(jst(11, 13, 17), hours=2) == jst(11, 16, 10)


def test_a_public_holiday_is_skipped():
    assert date(2026, 11, 23).weekday() == 0  # Labour Thanksgiving Day, a Monday
    assert not TOKYO.is_business_day(date(2026, 11, 23))
    assert TOKYO.due(jst(11, 20, 17), hours=2) == jst(11, 24, 10)


def test_the_new_year_closure():
    start = jst(12, 28, 17, 30)
    assert TOKYO.due(start, days=1) == jst(1, 4, 18, year=2027)
    assert TOKYO.due(start, hours=9) == jst(1, 4, 17, 30, year=2027)
    assert TOKYO.due(start, hours=9).isoformat() == "2027-01-04T17:30:00+09:00"


def test_days_count_from_the_day_the_clock_starts():
    assert TOKYO.due(jst(11, 16, 10), days=1) == jst(11, 17, 18)
    assert TOKYO.due(jst(11, 16, 19), days=1) == jst(11, 18, 18)  # starts Tue 09:00
    assert TOKYO.due(jst(11, 16, 10), days=0) == jst(11, 16, 18)


def test_a_message_at_17_59():
    assert TOKYO.is_open(jst(11, 16, 17, 59))
    assert not TOKYO.is_open(jst(11, 16, 18))
    assert TOKYO.due(jst(11, 16, 17, 59), hours=1) == jst(11, 17, 9, 59)


def test_landing_on_closing_time_gives_the_closing_instant():
    assert TOKYO.due(jst(11, 16, 17), hours=1) == jst(11, 16, 18)
    assert TOKYO.add(jst(11, 16, 9), TOKYO.day_length) == jst(11, 16, 18)


@pytest.mark.parametrize("arrival", [jst(11, 14, 12), jst(11, 16, 8), jst(11, 13, 18)])
def test_the_clock_starts_at_the_next_opening(arrival):
    assert TOKYO.next_opening(arrival) == jst(11, 16, 9)
    assert TOKYO.due(arrival, hours=1) == jst(11, 16, 10)


def test_next_opening_while_open_is_the_instant_itself_in_the_calendar_zone():
    instant = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    opening = TOKYO.next_opening(instant)
    assert opening == instant
    assert opening.tzinfo == JST
    assert TOKYO.due(instant, hours=1).tzinfo == JST


def test_an_extra_workday_is_a_business_day():
    calendar = BusinessCalendar(extra_workdays=["2026-11-21", date(2026, 11, 23)])
    assert calendar.is_business_day(date(2026, 11, 21))  # a Saturday
    assert calendar.is_business_day(date(2026, 11, 23))  # a holiday
    assert not calendar.is_business_day(date(2026, 11, 22))
    assert calendar.due(jst(11, 20, 17), hours=2) == jst(11, 21, 10)


def test_a_one_off_closure_and_a_single_day():
    calendar = BusinessCalendar(closures=["2026-08-13..2026-08-14", "08-17", "2026-08-18"])
    closed = [date(2026, 8, 13), date(2026, 8, 14), date(2026, 8, 17), date(2026, 8, 18)]
    assert not any(calendar.is_business_day(d) for d in closed)
    assert calendar.is_business_day(date(2027, 8, 13))  # the one-off does not repeat
    assert not calendar.is_business_day(date(2027, 8, 17))  # the yearly one does


def test_elapsed_across_a_weekend_and_a_holiday():
    friday, tuesday = jst(11, 20, 17), jst(11, 24, 10)
    assert TOKYO.elapsed(friday, tuesday) == 2 * HOUR
    assert TOKYO.elapsed(tuesday, friday) == -2 * HOUR
    assert TOKYO.elapsed(jst(11, 21, 0), jst(11, 23, 23)) == timedelta(0)
    assert TOKYO.elapsed(jst(11, 16, 9), jst(11, 20, 18)) == 5 * TOKYO.day_length


def test_business_days_before_for_the_chart():
    assert TOKYO.business_days_before(date(2027, 1, 5), 3) == [
        date(2026, 12, 28),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]
    assert TOKYO.business_days_before(date(2027, 1, 2), 2) == [
        date(2026, 12, 25),
        date(2026, 12, 28),
    ]
    assert len(TOKYO.business_days_before(date(2026, 11, 30), 14)) == 14
    assert TOKYO.business_days_before(date(2026, 11, 30), 0) == []


def test_a_calendar_without_working_days_fails_instead_of_looping():
    calendar = BusinessCalendar(workdays=())
    for call in (
        lambda: calendar.due(jst(11, 16, 10), days=1),
        lambda: calendar.due(jst(11, 16, 10), hours=1),
        lambda: calendar.next_opening(jst(11, 16, 10)),
        lambda: calendar.business_days_before(date(2026, 11, 16), 1),
    ):
        with pytest.raises(ValueError, match="no working day"):
            call()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: TOKYO.is_open(t),
        lambda t: TOKYO.next_opening(t),
        lambda t: TOKYO.add(t, HOUR),
        lambda t: TOKYO.due(t, hours=1),
        lambda t: TOKYO.due(t, days=1),
        lambda t: TOKYO.elapsed(t, jst(11, 16, 9)),
        lambda t: TOKYO.elapsed(jst(11, 16, 9), t),
    ],
)
def test_a_naive_datetime_is_refused(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2026, 11, 16, 10))


def test_due_takes_exactly_one_target():
    for kwargs in ({}, {"hours": 1, "days": 1}):
        with pytest.raises(ValueError, match="exactly one"):
            TOKYO.due(jst(11, 16, 10), **kwargs)
    with pytest.raises(ValueError, match="whole number"):
        TOKYO.due(jst(11, 16, 10), days=1.5)


# -- configuration ---------------------------------------------------------------------


def test_from_config_defaults():
    calendar = BusinessCalendar.from_config(section())
    assert calendar.tz == JST
    assert (calendar.opens, calendar.closes) == (time(9), time(18))
    assert calendar.day_length == 9 * HOUR
    assert calendar.due(jst(12, 28, 17, 30), days=1) == jst(1, 4, 18, year=2027)


def test_from_config_with_the_shipped_settings():
    with (ROOT / "config" / "inquiry-desk.toml").open("rb") as f:
        sla = SimpleNamespace(**tomllib.load(f)["sla"])
    assert BusinessCalendar.from_config(sla).due(jst(11, 20, 17), hours=2) == jst(11, 24, 10)


def test_from_config_without_holidays_or_with_a_subdivision():
    no_holidays = BusinessCalendar.from_config(section(holidays_country=""))
    assert no_holidays.is_business_day(date(2026, 11, 23))
    new_york = BusinessCalendar.from_config(
        section(timezone="America/New_York", holidays_country="US", holidays_subdivision="NY")
    )
    assert not new_york.is_business_day(date(2026, 7, 3))  # Independence Day, observed


@pytest.mark.parametrize(
    ("changes", "key", "value"),
    [
        ({"opens": "25:00"}, "sla.opens", "25:00"),
        ({"closes": "6pm"}, "sla.closes", "6pm"),
        ({"opens": "18:00", "closes": "09:00"}, "sla.opens", "18:00"),
        ({"workdays": ["mon", "funday"]}, "sla.workdays", "funday"),
        ({"workdays": []}, "sla.workdays", "empty"),
        ({"workdays": "mon"}, "sla.workdays", "'mon'"),
        ({"closures": ["13-40..01-01"]}, "sla.closures", "13-40"),
        ({"closures": ["12-29.."]}, "sla.closures", "12-29.."),
        ({"closures": ["2026-08-14..2026-08-13"]}, "sla.closures", "2026-08-14"),
        ({"closures": ["12-29..2027-01-03"]}, "sla.closures", "12-29..2027-01-03"),
        ({"closures": "12-29..01-03"}, "sla.closures", "12-29..01-03"),
        ({"extra_workdays": ["2026-02-30"]}, "sla.extra_workdays", "2026-02-30"),
        ({"extra_workdays": ["20260221"]}, "sla.extra_workdays", "20260221"),
        ({"timezone": "Mars/Olympus"}, "sla.timezone", "Mars/Olympus"),
        ({"holidays_country": "XX"}, "sla.holidays_country", "XX"),
        ({"holidays_subdivision": "99"}, "sla.holidays_subdivision", "99"),
    ],
)
def test_from_config_names_the_bad_setting(changes, key, value):
    with pytest.raises(ValueError) as raised:
        BusinessCalendar.from_config(section(**changes))
    message = str(raised.value)
    assert message.startswith(f"config key {key}:"), message
    assert value in message
    assert "\n" not in message


# -- DST: hours are real elapsed time, on wall-clock opening hours ----------------------

# Open in the small hours every day, so the DST transitions (02:00 in New York, 01:00 in
# London) fall inside business hours.
NIGHT_NEW_YORK = BusinessCalendar(
    timezone="America/New_York",
    opens=time(0, 30),
    closes=time(3, 30),
    workdays=range(7),
    country=None,
)
NIGHT_LONDON = BusinessCalendar(
    timezone="Europe/London",
    opens=time(0, 30),
    closes=time(2, 30),
    workdays=range(7),
    country=None,
)


def test_a_spring_forward_day_is_an_hour_short():
    day = NIGHT_NEW_YORK
    opening = datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK)
    closing = datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)
    assert day.elapsed(opening, closing) == 2 * HOUR
    assert day.add(opening, 2 * HOUR) == closing
    assert day.add(opening, 2 * HOUR + timedelta(minutes=1)) == opening + timedelta(
        days=1, minutes=1
    )


def test_a_fall_back_day_is_an_hour_long():
    opening = datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK)
    closing = datetime(2026, 11, 1, 3, 30, tzinfo=NEW_YORK)
    assert NIGHT_NEW_YORK.elapsed(opening, closing) == 4 * HOUR
    assert NIGHT_NEW_YORK.add(opening, 4 * HOUR) == closing
    repeated = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert NIGHT_NEW_YORK.is_open(repeated)
    assert NIGHT_NEW_YORK.elapsed(opening, repeated) == 2 * HOUR


# -- properties ---------------------------------------------------------------------------

CALENDARS = {
    "tokyo": TOKYO,
    "new_york": BusinessCalendar(timezone="America/New_York", country="US"),
    "london": BusinessCalendar(timezone="Europe/London", country="GB"),
    "london_plain": BusinessCalendar(timezone="Europe/London", country=None),
    "night_new_york": NIGHT_NEW_YORK,
    "night_london": NIGHT_LONDON,
}
# Calendars whose business hours never contain a DST transition, so that every business
# day is exactly day_length long.
REGULAR = ("tokyo", "new_york", "london", "london_plain")
PROPERTY = settings(max_examples=200, deadline=None)

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.get)
regular_calendars = st.sampled_from(REGULAR).map(CALENDARS.get)
# Wall times that do not exist (inside a spring-forward gap) are moved to the instant they
# name: two datetimes sharing a tzinfo compare by wall time, so a gap time can sort after a
# later instant and make a true property look false.
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([JST, NEW_YORK, LONDON, UTC]),
).map(lambda wall: wall.astimezone(UTC).astimezone(wall.tzinfo))
business_hours = st.integers(0, 200 * 60).map(lambda minutes: minutes / 60)
business_days = st.integers(0, 15)


@PROPERTY
@given(calendars, instants, business_hours)
def test_elapsed_undoes_due_in_hours(calendar, start, hours):
    due = calendar.due(start, hours=hours)
    assert calendar.elapsed(start, due) == timedelta(hours=hours)
    assert due.tzinfo == calendar.tz


@PROPERTY
@given(calendars, instants, instants)
def test_add_of_elapsed_reaches_the_last_business_instant(calendar, a, b):
    a, b = sorted((a, b))
    spent = calendar.elapsed(a, b)
    reached = calendar.add(a, spent)
    assert calendar.elapsed(a, reached) == spent
    # With nothing spent, add() still moves the start to the next opening, maybe past b.
    assert reached <= max(b, calendar.next_opening(a))


@PROPERTY
@given(calendars, instants, instants, business_hours, business_hours)
def test_due_in_hours_is_monotonic(calendar, s1, s2, n1, n2):
    (s1, s2), (n1, n2) = sorted((s1, s2)), sorted((n1, n2))
    assert calendar.due(s1, hours=n1) <= calendar.due(s1, hours=n2)
    assert calendar.due(s1, hours=n1) <= calendar.due(s2, hours=n1)


@PROPERTY
@given(calendars, instants, instants, business_days, business_days)
def test_due_in_days_is_monotonic(calendar, s1, s2, n1, n2):
    (s1, s2), (n1, n2) = sorted((s1, s2)), sorted((n1, n2))
    assert calendar.due(s1, days=n1) <= calendar.due(s1, days=n2)
    assert calendar.due(s1, days=n1) <= calendar.due(s2, days=n1)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_elapsed_is_additive(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)
    assert calendar.elapsed(c, a) == -calendar.elapsed(a, c)


@PROPERTY
@given(calendars, instants, business_days)
def test_due_in_days_is_a_closing_instant_on_a_business_day(calendar, start, days):
    due = calendar.due(start, days=days)
    local = due.astimezone(calendar.tz)
    assert calendar.is_business_day(local.date())
    assert local.time() == calendar.closes
    assert calendar.is_open(due - timedelta(microseconds=1))
    assert not calendar.is_open(due)


@PROPERTY
@given(regular_calendars, instants, business_days)
def test_due_in_days_spans_the_rest_of_the_first_day_and_n_more(calendar, start, days):
    # The clock's own day contributes what is left of it (more than nothing, at most a
    # whole day), then each of the n following business days a whole day.
    spent = calendar.elapsed(calendar.next_opening(start), calendar.due(start, days=days))
    assert days * calendar.day_length < spent <= (days + 1) * calendar.day_length
