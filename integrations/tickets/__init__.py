"""Ticket backends. The protocol and its models are re-exported here; implementations (local.py, jira.py) are
imported only where they are built (the bot's wiring), so importing this package never pulls in `jira`."""

from integrations.tickets.base import (
    Change,
    Comment,
    CommentPage,
    NewTicket,
    Person,
    Priority,
    Project,
    StatusCategory,
    Ticket,
    TicketBackend,
    TicketChanges,
    TicketPage,
    TicketQuery,
    Transition,
)

__all__ = [
    "Change",
    "Comment",
    "CommentPage",
    "NewTicket",
    "Person",
    "Priority",
    "Project",
    "StatusCategory",
    "Ticket",
    "TicketBackend",
    "TicketChanges",
    "TicketPage",
    "TicketQuery",
    "Transition",
]
