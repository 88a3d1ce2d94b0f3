"""When a schedule fires: standard 5-field cron (or simple daily / weekdays / weekly forms) in an IANA time zone.

We accept standard crontab semantics and translate them for APScheduler 3, which differs in two places:
day-of-week numbers (APScheduler counts 0 = Monday, crontab 0 = Sunday; issue agronholm/apscheduler#286), and
day-of-month *and* day-of-week both restricted (crontab fires when either matches, APScheduler when both do:
we reject that form rather than guess). Wall-clock times that happen twice when clocks go back fire once (the
first); times skipped when clocks go forward fire at the same UTC offset as before the change (an hour later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.cron import CronTrigger

from bot.errors import ConfigError

Every = Literal["daily", "weekdays", "weekly", "cron"]
EVERY: tuple[Every, ...] = ("daily", "weekdays", "weekly", "cron")

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Crontab day numbers: 0 (and 7) = Sunday."""

MIN_INTERVAL = timedelta(minutes=15)
"""Schedules may not fire more often than this (a digest every minute is a mistake, not a feature)."""

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_LOOKBACK = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


class ScheduleSpecError(ConfigError):
    """A cron expression, time or time zone is not valid; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_timezone(name: str) -> tzinfo:
    """An IANA zone by name (e.g. Europe/Berlin), or ScheduleSpecError."""
    name = name.strip()
    if name.upper() in ("UTC", "Z"):
        return UTC
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ScheduleSpecError(
            "timezone", f"{name!r} is not a time zone; use an IANA name like Europe/Berlin"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = [zone for zone in available_timezones() if zone.lower() == name.lower()]
        hint = (
            f"did you mean {close[0]}?"
            if close
            else "use an IANA name like Europe/Berlin or America/New_York"
        )
        raise ScheduleSpecError("timezone", f"Unknown time zone {name!r}; {hint}") from None


def parse_time(value: str) -> tuple[int, int]:
    """'09:00' → (9, 0), or ScheduleSpecError."""
    match = _TIME.match(value.strip())
    if not match:
        raise ScheduleSpecError("time", f"{value!r} is not a time of day; use HH:MM, e.g. 09:00")
    return int(match.group(1)), int(match.group(2))


def parse_day(value: str) -> int:
    """'mon' / 'Monday' / '1' → crontab day number (0 = Sunday)."""
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    for number in range(len(DAYS)):
        if len(text) >= 3 and name_of(number).startswith(text):
            return number
    raise ScheduleSpecError("day", f"{value!r} is not a day of the week; use mon, tue, ... sun")


def name_of(day: int) -> str:
    """Crontab day number → full English name."""
    return ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")[day % 7]


def to_cron(every: str, *, time: str | None = None, day: str | None = None, cron: str | None = None) -> str:
    """The simple forms as standard cron: daily 09:00 → '0 9 * * *', weekdays → '... 1-5', weekly mon → '... 1'."""
    if every not in EVERY:
        raise ScheduleSpecError("every", f"{every[:20]!r}: choose daily, weekdays, weekly or cron")
    if every == "cron":
        if not cron or not cron.strip():
            raise ScheduleSpecError("cron", "Give a cron expression, e.g. 0 9 * * 1-5")
        return " ".join(cron.split())
    if not time:
        raise ScheduleSpecError("time", "Give a time of day, e.g. 09:00")
    hour, minute = parse_time(time)
    if every == "daily":
        return f"{minute} {hour} * * *"
    if every == "weekdays":
        return f"{minute} {hour} * * 1-5"
    if not day:
        raise ScheduleSpecError("day", "Give a day for a weekly schedule, e.g. mon")
    return f"{minute} {hour} * * {parse_day(day)}"


def describe(cron: str) -> str:
    """A short human form of a cron expression ('weekdays at 09:00'), or the expression itself."""
    parts = cron.split()
    if len(parts) == 5 and parts[0].isdigit() and parts[1].isdigit() and parts[2] == parts[3] == "*":
        at = f"{int(parts[1]):02d}:{int(parts[0]):02d}"
        dow = parts[4]
        if dow == "*":
            return f"daily at {at}"
        if dow == "1-5":
            return f"weekdays at {at}"
        if dow.isdigit() and 0 <= int(dow) <= 7:
            return f"{name_of(int(dow)).capitalize()}s at {at}"
    return f"cron `{cron}`"


def _expand_dow(field: str) -> set[int]:
    """A crontab day-of-week field → the set of crontab day numbers (0 = Sunday)."""
    days: set[int] = set()
    for item in field.lower().split(","):
        base, _, step_text = item.partition("/")
        if step_text and not step_text.isdigit():
            raise ValueError(f"bad step {step_text!r}")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError("step must be at least 1")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            lo, hi = base.split("-", 1)
            first, last = _day_number(lo), _day_number(hi)
            if last < first:
                raise ValueError(f"range {base!r} runs backwards")
        else:
            first = _day_number(base)
            last = first if not step_text else 6
        days.update(d % 7 for d in range(first, last + 1, step))
    return days


def _day_number(text: str) -> int:
    """A crontab day: 0-7 (0 and 7 are Sunday) or a three-letter name."""
    if text.isdigit():
        if int(text) <= 7:
            return int(text)
        raise ValueError(f"day {text!r} is out of range 0-7")
    if text in DAYS:
        return DAYS.index(text)
    raise ValueError(f"{text!r} is not a day (0-7 or sun-sat)")


class WallClockCronTrigger(CronTrigger):
    """A CronTrigger that fires once, not twice, at a wall-clock time repeated when clocks go back."""

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The next fire time after `previous_fire_time` / from `now`, skipping repeated wall-clock times."""
        fire = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and _second_occurrence(fire):
            fire = super().get_next_fire_time(fire, fire)
        return fire


