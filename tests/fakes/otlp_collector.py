"""A fake OpenTelemetry collector: OTLP/HTTP `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`, decoded
with opentelemetry-proto and kept as plain `ReceivedSpan`s (name, ids, parent, kind, attributes, status), so tests
assert on what really went over the wire from the real SDK exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.fakes.base import FakeServer


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector received it."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: str
    attributes: dict[str, Any]
    status: str
    service: str
    scope: str


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


class OtlpCollector(FakeServer):
    """Answers `POST /v1/traces` (protobuf) like a collector; `spans()` is everything received, in order."""

    path = "/v1/traces"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self.path, self._export)
        return app

    async def _export(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-protobuf":
            return web.Response(status=415, text="protobuf only")
        ExportTraceServiceRequest.FromString(await request.read())  # a body that does not decode is a 500
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf")

    @property
    def traces_url(self) -> str:
        """The exporter's endpoint (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)."""
        return self.url + self.path

    def spans(self) -> list[ReceivedSpan]:
        """Every span of every export request received so far."""
        out: list[ReceivedSpan] = []
        for rec in list(self.requests):
            if rec.path != self.path:
                continue
            export = ExportTraceServiceRequest.FromString(rec.body)
            for rs in export.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        out.append(
                            ReceivedSpan(
                                name=s.name,
                                trace_id=s.trace_id.hex(),
                                span_id=s.span_id.hex(),
                                parent_span_id=s.parent_span_id.hex(),
                                kind=Span.SpanKind.Name(s.kind),
                                attributes={kv.key: _value(kv.value) for kv in s.attributes},
                                status=s.status.StatusCode.Name(s.status.code),
                                service=str(resource.get("service.name", "")),
                                scope=ss.scope.name,
                            )
                        )
        return out
