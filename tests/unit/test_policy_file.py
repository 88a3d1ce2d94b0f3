"""The policy file: TOML or YAML, validated; a bad file fails with the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.policy.file import load_policy_file

TOOLS = {
    "search_tickets": "read",
    "get_ticket": "read",
    "create_ticket": "write",
    "add_comment": "write",
}

GOOD_TOML = """\
default_role = "viewer"
private_projects = ["SEC"]

[roles.triage]
description = "Moves tickets along"
tools = ["read", "add_comment"]
projects = ["OPS"]
confirm = []

[channel_scopes.channels]
C0SECTEAM = ["SEC"]

[assignments]
U0ALICE = "admin"
U0BOB = "triage"
"""

GOOD_YAML = """\
default_role: viewer
private_projects: [SEC]
roles:
  triage:
    description: Moves tickets along
    tools: [read, add_comment]
    projects: [OPS]
channel_scopes:
  channels:
    C0SECTEAM: [SEC]
assignments:
  U0ALICE: admin
  U0BOB: triage
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "text"), [("policy.toml", GOOD_TOML), ("policy.yaml", GOOD_YAML)])
def test_a_good_file_sets_only_what_it_names_and_keeps_the_builtin_roles(tmp_path: Path, name: str, text: str) -> None:
    loaded = load_policy_file(write(tmp_path, name, text), tools=TOOLS, default_role="member")
    assert set(loaded.fields) == {"default_role", "private_projects", "roles", "channel_scopes"}
    assert set(loaded.policy.roles) == {"admin", "member", "viewer", "triage"}
    assert loaded.policy.roles["triage"].tools == ("read", "add_comment")
    assert loaded.policy.default_role == "viewer"
    assert loaded.policy.channel_scopes.scope_for(channel_id="C0SECTEAM", channel_type="private") == ("SEC",)
    assert loaded.assignments == {"U0ALICE": "admin", "U0BOB": "triage"}


def test_toml_and_yaml_mean_the_same(tmp_path: Path) -> None:
    toml = load_policy_file(write(tmp_path, "p.toml", GOOD_TOML), tools=TOOLS, default_role="member")
    yml = load_policy_file(write(tmp_path, "p.yml", GOOD_YAML), tools=TOOLS, default_role="member")
    assert toml.policy == yml.policy
    assert toml.fields == yml.fields


def error_of(tmp_path: Path, name: str, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_policy_file(write(tmp_path, name, text), tools=TOOLS, default_role="member")
    return str(err.value)


def test_an_unknown_tool_names_the_line_and_field_in_toml(tmp_path: Path) -> None:
    text = GOOD_TOML.replace('tools = ["read", "add_comment"]', 'tools = ["read", "delet_ticket"]')
    message = error_of(tmp_path, "policy.toml", text)
    assert "policy.toml line 6, roles.triage.tools" in message
    assert "unknown tool 'delet_ticket'" in message


def test_an_unknown_tool_names_the_line_and_field_in_yaml(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.yaml", GOOD_YAML.replace("[read, add_comment]", "[read, delet_ticket]"))
    assert "policy.yaml line 6, roles.triage.tools" in message


def test_an_assignment_to_an_unknown_role_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.toml", GOOD_TOML.replace('U0BOB = "triage"', 'U0BOB = "owner"'))
    assert "line 15, assignments.U0BOB: unknown role 'owner'" in message


def test_an_assignment_to_something_that_is_not_a_user_id_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.yaml", GOOD_YAML.replace("U0BOB: triage", "bob: triage"))
    assert "line 13, assignments.bob: not a Slack user id" in message


def test_a_misspelt_setting_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.toml", GOOD_TOML.replace("private_projects", "privat_projects"))
    assert "line 2, privat_projects: unknown setting" in message


def test_a_bad_project_key_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.toml", GOOD_TOML.replace('projects = ["OPS"]', 'projects = ["ops team"]'))
    assert "line 7, roles.triage.projects: 'ops team' is not a project key" in message


def test_a_default_role_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.yaml", GOOD_YAML.replace("default_role: viewer", "default_role: boss"))
    assert "default_role 'boss' is not a role" in message


def test_a_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.toml", GOOD_TOML.replace('projects = ["OPS"]', 'projects = ["OPS"'))
    assert "Invalid policy file" in message
    assert "line 8" in message  # tomllib reports where the unclosed array was noticed


def test_a_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "policy.yaml", GOOD_YAML.replace("projects: [OPS]", "projects: [OPS"))
    assert "Invalid policy file" in message
    assert "line 8" in message


def test_a_missing_file_or_an_unknown_extension_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy_file(tmp_path / "nope.toml", tools=TOOLS, default_role="member")
    assert "must end in .toml, .yaml or .yml" in error_of(tmp_path, "policy.json", "{}")


def test_projects_the_ticket_system_does_not_know_are_named_with_their_line(tmp_path: Path) -> None:
    loaded = load_policy_file(write(tmp_path, "policy.toml", GOOD_TOML), tools=TOOLS, default_role="member")
    loaded.check_projects(frozenset({"OPS", "SEC"}))
    with pytest.raises(ConfigError) as err:
        loaded.check_projects(frozenset({"OPS"}))
    assert "policy.toml line 2, private_projects: unknown project 'SEC' (known: OPS)" in str(err.value)
    assert "line 11, channel_scopes.channels.C0SECTEAM: unknown project 'SEC'" in str(err.value)