def _second_occurrence(moment: datetime) -> bool:
    """True for the later of two instants that share one wall-clock reading (the repeated hour)."""
    zone = moment.tzinfo
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return moment.astimezone(UTC) == second.astimezone(UTC)


@dataclass(frozen=True)
class Timing:
    """A validated schedule timing: the cron text as stored, the zone, and the trigger."""

    cron: str
    timezone: str
    trigger: WallClockCronTrigger

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (UTC)."""
        fire = self.trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))
        return fire.astimezone(UTC) if fire is not None else None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest fire time at or before `moment` (UTC), looking back up to a year."""
        for window in _LOOKBACK:
            fire = self.trigger.get_next_fire_time(None, moment - window)
            found: datetime | None = None
            while fire is not None and fire <= moment:
                found = fire
                fire = self.trigger.get_next_fire_time(fire, fire)
            if found is not None:
                return found.astimezone(UTC)
        return None


def build_timing(cron: str, timezone: str) -> Timing:
    """Validate a standard 5-field cron expression and time zone; raise ScheduleSpecError naming the field."""
    zone = parse_timezone(timezone)
    fields = cron.split()
    if len(fields) != 5:
        raise ScheduleSpecError(
            "cron", f"{cron!r} needs 5 fields (minute hour day-of-month month day-of-week), e.g. 0 9 * * 1-5"
        )
    minute, hour, dom, month, dow = fields
    if dom != "*" and dow != "*":
        raise ScheduleSpecError(
            "cron", "Restrict day-of-month or day-of-week, not both (cron would fire when either matches)"
        )
    try:
        days = _expand_dow(dow)
        aps_dow = "*" if len(days) == 7 else ",".join(DAYS[d] for d in sorted(days))
        trigger = WallClockCronTrigger(
            minute=minute, hour=hour, day=dom, month=month, day_of_week=aps_dow, second=0, timezone=zone
        )
    except ValueError as exc:
        raise ScheduleSpecError("cron", f"Invalid cron expression {cron!r}: {exc}") from None
    timing = Timing(cron=" ".join(fields), timezone=_zone_name(zone), trigger=trigger)
    _check_interval(timing)
    return timing


def _zone_name(zone: tzinfo) -> str:
    return "UTC" if zone is UTC else str(zone)


def _check_interval(timing: Timing) -> None:
    """Reject expressions that never fire or fire more often than MIN_INTERVAL."""
    # A fixed reference keeps validation deterministic; two years ahead catches Feb 29-only schedules.
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    first = timing.next_after(moment)
    if first is None or first > moment + timedelta(days=366 * 4):
        raise ScheduleSpecError("cron", f"{timing.cron!r} never fires")
    previous = first
    for _ in range(24):
        following = timing.next_after(previous)
        if following is None:
            return
        if following - previous < MIN_INTERVAL:
            minutes = int(MIN_INTERVAL.total_seconds() // 60)
            raise ScheduleSpecError(
                "cron", f"{timing.cron!r} fires too often: at most every {minutes} minutes"
            )
        previous = following
