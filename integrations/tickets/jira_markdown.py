"""Markdown (what the model reads and writes) <-> the document tree: a CommonMark-ish subset covering
headings, lists, fenced code, quotes, rules, tables, emphasis, code spans, links and `[~user]` mentions.

Rendering escapes only what would otherwise parse as markup, so parse(render(tree)) == tree.
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

# ------------------------------------------------------------------ Markdown: inline

_MD_ESCAPABLE = "\\`*_{}[]()#+-.!~|<>"
_MD_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_body>.+?)(?P=code)(?!`)"
    r"|\\(?P<esc>[" + re.escape(_MD_ESCAPABLE) + r"])"
    r"|(?P<mention>" + MENTION_RE + r")"
    r"|\[(?P<link_text>(?:[^\[\]\\]|\\.)+)\]\((?P<link_url>[^()\s]+)\)"
    r"|<(?P<autolink>" + URL_RE + r")>"
    r"|(?P<url>" + URL_RE + r")"
    r"|\*\*(?P<strong>(?=\S).+?(?<=\S))\*\*(?!\*)"
    r"|(?<!\w)__(?P<strong2>(?=\S).+?(?<=\S))__(?!\w)"
    r"|~~(?P<strike>(?=\S).+?(?<=\S))~~"
    r"|(?<![\w*])\*(?P<em>(?=[^\s*]).*?(?<=[^\s*]))\*(?![\w*])"
    r"|(?<![\w_])_(?P<em2>(?=[^\s_]).*?(?<=[^\s_]))_(?![\w_])",
    re.DOTALL,
)


def parse_md_inline(text: str) -> tuple[Inline, ...]:
    """Parse one paragraph's Markdown inline syntax; newlines become line breaks."""
    nodes: list[Inline] = []
    pos = 0
    for m in _MD_INLINE.finditer(text):
        nodes.extend(_md_text(text[pos : m.start()]))
        pos = m.end()
        kind = m.lastgroup
        if m.group("code") is not None:
            body = m.group("code_body")
            if len(m.group("code")) > 1 and body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]
            nodes.append(CodeSpan(body))
        elif kind == "esc":
            nodes.append(Text(m.group("esc")))
        elif kind == "mention":
            nodes.append(Mention(m.group("mention")[2:-1]))
        elif m.group("link_text") is not None:
            nodes.append(Link(m.group("link_url"), parse_md_inline(m.group("link_text"))))
        elif kind in ("autolink", "url"):
            nodes.append(Link(m.group(kind)))
        elif kind in ("strong", "strong2"):
            nodes.append(Strong(parse_md_inline(m.group(kind))))
        elif kind == "strike":
            nodes.append(Strike(parse_md_inline(m.group(kind))))
        elif kind in ("em", "em2"):
            nodes.append(Emphasis(parse_md_inline(m.group(kind))))
    nodes.extend(_md_text(text[pos:]))
    return merge_text(nodes)


def _md_text(text: str) -> list[Inline]:
    out: list[Inline] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append(LineBreak())
        out.append(Text(line))
    return out


