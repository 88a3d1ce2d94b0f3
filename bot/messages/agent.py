"""What the tool loop answers when a turn cannot run or end normally: model errors, limits, a misconfiguration
(and the admins' DM about it), the database being down, turns recovered after a restart."""

from __future__ import annotations


def internal_error() -> str:
    """The answer when something unexpected broke while answering."""
    return "Sorry, something went wrong on my side while answering. Nothing was changed; please try again."


def missing_api_key() -> str:
    """Said when the model is needed but ANTHROPIC_API_KEY is not set."""
    return (
        "No model API key: set ANTHROPIC_API_KEY in the environment or in .env "
        "(and ANTHROPIC_BASE_URL only if you use a proxy)."
    )


def message_too_long(length: int, limit: int) -> str:
    """The reply to a question longer than the bot takes."""
    return (
        f"Your message is {length:,} characters; I can take up to {limit:,}. "
        "Please shorten it, or put the details in a ticket and ask me about the ticket."
    )


def empty_question() -> str:
    """The answer to an empty question (nothing is stored)."""
    return (
        "Ask me about tickets in plain words, e.g. _what is blocked in OPS?_, _summarize OPS-12_ or "
        "_create a bug in OPS: login fails on Safari_."
    )


def model_busy() -> str:
    """The model API kept answering 429/529 after our retries."""
    return "The AI service is overloaded right now, so I couldn't answer. Your question is saved; please ask again in a minute."


def model_unavailable() -> str:
    """The model API was down, slow or unreachable after our retries."""
    return "I couldn't reach the AI service (it timed out or is down). Your question is saved; please try again shortly."


def model_request_failed() -> str:
    """The model API rejected our request (a bug on our side, logged)."""
    return "The AI service rejected my request; this is a problem on our side and it was logged. Nothing was changed."


def misconfigured(summary: str, *, told: bool) -> str:
    """The asker's answer when a setting an admin must fix stopped the turn (`summary` names the setting)."""
    who = "The admins have been told." if told else "Ask an admin to run `chatops doctor`."
    return f"I can't answer right now: the assistant is misconfigured ({summary}). {who}"


def misconfiguration_alert(
    summary: str, detail: str, *, asker: str | None, channel: str | None, job: str | None = None
) -> str:
    """The admins' DM about a misconfiguration (at most one per problem per hour); `job` names a scheduled job
    that met it (no one asked)."""
    lines = [f":warning: chatops is misconfigured: {summary}."]
    if detail:
        lines.append(f"The service answered: {detail}.")
    if asker and channel:
        where = "a direct message" if channel.startswith("D") else f"<#{channel}>"
        lines.append(f"Seen when <@{asker}> asked in {where}.")
    elif job:
        lines.append(f"Seen by {job}" + (f" for <#{channel}>." if channel else "."))
    lines.append("`chatops doctor` on the bot's host checks the fix. You get this at most once an hour per problem.")
    return "\n".join(lines)


def model_refused() -> str:
    """The model declined to answer."""
    return "I can't help with that request. If you think this is a mistake, try rephrasing what you need."


def empty_answer() -> str:
    """The model finished without writing an answer."""
    return "I finished without a written answer. The steps I took are in the trace; please rephrase or ask again."


def answer_truncated() -> str:
    """The answer hit the output limit twice."""
    return "\n\n_(My answer was cut off at the length limit. Ask for a narrower answer, e.g. fewer tickets.)_"


def context_too_long() -> str:
    """The conversation no longer fits the model's context window."""
    return "This thread has grown too long for me to read. Start a new thread (a new message) and ask again."


def step_cap_reached(steps: int) -> str:
    """The turn used all its model steps."""
    return (
        f"I stopped after {steps} steps without finishing. What I did so far is in the trace; "
        "try a narrower question or split it into parts."
    )


def database_unavailable() -> str:
    """A question asked while the database does not answer."""
    return "I'm temporarily unavailable (my database is not answering), so I could not work on this. Nothing was changed; please try again in a minute."


def restarted_rerunning() -> str:
    """An interrupted question that only read: it is answered again."""
    return "I was restarted while working on this; nothing had been changed, so I'm answering it again now."


def restarted_ended(facts: list[str]) -> str:
    """An interrupted question that could not be re-run: what is known, and what to do."""
    known = " ".join(facts) if facts else "Nothing was changed."
    return f"I was restarted while working on this and could not finish it. {known} Please ask again if you still need it."


def write_outcome_fact(description: str, outcome: str, link: str | None) -> str:
    """One write of an interrupted turn, as far as we know (`done`, `not_done` or `unknown`)."""
    where = f" ({link})" if link else ""
    if outcome == "done":
        return f"This was done: {description}{where}."
    if outcome == "not_done":
        return f"This was not done: {description}{where}."
    return f"I could not tell whether this was done: {description} — please check{where or ' the ticket'}."
