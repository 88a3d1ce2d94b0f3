"""Every user-facing string, as small functions (bolt's logger/messages.py pattern). Append; keep them short."""

from __future__ import annotations


def missing_api_key() -> str:
    """Said when the model is needed but ANTHROPIC_API_KEY is not set."""
    return (
        "No model API key: set ANTHROPIC_API_KEY in the environment or in .env "
        "(and ANTHROPIC_BASE_URL only if you use a proxy)."
    )
