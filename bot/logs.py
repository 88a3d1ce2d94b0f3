"""Structured logging: one line per turn and per tool call; `--log-format json` for production.

Log records carry fields through `extra={"fields": {...}}`; values are never secrets or full tool results.
`get_logger` and `log_event` live in `integrations/logs.py` (the adapters use them without importing `bot/`) and
are re-exported here; this module adds the formatters and installs them on the root logger.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from bot.settings import Settings
from integrations.logs import LOGGER_NAME, get_logger, log_event

__all__ = ["LOGGER_NAME", "QUIET_LOGGERS", "JsonFormatter", "TextFormatter", "configure_logging", "get_logger", "log_event"]

QUIET_LOGGERS = ("anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3", "jira", "slack_sdk", "slack_bolt")
"""Libraries whose DEBUG output carries request bodies or headers; kept at WARNING or above."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger msg key=value ...`."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {}) or {}
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        base = f"{self.formatTime(record)} {record.levelname:<7} {record.name} {record.getMessage()}"
        text = f"{base} {tail}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure_logging(settings: Settings) -> None:
    """Install the chosen formatter on the root logger (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.chatops_log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.chatops_log_level)
    # At DEBUG these libraries log whole requests: prompts, tool results, auth headers. Never let them.
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
