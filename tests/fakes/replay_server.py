"""A fake Messages API that answers with recorded bodies, byte for byte (recorded SSE streams or JSON messages),
and records what the client sent.

**Usage**::

    with ReplayServer() as server:
        server.queue(Recorded.sse(path_to_sse), Recorded.json(path_to_json))
        client = AsyncAnthropic(api_key="sk-ant-test", base_url=server.url, max_retries=0)
        ...
        server.bodies()[1]["messages"]      # what went back to the API after the first answer

Used to replay real recordings (`../shared/corpus/anthropic/`) and our own fixtures of the same shape; an SSE
body is served as `text/event-stream` whether or not the request asked to stream, exactly as recorded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer


@dataclass(frozen=True)
class Recorded:
    """One recorded answer: its bytes and content type."""

    body: bytes
    content_type: str
    status: int = 200

    @classmethod
    def sse(cls, path: Path) -> Recorded:
        """A recorded stream."""
        return cls(path.read_bytes(), "text/event-stream; charset=utf-8")

    @classmethod
    def json(cls, path: Path) -> Recorded:
        """A recorded message (or error) JSON body."""
        return cls(path.read_bytes(), "application/json")


class ReplayServer(FakeServer):
    """POST /v1/messages answers the queued recordings in order; an unscripted request is a 400."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: list[Recorded] = []

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def queue(self, *items: Recorded) -> ReplayServer:
        with self._lock:
            self._queue.extend(items)
        return self

    def bodies(self) -> list[dict[str, Any]]:
        with self._cond:
            return [r.json() for r in self.requests if r.path == "/v1/messages"]

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        return app

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            item = self._queue.pop(0) if self._queue else None
        if item is None:
            body = b'{"type":"error","error":{"type":"invalid_request_error","message":"ReplayServer: nothing queued"},"request_id":"req_replay"}'
            return web.Response(body=body, status=400, content_type="application/json")
        headers = {"request-id": "req_replay", "Content-Type": item.content_type}
        return web.Response(body=item.body, status=item.status, headers=headers)
