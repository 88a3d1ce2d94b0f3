"""MCP servers as tool sources: configuration, one supervised client per server, result mapping.

Plain values in and out (no imports from `bot/`): `bot/mcp/` turns them into tools under the bot's policy.
"""
