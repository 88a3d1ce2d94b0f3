"""Waiting for a log record: the observable sign that code reached a point (events, not sleeps)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Seen(logging.Handler):
    """Sets `event` when a record with this message is emitted (from any thread)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message, self.event = message, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.message:
            self.event.set()


@contextmanager
def log_seen(message: str, logger: str = "chatops") -> Iterator[threading.Event]:
    """An event set once `logger` (or a child) logs `message`; INFO records are enabled meanwhile."""
    handler = _Seen(message)
    root = logging.getLogger(logger)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)  # setLevel, not `.level =`: loggers cache whether a level is enabled
    try:
        yield handler.event
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