def _md_escape(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if (
            ch == "`"
            or (ch == "\\" and nxt in _MD_ESCAPABLE and nxt != "")
            or (ch in "*_" and could_be_marker(text, i))
            or (ch == "~" and "~" in (nxt, text[i - 1 : i]))
            or (ch == "[" and (nxt == "~" or re.match(r"\[[^\]]*\]\(", text[i:])))
            or (ch == "<" and text[i + 1 : i + 5] in ("http", "ftp:", "mail"))
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def render_md_inline(nodes: tuple[Inline, ...]) -> str:
    """Markdown for inline nodes."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(_md_escape(node.text))
        elif isinstance(node, Strong):
            parts.append(wrap_marker("**", render_md_inline(node.children)))
        elif isinstance(node, Emphasis):
            parts.append(wrap_marker("_", render_md_inline(node.children)))
        elif isinstance(node, Strike):
            parts.append(wrap_marker("~~", render_md_inline(node.children)))
        elif isinstance(node, CodeSpan):
            fence = "``" if "`" in node.text else "`"
            pad = " " if fence == "``" else ""
            parts.append(f"{fence}{pad}{node.text}{pad}{fence}")
        elif isinstance(node, Link):
            parts.append(f"[{render_md_inline(node.children)}]({node.url})" if node.children else node.url)
        elif isinstance(node, Mention):
            parts.append(f"[~{node.user}]")
        elif isinstance(node, LineBreak):
            parts.append("\n")
    return "".join(parts)


# ------------------------------------------------------------------ Markdown: blocks

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+#.-]*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def parse_markdown(text: str) -> tuple[Block, ...]:
    """Parse Markdown (CommonMark-ish subset) into blocks."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif fence := _FENCE.match(line):
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.match(
                r"^\s*" + re.escape(fence.group(2)[0]) + "{3,}\\s*$", lines[i]
            ):
                body.append(lines[i])
                i += 1
            i += 1
            blocks.append(CodeBlock("\n".join(body), fence.group(3) or None))
        elif heading := _HEADING.match(line):
            blocks.append(Heading(len(heading.group(1)), parse_md_inline(heading.group(2))))
            i += 1
        elif _RULE.match(line):
            blocks.append(Rule())
            i += 1
        elif _QUOTE.match(line):
            quoted: list[str] = []
            while i < len(lines) and (m := _QUOTE.match(lines[i])):
                quoted.append(m.group(1))
                i += 1
            blocks.append(Quote(parse_markdown("\n".join(quoted))))
        elif _LIST_ITEM.match(line):
            start = i
            while i < len(lines) and (
                _LIST_ITEM.match(lines[i]) or (lines[i].startswith("  ") and lines[i].strip())
            ):
                i += 1
            blocks.append(_parse_md_list(lines[start:i]))
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            rows = [_md_cells(line)]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_md_cells(lines[i]))
                i += 1
            blocks.append(Table(tuple(rows), header=True))
        else:
            para: list[str] = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines, i):
                para.append(lines[i])
                i += 1
            if not para:  # a line that looked like a block start but was not one
                para.append(lines[i])
                i += 1
            blocks.append(Paragraph(parse_md_inline("\n".join(para))))
    return tuple(blocks)


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        _FENCE.match(line)
        or _HEADING.match(line)
        or _RULE.match(line)
        or _QUOTE.match(line)
        or _LIST_ITEM.match(line)
        or (line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]))
    )


def _md_cells(line: str) -> tuple[tuple[Inline, ...], ...]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    cells = re.split(r"(?<!\\)\|", inner)
    return tuple(parse_md_inline(cell.strip().replace("\\|", "|")) for cell in cells)


def _parse_md_list(lines: list[str]) -> ListBlock:
    # (indent, ordered, text) for each item; continuation lines join the previous item.
    entries: list[tuple[int, bool, str]] = []
    for line in lines:
        m = _LIST_ITEM.match(line)
        if m:
            entries.append((len(m.group(1).expandtabs(4)), m.group(2)[0] not in "-*+", m.group(3)))
        elif entries:
            indent, ordered, text = entries[-1]
            entries[-1] = (indent, ordered, text + "\n" + line.strip())
    block, _ = _build_md_list(entries, 0)
    return block


def _build_md_list(entries: list[tuple[int, bool, str]], start: int) -> tuple[ListBlock, int]:
    indent, ordered, _ = entries[start]
    items: list[ListItem] = []
    i = start
    while i < len(entries) and entries[i][0] >= indent:
        if entries[i][0] > indent:
            sub, i = _build_md_list(entries, i)
            last = items[-1]
            items[-1] = ListItem(last.children, last.sublists + (sub,))
            continue
        items.append(ListItem(parse_md_inline(entries[i][2])))
        i += 1
    return ListBlock(ordered, tuple(items)), i


def render_markdown(blocks: tuple[Block, ...]) -> str:
    """Markdown for blocks."""
    return "\n\n".join(_render_md_block(block) for block in blocks)


def _render_md_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return render_md_inline(block.children)
    if isinstance(block, Heading):
        return "#" * block.level + " " + render_md_inline(block.children)
    if isinstance(block, ListBlock):
        return "\n".join(_render_md_list(block, 0))
    if isinstance(block, CodeBlock):
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{block.language or ''}\n{block.text}\n{fence}"
    if isinstance(block, Quote):
        inner = render_markdown(block.children)
        return "\n".join(("> " + line).rstrip() for line in inner.split("\n"))
    if isinstance(block, Rule):
        return "---"
    rows = [
        "| "
        + " | ".join(render_md_inline(cell).replace("|", "\\|").replace("\n", " ") for cell in row)
        + " |"
        for row in block.rows
    ]
    if block.rows:
        rows.insert(1, "|" + "|".join(" --- " for _ in block.rows[0]) + "|")
    return "\n".join(rows)


def _render_md_list(block: ListBlock, indent: int) -> list[str]:
    out: list[str] = []
    for n, item in enumerate(block.items, start=1):
        marker = f"{n}." if block.ordered else "-"
        text = render_md_inline(item.children).replace("\n", "\n" + " " * (indent + len(marker) + 1))
        out.append(" " * indent + f"{marker} {text}")
        for sub in item.sublists:
            out.extend(_render_md_list(sub, indent + len(marker) + 1))
    return out
