"""Schedules, run claims with leases, reminders."""

from __future__ import annotations

from bot.storage.base import StoreBase


class ScheduleQueries(StoreBase):
    """Schedules, run claims with leases, reminders."""
