"""Rich text between the model and Jira: Markdown from the model <-> a small document tree <-> Jira wiki
markup (REST v2) or ADF (REST v3).

Every format is parsed into the same tree (`Block`/`Inline` nodes, jira_doc.py) and rendered from it, so a
conversion is parse-then-render and the round trip Markdown -> wiki -> Markdown keeps headings, lists, code
blocks, links, mentions and unicode. Mentions are written `[~accountid:<id>]` (Cloud) or `[~username]` (Data
Center) in both Markdown and wiki markup, so the model can read one and write it back.
"""

from __future__ import annotations

from typing import Any

from integrations.tickets.jira_adf import parse_adf, render_adf
from integrations.tickets.jira_markdown import parse_markdown, render_markdown
from integrations.tickets.jira_wiki import parse_wiki, render_wiki


def markdown_to_wiki(text: str) -> str:
    """Markdown (or plain text) from the model -> Jira wiki markup (REST v2)."""
    return render_wiki(parse_markdown(text))


def wiki_to_markdown(text: str) -> str:
    """Jira wiki markup -> Markdown the model reads."""
    return render_markdown(parse_wiki(text))


def markdown_to_adf(text: str) -> dict[str, Any]:
    """Markdown (or plain text) -> an ADF document (REST v3)."""
    return render_adf(parse_markdown(text))


def adf_to_markdown(doc: Any) -> str:
    """An ADF document -> Markdown."""
    return render_markdown(parse_adf(doc))


def readable(value: Any) -> str:
    """Any rich-text field value Jira returns (wiki string, ADF document, None) as Markdown."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return adf_to_markdown(value)
    return wiki_to_markdown(str(value))
