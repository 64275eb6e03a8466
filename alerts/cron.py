"""Five-field cron expressions (minute hour day-of-month month day-of-week): ``*``, ``*/n``, ``a-b``, ``a-b/n``,
lists and names of months and days; the next time after a moment, in UTC."""

from __future__ import annotations

import datetime as dt

__all__ = ["Cron", "CronError"]

_NAMES = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "sun": 0,
    "mon": 1,
    "tue": 2,
    "wed": 3,
    "thu": 4,
    "fri": 5,
    "sat": 6,
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


class CronError(ValueError):
    pass


def _value(text: str, name: str, low: int, high: int) -> int:
    text = text.lower()
    value = _NAMES[text] if text in _NAMES else int(text) if text.isdigit() else None
    if value is None or not low <= value <= high:
        raise CronError(f"{name} {text!r} is not in {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise CronError(f"{name} step {step_text!r} is not a positive number")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, name, low, high), _value(b, name, low, high)
            if first > last:
                raise CronError(f"{name} range {base!r} runs backwards")
        else:
            first = last = _value(base, name, low, high)
            if step:
                last = high
        values.update(range(first, last + 1, step or 1))
    return frozenset(values)


class Cron:
    def __init__(self, expression: str) -> None:
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(f"{expression!r} needs 5 fields (minute hour day-of-month month day-of-week)")
        self.expression = expression
        fields = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        self.minutes, self.hours, self.days, self.months, weekdays = fields
        self.weekdays = frozenset(d % 7 for d in weekdays)
        self._any_day, self._any_weekday = parts[2] == "*", parts[4] == "*"

    def _day_matches(self, moment: dt.datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self._any_day or self._any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok  # cron's rule: either restricted field may match

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        candidate = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        for _ in range(366 * 24 * 60):
            if (
                candidate.month in self.months
                and self._day_matches(candidate)
                and candidate.hour in self.hours
                and candidate.minute in self.minutes
            ):
                return candidate
            candidate += dt.timedelta(minutes=1)
        raise CronError(f"{self.expression!r} never fires")
