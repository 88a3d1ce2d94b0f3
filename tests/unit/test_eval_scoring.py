"""Eval scoring on small hand-checked cases: pass^k arithmetic, the state hash, expected changes, created
tickets, facts in the answer, percentiles, task-file errors with line and field, and the price table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.evals.report import Price, load_price, pass_hat_k, percentile, summarize
from bot.evals.runner import Try
from bot.evals.tasks import Task, load_task, load_tasks
from bot.evals.world import contains, expected_state, score, state_hash
from integrations.llm.base import Usage


def ticket(status: str = "To Do", assignee: str | None = None, comments: int = 0, summary: str = "s", priority: str = "Medium") -> dict[str, object]:
    return {"project": "OPS", "summary": summary, "status": status, "priority": priority, "assignee": assignee, "labels": [], "issue_type": "Task", "comments": comments}


def task(**expect: object) -> Task:
    return Task.model_validate({"id": "t", "turns": [{"say": "x"}], "expect": expect})


# ---------------------------------------------------------------- pass^k


@pytest.mark.parametrize(
    ("c", "n", "k", "expected"),
    [(3, 4, 1, 0.75), (3, 4, 2, 0.5), (3, 4, 3, 0.25), (3, 4, 4, 0.0), (4, 4, 4, 1.0), (0, 4, 1, 0.0), (2, 5, 2, 0.1)],
)
def test_pass_hat_k_is_c_choose_k_over_n_choose_k(c: int, n: int, k: int, expected: float) -> None:
    assert pass_hat_k(c, n, k) == pytest.approx(expected)


def test_pass_hat_k_needs_k_tries() -> None:
    with pytest.raises(ValueError, match="pass\\^3 needs at least 3 tries"):
        pass_hat_k(1, 2, 3)


def test_suite_pass_k_averages_tasks_and_counts_tokens_and_calls() -> None:
    def t(task_id: str, index: int, passed: bool) -> Try:
        return Try(task_id, index, passed, None, 1.0 + index, usage=Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=10), tool_calls={"get_ticket": 1})

    tries = [t("a", 0, True), t("a", 1, True), t("b", 0, True), t("b", 1, False)]
    summary = summarize(tries, model="m", provider="p", k=2, price=Price(input=3, output=15, cache_read=0.3), min_pass=0.6)

    assert summary.pass_1 == pytest.approx((1.0 + 0.5) / 2)
    assert summary.pass_k == pytest.approx((1.0 + 0.0) / 2)
    assert summary.tokens == {"input": 4000, "output": 400, "cache_read": 40, "cache_write": 0}
    assert summary.cost_usd == pytest.approx((4000 * 3 + 400 * 15 + 40 * 0.3) / 1_000_000)
    assert summary.tool_calls == {"get_ticket": 4}
    assert (summary.latency_p50_s, summary.latency_p95_s) == (1.0, 2.0)
    assert not summary.ok  # 0.5 < 0.6


def test_percentile_is_nearest_rank() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (3.0, 5.0, 5.0)


# ---------------------------------------------------------------- state


def test_the_state_hash_ignores_order_and_sees_every_field() -> None:
    a = {"OPS-1": ticket(), "OPS-2": ticket("Done")}
    b = {"OPS-2": ticket("Done"), "OPS-1": ticket()}

    assert state_hash(a) == state_hash(b)
    assert state_hash(a) != state_hash({**a, "OPS-1": ticket(assignee="sam")})
    assert state_hash(a) != state_hash({**a, "OPS-1": ticket(comments=1)})


def test_expected_state_applies_exactly_the_listed_changes() -> None:
    before = {"OPS-1": ticket(assignee="maya"), "OPS-2": ticket(comments=2)}
    expect = task(changes={"OPS-1": {"status": "Done", "unassigned": True}, "OPS-2": {"comments": 1}}).expect

    want, unmatched = expected_state(before, before, expect)

    assert want == {"OPS-1": ticket("Done", None), "OPS-2": ticket(comments=3)}
    assert unmatched == []


def test_a_created_ticket_counts_only_when_it_matches() -> None:
    before = {"OPS-1": ticket()}
    after = {**before, "OPS-2": ticket(summary="Disk at 90% on db-main", priority="High")}
    right = task(created=[{"project": "OPS", "summary_has": ["disk"], "priority": "High"}])
    wrong = task(created=[{"project": "OPS", "summary_has": ["disk"], "priority": "Low"}])

    assert score(right, before, after, {}, {}, "", "answered").passed
    failed = score(wrong, before, after, {}, {}, "", "answered")
    assert not failed.passed and not failed.state_ok
    assert "no new ticket matches {'project': 'OPS', 'summary_has': ['disk'], 'priority': 'Low'}" in failed.problems
    assert "OPS-2 was created unexpectedly ('Disk at 90% on db-main')" in failed.problems


def test_an_unexpected_write_fails_the_state_with_the_field_named() -> None:
    before = {"OPS-1": ticket("In Progress")}
    after = {"OPS-1": ticket("Done")}

    result = score(task(), before, after, {}, {}, "All good.", "answered")

    assert not result.passed and result.got_hash != result.want_hash
    assert result.problems == ["OPS-1.status is 'Done', expected 'In Progress'"]


def test_new_comment_words_are_checked_on_the_added_comments_only() -> None:
    before, after = {"OPS-1": ticket(comments=1)}, {"OPS-1": ticket(comments=2)}
    expect = task(changes={"OPS-1": {"comments": 1, "comment_has": ["rolled back"]}})

    ok = score(expect, before, after, {"OPS-1": ["we rolled back once"]}, {"OPS-1": ["we rolled back once", "We Rolled  Back the image"]}, "", "answered")
    stale = score(expect, before, after, {"OPS-1": ["we rolled back once"]}, {"OPS-1": ["we rolled back once", "fixed"]}, "", "answered")

    assert ok.passed
    assert stale.problems == ["OPS-1: the new comment does not say 'rolled back'"]


# ---------------------------------------------------------------- facts


@pytest.mark.parametrize(
    ("text", "fact", "found"),
    [
        ("OPS-13 is open", "OPS-1", False),
        ("see OPS-1, then", "OPS-1", True),
        ("It is  BLOCKED now", "blocked", True),
        ("Which one should I close?", "?", True),
        ("I did not create it", "created|did not", True),
        ("cancelled", "cancel", False),
    ],
)
def test_facts_are_whole_words_case_and_space_insensitive(text: str, fact: str, found: bool) -> None:
    assert contains(text, fact) is found


def test_missing_and_leaked_facts_and_a_wrong_status_fail_with_reasons() -> None:
    t = task(answer=["OPS-2", "Blocked"], answer_not=["SSRF"], status="answered")

    result = score(t, {}, {}, {}, {}, "OPS-2 is open; SSRF found", "paused")

    assert not result.passed and result.state_ok and not result.facts_ok
    assert result.problems == ["the answer does not state 'Blocked'", "the answer says 'SSRF'", "the turn ended 'paused', expected 'answered'"]


# ---------------------------------------------------------------- task files and prices


def test_a_task_file_error_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nturns:\n  - say: hi\nexpect:\n  changes:\n    OPS-3:\n      stauts: Done\n")

    with pytest.raises(ConfigError) as err:
        load_task(path)

    assert str(err.value) == f"{path}:7: expect.changes.OPS-3.stauts: unknown field"


def test_a_wrong_value_names_its_line_too(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: bad\nuser: {role: member}\nturns:\n  - say: hi\n    approvals: [approve, maybe]\n")

    with pytest.raises(ConfigError, match=r"bad.yaml:5: turns.0.approvals.1: Input should be 'approve' or 'cancel'"):
        load_task(path)


def test_broken_yaml_and_duplicate_ids_are_clear(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: same\nturns: [{say: hi}]\n")
    (tmp_path / "b.yaml").write_text("id: same\nturns: [{say: hi}]\n")
    with pytest.raises(ConfigError, match="task id 'same' is also used by"):
        load_tasks(tmp_path)

    (tmp_path / "c.yaml").write_text("id: c\nturns: [{say: hi}\n")
    with pytest.raises(ConfigError, match=r"c.yaml:3: not valid YAML"):
        load_task(tmp_path / "c.yaml")


def test_a_pattern_that_matches_nothing_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: a\nturns: [{say: hi}]\n")

    with pytest.raises(ConfigError, match=f"no eval tasks in {tmp_path} match 'zzz'"):
        load_tasks(tmp_path, "zzz")


def test_a_price_table_without_the_model_says_how_to_add_it(tmp_path: Path) -> None:
    table = tmp_path / "prices.yaml"
    table.write_text("models:\n  claude-sonnet-4-6: {input: 3, output: 15}\n")

    assert load_price(table, "claude-sonnet-4-6") == Price(input=3, output=15)
    with pytest.raises(ConfigError, match=r"has no price for model 'gpt-x'; add a row under `models:` like\n  gpt-x: \{input"):
        load_price(table, "gpt-x")
    table.write_text("models:\n  m: {input: -1, output: 1}\n")
    with pytest.raises(ConfigError, match="models.m.input: Input should be greater than or equal to 0"):
        load_price(table, "m")


def test_the_shipped_suite_loads_and_has_at_least_thirty_tasks() -> None:
    tasks = load_tasks(Path(__file__).resolve().parents[2] / "evals")

    assert len(tasks) >= 30
    assert all(t.script for t in tasks)
