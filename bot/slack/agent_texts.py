"""User-facing strings of the agent surface: suggested prompts, feedback, unfurls, the App Home summary."""

from __future__ import annotations


def feedback_thanks() -> str:
    """Ephemeral reply to a 👍."""
    return "Thanks, noted: this answer helped."


def feedback_modal_intro() -> str:
    """The first line of the "what went wrong" modal."""
    return "Thanks for telling us. If you like, say what was wrong or missing; the admins read these notes."


def prompts_title() -> str:
    """The heading over the suggested prompts in the agent pane."""
    return "Try asking"


def home_summary_header() -> str:
    """The App Home heading over the admins' weekly summary."""
    return "This week's answers (admins)"


def home_summary_empty() -> str:
    """The admins' summary when nothing was answered this week."""
    return "_No answers this week yet._"


def ticket_page(key: str, product: str) -> str:
    """The body of GET /tickets/<key>: no ticket content (the page is not authenticated), only where to ask."""
    return (
        f"{key} is a ticket in chatops's {product}. Its details are shown in Slack to the people allowed to see "
        f"them: open the link's preview there, or ask chatops: /ticket {key}"
    )
