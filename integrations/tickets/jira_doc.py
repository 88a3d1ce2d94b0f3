"""The document tree every rich-text format is parsed into and rendered from (jira_content.py explains why).

Inline nodes: Text, Strong, Emphasis, Strike, CodeSpan, Link, Mention, LineBreak. Blocks: Paragraph, Heading,
ListBlock (of ListItem), CodeBlock, Quote, Rule, Table. Plus the helpers the parsers and renderers share.
"""

from __future__ import annotations

from dataclasses import dataclass

# ------------------------------------------------------------------ the document tree


@dataclass(frozen=True)
class Text:
    """Literal text (never markup)."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Bold."""

    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Emphasis:
    """Italic."""

    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Strike:
    """Struck through."""

    children: tuple[Inline, ...]


@dataclass(frozen=True)
class CodeSpan:
    """Inline code, verbatim."""

    text: str


@dataclass(frozen=True)
class Link:
    """A link; no children means a bare URL shown as itself."""

    url: str
    children: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Mention:
    """A user mention: `accountid:<id>` on Cloud, a username on Data Center."""

    user: str


@dataclass(frozen=True)
class LineBreak:
    """A hard line break inside a paragraph."""


Inline = Text | Strong | Emphasis | Strike | CodeSpan | Link | Mention | LineBreak


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of inline content."""

    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    """A heading, level 1-6."""

    level: int
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class ListItem:
    """One list item: its text and any nested lists."""

    children: tuple[Inline, ...]
    sublists: tuple[ListBlock, ...] = ()


@dataclass(frozen=True)
class ListBlock:
    """A bulleted or numbered list."""

    ordered: bool
    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class CodeBlock:
    """A block of code, verbatim."""

    text: str
    language: str | None = None


@dataclass(frozen=True)
class Quote:
    """A block quote."""

    children: tuple[Block, ...]


@dataclass(frozen=True)
class Rule:
    """A horizontal rule."""


@dataclass(frozen=True)
class Table:
    """A table; the first row is a header row when `header` is set."""

    rows: tuple[tuple[tuple[Inline, ...], ...], ...]
    header: bool = True


Block = Paragraph | Heading | ListBlock | CodeBlock | Quote | Rule | Table


# ------------------------------------------------------------------ shared helpers

URL_RE = r"(?:https?|mailto|ftp)://[^\s<>\[\]|]*[^\s<>\[\]|.,;:!?)'\"]|mailto:[^\s<>\[\]|]+"
MENTION_RE = r"\[~(?:accountid:)?[^\]\s|~]+\]"


def merge_text(nodes: list[Inline]) -> tuple[Inline, ...]:
    """Join adjacent Text nodes and adjacent spans of the same kind (parsers emit them piecewise)."""
    out: list[Inline] = []
    for node in nodes:
        prev = out[-1] if out else None
        if isinstance(node, Text) and isinstance(prev, Text):
            out[-1] = Text(prev.text + node.text)
        elif isinstance(node, Strong | Emphasis | Strike) and type(prev) is type(node):
            # ADF marks split text into runs: <strong>a</strong><strong><em>b</em></strong> is one bold span.
            out[-1] = type(node)(merge_text([*prev.children, *node.children]))  # type: ignore[union-attr]
        elif not (isinstance(node, Text) and node.text == ""):
            out.append(node)
    return tuple(out)


def could_be_marker(text: str, i: int) -> bool:
    """True when the marker character text[i] could open or close emphasis if left unescaped.

    Safe spots: between two spaces ("5 * 3") or inside a word ("snake_case", "e-mail").
    """
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if (before == "" or before.isspace()) and (after == "" or after.isspace()):
        return False
    return not (before.isalnum() and after.isalnum())


def wrap_marker(marker: str, inner: str) -> str:
    """`inner` between emphasis markers; markers must hug the text, so surrounding spaces move outside."""
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{marker}{stripped}{marker}{trail}"
