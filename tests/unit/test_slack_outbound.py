"""The outbound boundary's table: every secret pattern masks what it should (a true positive) and leaves alone what
only looks like it (a false positive); broadcasts become inert; machine fields of a payload pass untouched."""

from __future__ import annotations

import json

import pytest

from bot.slack_api.outbound import REDACTED, SECRET_PATTERNS, ZWSP, mask_secrets, sanitize, sanitize_payload

# (pattern name, text holding a secret, the secret, text that only looks like one)
CASES: list[tuple[str, str, str, str]] = [
    (
        "private key block",
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\n-----END RSA PRIVATE KEY-----\nthanks",
        "MIIEowIBAAKCAQEAx7",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
    ),
    ("slack token", "use xoxb-2048150375-4096118831-Zq8pLw3 now", "xoxb-2048150375", "the xoxb- prefix means a bot token"),
    ("slack app token", "SLACK_APP_TOKEN xapp-1-A0123ABCD-1234567890-abcdef01", "xapp-1-A0123ABCD", "xapp-store is a team"),
    ("aws access key", "aws key AKIAQX7ZL4PCOMP3TEST there", "AKIAQX7ZL4PCOMP3TEST", "AKIA1234 is too short, akiaqx7zl4pcomp3test is lower"),
    ("github token", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + " leaked", "a1B2c3D4e5F6g7H8", "ghp_short and gho_ are prefixes"),
    ("gitlab token", "token glpat-Xy7Zq2Wv9Lm4Np8Rt3Ks", "glpat-Xy7Zq2Wv9Lm4Np8Rt3Ks", "glpat-docs explains tokens"),
    ("anthropic key", "ANTHROPIC sk-ant-api03-Qw3Er5Ty7Ui9 set", "Qw3Er5Ty7Ui9", "the sk-ant-docs page"),
    ("openai key", "OPENAI=sk-proj-Ab3De5Gh7Jk9Mn2Pq4St6Vw8Yz", "Ab3De5Gh7Jk9Mn2Pq4St6Vw8Yz", "sk-this-is-a-very-long-kebab-slug"),
    ("atlassian api token", "jira ATATT3xFfGF0Qk9Lm2Nb7Vc4Xz1 ok", "ATATT3xFfGF0Qk9Lm2Nb7Vc4Xz1", "ATATTACK at dawn"),
    (
        "jwt",
        "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpM",
        "SflKxwRJSMeKKF2QT4fwpM",
        "eyJhbGciOiJIUzI1NiJ9 alone, version 1.2.3",
    ),
    ("bearer token", "Authorization: Bearer abc123def456ghi789", "abc123def456ghi789", "the Bearer of bad news"),
    ("basic-auth url", "clone https://deploy:hunter22@git.example.com/repo.git", "hunter22", "mailto:alice@example.com and https://example.com/@user"),
    ("key = value", "password: hunter2, client_secret=Zx9Yw8Vu7", "hunter2", "max_tokens: 64000 and the password policy"),
]


def test_every_pattern_in_the_table_has_a_case() -> None:
    assert {p.name for p in SECRET_PATTERNS} == {c[0] for c in CASES}


@pytest.mark.parametrize(("name", "text", "secret", "lookalike"), CASES, ids=[c[0] for c in CASES])
def test_a_secret_is_masked_by_its_pattern(name: str, text: str, secret: str, lookalike: str) -> None:
    pattern = next(p for p in SECRET_PATTERNS if p.name == name)
    assert pattern.regex.search(text), f"{name} does not find its secret"
    out = mask_secrets(text)
    assert secret not in out and REDACTED in out


@pytest.mark.parametrize(("name", "text", "secret", "lookalike"), CASES, ids=[c[0] for c in CASES])
def test_a_lookalike_is_left_alone(name: str, text: str, secret: str, lookalike: str) -> None:
    assert mask_secrets(lookalike) == lookalike


def test_a_key_name_stays_readable_before_its_masked_value() -> None:
    assert mask_secrets("password=hunter2") == "password=[redacted]"
    assert mask_secrets("https://bob:pa55word@host/x") == "https://bob:[redacted]@host/x"


def test_a_private_key_cut_off_before_its_end_is_masked_to_the_end() -> None:
    out = mask_secrets("here: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA")
    assert out == f"here: {REDACTED}"


