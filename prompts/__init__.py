"""Model-facing text lives here as Markdown files; `load_prompt` fills `{name}` placeholders strictly."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent


@cache
def _read(name: str) -> str:
    path = _DIR / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in {_DIR}")
    return path.read_text(encoding="utf-8")


def placeholders(name: str) -> set[str]:
    """The `{variables}` a prompt expects."""
    return {field for _, field, _, _ in string.Formatter().parse(_read(name)) if field}


def load_prompt(name: str, **variables: str) -> str:
    """The prompt `prompts/<name>.md` with its variables filled; a missing or extra variable is an error."""
    expected = placeholders(name)
    missing = expected - variables.keys()
    extra = variables.keys() - expected
    if missing or extra:
        raise KeyError(f"prompt {name!r}: missing variables {sorted(missing)}, unexpected {sorted(extra)}")
    text = _read(name)
    return text.format(**variables) if expected else text
