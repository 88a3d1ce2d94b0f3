"""Scopes as admins type them in the modal: shown and read back without loss; bad lines named."""

from __future__ import annotations

from bot.policy.model import ChannelScopes
from bot.policy.text import channel_scopes_text, parse_channel_scopes, parse_scope


def test_channel_scopes_round_trip_through_their_text() -> None:
    scopes = ChannelScopes(by_type={"private": ("OPS", "public")}, channels={"C0SECTEAM": ("SEC",)})
    parsed, problem = parse_channel_scopes(channel_scopes_text(scopes))
    assert problem is None
    assert ChannelScopes.model_validate(parsed) == scopes


def test_project_keys_are_upper_cased_and_the_words_kept() -> None:
    assert parse_scope(" ops,Sec  PUBLIC, * ") == ["OPS", "SEC", "public", "*"]
    assert parse_scope("") == []


def test_a_line_without_a_colon_or_with_an_unknown_place_is_named() -> None:
    assert parse_channel_scopes("im: *\npublic public")[1] == (
        "Line 2: expected `where: projects`, e.g. `public: public` or `C0123ABCD: OPS, SEC`"
    )
    assert "Line 1: 'lobby' is not a channel type" in str(parse_channel_scopes("lobby: OPS")[1])
