"""`chatops eval` end to end with the scripted model: the real Agent, tools, policy and SQLite worlds; approvals
answered as the tasks say; a task that must fail is scored failed; reports written; `--min-pass` sets the exit
code; and the shipped suite passes against its own scripts."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.evals.cli import run_eval
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "evals"


def args(**overrides: object) -> argparse.Namespace:
    base: dict[str, object] = {"provider": "scripted", "model": None, "k": 2, "concurrency": 3, "tasks": None, "report": None, "min_pass": None, "dir": FIXTURES}
    base.update(overrides)
    return argparse.Namespace(**base)


async def test_the_harness_scores_approvals_cancels_and_a_task_that_must_fail(settings: Settings, tmp_path: Path) -> None:
    out = io.StringIO()
    report = tmp_path / "out.json"

    code = await run_eval(settings, args(report=report, min_pass=0.9), out=out)

    data = json.loads(report.read_text())
    by_id = {t["id"]: t for t in data["tasks"]}
    assert by_id["approve-transition"]["tries"] == [True, True]
    assert by_id["cancel-keeps-state"]["tries"] == [True, True]
    assert by_id["wrong-status-must-fail"]["tries"] == [False, False]
    assert by_id["wrong-status-must-fail"]["problems"] == [
        "OPS-16.status is 'In Progress', expected 'Done'",
        "the answer does not state 'release notes'",
    ]
    assert data["pass^1"] == pytest.approx(2 / 3, abs=1e-4) and data["pass^2"] == pytest.approx(2 / 3, abs=1e-4)
    assert data["tokens"]["input"] > 0 and data["tokens"]["output"] > 0
    assert data["tool_calls"] == {"transition_ticket": 6}
    assert code == 1 and data["ok"] is False  # pass^2 0.667 < --min-pass 0.9
    text = out.getvalue()
    assert "FAIL  wrong-status-must-fail  ✗✗" in text and "PASS  approve-transition      ✓✓" in text
    assert "--min-pass 0.900: NOT met" in text
    markdown = report.with_suffix(".md").read_text()
    assert "| wrong-status-must-fail | ❌ ❌ | 0.00 | 0.00 | 2 |" in markdown


async def test_a_threshold_that_is_met_exits_zero_and_patterns_select_tasks(settings: Settings) -> None:
    out = io.StringIO()

    code = await run_eval(settings, args(tasks="*-transition", k=1, min_pass=1.0), out=out)

    assert code == 0
    assert "approve-transition" in out.getvalue() and "cancel-keeps-state" not in out.getvalue()


async def test_a_script_that_runs_out_fails_the_try_with_the_reason(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "short.yaml").write_text("id: short\nturns: [{say: 'What is OPS-2?'}]\nexpect: {answer: [Blocked]}\nscript:\n  - tools: [{get_ticket: {key: OPS-2}}]\n")
    out = io.StringIO()

    code = await run_eval(settings, args(dir=tmp_path, k=1, report=tmp_path / "r.json"), out=out)

    problems = json.loads((tmp_path / "r.json").read_text())["tasks"][0]["problems"]
    assert code == 0  # no --min-pass
    assert problems[0] == "the answer does not state 'Blocked'"
    assert problems[1].startswith("the turn ended 'failed': ")
    assert problems[2].startswith(  # the replaying server's 400, through the real SDK and AnthropicLLM
        "why the turn failed: model API error 400 invalid_request_error: task short: the script has no response left for step 2 (request id "
    )


async def test_a_missing_price_stops_before_anything_runs(settings: Settings, tmp_path: Path) -> None:
    prices = tmp_path / "p.yaml"
    prices.write_text("models:\n  other: {input: 1, output: 1}\n")

    with pytest.raises(ConfigError, match="has no price for model 'scripted'"):
        await run_eval(settings.model_copy(update={"chatops_price_table": prices}), args(), out=io.StringIO())


async def test_the_shipped_suite_passes_against_its_own_scripts(settings: Settings, tmp_path: Path) -> None:
    out = io.StringIO()

    code = await run_eval(settings, args(dir=REPO / "evals", k=1, concurrency=4, report=tmp_path / "suite.json", min_pass=1.0), out=out)

    data = json.loads((tmp_path / "suite.json").read_text())
    assert [t["id"] for t in data["tasks"] if not all(t["tries"])] == []
    assert code == 0 and len(data["tasks"]) >= 30


def test_eval_help_prints_the_command_for_a_real_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])

    shown = capsys.readouterr().out
    assert "chatops eval --provider anthropic --model claude-sonnet-4-6 -k 4" in shown
    assert "--min-pass" in shown and "--report" in shown and "--concurrency" in shown and "--tasks" in shown
