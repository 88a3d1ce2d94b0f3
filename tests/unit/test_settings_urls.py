"""A database or service URL is never echoed with its password: not in settings errors, not by any command."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.settings import load_settings, mask_url

PASSWORD = "hunter2-S3cret"

BAD_DATABASE_URLS = {
    "unsupported scheme": f"mysql://chatops:{PASSWORD}@db.internal:3306/chatops",
    "port that is not a number": f"postgresql+psycopg://chatops:{PASSWORD}@db.internal:port/chatops",
    "unparsable": f"postgresql+psycopg:/chatops:{PASSWORD}@db.internal/chatops",
    "password holding @ and /": f"mysql://chatops:{PASSWORD}@a/b@db.internal/chatops",
    "password in the query": f"mysql://db.internal/chatops?user=chatops&password={PASSWORD}",
}


@pytest.mark.parametrize("url", BAD_DATABASE_URLS.values(), ids=BAD_DATABASE_URLS.keys())
def test_an_invalid_database_url_is_named_without_its_password(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert "DATABASE_URL" in str(err.value)
    assert PASSWORD not in str(err.value) and "***" in str(err.value)


@pytest.mark.parametrize("command", [["doctor"], ["policy", "show"], ["run"]])
def test_no_command_echoes_the_password_of_an_invalid_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", BAD_DATABASE_URLS["port that is not a number"])
    assert main(command) == 2
    out = capsys.readouterr()
    assert "DATABASE_URL" in out.err
    assert PASSWORD not in out.out + out.err


def test_an_unreachable_database_is_reported_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://chatops:{PASSWORD}@127.0.0.1:1/chatops")
    assert main(["doctor"]) == 1
    out = capsys.readouterr()
    assert "Database" in out.out and PASSWORD not in out.out + out.err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
        ("https://bot:tok@proxy.example.com/v1", "https://bot:***@proxy.example.com/v1"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        ("sqlite:///var/lib/chatops.db", "sqlite:///var/lib/chatops.db"),
        ("postgresql://h/db?sslmode=require&password=pw", "postgresql://h/db?sslmode=require&password=***"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown
