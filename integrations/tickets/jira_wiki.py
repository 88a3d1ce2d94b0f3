"""Jira wiki markup (what REST v2 takes and returns for descriptions and comments) <-> the document tree.

Literal text is escaped with a backslash where Jira would otherwise read markup, so text from the model
never turns into macros, links or lists by accident. Jira reads `\\\\` as a line break, so a literal
backslash is written as itself (only ambiguous when it precedes a markup character).
"""

from __future__ import annotations

import re

from integrations.tickets.jira_doc import (
    MENTION_RE,
    URL_RE,
    Block,
    CodeBlock,
    CodeSpan,
    Emphasis,
    Heading,
    Inline,
    LineBreak,
    Link,
    ListBlock,
    ListItem,
    Mention,
    Paragraph,
    Quote,
    Rule,
    Strike,
    Strong,
    Table,
    Text,
    could_be_marker,
    merge_text,
    wrap_marker,
)

_ALWAYS_ESCAPED = "{}[]|"
_MARKERS = "*_-+^~"
_ESCAPABLE = _ALWAYS_ESCAPED + _MARKERS + "!?#\\"

_INLINE = re.compile(
    r"\{\{(?P<code>(?:\\.|[^\\\n])+?)\}\}"
    r"|(?P<br>\\\\)"
    r"|\\(?P<esc>[" + re.escape(_ESCAPABLE) + r"])"
    r"|(?P<mention>" + MENTION_RE + r")"
    r"|\[(?P<link_text>(?:\\.|[^\]\\|\n])*)\|(?P<link_url>[^\]\s|]+)(?:\|[^\]\n]*)?\]"
    r"|\[(?P<bare>" + URL_RE + r")\]"
    r"|(?P<url>" + URL_RE + r")"
    r"|\{color(?::[^}]*)?\}(?P<color>.*?)\{color\}"
    r"|!(?P<image>[^\s!|][^!\n|]*)(?:\|[^!\n]*)?!"
    r"|(?<![\w*])\*(?P<strong>(?=[^\s*])[^\n]*?(?<=[^\s\\]))\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>(?=[^\s_])[^\n]*?(?<=[^\s\\]))_(?![\w_])"
    r"|(?<![\w-])-(?P<strike>(?=[^\s-])[^\n]*?(?<=[^\s\\-]))-(?![\w-])"
    r"|(?<![\w+])\+(?P<ins>(?=[^\s+])[^\n]*?(?<=[^\s\\]))\+(?![\w+])"
    r"|(?<![\w^])\^(?P<sup>(?=[^\s^])[^\n]*?(?<=[^\s\\]))\^(?![\w^])"
    r"|(?<![\w~])~(?P<sub>(?=[^\s~])[^\n]*?(?<=[^\s\\]))~(?![\w~])"
)


def _unescape(text: str) -> str:
    return re.sub(r"\\([" + re.escape(_ESCAPABLE) + r"])", r"\1", text)


def parse_wiki_inline(text: str) -> tuple[Inline, ...]:
    """Parse wiki inline markup; newlines become line breaks."""
    nodes: list[Inline] = []
    pos = 0
    for m in _INLINE.finditer(text):
        nodes.extend(_text(text[pos : m.start()]))
        pos = m.end()
        kind = m.lastgroup
        if m.group("code") is not None:
            nodes.append(CodeSpan(_unescape(m.group("code"))))
        elif kind == "br":
            nodes.append(LineBreak())
        elif kind == "esc":
            nodes.append(Text(m.group("esc")))
        elif kind == "mention":
            nodes.append(Mention(m.group("mention")[2:-1]))
        elif m.group("link_url") is not None:
            label = m.group("link_text")
            nodes.append(Link(m.group("link_url"), parse_wiki_inline(label) if label else ()))
        elif kind in ("bare", "url"):
            nodes.append(Link(m.group(kind)))
        elif kind == "image":
            nodes.append(Text(f"[image: {m.group('image')}]"))
        elif kind == "strong":
            nodes.append(Strong(parse_wiki_inline(m.group(kind))))
        elif kind == "em":
            nodes.append(Emphasis(parse_wiki_inline(m.group(kind))))
        elif kind == "strike":
            nodes.append(Strike(parse_wiki_inline(m.group(kind))))
        elif kind in ("color", "ins", "sup", "sub"):  # no Markdown equivalent: keep the text
            nodes.extend(parse_wiki_inline(m.group(kind)))
    nodes.extend(_text(text[pos:]))
    return merge_text(nodes)


def _text(text: str) -> list[Inline]:
    out: list[Inline] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(LineBreak())
        out.append(Text(line))
    return out


_CODE_OPEN = re.compile(r"^\s*\{(code|noformat)(?::([^}]*))?\}(.*)$")
_PANEL_OPEN = re.compile(r"^\s*\{(quote|panel)(?::[^}]*)?\}(.*)$")
_HEADING = re.compile(r"^\s*h([1-6])\.\s+(.*)$")
_BQ = re.compile(r"^\s*bq\.\s+(.*)$")
_RULE = re.compile(r"^\s*-{4,}\s*$")
_LIST = re.compile(r"^\s*([*#]+|-)\s+(.*)$")
_TABLE = re.compile(r"^\s*\|")


def parse_wiki(text: str) -> tuple[Block, ...]:
    """Parse wiki markup into blocks."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif code := _CODE_OPEN.match(line):
            i = _parse_code(lines, i, code, blocks)
        elif panel := _PANEL_OPEN.match(line):
            closing = "{" + panel.group(1) + "}"
            body = [panel.group(2)]
            i += 1
            while i < len(lines) and closing not in lines[i]:
                body.append(lines[i])
                i += 1
            if i < len(lines):
                body.append(lines[i].split(closing, 1)[0])
                i += 1
            blocks.append(Quote(parse_wiki("\n".join(body))))
        elif heading := _HEADING.match(line):
            blocks.append(Heading(int(heading.group(1)), parse_wiki_inline(heading.group(2))))
            i += 1
        elif bq := _BQ.match(line):
            blocks.append(Quote((Paragraph(parse_wiki_inline(bq.group(1))),)))
            i += 1
        elif _RULE.match(line):
            blocks.append(Rule())
            i += 1
        elif _LIST.match(line):
            entries: list[tuple[str, str]] = []
            while i < len(lines) and (m := _LIST.match(lines[i])):
                entries.append((m.group(1), m.group(2)))
                i += 1
            blocks.append(_build_list(entries, 0)[0])
        elif _TABLE.match(line):
            start = i
            while i < len(lines) and _TABLE.match(lines[i]):
                i += 1
            blocks.append(_parse_table(lines[start:i]))
        else:
            para: list[str] = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                para.append(lines[i])
                i += 1
            if not para:
                para.append(lines[i])
                i += 1
            blocks.append(Paragraph(parse_wiki_inline("\n".join(para))))
    return tuple(blocks)


def _starts_block(line: str) -> bool:
    return any(p.match(line) for p in (_CODE_OPEN, _PANEL_OPEN, _HEADING, _BQ, _RULE, _LIST, _TABLE))


def _parse_code(lines: list[str], i: int, m: re.Match[str], blocks: list[Block]) -> int:
    macro, params, rest = m.group(1), m.group(2) or "", m.group(3)
    closing = "{" + macro + "}"
    language = None
    for param in params.split("|"):
        key, _, value = param.partition("=")
        if not value and key.strip() and macro == "code":
            language = key.strip()
        elif key.strip() == "language":
            language = value.strip()
    if closing in rest:  # {code}x = 1{code} on one line
        blocks.append(CodeBlock(rest.split(closing, 1)[0], language))
        return i + 1
    body = [rest] if rest.strip() else []
    i += 1
    while i < len(lines) and closing not in lines[i]:
        body.append(lines[i])
        i += 1
    if i < len(lines):
        tail = lines[i].split(closing, 1)[0]
        if tail.strip():
            body.append(tail)
        i += 1
    blocks.append(CodeBlock("\n".join(body), language))
    return i


def _build_list(entries: list[tuple[str, str]], start: int) -> tuple[ListBlock, int]:
    depth = len(entries[start][0])
    ordered = entries[start][0][-1] == "#"
    items: list[ListItem] = []
    i = start
    while i < len(entries) and len(entries[i][0]) >= depth:
        if len(entries[i][0]) > depth and items:
            sub, i = _build_list(entries, i)
            last = items[-1]
            items[-1] = ListItem(last.children, last.sublists + (sub,))
            continue
        items.append(ListItem(parse_wiki_inline(entries[i][1])))
        i += 1
    return ListBlock(ordered, tuple(items)), i


def _parse_table(lines: list[str]) -> Table:
    rows: list[tuple[tuple[Inline, ...], ...]] = []
    header = lines[0].lstrip().startswith("||")
    for line in lines:
        inner = line.strip()
        cells = [c for c in re.split(r"(?<!\\)\|\|?", inner)]
        if cells and cells[0] == "":
            cells = cells[1:]
        if cells and cells[-1] == "":
            cells = cells[:-1]
        rows.append(tuple(parse_wiki_inline(cell.strip()) for cell in cells))
    return Table(tuple(rows), header=header)


# ------------------------------------------------------------------ rendering


def _escape(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if (
            ch in _ALWAYS_ESCAPED
            or (ch in _MARKERS and could_be_marker(text, i))
            or (ch == "!" and nxt and not nxt.isspace() and "!" in text[i + 1 :])
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def render_wiki_inline(nodes: tuple[Inline, ...], *, br: str = "\n") -> str:
    """Wiki markup for inline nodes; `br` is how a line break is written in this context."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(_escape(node.text))
        elif isinstance(node, Strong):
            parts.append(wrap_marker("*", render_wiki_inline(node.children, br=br)))
        elif isinstance(node, Emphasis):
            parts.append(wrap_marker("_", render_wiki_inline(node.children, br=br)))
        elif isinstance(node, Strike):
            parts.append(wrap_marker("-", render_wiki_inline(node.children, br=br)))
        elif isinstance(node, CodeSpan):
            parts.append("{{" + _escape(node.text) + "}}")
        elif isinstance(node, Link):
            if node.children:
                parts.append("[" + render_wiki_inline(node.children, br=" ") + "|" + node.url + "]")
            else:
                parts.append(node.url)
        elif isinstance(node, Mention):
            parts.append(f"[~{node.user}]")
        elif isinstance(node, LineBreak):
            parts.append(br)
    return "".join(parts)


def render_wiki(blocks: tuple[Block, ...]) -> str:
    """Wiki markup for blocks."""
    return "\n\n".join(_render_block(block) for block in blocks)


def _render_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        text = render_wiki_inline(block.children)
        # A paragraph line that starts like a list or a heading must stay text.
        return re.sub(r"(?m)^(?=[*#-]+\s)|^(?=(?:h[1-6]|bq)\.\s)", "\\\\", text)
    if isinstance(block, Heading):
        return f"h{block.level}. " + render_wiki_inline(block.children, br=" ")
    if isinstance(block, ListBlock):
        return "\n".join(_render_list(block, ""))
    if isinstance(block, CodeBlock):
        macro = "noformat" if "{code}" in block.text else "code"
        opener = "{" + macro + (f":{block.language}" if block.language and macro == "code" else "") + "}"
        return f"{opener}\n{block.text}\n{{{macro}}}"
    if isinstance(block, Quote):
        if len(block.children) == 1 and isinstance(block.children[0], Paragraph):
            only = block.children[0]
            if not any(isinstance(n, LineBreak) for n in only.children):
                return "bq. " + render_wiki_inline(only.children)
        return "{quote}\n" + render_wiki(block.children) + "\n{quote}"
    if isinstance(block, Rule):
        return "----"
    lines = []
    for n, row in enumerate(block.rows):
        sep = "||" if block.header and n == 0 else "|"
        cells = [render_wiki_inline(cell, br="\\\\") or " " for cell in row]
        lines.append(sep + sep.join(cells) + sep)
    return "\n".join(lines)


def _render_list(block: ListBlock, prefix: str) -> list[str]:
    marker = prefix + ("#" if block.ordered else "*")
    out: list[str] = []
    for item in block.items:
        out.append(f"{marker} " + render_wiki_inline(item.children, br="\\\\"))
        for sub in item.sublists:
            out.extend(_render_list(sub, marker))
    return out
