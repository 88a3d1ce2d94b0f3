"""Approve / Cancel: the action described in words, the request, its outcome, and every reason a click changes
nothing (the agent's decisions and the Slack buttons share them)."""

from __future__ import annotations


def approval_needed(description: str) -> str:
    """Said when a write waits for Approve/Cancel."""
    return f"This needs your confirmation before I do it:\n{description}"


def approval_unknown() -> str:
    """A resume for an approval that does not exist."""
    return "I can't find that approval request any more; nothing was done."


def approval_already_decided(status: str) -> str:
    """A second Approve/Cancel of the same request (never claiming an outcome nobody saw)."""
    if status == "approved":
        return "This request was already approved and is being carried out; its outcome is not known yet. Nothing more was done."
    if status == "unknown":
        return "This request was approved, but I could not tell whether it was applied (I was restarted while doing it). Nothing more was done; please check the ticket."
    return f"This request was already {status}; nothing more was done."


def action_description(tool: str, arguments: dict[str, object]) -> str:
    """The exact action a call performs, in human words (shown on Approve/Cancel)."""

    def q(name: str) -> str:
        return f"“{arguments.get(name)}”"

    key = arguments.get("key")
    if tool == "create_ticket":
        extra = f", assigned to {arguments['assignee']}" if arguments.get("assignee") else ""
        kind = arguments.get("issue_type") or "ticket"
        return f"Create a {kind} in {arguments.get('project')}: {q('summary')}{extra}"
    if tool == "add_comment":
        return f"Add a comment to {key}: {q('body')}"
    if tool == "transition_ticket":
        return f"Move {key} to {q('status')}"
    if tool == "assign_ticket":
        who = arguments.get("assignee")
        return f"Assign {key} to {who}" if who else f"Unassign {key}"
    if tool == "update_ticket":
        changes = ", ".join(f"{k} → {v!r}" for k, v in arguments.items() if k != "key" and v is not None)
        return f"Update {key}: {changes}"
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    if "__" in tool:  # a tool from an MCP server: <server>__<tool>
        server, name = tool.split("__", 1)
        return f"Run {name} on MCP server {server} ({tool}) with {shown or 'no arguments'}"
    return f"Run {tool}({shown})"


def approval_title() -> str:
    """The first line of an Approve/Cancel message."""
    return "Confirm this change before I make it"


def approval_footer(requester_id: str, expires_epoch: int, expires_iso: str) -> str:
    """Who may decide and until when (Slack renders the date in the reader's time zone)."""
    return (
        f"Requested by <@{requester_id}>. Only they or a chatops admin can approve or cancel. "
        f"Expires <!date^{expires_epoch}^{{date_short_pretty}} at {{time}}|{expires_iso}>."
    )


def approval_not_yours(requester_id: str) -> str:
    """Someone other than the requester (and not an admin) clicked Approve/Cancel."""
    return f"Only <@{requester_id}> (who asked) or a chatops admin can approve or cancel this. Nothing was done."


def approval_stale_button() -> str:
    """A click on buttons rendered by an older version of the bot."""
    return "These buttons are from an older version of chatops and no longer work. Ask again to get a fresh request."


def approval_expired(expires_iso: str) -> str:
    """A click after the request expired."""
    return f"This request expired at {expires_iso} and was not carried out. Ask again if it is still needed."


def approval_no_longer_permitted() -> str:
    """Approve clicked, but the policy no longer allows the action (changed since the request)."""
    return "This action is no longer permitted under the current policy, so it was not carried out."


def approval_outcome(status: str, decided_by: str | None, at_iso: str) -> str:
    """The line that replaces the buttons once a request is decided."""
    who = f" by <@{decided_by}>" if decided_by and decided_by != "timeout" else ""
    words = {
        "approved": "Approved — being carried out, outcome not known yet",
        "done": "Approved and done",
        "failed": "Approved, but it failed",
        "cancelled": "Cancelled",
        "expired": "Expired without an answer — not done",
        "unknown": "Approved, but interrupted by a restart — outcome unknown, check the ticket",
    }
    return f"{words.get(status, status.capitalize())}{who} · {at_iso}"


def approval_state_lost(status: str) -> str:
    """An approval was decided, but the paused request behind it could not be read back (closed, never run)."""
    if status in ("cancelled", "expired"):
        return f"This request is now {status}. Nothing was done."
    return (
        "I couldn't carry out this request: its saved details could not be read back (it may predate an update). "
        "Nothing was done; ask again if it is still needed."
    )
