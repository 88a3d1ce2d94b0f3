"""What the OpenTelemetry spans of one turn cost: off (the no-op tracer) against on (the SDK, the batch processor
and the OTLP/HTTP exporter sending to a local fake collector), with content off and on.

One simulated turn = the spans of a two-step turn with one tool run and one refused call: `chatops.turn`, two
`chat {model}`, two `execute_tool {tool}`, through `bot.tracing.Tracing` exactly as the agent calls it. Printed:
the turn's span work on the calling thread (median, p99, in µs) and the process CPU per turn including the
exporter thread's encoding and sending (measured from the process clock over all turns, after a final flush).

    .venv/bin/python -m benchmarks tracing
"""

from __future__ import annotations

import statistics
import time
from contextlib import AbstractContextManager

from benchmarks.child_server import child_server
from bot.settings import Settings
from bot.tracing import Tracing
from bot.wiring import build_tracing
from integrations.llm.base import Message, ModelResponse, TextBlock, ToolCall, Usage

TURNS = 2_000
QUESTION = Message(role="user", content=[TextBlock(text="Which high-priority OPS tickets has Maya not touched this week? " * 4)])
CALL = ToolCall(id="toolu_01", name="search_tickets", input={"jql": "project = OPS AND priority = High"})
STEP1 = ModelResponse(message=Message(role="assistant", content=[CALL]), stop_reason="tool_use", usage=Usage(input_tokens=900, output_tokens=40), model="claude-sonnet-4-6")
STEP2 = ModelResponse(message=Message(role="assistant", content=[TextBlock(text="Three tickets: OPS-3, OPS-7, OPS-9. " * 5)]), stop_reason="end_turn", usage=Usage(input_tokens=1400, output_tokens=90), model="claude-sonnet-4-6")


def one_turn(t: Tracing, i: int) -> None:
    with t.turn(conversation_id=f"c{i}", turn_id=f"t{i}", user_hash="0" * 32) as turn:
        with t.model_call(provider="anthropic", model="claude-sonnet-4-6", max_tokens=8192, messages=[QUESTION]) as span:
            t.model_answered(span, STEP1)
        with t.tool_call(tool="search_tickets", call_id="toolu_01") as span:
            t.tool_ended(span, tool="search_tickets", call_id="toolu_01", outcome="ok", decision="allow", rule="default", arguments=CALL.input, result="[...] " * 50, ms=12.0)
        t.tool_ended(None, tool="add_comment", call_id="toolu_02", outcome="denied", decision="deny", rule="viewer", arguments={"key": "OPS-3"}, result="Not permitted", ms=0.0)
        with t.model_call(provider="anthropic", model="claude-sonnet-4-6", max_tokens=8192, messages=[QUESTION, STEP1.message]) as span:
            t.model_answered(span, STEP2)
        t.turn_ended(turn, outcome="answered", steps=2, tool_calls=2, usage=STEP1.usage + STEP2.usage)


def measure(label: str, t: Tracing) -> None:
    samples: list[float] = []
    cpu = time.process_time()
    for i in range(TURNS):
        started = time.perf_counter()
        one_turn(t, i)
        samples.append((time.perf_counter() - started) * 1e6)
        if i % 200 == 199:
            t.force_flush()  # the batch queue holds 2,048 spans: a real bot never ends 10,000 in a second
    t.force_flush()
    per_turn_cpu = (time.process_time() - cpu) / TURNS * 1e6
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"   {label:<28} caller median {statistics.median(samples):7.1f} µs  p99 {p99:7.1f} µs  process CPU/turn {per_turn_cpu:7.1f} µs")
    t.shutdown()


COLLECTOR = (
    "import sys, threading; from tests.fakes.otlp_collector import OtlpCollector; c = OtlpCollector().start(); "
    "print(c.url, flush=True); sys.stdin.read()"
)


def collector_process() -> AbstractContextManager[str]:
    """The fake collector in its own process, so its CPU is not counted as the bot's."""
    return child_server(COLLECTOR)


def main() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    print(f"   {TURNS} simulated turns (5 spans each); process CPU includes the exporter thread (protobuf + HTTP)")
    measure("off (no-op tracer)", build_tracing(settings))
    with collector_process() as url:
        on = settings.model_copy(update={"otel_exporter_otlp_endpoint": url})
        measure("on, content off", build_tracing(on))
        measure("on, content on (masked)", build_tracing(on.model_copy(update={"chatops_trace_content": True})))


if __name__ == "__main__":
    main()
