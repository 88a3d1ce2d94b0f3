"""Rich text between the model (Markdown) and Jira (wiki markup on REST v2, ADF on v3) keeps its meaning."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations.tickets.jira_content import (
    adf_to_markdown,
    markdown_to_adf,
    markdown_to_wiki,
    readable,
    wiki_to_markdown,
)
from tests.shared_files import JIRA_SPEC, require

ROUND_TRIPS = {
    "unicode": "Zeitüberschreitung beim Export — München 日本語 🚀 naïve café",
    "mention": "Ping [~accountid:5b10a2844c20165700ede21g] and [~accountid:712020:9f0c4bde-0d3b] please.",
    "code block": "Run this:\n\n```bash\nkubectl get pods | grep -v Running && echo '*done*' {x}\n```",
    "links": "See [the runbook](https://wiki.example.com/run?id=1&env=prod) or https://example.com/a_b/~user?q=1",
    "emphasis": "**Bold**, _italic_, ~~gone~~ and `inline_code()` in one line",
    "heading and lists": "# Plan\n\n- first\n- second\n  - nested\n\n1. one\n2. two",
    "quote and rule": "> quoted words\n\n---\n\nafter the rule",
    "table": "| host | state |\n| --- | --- |\n| db-1 | ok |",
    "literal markup characters": "5 * 3, snake_case_name, e-mail, C++, {braces}, [brackets], a|b, Hello!",
    "line breaks": "line one\nline two",
}


@pytest.mark.parametrize("markdown", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_markdown_survives_the_trip_through_wiki_markup(markdown: str) -> None:
    assert wiki_to_markdown(markdown_to_wiki(markdown)) == markdown


@pytest.mark.parametrize("markdown", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_markdown_survives_the_trip_through_adf(markdown: str) -> None:
    assert adf_to_markdown(markdown_to_adf(markdown)) == markdown


@pytest.mark.parametrize(
    ("markdown", "wiki"),
    [
        ("**bold** and *italic*", "*bold* and _italic_"),
        ("`code`", "{{code}}"),
        ("[docs](https://x.example/a)", "[docs|https://x.example/a]"),
        ("## Title", "h2. Title"),
        ("- a\n  - b\n- c", "* a\n** b\n* c"),
        ("1. a\n2. b", "# a\n# b"),
        ("```python\nx = 1\n```", "{code:python}\nx = 1\n{code}"),
        ("> wise words", "bq. wise words"),
        ("~~old~~", "-old-"),
    ],
)
def test_markdown_becomes_the_equivalent_wiki_markup(markdown: str, wiki: str) -> None:
    assert markdown_to_wiki(markdown) == wiki


@pytest.mark.parametrize(
    "text",
    [
        "{code}not a macro{code}",
        "[not a link|http://x.y]",
        "* not a list",
        "h1. not a heading",
        "!image.png!",
    ],
)
def test_plain_text_that_looks_like_wiki_markup_stays_text(text: str) -> None:
    wiki = markdown_to_wiki(text.replace("*", "\\*"))

    assert "\\" in wiki
    assert wiki_to_markdown(wiki).replace("\\", "") == text


def test_code_inside_a_code_block_is_not_converted() -> None:
    wiki = markdown_to_wiki("```\n**not bold** [x](y) {code}\n```")

    assert "**not bold** [x](y) {code}" in wiki


def test_wiki_written_by_people_reads_as_markdown() -> None:
    wiki = (
        "h3. Steps\n# open {{/admin}}\n#* check *status*\n"
        "{noformat}\nraw *text*\n{noformat}\n"
        "{quote}\nfirst\nsecond\n{quote}\n"
        "||Host||State||\n|db-1|{color:red}down{color}|\n"
        "see [OPS-12] and [Docs|https://docs.example.com] !screen.png|thumbnail! -struck- +under+"
    )

    assert wiki_to_markdown(wiki) == (
        "### Steps\n\n1. open `/admin`\n   - check **status**\n\n```\nraw *text*\n```\n\n> first\n> second\n\n"
        "| Host | State |\n| --- | --- |\n| db-1 | down |\n\n"
        "see [OPS-12] and [Docs](https://docs.example.com) [image: screen.png] ~~struck~~ under"
    )


def _spec_example(path: str, method: str, status: str) -> Any:
    spec = json.loads(require(JIRA_SPEC).read_text())
    content = spec["paths"][path][method]["responses"][status]["content"]["application/json"]
    return json.loads(content["example"]) if isinstance(content["example"], str) else content["example"]


def test_an_adf_comment_body_from_the_jira_spec_reads_as_its_text() -> None:
    example = _spec_example("/rest/api/3/issue/{issueIdOrKey}/comment", "get", "200")

    text = readable(example["comments"][0]["body"])

    assert text.startswith("Lorem ipsum dolor sit amet")


def test_adf_marks_mentions_and_media_become_readable_markdown() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Hi "},
                    {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Maya"}},
                    {"type": "text", "text": " see "},
                    {
                        "type": "text",
                        "text": "docs",
                        "marks": [{"type": "link", "attrs": {"href": "https://d.x"}}],
                    },
                    {"type": "emoji", "attrs": {"shortName": ":rocket:", "text": "🚀"}},
                ],
            },
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "1"}}]},
            {
                "type": "panel",
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "note"}]}],
            },
            {
                "type": "somethingNew",
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "kept"}]}],
            },
        ],
    }

    assert readable(doc) == (
        "Hi [~accountid:5b10a2844c20165700ede21g] see [docs](https://d.x)🚀\n\n[attachment]\n\n> note\n\nkept"
    )


def test_empty_fields_read_as_empty_text() -> None:
    assert readable(None) == ""
    assert readable("") == ""
