"""Timer schedules as the Functions host reads them: NCRONTAB (6 fields) or a TimeSpan interval.

NCRONTAB is `{second} {minute} {hour} {day} {month} {day-of-week}` with `*`, `a-b`, `a,b`,
`*/n`, `a-b/n` and `a/n` (a to the field's maximum, every n), month and day names (any
case-insensitive prefix of the English name, as NCrontab matches them), Sunday = 0. Two NCrontab
rules differ from Vixie cron, and croniter follows Vixie cron, which is why this is written here
rather than taken from PyPI: a day-of-month *and* a day-of-week restriction must both match (cron
ORs them), and the seconds field comes first (croniter puts it last).

`hh:mm:ss` (a TimeSpan) means "every interval", counted from when the listener started; the host
accepts it on App Service plans. Times are UTC: the host's WEBSITE_TIME_ZONE is not honoured.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = [calendar.month_name[i] for i in range(1, 13)]
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

# (name, minimum, maximum, value names)
FIELDS = (
    ("second", 0, 59, None),
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day", 1, 31, None),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 6, DAYS),
)
TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")


class ScheduleError(ValueError):
    """The schedule text is not a valid NCRONTAB expression or TimeSpan; says which part."""


def _value(text: str, low: int, high: int, names: list[str] | None, field: str) -> int:
    if text.isdigit():
        value = int(text)
    elif names and text:
        matches = [i for i, name in enumerate(names) if name.lower().startswith(text.lower())]
        if not matches:
            raise ScheduleError(f"{text!r} is not a known {field} name ({', '.join(names)})")
        value = matches[0] + low
    else:
        raise ScheduleError(f"{text!r} is not a valid {field} value ({low}-{high})")
    if not low <= value <= high:
        raise ScheduleError(f"{field} value {value} is outside {low}-{high}")
    return value


def parse_field(
    text: str, low: int, high: int, names: list[str] | None = None, field: str = "field"
) -> frozenset[int]:
    """The set of values one NCRONTAB field allows."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"empty list item in {field} field {text!r}")
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(
                    f"step {step_text!r} in {field} field must be a positive number"
                )
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _value(a, low, high, names, field), _value(b, low, high, names, field)
            if first > last:
                raise ScheduleError(f"range {body!r} in {field} field runs backwards")
        else:
            first = _value(body, low, high, names, field)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (UTC)."""
        t = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t + timedelta(days=366 * 5)  # e.g. "0 0 0 30 2 *" never occurs
        while t < limit:
            if t.month not in self.months:
                year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
                t = t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)
            elif t.day not in self.days or (t.isoweekday() % 7) not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise ScheduleError(f"schedule {self.text!r} has no occurrence in the next five years")


@dataclass(frozen=True)
class IntervalSchedule:
    text: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC) + self.interval


Schedule = CronSchedule | IntervalSchedule


def parse_schedule(text: str) -> Schedule:
    """Parse a timer trigger's `schedule` (after %SETTING% expressions are resolved)."""
    stripped = text.strip()
    span = TIMESPAN.match(stripped)
    if span:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ScheduleError(f"interval {text!r} must be positive")
        return IntervalSchedule(text, interval)
    parts = stripped.split()
    if len(parts) != 6:
        raise ScheduleError(
            f"{text!r} is not a valid NCRONTAB expression: it needs 6 fields "
            "(second minute hour day month day-of-week), or an hh:mm:ss interval"
        )
    sets = [
        parse_field(part, low, high, names, name)
        for part, (name, low, high, names) in zip(parts, FIELDS, strict=True)
    ]
    return CronSchedule(text, *sets)
