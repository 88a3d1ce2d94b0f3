"""`all_tools()`: every tool the assistant offers, in a stable order (reads first, then writes).

The order is part of the prompt the model sees (and of its cache key): append new tools, do not reorder.
"""

from __future__ import annotations

from bot.tools.base import Tool
from bot.tools.comments import add_comment, list_comments
from bot.tools.slack_thread import read_slack_thread
from bot.tools.summaries import summarize_ticket, workload_digest
from bot.tools.tickets import (
    assign_ticket,
    create_ticket,
    get_ticket,
    search_tickets,
    transition_ticket,
    update_ticket,
)


def all_tools() -> list[Tool]:
    """Every tool, in the order offered to the model."""
    return [
        search_tickets,
        get_ticket,
        list_comments,
        summarize_ticket,
        workload_digest,
        read_slack_thread,
        create_ticket,
        update_ticket,
        transition_ticket,
        assign_ticket,
        add_comment,
    ]
