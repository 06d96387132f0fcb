"""A five-field cron expression (`minute hour day-of-month month day-of-week`, UTC), standard library only.

Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists `a,b-c`; day-of-week is 0-6 from
Sunday (7 is Sunday too). As in cron, when both day fields are restricted a day matching either one counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: invalid step in {part!r}")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            if not (first.isdigit() and last.isdigit()):
                raise ValueError(f"{name}: invalid range {part!r}")
            start, end = int(first), int(last)
        elif body.isdigit():
            start = int(body)
            end = high if step_text else start
        else:
            raise ValueError(f"{name}: invalid value {part!r}")
        if not low <= start <= end <= high:
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != 5:
            raise ValueError(f"cron expression {expression!r} needs 5 fields, got {len(parts)}")
        minutes, hours, days, months, weekdays = (
            _parse_field(part, name, low, high) for part, (name, low, high) in zip(parts, _FIELDS, strict=True)
        )
        return cls(
            expression=expression,
            minutes=minutes,
            hours=hours,
            days=days,
            months=months,
            weekdays=frozenset(0 if day == 7 else day for day in weekdays),
            days_restricted=not parts[2].startswith("*"),
            weekdays_restricted=not parts[4].startswith("*"),
        )

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires in the minute of `moment` (seconds are ignored)."""
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays  # isoweekday: Monday 1 .. Sunday 7 -> Sunday 0
        if self.days_restricted and self.weekdays_restricted:
            return day or weekday
        return day and weekday
