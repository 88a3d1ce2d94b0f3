"""The fake Jira's JQL: a tokenizer and a recursive-descent parser for the subset of JQL a ticket bot uses (the
evaluator is jira_jql_eval.py), as strict as Jira where it matters for safety:

- string literals accept only Jira's escapes (\\" \\' \\\\ \\n \\r \\t \\uXXXX); `"\\["` is an error;
- unquoted reserved words (INT, IF, ...) as values are an error;
- `~` values are Lucene queries: unescaped operators like `(` `"` `[` are an error, backslash escapes them;
- an unknown field, or an unknown project/status/priority/user value, is an error (400, Jira's wording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class JqlError(Exception):
    """The query is invalid; the message is what Jira would say."""


RESERVED = frozenset(
    """a an abort access add after alias all alter and any are as asc at audit avg be before begin between
    boolean break but by byte catch cf char character check checkpoint collate collation column commit connect
    continue count create current date decimal declare decrement default defaults define delete delimiter desc
    difference distinct divide do double drop else empty encoding end equals escape exclusive exec execute
    exists explain false fetch file field first float for from function go goto grant greater group having
    identified if immediate in increment index initial inner inout input insert int integer intersect
    intersection into is isempty isnull join last left less like limit lock long max min minus mode modify
    modulo more multiply next noaudit not notin nowait null number object of on option or order outer output
    power previous prior privileges public raise raw remainder rename resource return returns revoke right row
    rowid rownum rows select session set share size sqrt start strict string subtract such sum synonym table
    that the their then there these they this to trans transaction trigger true uid union unique update user
    validate values view was when whenever where while will with""".split()
)
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

# ------------------------------------------------------------------ tokens


@dataclass(frozen=True)
class Tok:
    kind: str  # "str" | "word" | "op" | "(" | ")" | ","
    value: str


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", " ": " "}


def tokenize(jql: str) -> list[Tok]:
    """Split JQL into tokens; string literals are unescaped."""
    toks: list[Tok] = []
    i = 0
    while i < len(jql):
        ch = jql[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            i, text = _string(jql, i)
            toks.append(Tok("str", text))
        elif ch in "(),":
            toks.append(Tok(ch, ch))
            i += 1
        elif jql.startswith(("!=", "!~", ">=", "<="), i):
            toks.append(Tok("op", jql[i : i + 2]))
            i += 2
        elif ch in "=~<>":
            toks.append(Tok("op", ch))
            i += 1
        else:
            m = re.compile(r"[^\s(),=!~<>\"']+").match(jql, i)
            if not m:
                raise JqlError(
                    f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. "
                    f"You must enclose it in a string or use the escape '\\u{ord(ch):04x}' instead."
                )
            toks.append(Tok("word", m.group()))
            i = m.end()
    return toks


def _string(jql: str, start: int) -> tuple[int, str]:
    quote = jql[start]
    out: list[str] = []
    i = start + 1
    while i < len(jql):
        ch = jql[i]
        if ch == quote:
            return i + 1, "".join(out)
        if ch == "\\":
            nxt = jql[i + 1 : i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", jql[i + 2 : i + 6]):
                out.append(chr(int(jql[i + 2 : i + 6], 16)))
                i += 6
            else:
                raise JqlError(
                    f"Error in the JQL Query: '\\{nxt}' is an illegal JQL escape sequence. "
                    "The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX."
                )
        else:
            out.append(ch)
            i += 1
    raise JqlError("Error in the JQL Query: The quoted string has not been completed.")


# ------------------------------------------------------------------ syntax tree


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool = False
    function: bool = False


@dataclass(frozen=True)
class Clause:
    field: str
    op: str  # = != ~ !~ > >= < <= in "not in" is "is not"
    values: tuple[Value, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or | not
    args: tuple[Node, ...]


Node = Clause | BoolOp


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[tuple[str, bool], ...]  # (field, descending)


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "word" and tok.value.lower() == word

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise JqlError(
                "Error in the JQL Query: Expecting either a value, list or function but got the end."
            )
        self.i += 1
        return tok

    def parse(self) -> Query:
        where = None
        if self.peek() is not None and not (self.is_word("order") and self.is_word("by", 1)):
            where = self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.is_word("order") and self.is_word("by", 1):
            self.i += 2
            while True:
                field = self.take()
                desc = False
                if self.is_word("desc") or self.is_word("asc"):
                    desc = self.take().value.lower() == "desc"
                order.append((field.value.lower(), desc))
                if self.peek() is not None and self.peek().kind == ",":  # type: ignore[union-attr]
                    self.i += 1
                    continue
                break
        if self.peek() is not None:
            raise JqlError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{self.peek().value}'."
            )  # type: ignore[union-attr]
        return Query(where, tuple(order))

    def or_expr(self) -> Node:
        args = [self.and_expr()]
        while self.is_word("or"):
            self.i += 1
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else BoolOp("or", tuple(args))

    def and_expr(self) -> Node:
        args = [self.not_expr()]
        while self.is_word("and"):
            self.i += 1
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else BoolOp("and", tuple(args))

    def not_expr(self) -> Node:
        if self.is_word("not"):
            self.i += 1
            return BoolOp("not", (self.not_expr(),))
        tok = self.peek()
        if tok is not None and tok.kind == "(":
            self.i += 1
            node = self.or_expr()
            if self.take().kind != ")":
                raise JqlError("Error in the JQL Query: Expecting ')' before the end of the query.")
            return node
        return self.clause()

    def clause(self) -> Clause:
        field = self.take()
        if field.kind not in ("word", "str"):
            raise JqlError(f"Error in the JQL Query: Expecting a field name but got '{field.value}'.")
        if self.is_word("not") and self.is_word("in", 1):
            self.i += 2
            return Clause(field.value.lower(), "not in", self.list_values())
        if self.is_word("in"):
            self.i += 1
            return Clause(field.value.lower(), "in", self.list_values())
        if self.is_word("is"):
            self.i += 1
            op = "is"
            if self.is_word("not"):
                self.i += 1
                op = "is not"
            empty = self.take()
            if empty.value.lower() not in ("empty", "null"):
                raise JqlError("Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after IS.")
            return Clause(field.value.lower(), op, ())
        op = self.take()
        if op.kind != "op":
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{op.value}'.")
        return Clause(field.value.lower(), op.value, (self.value(),))

    def list_values(self) -> tuple[Value, ...]:
        if self.take().kind != "(":
            raise JqlError("Error in the JQL Query: Expecting '(' after IN.")
        values = [self.value()]
        while (tok := self.take()).kind == ",":
            values.append(self.value())
        if tok.kind != ")":
            raise JqlError("Error in the JQL Query: Expecting ')' to close the list.")
        return tuple(values)

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "str":
            return Value(tok.value, quoted=True)
        if tok.kind != "word":
            raise JqlError(
                f"Error in the JQL Query: Expecting either a value, list or function but got '{tok.value}'."
            )
        nxt = self.peek()
        if nxt is not None and nxt.kind == "(":
            self.i += 1
            while self.take().kind != ")":
                pass
            return Value(tok.value.lower(), function=True)
        if tok.value.lower() in RESERVED:
            raise JqlError(
                f"Error in the JQL Query: '{tok.value}' is a reserved JQL word. You must surround it "
                "in quotation marks to use it in a query."
            )
        return Value(tok.value)


def parse(jql: str) -> Query:
    """Parse JQL into a Query, or raise JqlError."""
    return _Parser(tokenize(jql)).parse()
