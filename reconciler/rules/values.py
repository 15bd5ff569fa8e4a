"""Date-time literals and ISO-8601 durations for employeeHireDate and system.now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO-8601 duration; months and years use calendar arithmetic (INTERFACES.md)."""

    months: int
    delta: timedelta

    def added_to(self, moment: datetime, sign: int) -> datetime:
        shifted = _add_months(moment, sign * self.months) if self.months else moment
        return shifted + sign * self.delta


def parse_duration(text: str) -> Duration | None:
    m = _DURATION.fullmatch(text)
    if not m or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    part = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    delta = timedelta(
        weeks=part["weeks"],
        days=part["days"],
        hours=part["hours"],
        minutes=part["minutes"],
        seconds=part["seconds"],
    )
    return Duration(int(part["years"]) * 12 + int(part["months"]), delta)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def parse_datetime(text: str) -> datetime | None:
    """An ISO-8601 instant; no zone means UTC and a bare date means midnight UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def graph_datetime(value: object) -> datetime | None:
    """A Graph dateTimeOffset value (string or datetime) as an aware datetime, else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return parse_datetime(value)
    return None
