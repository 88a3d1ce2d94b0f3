"""The outbound boundary is structural: no module but bot/slack_api/client.py builds a Slack Web API, webhook, respond
or ack object, so every text the bot sends to Slack goes through `SlackClient` / `SafeRespond` / `SafeAck`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = Path("bot/slack_api/client.py")
SENDERS = frozenset(
    {"WebClient", "AsyncWebClient", "WebhookClient", "AsyncWebhookClient", "AsyncRespond", "Respond", "AsyncAck", "Ack", "LegacyWebClient"}
)
"""slack_sdk / slack_bolt classes that can carry text to Slack."""


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def offences(source: str) -> list[str]:
    """Where a source builds or subclasses a Slack sender itself."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node.func) in SENDERS:
            found.append(f"line {node.lineno}: {_name(node.func)}(...)")
        if isinstance(node, ast.ClassDef) and any(_name(base) in SENDERS for base in node.bases):
            found.append(f"line {node.lineno}: class {node.name} subclasses a sender")
    return found


def test_the_checker_finds_a_module_that_builds_its_own_client() -> None:
    rogue = "from slack_sdk.web.async_client import AsyncWebClient\nclient = AsyncWebClient(token='x')\n"
    assert offences(rogue) == ["line 2: AsyncWebClient(...)"]
    assert offences("import slack_sdk.webhook as w\nw.WebhookClient(url='u')\n")
    assert offences("class Mine(AsyncRespond):\n    pass\n")


def test_no_module_outside_the_boundary_builds_a_slack_sender() -> None:
    found = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("integrations/**/*.py")]):
        relative = path.relative_to(ROOT)
        if relative == BOUNDARY:
            continue
        if problems := offences(path.read_text()):
            found[str(relative)] = problems
    assert found == {}, "build Slack clients only in bot/slack_api/client.py (the outbound boundary)"


def test_the_boundary_itself_builds_only_sanitizing_senders() -> None:
    tree = ast.parse((ROOT / BOUNDARY).read_text())
    built = {_name(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) in SENDERS | {"SlackClient"}}
    assert built == {"SlackClient"}
