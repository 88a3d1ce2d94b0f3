"""What ticket tools answer when they cannot: no such ticket, a project not shown here, people not found, results
cut short."""

from __future__ import annotations


def no_ticket(key: str) -> str:
    """An unknown ticket, or one the asker may not see here (the same words, so nothing is revealed)."""
    return f"No ticket {key}"


def project_not_available(key: str) -> str:
    """An unknown project, or one the asker may not see here (the same words, so nothing is revealed)."""
    return f"No project {key} is available here."


def nothing_visible_here() -> str:
    """A search where the asker may see no project at all in this channel."""
    return "No projects are visible in this channel, so there is nothing to search. Try a DM or another channel."


def me_unknown(label: str) -> str:
    """'me' was asked for but the asker maps to no person in the ticket system."""
    return (
        f"I can't tell who {label} is in the ticket system (no linked account, and the Slack email matches nobody). "
        "Name the person instead of 'me', or ask an admin to link the account."
    )


def no_person_matches(query: str) -> str:
    """A person name or email that matches nobody."""
    return f"No person matches {query!r}. Try the full name or the email address."


def several_people_match(query: str, candidates: list[str]) -> str:
    """A person name that matches more than one person."""
    return (
        f"{query!r} matches {len(candidates)} people: {'; '.join(candidates)}. "
        "Ask the user which one they mean, then use that full name or email."
    )


def results_cut(shown: int, total: int | str, hint: str) -> str:
    """A result list shortened to fit: how many are shown, and how to see the rest."""
    return f"Showing {shown} of {total}. {hint}"


def text_cut(kept: int, total: int) -> str:
    """The marker at the end of a long text that was shortened."""
    return f"… [cut: showing {kept} of {total} characters]"


def no_search_matches() -> str:
    """A search with no results."""
    return "No tickets match these filters."


def model_summary_unavailable() -> str:
    """summarize_ticket could not reach the model and condensed the ticket itself."""
    return "The AI summary is unavailable right now; this is a mechanical condensation of the ticket."
