"""Schedule expressions as EventBridge rules and EventBridge Scheduler read them: when is the next run?

- ``rate(value unit)``: ``minute``/``minutes``, ``hour``/``hours``, ``day``/``days``, the singular
  for 1 and the plural otherwise, as AWS requires; the first run comes one period after the
  schedule starts (here: when the harness starts it).
- ``cron(minutes hours day-of-month month day-of-week year)``: EventBridge's six fields with
  ``, - * /`` everywhere, ``?`` in one of the day fields (one of them must be ``?``), ``L`` and
  ``W`` in day-of-month (``L``, ``LW``, ``15W``), ``L`` and ``#`` in day-of-week (``6L`` the
  last Friday, ``2#1`` the first Monday), month names ``JAN``-``DEC``, day names ``SUN``-``SAT``
  (1 = Sunday). Rules read it in UTC; Scheduler in ``ScheduleExpressionTimezone``.
- ``at(yyyy-mm-ddThh:mm:ss)``: one run (EventBridge Scheduler only), in the schedule's time zone.

AWS pages: "Creating an Amazon EventBridge rule that runs on a schedule"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html) and
"Schedule types on EventBridge Scheduler"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([A-Za-z]+)\s*\)$")
_AT = re.compile(r"^at\(\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
#: how far ahead a cron expression is searched (its year field reaches 2199)
_LAST_YEAR = 2199


class ScheduleError(ValueError):
    """The schedule expression is not one AWS accepts (or not one this kind of schedule takes)."""


@dataclass(frozen=True)
class Rate:
    seconds: float

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        return after + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class At:
    when: datetime  # aware

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        return self.when if self.when > after else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    #: day-of-month: plain days, or None when the field is ``?``
    days: frozenset[int] | None
    last_day: bool = False
    last_weekday: bool = False
    nearest_weekdays: frozenset[int] = frozenset()
    #: day-of-week (1 = Sunday): plain days, or None when the field is ``?``
    weekdays: frozenset[int] | None = None
    last_of_weekdays: frozenset[int] = frozenset()
    nth_weekdays: frozenset[tuple[int, int]] = frozenset()

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        if self.weekdays is not None or self.last_of_weekdays or self.nth_weekdays:
            return self._weekday_matches(day)
        return self._monthday_matches(day)

    def _monthday_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.days is not None and day.day in self.days:
            return True
        if self.last_day and day.day == last:
            return True
        if self.last_weekday and day == _nearest_weekday(day.year, day.month, last, last):
            return True
        return any(
            n <= last and day == _nearest_weekday(day.year, day.month, n, last)
            for n in self.nearest_weekdays
        )

    def _weekday_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # Sunday = 1
        if self.weekdays is not None and weekday in self.weekdays:
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if weekday in self.last_of_weekdays and day.day + 7 > last:
            return True
        return (weekday, (day.day - 1) // 7 + 1) in self.nth_weekdays

    def next_after(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        local = after.astimezone(tz)
        day = local.date()
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                later = [y for y in self.years if y > day.year]
                if not later:
                    return None
                day = date(min(later), 1, 1)
                continue
            if self.day_matches(day):
                for hour, minute in times:
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    utc = candidate.astimezone(UTC)
                    if utc > after:
                        return utc
            day += timedelta(days=1)
        return None


Timing = Rate | At | Cron


def _nearest_weekday(year: int, month: int, day: int, last: int) -> date:
    """``nW``: the weekday nearest to day n of the month, never in another month."""
    target = date(year, month, day)
    if target.weekday() == 5:  # Saturday -> Friday, or Monday when the 1st is a Saturday
        return target - timedelta(days=1) if day > 1 else target + timedelta(days=2)
    if target.weekday() == 6:  # Sunday -> Monday, or Friday when it is the last day
        return target + timedelta(days=1) if day < last else target - timedelta(days=2)
    return target


def rate_seconds(expression: str) -> float:
    """Seconds between two runs of ``rate(...)``; ScheduleError for anything else."""
    timing = parse(expression, allow_at=False)
    if not isinstance(timing, Rate):
        raise ScheduleError(f"{expression.strip()}: not a rate expression")
    return timing.seconds


def parse(expression: str, *, allow_at: bool, tz: tzinfo = UTC) -> Timing:
    """The timing of a ``rate``, ``cron`` or (with ``allow_at``, Scheduler) ``at`` expression."""
    expr = str(expression).strip()
    match = _RATE.match(expr)
    if match:
        value, unit = int(match.group(1)), match.group(2).lower()
        if unit not in _UNITS or value < 1:
            raise ScheduleError(f"{expr}: not a valid rate expression")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(
                f"{expr}: AWS wants the singular unit for 1 and the plural otherwise"
            )
        return Rate(float(value * _UNITS[unit]))
    match = _AT.match(expr)
    if match:
        if not allow_at:
            raise ScheduleError(
                f"{expr}: at(...) is EventBridge Scheduler's; a rule takes rate or cron"
            )
        try:
            naive = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ScheduleError(f"{expr}: not a valid date and time") from None
        return At(naive.replace(tzinfo=tz).astimezone(UTC))
    match = _CRON.match(expr)
    if match:
        return parse_cron(match.group(1), expr)
    raise ScheduleError(f"{expr}: not a schedule expression (rate(...), cron(...) or at(...))")


def parse_cron(body: str, expr: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(f"{expr}: a cron expression has six fields, got {len(fields)}")
    minute, hour, dom, month, dow, year = (f.upper() for f in fields)
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expr}: one of day-of-month and day-of-week must be '?', not both")
    out: dict[str, object] = {
        "minutes": _field(minute, 0, 59, {}, expr),
        "hours": _field(hour, 0, 23, {}, expr),
        "months": _field(month, 1, 12, _MONTHS, expr),
        "years": _field(year, 1970, _LAST_YEAR, {}, expr),
        "days": None,
    }
    if dom != "?":
        plain, nearest = [], set()
        for part in dom.split(","):
            if part == "L":
                out["last_day"] = True
            elif part == "LW":
                out["last_weekday"] = True
            elif part.endswith("W"):
                nearest.add(_number(part[:-1], 1, 31, {}, expr))
            else:
                plain.append(part)
        out["days"] = _field(",".join(plain), 1, 31, {}, expr) if plain else frozenset()
        out["nearest_weekdays"] = frozenset(nearest)
    else:
        plain, last_of, nth = [], set(), set()
        for part in dow.split(","):
            if part == "L":
                plain.append("7")  # L alone is the last day of the week: Saturday
            elif part.endswith("L"):
                last_of.add(_number(part[:-1], 1, 7, _DAYS, expr))
            elif "#" in part:
                day, _, n = part.partition("#")
                nth.add((_number(day, 1, 7, _DAYS, expr), _number(n, 1, 5, {}, expr)))
            else:
                plain.append(part)
        out["weekdays"] = _field(",".join(plain), 1, 7, _DAYS, expr) if plain else None
        out["last_of_weekdays"] = frozenset(last_of)
        out["nth_weekdays"] = frozenset(nth)
    return Cron(**out)  # type: ignore[arg-type]


def _number(text: str, low: int, high: int, names: dict[str, int], expr: str) -> int:
    value = names.get(text)
    if value is None:
        if not text.isdigit():
            raise ScheduleError(f"{expr}: {text!r} is not a value of this cron field")
        value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"{expr}: {value} is outside {low}-{high}")
    return value


def _field(text: str, low: int, high: int, names: dict[str, int], expr: str) -> frozenset[int]:
    """The values of one cron field: ``*``, ``a``, ``a-b``, ``a/b``, ``*/b``, ``a-b/c``, lists."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{expr}: an empty value in a cron field")
        span, _, step_text = part.partition("/")
        step = _number(step_text, 1, high, {}, expr) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            start, end = _number(a, low, high, names, expr), _number(b, low, high, names, expr)
        else:
            start = _number(span, low, high, names, expr)
            end = high if step_text else start
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # a range that wraps (FRI-MON, 22-2)
            span_values = [*range(start, high + 1), *range(low, end + 1)]
            values.update(span_values[::step])
    return frozenset(values)
