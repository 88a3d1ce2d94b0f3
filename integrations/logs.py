"""Logging for the adapters: stdlib loggers under the `chatops` namespace, with structured fields.

Only loggers and records are made here; where records go and how they look (text or JSON, levels, the quiet
third-party loggers) is configured once by the bot at the root logger (`bot/logs.py`). Fields are never secrets
or whole request/response bodies: adapters log ids, statuses and counts.
"""

from __future__ import annotations

import logging
from typing import Any

LOGGER_NAME = "chatops"


def get_logger(name: str) -> logging.Logger:
    """A logger under the `chatops` namespace."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def log_event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `msg` with structured fields (`extra={"fields": {...}}`, which the bot's formatters print)."""
    logger.log(level, msg, extra={"fields": fields})