@pytest.mark.parametrize(
    ("text", "inert"),
    [
        ("<!channel> deploy", f"@{ZWSP}channel deploy"),
        ("<!here|here> now", f"@{ZWSP}here now"),
        ("<!everyone>", f"@{ZWSP}everyone"),
        ("<!subteam^S0123ABC|@oncall> look", f"@{ZWSP}oncall look"),
        ("ping @channel and @here and @everyone", f"ping @{ZWSP}channel and @{ZWSP}here and @{ZWSP}everyone"),
    ],
)
def test_broadcasts_become_inert(text: str, inert: str) -> None:
    assert sanitize(text) == inert


def test_people_emails_and_words_that_contain_broadcast_names_are_untouched() -> None:
    text = "ask <@U0ALICE>, mail ops@here.example, the #channel-ops channel, everyone@corp"
    assert sanitize(text) == text


def test_sanitizing_twice_changes_nothing_more() -> None:
    text = "<!here> password: hunter2 xoxb-2048150375-4096118831-Zq8pLw3"
    assert sanitize(sanitize(text)) == sanitize(text)


def test_a_payload_keeps_its_machine_fields_and_sanitizes_what_people_read() -> None:
    payload = {
        "channel": "C0OPS",
        "text": "<!channel> password: hunter2",
        "blocks": [
            {
                "type": "actions",
                "block_id": "<!here>",
                "elements": [{"type": "button", "action_id": "approve:<!here>", "value": "password: hunter2",
                              "text": {"type": "plain_text", "text": "@everyone"}}],
            },
            {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "broadcast", "range": "channel"}]}]},
        ],
        "view": {"type": "modal", "private_metadata": "token=abcdef123456", "title": {"type": "plain_text", "text": "<!here>"}},
        "chunks": [{"type": "task_update", "id": "t1", "title": "<!here>", "status": "complete", "details": "xoxp-2048150375-99"}],
        "loading_messages": ["<!channel>"],
    }
    out = sanitize_payload(payload)
    assert out is not None
    dumped = json.dumps(out)
    assert "<!" not in json.dumps([out["text"], out["blocks"][0]["elements"][0]["text"], out["view"]["title"], out["chunks"], out["loading_messages"]])
    assert "hunter2" not in out["text"] and "xoxp-" not in dumped
    assert out["blocks"][0]["block_id"] == "<!here>"
    assert out["blocks"][0]["elements"][0]["action_id"] == "approve:<!here>"
    assert out["blocks"][0]["elements"][0]["value"] == "password: hunter2"
    assert out["view"]["private_metadata"] == "token=abcdef123456"
    assert out["blocks"][1]["elements"][0]["elements"][0] == {"type": "text", "text": f"@{ZWSP}channel"}
    assert out["chunks"][0]["status"] == "complete"


def test_a_form_encoded_payload_with_json_strings_is_sanitized_inside_them() -> None:
    out = sanitize_payload({"blocks": json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>"}}])})
    assert out is not None
    assert json.loads(out["blocks"])[0]["text"]["text"] == f"@{ZWSP}here"


def test_work_object_fields_people_read_are_sanitized_and_their_ids_and_urls_kept() -> None:
    entity = {
        "entity_type": "slack#/entities/task",
        "url": "https://chatops.example.com/tickets/OPS-1?token=abcdef123456",
        "external_ref": {"id": "OPS-1", "type": "ticket"},
        "entity_payload": {
            "attributes": {"title": {"text": "<!here> rotate"}, "display_id": "OPS-1"},
            "fields": {
                "status": {"value": "Open"},
                "description": {"value": "Use password: hunter2 and xoxb-1234567890-abcdefghij", "long": True},
                "date_updated": {"value": 1764581400},
            },
            "custom_fields": [{"key": "latest_comments", "label": "<!channel>", "type": "string", "value": "<!everyone> done"}],
        },
    }
    for method_args in ({"channel": "C1", "ts": "1.2", "metadata": {"entities": [entity]}}, {"trigger_id": "t", "metadata": entity}):
        out = sanitize_payload(method_args)
        assert out is not None
        dumped = json.dumps(out)
        assert "hunter2" not in dumped and "xoxb-" not in dumped and "<!" not in dumped
        sent = out["metadata"]["entities"][0] if "entities" in out["metadata"] else out["metadata"]
        assert sent["url"] == entity["url"] and sent["external_ref"] == entity["external_ref"]
        assert sent["entity_payload"]["fields"]["status"] == {"value": "Open"}
        assert sent["entity_payload"]["fields"]["date_updated"] == {"value": 1764581400}
    # outside a Work Object a `value` is a machine field (a button's value) and passes untouched
    assert sanitize_payload({"metadata": {"event_type": "x", "event_payload": {"value": "password: hunter2"}}}) == {
        "metadata": {"event_type": "x", "event_payload": {"value": "password: hunter2"}}
    }
