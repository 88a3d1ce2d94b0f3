"""JQL is built only from structured filters; every value stays one quoted literal whatever it contains.

Each built query is parsed back with the fake Jira's JQL parser (tests/fakes/jira_jql.py, as strict as Jira
about escapes and reserved words), so the assertions are about what Jira would understand, not string shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidArguments
from integrations.tickets.base import TicketQuery
from integrations.tickets.jira_search import (
    build_jql,
    normalize_project_key,
    normalize_ticket_key,
    quote,
    text_literal,
)
from tests.fakes import jira_jql, jira_jql_eval
from tests.fakes.jira_jql import BoolOp, Clause
from tests.fakes.jira_seed import seed_issues
from tests.fakes.jira_state import JiraState


def clauses(jql: str) -> list[Clause]:
    """The top-level AND-ed clauses of a query (asserting there is no OR/NOT at the top)."""
    where = jira_jql.parse(jql).where
    if isinstance(where, Clause):
        return [where]
    assert isinstance(where, BoolOp) and where.op == "and", where
    return [c for c in where.args if isinstance(c, Clause)]


def values(jql: str, field: str) -> list[str]:
    """The literal values given to `field`."""
    return [v.text for c in clauses(jql) if c.field == field for v in c.values]


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        'back\\slash and \\" mixed',
        "tabs\tand\nnew lines",
        'x" OR project = SECRET OR summary ~ "',
        "ünïcødé 日本語 🚀",
    ],
)
def test_a_quoted_literal_reads_back_as_exactly_the_same_text(text: str) -> None:
    jql = f"summary ~ {quote(text)}"

    tokens = jira_jql.tokenize(jql)

    assert [t.kind for t in tokens] == ["word", "op", "str"]
    assert tokens[2].value == text


def test_a_status_carrying_jql_syntax_is_one_value_not_more_clauses() -> None:
    jql = build_jql(TicketQuery(statuses=('Done" OR project = "SECRET',)))

    assert values(jql, "status") == ['Done" OR project = "SECRET']
    assert [c.field for c in clauses(jql)] == ["status"]


def test_reserved_words_as_project_keys_are_quoted() -> None:
    jql = build_jql(TicketQuery(projects=("INT", "if", "OPS")))

    assert values(jql, "project") == ["INT", "IF", "OPS"]


def test_free_text_with_an_injection_attempt_is_one_text_clause() -> None:
    jql = build_jql(TicketQuery(projects=("OPS",), text='login") OR project = SECRET OR (text ~ "x'))

    assert [c.field for c in clauses(jql)] == ["project", "text"]
    terms = jira_jql_eval.lucene_terms(values(jql, "text")[0])
    assert terms == ['login")', "project", "=", "secret", "(text", "~", '"x']


def test_lucene_operators_in_text_are_escaped_to_literal_characters() -> None:
    text = "crash [prod] (eu-west) a+b -x !y ^z ~w *glob? path:/var {x} && || \\"
    literal = text_literal(text)

    unquoted = jira_jql.tokenize(f"text ~ {literal}")[2].value

    assert jira_jql_eval.lucene_terms(unquoted) == [t.lower() for t in text.split()]


def test_lucene_keywords_in_text_lose_their_operator_meaning() -> None:
    unquoted = jira_jql.tokenize(f"text ~ {text_literal('cats AND dogs OR NOT birds TO x')}")[2].value

    assert "AND" not in unquoted and "OR" not in unquoted and "NOT" not in unquoted
    assert jira_jql_eval.lucene_terms(unquoted) == ["cats", "dogs", "birds", "x"]


def test_text_is_trimmed_to_a_bounded_length() -> None:
    unquoted = jira_jql.tokenize(f"text ~ {text_literal('word ' * 500)}")[2].value

    assert len(unquoted) <= 200


def test_every_filter_becomes_one_and_ed_clause() -> None:
    jql = build_jql(
        TicketQuery(
            projects=("ops",),
            statuses=("In Progress",),
            status_categories=("todo", "in_progress"),
            reporter_ids=("5b10ac8d82e05b22cc7d4ef5",),
            priorities=("High", "Highest"),
            labels=("db",),
        )
    )

    assert [c.field for c in clauses(jql)] == [
        "project",
        "status",
        "statuscategory",
        "reporter",
        "priority",
        "labels",
    ]
    assert values(jql, "project") == ["OPS"]
    assert values(jql, "statuscategory") == ["To Do", "In Progress"]


def test_assignees_or_unassigned_is_one_parenthesised_group() -> None:
    jql = build_jql(TicketQuery(projects=("OPS",), assignee_ids=("a1", "a2"), unassigned=True))

    where = jira_jql.parse(jql).where
    assert isinstance(where, BoolOp) and where.op == "and"
    group = where.args[1]
    assert isinstance(group, BoolOp) and group.op == "or"
    assert [(c.field, c.op) for c in group.args if isinstance(c, Clause)] == [
        ("assignee", "in"),
        ("assignee", "is"),
    ]


def test_dates_are_written_in_the_jira_users_time_zone() -> None:
    after = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)

    jql = build_jql(TicketQuery(projects=("OPS",), updated_after=after), tz=ZoneInfo("Europe/Berlin"))

    assert values(jql, "updated") == ["2026/11/02 00:30"]
    assert [c.op for c in clauses(jql) if c.field == "updated"] == [">="]


def test_a_query_without_filters_is_accepted_by_cloud_and_still_matches_every_ticket() -> None:
    # Jira Cloud refuses a query with no restriction; the one added must not drop any ticket either.
    state = JiraState(deployment="cloud")
    state.add_project("OPS", "Operations")
    for issue in seed_issues(12):
        state.add_issue(issue)

    hits = state.search(build_jql(TicketQuery()), bounded=True)

    assert sorted(i["number"] for i in hits) == list(range(1, 13))


@pytest.mark.parametrize(
    ("order_by", "descending", "expected"),
    [
        ("updated", True, (("updated", True), ("key", True))),
        ("created", False, (("created", False), ("key", False))),
        ("priority", True, (("priority", True), ("key", True))),
        ("key", True, (("key", True),)),
    ],
)
def test_order_by_maps_to_jira_fields_with_a_stable_tiebreak(
    order_by: str, descending: bool, expected: tuple[tuple[str, bool], ...]
) -> None:
    jql = build_jql(TicketQuery(projects=("OPS",), order_by=order_by, descending=descending))  # type: ignore[arg-type]

    assert jira_jql.parse(jql).order == expected


@pytest.mark.parametrize("bad", ["OPS-1", "ops key", "1OPS", "OPS;DROP", "", "A" * 256])
def test_a_malformed_project_key_is_invalid_and_named(bad: str) -> None:
    with pytest.raises(InvalidArguments, match="project key"):
        build_jql(TicketQuery(projects=(bad,)))


def test_project_keys_are_upper_cased() -> None:
    assert normalize_project_key(" ops ") == "OPS"


@pytest.mark.parametrize("bad", ["OPS", "OPS-0", "OPS-1/../2", "OPS-1 OR 1=1", "-12", "OPS-12a"])
def test_a_malformed_ticket_key_is_invalid_and_named(bad: str) -> None:
    with pytest.raises(InvalidArguments, match="ticket key"):
        normalize_ticket_key(bad)


def test_ticket_keys_are_upper_cased() -> None:
    assert normalize_ticket_key("ops-12") == "OPS-12"
