"""A hand-written stdio "MCP server" that breaks the protocol, for tests: `python tests/fakes/mcp_raw.py`.

It answers `server/discover` with method-not-found (so clients fall back to `initialize`), completes the
handshake, lists two tools, and then misbehaves on `tools/call`: `garbage` gets a line that is not JSON followed by
no answer at all for that id, `wrong_shape` gets a result whose `content` is not a list. Other calls are echoed.
"""

from __future__ import annotations

import json
import sys


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


TOOLS = [
    {"name": "garbage", "description": "Answers with garbage.", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
    {"name": "wrong_shape", "description": "Answers with a malformed result.", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
    {"name": "ok", "description": "Answers properly.", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
]


def main() -> None:
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        method, ident = message.get("method"), message.get("id")
        if ident is None:
            continue  # notifications
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": ident, "result": {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "raw", "version": "0"},
            }})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": ident, "result": {"tools": TOOLS}})
        elif method == "tools/call":
            name = message["params"]["name"]
            if name == "garbage":
                sys.stdout.write("this is {not json\n")
                sys.stdout.flush()
            elif name == "wrong_shape":
                send({"jsonrpc": "2.0", "id": ident, "result": {"content": "not a list", "isError": "maybe"}})
            else:
                send({"jsonrpc": "2.0", "id": ident, "result": {"content": [{"type": "text", "text": "fine"}]}})
        else:
            send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": f"Method not found: {method}"}})


if __name__ == "__main__":
    main()
