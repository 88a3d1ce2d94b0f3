"""The Slack Web API below the surfaces: what any layer that talks to Slack uses, with no surface of its own.

`client.py` is the one sanitizing Web API client (with `SafeRespond` / `SafeAck` and the bounded retries),
`outbound.py` the one sanitizer everything posted to Slack passes, `channel_kinds.py` the kind of a channel as Slack
states it, `markdown.py` mrkdwn helpers. What a failed call raises and its error code are plain library facts in
`integrations/slack/failures.py`. The surfaces (`bot.slack`), the scheduler, the tools and the MCP wiring import
this package; it imports none of them.
"""
