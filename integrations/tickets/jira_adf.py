"""Atlassian Document Format (REST v3 rich text) <-> the document tree.

Reading accepts any ADF Jira returns: known nodes map to the tree, unknown ones keep their text, media
becomes a placeholder. Writing emits only the node and mark types the tree has.
"""

from __future__ import annotations

from typing import Any

from integrations.tickets.jira_doc import (
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
    merge_text,
)

# ------------------------------------------------------------------ reading


def parse_adf(doc: Any) -> tuple[Block, ...]:
    """Blocks from an ADF document (or any ADF node)."""
    if not isinstance(doc, dict):
        return (Paragraph((Text(str(doc)),)),) if doc else ()
    if doc.get("type") == "doc":
        return _blocks(doc.get("content") or [])
    return _blocks([doc])


def _blocks(nodes: list[Any]) -> tuple[Block, ...]:
    out: list[Block] = []
    for node in nodes:
        if isinstance(node, dict):
            out.extend(_block(node))
    return tuple(out)


def _block(node: dict[str, Any]) -> list[Block]:
    kind = node.get("type")
    content = node.get("content") or []
    attrs = node.get("attrs") or {}
    if kind == "paragraph":
        inlines = _inlines(content)
        return [Paragraph(inlines)] if inlines else []
    if kind == "heading":
        level = attrs.get("level", 1)
        return [Heading(level if isinstance(level, int) and 1 <= level <= 6 else 1, _inlines(content))]
    if kind in ("bulletList", "orderedList"):
        return [_list(node)]
    if kind == "codeBlock":
        text = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        return [CodeBlock(text, attrs.get("language") or None)]
    if kind in ("blockquote", "panel", "expand", "nestedExpand"):
        return [Quote(_blocks(content))]
    if kind == "rule":
        return [Rule()]
    if kind == "table":
        return [_table(content)]
    if kind in ("mediaSingle", "mediaGroup", "media"):
        return [Paragraph((Text("[attachment]"),))]
    if kind in ("text", "mention", "emoji", "hardBreak", "inlineCard", "date", "status"):
        return [Paragraph(_inlines([node]))]
    return list(_blocks(content))  # unknown container: keep what is inside


def _list(node: dict[str, Any]) -> ListBlock:
    items: list[ListItem] = []
    for item in node.get("content") or []:
        if not isinstance(item, dict):
            continue
        inlines: list[Inline] = []
        sublists: list[ListBlock] = []
        for child in item.get("content") or []:
            if not isinstance(child, dict):
                continue
            if child.get("type") in ("bulletList", "orderedList"):
                sublists.append(_list(child))
            else:
                if inlines:
                    inlines.append(LineBreak())
                for block in _block(child):
                    if isinstance(block, Paragraph | Heading):
                        inlines.extend(block.children)
                    elif isinstance(block, CodeBlock):
                        inlines.append(CodeSpan(block.text))
        items.append(ListItem(merge_text(inlines), tuple(sublists)))
    return ListBlock(node.get("type") == "orderedList", tuple(items))


def _table(rows: list[Any]) -> Table:
    out: list[tuple[tuple[Inline, ...], ...]] = []
    header = False
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        cells: list[tuple[Inline, ...]] = []
        for cell in row.get("content") or []:
            if not isinstance(cell, dict):
                continue
            if n == 0 and cell.get("type") == "tableHeader":
                header = True
            inlines: list[Inline] = []
            for block in _blocks(cell.get("content") or []):
                if isinstance(block, Paragraph | Heading):
                    if inlines:
                        inlines.append(LineBreak())
                    inlines.extend(block.children)
            cells.append(merge_text(inlines))
        out.append(tuple(cells))
    return Table(tuple(out), header=header)


