"""Authorization is called from one place: no module but bot/agent/checks.py calls `.authorize(...)`, so every
decision (the loop's, an approval's re-check, a slash command's pre-check, an unfurl's) fails closed the same way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THE_CALLER = Path("bot/agent/checks.py")


def callers(source: str) -> list[str]:
    """Where a source calls a method named `authorize` (on anything: the authorizer may be reached many ways)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "authorize":
            found.append(f"line {node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            if any(isinstance(a, ast.Constant) and a.value == "authorize" for a in node.args[1:2]):
                found.append(f"line {node.lineno}: getattr")
    return found


def test_the_checker_finds_calls_however_the_authorizer_is_reached() -> None:
    assert callers("d = await deps.authorizer.authorize(ctx, tool, args)\n") == ["line 1"]
    assert callers("x = 1\nauthz = surface.deps.authorizer\nawait authz.authorize(c, t, a)\n") == ["line 3"]
    assert callers("await getattr(a, 'authorize')(c, t, a)\n") == ["line 1: getattr"]
    assert callers("await authorize_call(authorizer, ctx, tool, args)\nauthorizer.visible_projects(actor)\n") == []


def test_only_the_call_checks_call_the_authorizer() -> None:
    found = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("integrations/**/*.py")]):
        relative = path.relative_to(ROOT)
        if relative != THE_CALLER and (lines := callers(path.read_text())):
            found[str(relative)] = lines
    assert found == {}, "authorize through bot.agent.checks.authorize_call / decide_call"
    assert len(callers((ROOT / THE_CALLER).read_text())) == 1
