"""Reading `/chatops digest add|edit` text: positional words, time forms, quoted cron, key=value options."""

from __future__ import annotations

import pytest

from bot.slack.schedule_commands import CommandError, parse_changes, tokenize


def _parse(text: str) -> tuple[list[str], dict[str, str]]:
    return parse_changes(tokenize(text))


def test_a_weekday_form_with_options() -> None:
    assert _parse("OPS weekdays 09:00 tz=Europe/Berlin stale=5") == (
        ["OPS"], {"every": "weekdays", "time": "09:00", "timezone": "Europe/Berlin", "stale_days": "5"},
    )  # fmt: skip


def test_weekly_takes_a_day_and_a_time() -> None:
    assert _parse("weekly mon 08:30")[1] == {"every": "weekly", "day": "mon", "time": "08:30"}


def test_a_quoted_cron_and_slacks_curly_quotes() -> None:
    assert _parse('cron "0 9 * * 1-5"')[1] == {"every": "cron", "cron": "0 9 * * 1-5"}
    assert _parse("cron “30 7 * * *” name=“Ops morning”")[1] == {
        "every": "cron", "cron": "30 7 * * *", "name": "Ops morning",
    }  # fmt: skip


def test_an_unquoted_cron_takes_the_next_five_words() -> None:
    assert _parse("OPS cron 0 9 * * 1-5 tz=UTC") == (
        ["OPS"], {"every": "cron", "cron": "0 9 * * 1-5", "timezone": "UTC"},
    )  # fmt: skip


def test_a_channel_mention_names_the_channel() -> None:
    assert _parse("OPS daily 09:00 <#C0123ABCD|ops>")[1]["channel"] == "<#C0123ABCD|ops>"


def test_a_keyword_without_its_value_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="`daily` needs a value"):
        _parse("OPS daily")


def test_an_unclosed_quote_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="A quote is not closed"):
        tokenize('add OPS cron "0 9 * * 1')
