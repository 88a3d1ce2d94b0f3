"""A small MCP server written with the `mcp` SDK, for tests: `python tests/fakes/mcp_fixture.py stdio|http`.

HTTP mode serves streamable HTTP on 127.0.0.1 (`--port 0` picks one and prints `PORT <n>` on stdout), and refuses
requests without the header `X-Fixture-Key: <--key>`. `--no-notify` leaves out `subscriptions/listen`, so the
server never announces tool changes (clients must re-list). Tools:

- `echo` (read-only): returns its `text`.
- `shifty` (read-only): its description carries a generation number that `mutate` increments.
- `mutate`: changes `shifty`'s description and announces the change.
- `fail` (read-only): answers `isError` with a message.
- `slow` (read-only): sleeps `seconds`; `stats` tells how many slow calls were cancelled.
- `crash` (read-only): the process exits at once.
- `huge` (read-only): returns `chars` characters of text.
- `picture` (read-only): an image and a resource link.
- `bad.schema` (read-only): an input schema that is not valid JSON Schema.
- `clash.x` and `clash_x`: two names that become the same model-facing name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.subscriptions import ToolsListChanged

READ = types.ToolAnnotations(read_only_hint=True)
state: dict[str, Any] = {"generation": 1, "cancelled": 0, "calls": 0}
bus = InMemorySubscriptionBus()


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], "additionalProperties": False}


def tools() -> list[types.Tool]:
    return [
        types.Tool(name="echo", description="Echo the text back.", input_schema=obj({"text": {"type": "string", "maxLength": 100}}, ["text"]), annotations=READ),
        types.Tool(name="shifty", description=f"Tells the time (generation {state['generation']}).", input_schema=obj({}), annotations=READ),
        types.Tool(name="mutate", description="Change shifty's description.", input_schema=obj({})),
        types.Tool(name="fail", description="Always fails.", input_schema=obj({}), annotations=READ),
        types.Tool(name="slow", description="Sleeps.", input_schema=obj({"seconds": {"type": "number"}}), annotations=READ),
        types.Tool(name="stats", description="Counters.", input_schema=obj({}), annotations=READ),
        types.Tool(name="crash", description="Exits the server process.", input_schema=obj({}), annotations=READ),
        types.Tool(name="huge", description="A large result.", input_schema=obj({"chars": {"type": "integer", "minimum": 1}}, ["chars"]), annotations=READ),
        types.Tool(name="picture", description="An image and a link.", input_schema=obj({}), annotations=READ),
        types.Tool(name="bad.schema", description="Broken schema.", input_schema={"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}}, annotations=READ),
        types.Tool(name="clash.x", description="Clashes.", input_schema=obj({}), annotations=READ),
        types.Tool(name="clash_x", description="Clashes too.", input_schema=obj({}), annotations=READ),
    ]


def text(value: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)], is_error=error)


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=tools())


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    state["calls"] += 1
    name = params.name
    if name == "echo":
        return text(f"echo: {args.get('text')}")
    if name == "shifty":
        return text(f"generation {state['generation']}")
    if name == "mutate":
        state["generation"] += 1
        await bus.publish(ToolsListChanged())
        return text(f"now generation {state['generation']}")
    if name == "fail":
        return text("the fixture failed on purpose", error=True)
    if name == "slow":
        try:
            await anyio.sleep(float(args.get("seconds", 3600)))
        except BaseException:
            state["cancelled"] += 1
            raise
        return text("slept")
    if name == "stats":
        return text(f"calls={state['calls']} cancelled={state['cancelled']}")
    if name == "crash":
        os._exit(3)
    if name == "huge":
        return text("x" * int(args["chars"]))
    if name == "picture":
        return types.CallToolResult(content=[
            types.ImageContent(type="image", data="aGVsbG8gd29ybGQh", mime_type="image/png"),
            types.ResourceLink(type="resource_link", name="report", uri="file:///tmp/report.pdf", mime_type="application/pdf"),
        ])
    return text(f"called {name}")


def build(notify: bool) -> Server[Any]:
    return Server(
        "fixture",
        version="1.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=ListenHandler(bus) if notify else None,
    )


def serve_http(server: Server[Any], port: int, key: str) -> None:
    import uvicorn

    app = server.streamable_http_app()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"x-fixture-key", b"").decode() != key:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"missing or wrong X-Fixture-Key"})
            return
        await app(scope, receive, send)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(guarded, log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="")
    parser.add_argument("--no-notify", action="store_true")
    args = parser.parse_args()
    server = build(notify=not args.no_notify)
    if args.transport == "http":
        serve_http(server, args.port, args.key)
        return
    from mcp.server.stdio import stdio_server

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(run)


if __name__ == "__main__":
    sys.exit(main())
