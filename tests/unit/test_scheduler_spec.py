"""Schedule timing: standard cron and simple forms, in IANA time zones, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.scheduler.spec import ScheduleSpecError, Timing, build_timing, describe, to_cron


def _fires(timing: Timing, start: datetime, count: int) -> list[str]:
    out, moment = [], start
    for _ in range(count):
        nxt = timing.next_after(moment)
        assert nxt is not None
        out.append(nxt.isoformat())
        moment = nxt
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("every", "time", "day", "cron"),
    [
        ("daily", "09:00", None, "0 9 * * *"),
        ("weekdays", "7:05", None, "5 7 * * 1-5"),
        ("weekly", "16:30", "Friday", "30 16 * * 5"),
        ("weekly", "08:00", "sun", "0 8 * * 0"),
    ],
)
def test_simple_forms_translate_to_standard_cron(every: str, time: str, day: str | None, cron: str) -> None:
    assert to_cron(every, time=time, day=day) == cron


def test_crontab_day_numbers_mean_what_they_mean_in_crontab_sunday_is_zero_and_seven() -> None:
    monday = _utc("2026-11-16T00:00:00+00:00")

    sundays = _fires(build_timing("0 9 * * 0", "UTC"), monday, 1) + _fires(
        build_timing("0 9 * * 7", "UTC"), monday, 1
    )
    weekdays = _fires(build_timing("0 9 * * 1-5", "UTC"), monday, 6)

    assert sundays == ["2026-11-22T09:00:00+00:00"] * 2
    assert weekdays[-1] == "2026-11-23T09:00:00+00:00", "Saturday and Sunday are skipped"


def test_nine_in_berlin_stays_nine_in_berlin_across_the_october_change() -> None:
    timing = build_timing("0 9 * * *", "Europe/Berlin")

    fires = _fires(timing, _utc("2026-10-23T12:00:00+00:00"), 4)

    assert fires == [
        "2026-10-24T07:00:00+00:00",  # CEST, UTC+2
        "2026-10-25T08:00:00+00:00",  # the change happened at 03:00 that night: CET, UTC+1
        "2026-10-26T08:00:00+00:00",
        "2026-10-27T08:00:00+00:00",
    ]


def test_a_wall_clock_time_that_happens_twice_when_clocks_go_back_fires_once() -> None:
    timing = build_timing("30 2 * * *", "Europe/Berlin")

    fires = _fires(timing, _utc("2026-10-24T12:00:00+00:00"), 2)

    assert fires == ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]


def test_a_wall_clock_time_skipped_when_clocks_go_forward_fires_an_hour_later() -> None:
    timing = build_timing("30 2 * * *", "Europe/Berlin")

    fires = _fires(timing, _utc("2026-03-28T12:00:00+00:00"), 2)

    assert fires == ["2026-03-29T01:30:00+00:00", "2026-03-30T00:30:00+00:00"]  # 03:30 CEST, then 02:30 CEST


def test_the_slot_in_effect_is_the_latest_fire_time_at_or_before_now() -> None:
    timing = build_timing("0 9 * * 1-5", "Europe/Berlin")

    on_time = timing.last_at_or_before(_utc("2026-11-16T08:00:00+00:00"))
    a_bit_late = timing.last_at_or_before(_utc("2026-11-16T08:00:42+00:00"))
    weekend = timing.last_at_or_before(_utc("2026-11-22T12:00:00+00:00"))

    assert on_time == a_bit_late == _utc("2026-11-16T09:00:00+01:00")
    assert weekend == _utc("2026-11-20T09:00:00+01:00"), "Friday's slot"


def test_a_monthly_slot_is_found_weeks_later() -> None:
    timing = build_timing("0 6 1 * *", "UTC")

    assert timing.last_at_or_before(_utc("2026-11-29T00:00:00+00:00")) == _utc("2026-11-01T06:00:00+00:00")


@pytest.mark.parametrize(
    ("cron", "zone", "field", "message"),
    [
        ("0 9 * *", "UTC", "cron", "'0 9 * *' needs 5 fields (minute hour day-of-month month day-of-week)"),
        ("61 9 * * *", "UTC", "cron", "Invalid cron expression '61 9 * * *'"),
        ("0 9 * * funday", "UTC", "cron", "Invalid cron expression '0 9 * * funday': 'funday' is not a day"),
        ("0 9 1 * 1", "UTC", "cron", "Restrict day-of-month or day-of-week, not both"),
        ("*/5 * * * *", "UTC", "cron", "'*/5 * * * *' fires too often: at most every 15 minutes"),
        ("0 9 30 2 *", "UTC", "cron", "'0 9 30 2 *' never fires"),
        ("0 9 * * *", "Mars/Olympus", "timezone", "Unknown time zone 'Mars/Olympus'; use an IANA name"),
        (
            "0 9 * * *",
            "europe/berlin",
            "timezone",
            "Unknown time zone 'europe/berlin'; did you mean Europe/Berlin?",
        ),
        ("0 9 * * *", "../../etc/passwd", "timezone", "'../../etc/passwd' is not a time zone"),
    ],
)
def test_bad_timings_are_refused_naming_the_field_and_the_problem(
    cron: str, zone: str, field: str, message: str
) -> None:
    with pytest.raises(ScheduleSpecError) as info:
        build_timing(cron, zone)

    assert info.value.field == field
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("every", "kwargs", "field"),
    [
        ("daily", {"time": "25:00"}, "time"),
        ("daily", {}, "time"),
        ("weekly", {"time": "09:00"}, "day"),
        ("weekly", {"time": "09:00", "day": "someday"}, "day"),
        ("cron", {}, "cron"),
        ("hourly", {"time": "09:00"}, "every"),
    ],
)
def test_bad_simple_forms_name_the_field(every: str, kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ScheduleSpecError) as info:
        to_cron(every, **kwargs)

    assert info.value.field == field


@pytest.mark.parametrize(
    ("cron", "text"),
    [
        ("0 9 * * *", "daily at 09:00"),
        ("30 7 * * 1-5", "weekdays at 07:30"),
        ("0 16 * * 5", "Fridays at 16:00"),
        ("0 9 1 * *", "cron `0 9 1 * *`"),
    ],
)
def test_schedules_are_described_in_words_where_they_can_be(cron: str, text: str) -> None:
    assert describe(cron) == text
