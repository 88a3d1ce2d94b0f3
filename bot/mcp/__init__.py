"""MCP servers' tools under the bot's policy: the adapter (tools.py), the hub that owns the connections (hub.py),
the per-turn catalogue with its byte budget (catalogue.py), admin approval of tool definitions (trust.py)."""
