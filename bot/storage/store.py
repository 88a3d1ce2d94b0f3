"""`Store`: every query of the application, one mixin per concept (each in its own module of this package)."""

from __future__ import annotations

from bot.storage.alerts import AlertQueries
from bot.storage.approvals import ApprovalQueries
from bot.storage.audit import AuditQueries
from bot.storage.conversations import ConversationQueries
from bot.storage.events import EventQueries
from bot.storage.feedback import FeedbackQueries
from bot.storage.leases import TurnLeaseQueries
from bot.storage.schedules import ScheduleQueries
from bot.storage.settings_store import ConfigQueries
from bot.storage.users import UserQueries


class Store(
    ConversationQueries,
    AuditQueries,
    EventQueries,
    UserQueries,
    ApprovalQueries,
    ConfigQueries,
    ScheduleQueries,
    FeedbackQueries,
    TurnLeaseQueries,
    AlertQueries,
):
    """The application's queries. Methods are async; SQL runs in worker threads via `Database.run`."""
