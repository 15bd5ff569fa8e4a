"""NCRONTAB and TimeSpan schedules, with NCrontab's semantics (seconds first, day AND weekday)."""

from datetime import UTC, datetime, timedelta

import pytest

from devhost.schedule import CronSchedule, IntervalSchedule, ScheduleError, parse_schedule

T0 = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)  # a Thursday


def occurrences(text: str, start: datetime = T0, n: int = 3) -> list[datetime]:
    schedule = parse_schedule(text)
    out, t = [], start
    for _ in range(n):
        t = schedule.next_after(t)
        out.append(t)
    return out


def test_every_thirty_minutes_starts_after_the_base_time_not_at_it() -> None:
    assert occurrences("0 */30 * * * *") == [
        T0 + timedelta(minutes=30),
        T0 + timedelta(minutes=60),
        T0 + timedelta(minutes=90),
    ]


def test_seconds_field_comes_first() -> None:
    assert occurrences("*/15 * * * * *", n=2) == [
        T0 + timedelta(seconds=15),
        T0 + timedelta(seconds=30),
    ]
    assert occurrences("5 0 0 * * *", n=1) == [T0 + timedelta(seconds=5)]


def test_lists_ranges_and_steps() -> None:
    schedule = parse_schedule("0 0 9-17/4,20 * * *")
    assert isinstance(schedule, CronSchedule)
    assert schedule.hours == {9, 13, 17, 20}
    assert parse_schedule("0 10/20 * * * *").minutes == {10, 30, 50}


def test_day_of_month_and_weekday_must_both_match_as_in_ncrontab() -> None:
    # Friday the 13th: cron would fire on every 13th *and* every Friday.
    fridays_13th = occurrences("0 0 0 13 * Fri", n=2)
    assert [d.date().isoformat() for d in fridays_13th] == ["2026-02-13", "2026-03-13"]
    assert all(d.weekday() == 4 and d.day == 13 for d in fridays_13th)


def test_month_and_day_names_are_case_insensitive_prefixes() -> None:
    assert parse_schedule("0 0 0 * jan-MAR mon").months == {1, 2, 3}
    assert parse_schedule("0 0 0 * * Sunday,sat").weekdays == {0, 6}
    assert occurrences("0 30 9 * * Mon-Fri", n=2) == [
        datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 1, 2, 9, 30, tzinfo=UTC),
    ]


def test_month_rollover_skips_months_without_the_day() -> None:
    assert [d.month for d in occurrences("0 0 0 31 * *", n=3)] == [1, 3, 5]


def test_timespan_interval() -> None:
    schedule = parse_schedule("00:05:00")
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.next_after(T0) == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0 */5 * * *", "6 fields"),
        ("60 * * * * *", "outside 0-59"),
        ("0 0 25 * * *", "outside 0-23"),
        ("0 0 0 * * 7", "outside 0-6"),
        ("0 0 0 * Foo *", "not a known month name"),
        ("0 */0 * * * *", "positive number"),
        ("0 5-1 * * * *", "backwards"),
        ("0 1,,2 * * * *", "empty list item"),
        ("00:00:00", "positive"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ScheduleError, match=fragment):
        parse_schedule(text)


def test_impossible_date_fails_instead_of_looping() -> None:
    with pytest.raises(ScheduleError, match="no occurrence"):
        parse_schedule("0 0 0 30 2 *").next_after(T0)
