"""Ticket and project keys: the one definition that tools, slash commands, the JQL builder, the policy and the
schedule editor all use. It lives here, the lowest layer both `bot/` and `integrations/` may import.

What Jira accepts (Atlassian, "Configuring project keys", and the Jira 8 admin guide's "Changing the project key
format"): a project key starts with a letter and continues with letters, digits or underscores; the admin's
"Maximum project key size" is between 2 and 255 (Cloud keeps 10, a subset). Letters are ASCII capitals: Jira
upper-cases keys, and so do we (`ops-12` is `OPS-12`). A ticket key is `PROJECT-NUMBER`, the number a positive
integer without leading zeros. `SAMPLEPROJECT-1`, a real Data Center key, is valid.

Only ASCII is upper-cased: `"ß".upper()` is `"SS"`, so upper-casing first would turn text that is not a key
into one.
"""

from __future__ import annotations

import re
from typing import Any

MAX_PROJECT_KEY_CHARS = 255
"""Jira's upper bound for the "Maximum project key size" setting."""
MAX_NUMBER_DIGITS = 18
"""A ticket number fits a signed 64-bit integer."""

PROJECT_KEY_PATTERN = rf"^[A-Z][A-Z0-9_]{{1,{MAX_PROJECT_KEY_CHARS - 1}}}$"
"""A canonical (upper-case) project key."""
TICKET_KEY_PATTERN = rf"^[A-Z][A-Z0-9_]{{1,{MAX_PROJECT_KEY_CHARS - 1}}}-[1-9][0-9]{{0,{MAX_NUMBER_DIGITS - 1}}}$"
"""A canonical (upper-case) ticket key."""
MAX_TICKET_KEY_CHARS = MAX_PROJECT_KEY_CHARS + 1 + MAX_NUMBER_DIGITS

# What the model is shown in tool schemas (sent with every request): the same shapes without the length bounds, which
# a key the model copies from a question or a result never comes near. Validation always uses the full patterns.
PROJECT_KEY_SHAPE = "^[A-Z][A-Z0-9_]+$"
TICKET_KEY_SHAPE = "^[A-Z][A-Z0-9_]+-[1-9][0-9]*$"

_PROJECT = re.compile(PROJECT_KEY_PATTERN.removeprefix("^").removesuffix("$"))
_TICKET = re.compile(TICKET_KEY_PATTERN.removeprefix("^").removesuffix("$"))


def canonical(value: Any) -> Any:
    """Surrounding whitespace removed and ASCII upper-cased; anything else (non-strings, non-ASCII) unchanged,
    for the pattern to refuse."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    return stripped.upper() if stripped.isascii() else stripped


def project_key(value: Any) -> str | None:
    """The canonical project key `value` spells, or None when it is not one."""
    key = canonical(value)
    return key if isinstance(key, str) and _PROJECT.fullmatch(key) else None


def ticket_key(value: Any) -> str | None:
    """The canonical ticket key `value` spells, or None when it is not one."""
    key = canonical(value)
    return key if isinstance(key, str) and _TICKET.fullmatch(key) else None


def project_of(key: str) -> str:
    """The project part of a ticket key (`SAMPLE_PROJECT-12` -> `SAMPLE_PROJECT`)."""
    return key.rpartition("-")[0]
