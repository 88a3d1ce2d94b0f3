"""The peer of the Slack benchmark: a bare slack-bolt + anthropic bot, as small as a bot can be.

It acks each mention (Bolt acks before the listener runs), makes one model call and posts one threaded reply;
nothing else (no database, no tools, no progress, no dedupe). Run by `benchmarks/slack_bench.py` as its own
process: `python -m benchmarks.bare_bot --port N` with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL,
ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL in the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from anthropic import AsyncAnthropic
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(env: dict[str, str]) -> AsyncApp:
    """The bare app: mention -> one model call -> one reply in the thread."""
    client = AsyncWebClient(token=env["SLACK_BOT_TOKEN"], base_url=env["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=env["SLACK_SIGNING_SECRET"])
    model = AsyncAnthropic(api_key=env["ANTHROPIC_API_KEY"], base_url=env["ANTHROPIC_BASE_URL"])

    @app.event("app_mention")
    async def answer(event: dict[str, Any]) -> None:
        reply = await model.messages.create(
            model="claude-sonnet-4-6", max_tokens=1024, messages=[{"role": "user", "content": event.get("text") or "?"}]
        )
        text = "".join(getattr(block, "text", "") for block in reply.content) or "?"
        await client.chat_postMessage(channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=text)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    build(dict(os.environ)).start(port=args.port, path="/slack/events", host="127.0.0.1")


if __name__ == "__main__":
    main()
