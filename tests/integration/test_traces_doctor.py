"""`chatops doctor` on traces: off when no endpoint is set; with one, the collector must take an empty OTLP/HTTP
export (no span is sent), with the configured headers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.doctor import check_traces
from bot.settings import Settings
from tests.fakes.otlp_collector import OtlpCollector


@pytest.fixture(name="collector")
def collector_fixture() -> Iterator[OtlpCollector]:
    with OtlpCollector() as srv:
        assert isinstance(srv, OtlpCollector)
        yield srv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_traces_off_is_reported_and_passes(settings: Settings) -> None:
    check = await check_traces(settings)
    assert check.ok and check.detail.startswith("off (set OTEL_EXPORTER_OTLP_ENDPOINT")


async def test_a_collector_that_takes_an_empty_export_passes_and_gets_the_headers_and_no_span(settings: Settings, collector: OtlpCollector) -> None:
    on = settings.model_copy(update={"otel_exporter_otlp_endpoint": collector.url, "otel_exporter_otlp_headers": SecretStr("x-key=abc")})
    check = await check_traces(on)
    assert check.ok and f"the collector at {collector.traces_url} accepts" in check.detail
    assert "no prompt, answer or ticket text is sent" in check.detail
    assert [(r.path, r.headers.get("x-key")) for r in collector.requests] == [("/v1/traces", "abc")]
    assert collector.spans() == []


async def test_a_wrong_path_or_a_dead_collector_fails_with_the_fix(settings: Settings, collector: OtlpCollector) -> None:
    wrong = await check_traces(settings.model_copy(update={"otel_exporter_otlp_traces_endpoint": collector.url + "/v1/metrics"}))
    assert not wrong.ok and "answered HTTP 404 to an empty export" in wrong.detail
    assert wrong.fix is not None and "OTEL_EXPORTER_OTLP_ENDPOINT" in wrong.fix
    dead = await check_traces(settings.model_copy(update={"otel_exporter_otlp_endpoint": f"http://127.0.0.1:{_free_port()}"}))
    assert not dead.ok and "does not answer (" in dead.detail
