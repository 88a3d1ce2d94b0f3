"""`chatops doctor` checks the database, the model key and Jira, says how to fix what is wrong, and exits 0
only when everything passes. Run as the real command against the fake Jira, and in-process for the rest."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.doctor import run_doctor
from bot.settings import Settings
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.jira_server import JiraServer

ROOT = Path(__file__).resolve().parents[2]
MODEL_KEY = "sk-ant-doctor-test"
MODEL_API: dict[str, str] = {}
"""The fake model API's URL for this test (set by the `model_api` fixture)."""


@pytest.fixture(autouse=True)
def model_api() -> Iterator[AnthropicServer]:
    """The doctor asks the model API about the key and the model: a fake that knows both."""
    with AnthropicServer(api_key=MODEL_KEY, models={"claude-sonnet-4-6"}) as fake:
        MODEL_API["url"] = fake.url
        yield fake


@pytest.fixture
def server() -> Iterator[JiraServer]:
    with JiraServer() as fake:
        yield fake


def chatops_doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot doctor` with only these settings in the environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JIRA_", "ANTHROPIC_", "DATABASE_URL", "CHATOPS_", "SLACK_"))
    }
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def jira_env(server: JiraServer, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'doctor.db'}",
        "ANTHROPIC_API_KEY": MODEL_KEY,
        "ANTHROPIC_BASE_URL": MODEL_API["url"],
        "JIRA_URL": server.url,
        "JIRA_EMAIL": server.email,
        "JIRA_API_TOKEN": server.api_token,
    }


async def doctor(tmp_path: Path, **overrides: Any) -> tuple[int, str]:
    """Run the doctor in-process; returns (exit code, report)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'doctor.db'}",
        "anthropic_api_key": MODEL_KEY,
        "anthropic_base_url": MODEL_API["url"],
        "jira_retry_max_seconds": 0,
    }
    values.update(overrides)
    out = io.StringIO()
    code = await run_doctor(Settings(_env_file=None, **values), out=out)  # type: ignore[call-arg]
    return code, out.getvalue()


def jira(server: JiraServer, **extra: Any) -> dict[str, Any]:
    return {"jira_url": server.url, "jira_email": server.email, "jira_api_token": server.api_token, **extra}


def test_a_healthy_setup_passes_every_check_and_exits_zero(server: JiraServer, tmp_path: Path) -> None:
    result = chatops_doctor(jira_env(server, tmp_path), tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "[ok] Database",
        "[ok] Model API key",
        "[ok] Jira: ",
        "Jira Cloud",
        "signed in as ChatOps Bot",
        "3 visible (OPS, SEC, WEB)",
        "[ok] Jira permissions",
    ):
        assert line in result.stdout
    assert server.sent("GET", r"/rest/api/2/mypermissions$") == 1


def test_rejected_credentials_exit_one_with_the_fix_and_no_secret(server: JiraServer, tmp_path: Path) -> None:
    env = {**jira_env(server, tmp_path), "JIRA_API_TOKEN": "wrong-token-value"}

    result = chatops_doctor(env, tmp_path)

    assert result.returncode == 1
    assert "[FAIL] Jira credentials" in result.stdout
    assert "id.atlassian.com/manage-profile/security/api-tokens" in result.stdout
    assert "wrong-token-value" not in result.stdout + result.stderr


async def test_missing_permissions_are_named_with_how_to_grant_them(
    server: JiraServer, tmp_path: Path
) -> None:
    server.revoke("ADD_COMMENTS", "ASSIGN_ISSUES")

    code, report = await doctor(tmp_path, **jira(server))

    assert code == 1
    assert "[FAIL] Jira permissions: missing Add Comments, Assign Issues" in report
    assert "permission scheme" in report


async def test_an_account_that_sees_no_project_fails(server: JiraServer, tmp_path: Path) -> None:
    for key in ("OPS", "SEC", "WEB"):
        server.forbid_project(key)

    code, report = await doctor(tmp_path, **jira(server))

    assert code == 1
    assert "[FAIL] Jira projects: none visible" in report
    assert "Browse Projects" in report


async def test_an_unreachable_jira_fails_with_the_url_to_check(tmp_path: Path) -> None:
    with JiraServer() as gone:
        url = gone.url
    code, report = await doctor(tmp_path, jira_url=url, jira_email="a@b.c", jira_api_token="t")

    assert code == 1
    assert f"[FAIL] Jira: cannot reach {url}" in report
    assert "Check JIRA_URL" in report


async def test_a_data_center_token_rejected_by_jira_says_which_setting(tmp_path: Path) -> None:
    with JiraServer(deployment="Server") as dc:
        code, report = await doctor(tmp_path, jira_url=dc.url, jira_pat="not-the-pat")

    assert code == 1
    assert "JIRA_PAT was rejected" in report


async def test_data_center_with_a_valid_token_passes(tmp_path: Path) -> None:
    with JiraServer(deployment="Server") as dc:
        code, report = await doctor(tmp_path, jira_url=dc.url, jira_pat=dc.pat)

    assert code == 0, report
    assert "Jira Data Center/Server 9.12.15" in report


async def test_a_missing_model_key_fails_even_when_jira_is_fine(server: JiraServer, tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, anthropic_api_key=None, **jira(server))

    assert code == 1
    assert "[FAIL] Model API key: ANTHROPIC_API_KEY is not set" in report


async def test_an_unreachable_database_fails_with_the_url_format(tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")

    assert code == 1
    assert "[FAIL] Database: PostgreSQL does not answer" in report
    assert "DATABASE_URL" in report


async def test_the_local_store_needs_no_jira(tmp_path: Path) -> None:
    code, report = await doctor(tmp_path)

    assert code == 0, report
    assert "local database store" in report


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set")
async def test_a_reachable_postgres_database_passes(tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, database_url=os.environ["TEST_DATABASE_URL"])

    assert code == 0, report
    assert "[ok] Database: PostgreSQL answers" in report


async def test_a_refused_model_key_is_reported_in_the_words_slack_uses(tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, anthropic_api_key="sk-ant-revoked")

    assert code == 1
    assert "[FAIL] Model API key: the model API key is invalid or lacks access: check ANTHROPIC_API_KEY" in report
    assert "401 authentication_error: invalid x-api-key" in report and "sk-ant-revoked" not in report


async def test_an_unknown_model_is_named_with_the_setting(tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, chatops_model="claude-sonnet-9-9")

    assert code == 1
    assert "the model API does not know the model 'claude-sonnet-9-9': check CHATOPS_MODEL" in report


async def test_jira_refusing_the_token_is_reported_in_the_words_slack_uses(server: JiraServer, tmp_path: Path) -> None:
    code, report = await doctor(tmp_path, **jira(server, jira_api_token="rotated"))

    assert code == 1
    assert "[FAIL] Jira credentials: Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN" in report


async def test_a_403_is_reported_with_the_words_the_asker_and_the_admins_see(server: JiraServer, tmp_path: Path) -> None:
    server.fault("GET", r"/rest/api/2/project$", status=403)

    code, report = await doctor(tmp_path, **jira(server))

    assert code == 1
    assert (
        "[FAIL] Jira projects: the bot's Jira account lacks permission to list projects: check its project permissions "
        "in Jira (HTTP 403: You do not have permission to perform this operation.)"
    ) in report


async def test_a_403_on_the_bots_own_profile_is_its_credentials(server: JiraServer, tmp_path: Path) -> None:
    server.fault("GET", r"/rest/api/2/myself$", status=403)

    code, report = await doctor(tmp_path, **jira(server))

    assert code == 1
    assert "[FAIL] Jira credentials: Jira rejected the bot's credentials: check JIRA_EMAIL and JIRA_API_TOKEN (HTTP 403" in report
