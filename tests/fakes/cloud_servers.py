"""Fake Claude endpoints of Amazon Bedrock and Google Vertex AI, driven by the anthropic SDK's own
`AsyncAnthropicBedrock` / `AsyncAnthropicVertex` clients.

**Usage**::

    with BedrockServer() as server:           # env: ANTHROPIC_BEDROCK_BASE_URL=server.url, AWS_REGION, AWS keys
        server.queue(Turn([Call("get_ticket", {"key": "OPS-1"})], stop_reason="tool_use"), Turn(["OPS-1 is open."]))
        ...
        server.bodies()[0]                     # the JSON body the SDK sent (no `model`, no `stream`)
        server.paths()                         # /model/<id>/invoke or /model/<id>/invoke-with-response-stream

- Bedrock (`bedrock-runtime` InvokeModel): `POST /model/{id}/invoke` answers the message JSON;
  `/invoke-with-response-stream` answers `application/vnd.amazon.eventstream`: AWS event-stream binary frames
  (prelude with lengths and CRC32s, string headers `:event-type: chunk`, `:message-type: event`,
  `:content-type: application/json`), each payload `{"bytes": base64(<one Messages stream event>)}`, which is what
  botocore's `EventStreamBuffer` + `EventStreamJSONParser` decode in the SDK. Requests must be SigV4-signed for
  service `bedrock` (an `AWS4-HMAC-SHA256 Credential=…/bedrock/aws4_request` Authorization header) or carry a
  Bedrock API key (`Bearer …`); errors are `{"message": …}` with `x-amzn-ErrorType`.
- Vertex (`rawPredict` / `streamRawPredict` under `/v1/projects/{p}/locations/{r}/publishers/anthropic/models/`):
  the Messages JSON / SSE; a `Bearer` token is required, issued by `POST /token` (point an `authorized_user`
  Application Default Credentials file's `token_uri` here: google-auth refreshes against it).

`StreamException` (Bedrock) ends a stream midway with an exception frame.

Both require `anthropic_version` in the body and refuse `model` there (it lives in the path; Bedrock also
refuses `stream`, Vertex keeps it beside `:streamRawPredict`). Items:
`Turn` (messages_events), `CloudError(status, message)`.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer
from tests.fakes.messages_events import Turn, message_json, sse, stream_events

TOKEN = "ya29.fake-vertex-token"


@dataclass
class StreamException:
    """Bedrock only: stream `turn` for `after` events, then an exception frame (`:message-type: exception`,
    `:exception-type: kind`, payload `{"message"}`), as Bedrock ends a stream that fails midway."""

    turn: Turn
    after: int = 3
    kind: str = "throttlingException"
    message: str = "Too many tokens, please wait before trying again."


@dataclass
class CloudError:
    """An error answer: Bedrock `{"message"}` + `x-amzn-ErrorType`; Vertex Google's `{"error": {...}}`."""

    status: int
    message: str
    kind: str = "ThrottlingException"


Item = Turn | CloudError | StreamException


class _CloudServer(FakeServer):
    stream_in_path = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: list[Item] = []
        self.violations: list[str] = []

    def __enter__(self) -> _CloudServer:
        self.start()
        return self

    def queue(self, *items: Item) -> _CloudServer:
        """Answer the next model requests with these, in order."""
        with self._lock:
            self._queue.extend(items)
        return self

    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the model requests, in order."""
        with self._cond:
            return [r.json() for r in self.requests if r.method == "POST" and "/model" in r.path]

    def _next(self, body: dict[str, Any]) -> Item | str:
        problem = None
        if "anthropic_version" not in body:
            problem = "anthropic_version: Field required"
        elif "model" in body or (self.stream_in_path and "stream" in body):
            problem = "model (and on Bedrock stream) belong in the path, not the body"
        with self._lock:
            if problem is None and not self._queue:
                problem = "no scripted response left"
            if problem is not None:
                self.violations.append(problem)
                return problem
            return self._queue.pop(0)


class BedrockServer(_CloudServer):
    """The fake bedrock-runtime InvokeModel endpoints (see the module docstring)."""

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/model/{model}/invoke", self._invoke)
        app.router.add_post("/model/{model}/invoke-with-response-stream", self._invoke)
        return app

    async def _invoke(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        signed = auth.startswith("AWS4-HMAC-SHA256 Credential=") and "/bedrock/aws4_request" in auth and "X-Amz-Date" in request.headers
        if not (signed or auth.startswith("Bearer ")):
            return _bedrock_error(CloudError(403, "Missing Authentication Token", "MissingAuthenticationTokenException"))
        item = self._next(json.loads(await request.read()))
        if isinstance(item, str):
            return _bedrock_error(CloudError(400, item, "ValidationException"))
        if isinstance(item, CloudError):
            return _bedrock_error(item)
        model = request.match_info["model"]
        headers = {"x-amzn-RequestId": "a1b2c3d4-0000-4000-8000-000000000001"}
        turn = item.turn if isinstance(item, StreamException) else item
        if not request.path.endswith("-with-response-stream"):
            return web.json_response(message_json(turn, model), headers=headers)
        response = web.StreamResponse(headers={"Content-Type": "application/vnd.amazon.eventstream", **headers})
        await response.prepare(request)
        events = stream_events(turn, model)
        if isinstance(item, StreamException):
            events = events[: item.after]
        for event in events:
            payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
            await response.write(event_frame({":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload))
        if isinstance(item, StreamException):
            frame = {":exception-type": item.kind, ":content-type": "application/json", ":message-type": "exception"}
            await response.write(event_frame(frame, json.dumps({"message": item.message}).encode()))
        await response.write_eof()
        return response


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message: prelude (total and header lengths, CRC32), headers, payload, CRC32."""
    encoded = b"".join(
        struct.pack("!B", len(name)) + name.encode() + struct.pack("!BH", 7, len(value)) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def _bedrock_error(err: CloudError) -> web.Response:
    return web.json_response({"message": err.message}, status=err.status, headers={"x-amzn-ErrorType": f"{err.kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"})


class VertexServer(_CloudServer):
    """The fake Vertex AI Anthropic publisher endpoints and an OAuth token endpoint."""

    stream_in_path = False  # the method names it, and `"stream": true` stays in the body

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{method}", self._predict)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    async def _predict(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _google_error(CloudError(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))
        model, _, method = request.match_info["method"].partition(":")
        if method not in ("rawPredict", "streamRawPredict"):
            return _google_error(CloudError(404, f"unknown method {method!r}", "NOT_FOUND"))
        item = self._next(json.loads(await request.read()))
        if isinstance(item, str):
            return web.json_response({"type": "error", "error": {"type": "invalid_request_error", "message": item}}, status=400)
        if isinstance(item, CloudError):
            return _google_error(item)
        if method == "rawPredict":
            return web.json_response(message_json(item, model))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        await response.write(sse(stream_events(item, model)))
        await response.write_eof()
        return response


def _google_error(err: CloudError) -> web.Response:
    status = {429: "RESOURCE_EXHAUSTED", 401: "UNAUTHENTICATED", 404: "NOT_FOUND"}.get(err.status, err.kind)
    return web.json_response({"error": {"code": err.status, "message": err.message, "status": status}}, status=err.status)