def _inlines(nodes: list[Any]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            out.append(_marked(str(node.get("text", "")), node.get("marks") or []))
        elif kind == "hardBreak":
            out.append(LineBreak())
        elif kind == "mention":
            user = str(attrs.get("id", ""))
            out.append(Mention(f"accountid:{user}") if user else Text(str(attrs.get("text", ""))))
        elif kind == "emoji":
            out.append(Text(str(attrs.get("text") or attrs.get("shortName") or "")))
        elif kind == "inlineCard":
            out.append(Link(str(attrs.get("url", ""))))
        elif kind in ("date", "status"):
            out.append(Text(str(attrs.get("text") or attrs.get("timestamp") or "")))
        else:
            out.extend(_inlines(node.get("content") or []))
    return merge_text(out)


def _marked(text: str, marks: list[Any]) -> Inline:
    types = {m.get("type"): m.get("attrs") or {} for m in marks if isinstance(m, dict)}
    node: Inline = CodeSpan(text) if "code" in types else Text(text)
    if "strike" in types:
        node = Strike((node,))
    if "em" in types:
        node = Emphasis((node,))
    if "strong" in types:
        node = Strong((node,))
    if "link" in types and types["link"].get("href"):
        href = str(types["link"]["href"])
        node = Link(href) if node == Text(href) else Link(href, (node,))
    return node


# ------------------------------------------------------------------ writing


def render_adf(blocks: tuple[Block, ...]) -> dict[str, Any]:
    """An ADF document for blocks."""
    return {"type": "doc", "version": 1, "content": [_render_block(b) for b in blocks]}


def _render_block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "content": _render_inlines(block.children, ())}
    if isinstance(block, Heading):
        return {
            "type": "heading",
            "attrs": {"level": block.level},
            "content": _render_inlines(block.children, ()),
        }
    if isinstance(block, ListBlock):
        return _render_list(block)
    if isinstance(block, CodeBlock):
        node: dict[str, Any] = {"type": "codeBlock", "content": [{"type": "text", "text": block.text}]}
        if not block.text:
            node["content"] = []
        if block.language:
            node["attrs"] = {"language": block.language}
        return node
    if isinstance(block, Quote):
        return {"type": "blockquote", "content": [_render_block(b) for b in block.children]}
    if isinstance(block, Rule):
        return {"type": "rule"}
    rows = []
    for n, row in enumerate(block.rows):
        cell_type = "tableHeader" if block.header and n == 0 else "tableCell"
        rows.append(
            {
                "type": "tableRow",
                "content": [
                    {
                        "type": cell_type,
                        "content": [{"type": "paragraph", "content": _render_inlines(cell, ())}],
                    }
                    for cell in row
                ],
            }
        )
    return {"type": "table", "content": rows}


def _render_list(block: ListBlock) -> dict[str, Any]:
    items = []
    for item in block.items:
        content: list[dict[str, Any]] = [{"type": "paragraph", "content": _render_inlines(item.children, ())}]
        content.extend(_render_list(sub) for sub in item.sublists)
        items.append({"type": "listItem", "content": content})
    return {"type": "orderedList" if block.ordered else "bulletList", "content": items}


def _render_inlines(nodes: tuple[Inline, ...], marks: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        if isinstance(node, Text):
            if node.text:
                out.append(_text(node.text, marks))
        elif isinstance(node, CodeSpan):
            # ADF allows only `link` beside `code`.
            kept = tuple(m for m in marks if m["type"] == "link")
            out.append(_text(node.text, kept + ({"type": "code"},)))
        elif isinstance(node, Strong):
            out.extend(_render_inlines(node.children, marks + ({"type": "strong"},)))
        elif isinstance(node, Emphasis):
            out.extend(_render_inlines(node.children, marks + ({"type": "em"},)))
        elif isinstance(node, Strike):
            out.extend(_render_inlines(node.children, marks + ({"type": "strike"},)))
        elif isinstance(node, Link):
            link = ({"type": "link", "attrs": {"href": node.url}},)
            out.extend(_render_inlines(node.children or (Text(node.url),), marks + link))
        elif isinstance(node, Mention):
            user = node.user.removeprefix("accountid:")
            out.append({"type": "mention", "attrs": {"id": user}})
        elif isinstance(node, LineBreak):
            out.append({"type": "hardBreak"})
    return out


def _text(text: str, marks: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = list(marks)
    return node
