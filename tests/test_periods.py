"""The feed's and the digest's periods: one module, parsed strictly, with the latest period already over."""

from __future__ import annotations

import datetime as dt

import pytest

from dailypapers.digest.compose import digest_period, ledger_key
from dailypapers.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    BadPeriod,
    Period,
    in_range,
    latest_complete,
    neighbours,
    parse,
    period_of,
)
from dailypapers.ranking.score import reference_time


@pytest.mark.parametrize(
    ("kind", "text", "start", "end", "key", "path"),
    [
        ("day", "2026-02-28", dt.date(2026, 2, 28), dt.date(2026, 2, 28), "2026-02-28", "/date/2026-02-28"),
        ("week", "2026-W01", dt.date(2025, 12, 29), dt.date(2026, 1, 4), "2026-W01", "/week/2026-W01"),
        ("week", "2020-W53", dt.date(2020, 12, 28), dt.date(2021, 1, 3), "2020-W53", "/week/2020-W53"),
        ("month", "2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02", "/month/2024-02"),
    ],
)
def test_parse_gives_the_period_its_key_and_its_page(
    kind: str, text: str, start: dt.date, end: dt.date, key: str, path: str
) -> None:
    period = parse(kind, text)
    assert period == Period(kind, start, end)
    assert (period.key, period.path) == (key, path)
    assert parse(kind, period.key) == period


@pytest.mark.parametrize(
    ("kind", "text", "says"),
    [
        ("day", "2026-02-30", "no such date"),
        ("day", "26-02-01", "YYYY-MM-DD"),
        ("day", "2026-1-5", "YYYY-MM-DD"),
        ("week", "2025-W53", "no such ISO week"),  # 2025 has 52 ISO weeks (2026 has 53)
        ("week", "2026-W00", "no such ISO week"),
        ("week", "2026-48", "YYYY-Www"),
        ("month", "2026-13", "YYYY-MM"),
        ("month", "0000-01", "YYYY-MM"),
        ("year", "2026", "one of day, week, month"),
        ("day", "٢٠٢٦-٠١-٠١", "YYYY-MM-DD"),  # other scripts' digits
        ("day", "9999-12-31", "dates must lie in the years 1900 to 2999, got '9999-12-31'"),
        ("week", "9999-W52", "years 1900 to 2999"),
        ("month", "9999-12", "years 1900 to 2999"),
        ("day", "0001-01-01", "years 1900 to 2999"),
        ("week", "0001-W01", "years 1900 to 2999"),
        ("month", "1899-12", "years 1900 to 2999"),
        ("day", "3000-01-01", "years 1900 to 2999"),
        ("week", "3000-W01", "years 1900 to 2999"),  # its Monday is in 2999, its year is not
    ],
)
def test_bad_periods_are_refused_naming_what_is_wrong(kind: str, text: str, says: str) -> None:
    with pytest.raises(BadPeriod, match=says) as refused:
        parse(kind, text)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("kind", "today", "expected"),
    [
        ("day", dt.date(2026, 3, 1), Period("day", dt.date(2026, 2, 28), dt.date(2026, 2, 28))),
        ("week", dt.date(2026, 1, 5), Period("week", dt.date(2025, 12, 29), dt.date(2026, 1, 4))),  # a Monday
        ("week", dt.date(2026, 1, 11), Period("week", dt.date(2025, 12, 29), dt.date(2026, 1, 4))),  # a Sunday
        ("month", dt.date(2026, 1, 15), Period("month", dt.date(2025, 12, 1), dt.date(2025, 12, 31))),
        ("month", dt.date(2024, 3, 1), Period("month", dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
    ],
)
def test_latest_complete_is_the_last_period_over_before_today(kind: str, today: dt.date, expected: Period) -> None:
    assert latest_complete(kind, today) == expected
    assert latest_complete(kind, today).end < today <= latest_complete(kind, today).end + dt.timedelta(days=31)


def test_neighbours_skip_periods_without_papers() -> None:
    days = [dt.date(2026, 1, 2), dt.date(2026, 1, 20), dt.date(2026, 3, 3)]

    def before(day: dt.date) -> dt.date | None:
        return max((d for d in days if d < day), default=None)

    def after(day: dt.date) -> dt.date | None:
        return min((d for d in days if d > day), default=None)

    week = parse("week", "2026-W04")  # Jan 19-25
    prev, nxt = neighbours(week, before, after)
    assert prev == period_of("week", dt.date(2026, 1, 2)) and nxt == period_of("week", dt.date(2026, 3, 3))
    assert neighbours(parse("month", "2026-03"), before, after) == (parse("month", "2026-01"), None)


def test_a_digest_mails_the_periods_of_the_feed() -> None:
    assert digest_period("weekly", "2026-W02") == parse("week", "2026-W02")
    assert digest_period("daily", "2026-01-05") == parse("day", "2026-01-05")
    assert digest_period("daily", today=dt.date(2026, 1, 5)) == latest_complete("day", dt.date(2026, 1, 5))
    assert ledger_key(parse("week", "2026-W02")) == "weekly:2026-W02"
    assert ledger_key(parse("day", "2026-01-05")) == "daily:2026-01-05"
    with pytest.raises(ValueError, match="frequency"):
        digest_period("monthly")
    with pytest.raises(ValueError, match="no such ISO week"):
        digest_period("weekly", "2026-W60")


def test_the_first_and_last_periods_of_the_years_covered_and_their_date_arithmetic() -> None:
    assert (FIRST_YEAR, LAST_YEAR) == (1900, 2999)
    first = [parse("day", "1900-01-01"), parse("week", "1900-W01"), parse("month", "1900-01")]
    last = [parse("day", "2999-12-31"), parse("week", "2999-W52"), parse("month", "2999-12")]
    assert [p.start for p in first] == [dt.date(1900, 1, 1)] * 3
    assert [p.end for p in last] == [dt.date(2999, 12, 31), dt.date(2999, 12, 29), dt.date(2999, 12, 31)]
    for period in first + last:
        for kind in ("day", "week", "month"):
            assert period.containing(kind).start <= period.start
        assert reference_time(period.end) <= dt.datetime.now(dt.UTC)  # the day after its end: no overflow
    assert period_of("week", dt.date(2999, 12, 31)).end == dt.date(3000, 1, 5)  # a week may end past the years


@pytest.mark.parametrize("day", [dt.date(1, 1, 1), dt.date(1899, 12, 31), dt.date(3000, 1, 1), dt.date(9999, 12, 31)])
def test_no_period_holds_a_day_outside_the_years(day: dt.date) -> None:
    assert not in_range(day)
    for kind in ("day", "week", "month"):
        with pytest.raises(BadPeriod, match=f"got '{day.isoformat()}'"):
            period_of(kind, day)


def test_neighbours_outside_the_years_are_no_periods() -> None:
    """A day stored before the limits were checked (dated 9999-12-31) is no neighbour: it has no page."""
    month = parse("month", "2999-12")
    assert neighbours(month, lambda _: dt.date(1, 1, 1), lambda _: dt.date(9999, 12, 31)) == (None, None)
    assert neighbours(month, lambda _: dt.date(1900, 1, 3), lambda _: None) == (parse("month", "1900-01"), None)


def test_a_period_is_written_as_text() -> None:
    with pytest.raises(BadPeriod, match="a day is written as text, not int"):
        parse("day", 20260101)  # type: ignore[arg-type]
