"""Prometheus metrics: what the bot did, how long it took, and what it cost, served at `GET /metrics`.

One `Metrics` per process (on `Deps.metrics`), each with its own `CollectorRegistry` so two bots in one test
process never share counters. Names and labels (labels are bounded: outcomes, tool names, Slack method names,
token kinds; never user, channel or ticket ids):

- `chatops_turns_total{outcome}`, `chatops_turn_duration_seconds{outcome}`: turns by outcome (answered, paused,
  failed, refused, capped) and their latency.
- `chatops_turns_in_flight`: turns running now.
- `chatops_tool_call_duration_seconds{tool,outcome}`: every tool call (its `_count` counts calls by outcome:
  ok, error, invalid, denied, capped, timeout, pending, cancelled).
- `chatops_tool_denials_total{tool}`: calls the policy refused; `chatops_approvals_total{tool,decision}`:
  confirmations decided (approved, cancelled, expired).
- `chatops_model_call_duration_seconds{outcome}` (outcome: the stop reason, or `error`);
  `chatops_model_tokens_total{kind}` (input, output, cache_read, cache_write) and `chatops_model_cache_hit_ratio`
  (cache_read / all input tokens, since start).
- `chatops_slack_retries_total{method,reason}`, `chatops_slack_rate_limited_total{method}`;
  `chatops_jira_retries_total{reason}`, `chatops_jira_rate_limited_total` (reason: rate_limited, server_error,
  connection).
- `chatops_first_feedback_seconds`: from the event reaching the bot to the first visible feedback in Slack.

With several worker processes (`chatops run --workers N`) the values live in PROMETHEUS_MULTIPROC_DIR and every
worker's `/metrics` answers for all of them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from integrations.llm.base import Usage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_TURN_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120, 300)
_TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_FEEDBACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")


def multiprocess() -> bool:
    """Whether values are shared between worker processes (prometheus-client's multiprocess mode)."""
    return bool(os.environ.get(MULTIPROC_ENV))


class _CacheRatio(Collector):
    """`chatops_model_cache_hit_ratio`, computed when scraped from the token totals this process counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.read = 0
        self.total = 0

    def add(self, usage: Usage) -> None:
        with self._lock:
            self.read += usage.cache_read_tokens
            self.total += usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            ratio = self.read / self.total if self.total else 0.0
        yield GaugeMetricFamily(
            "chatops_model_cache_hit_ratio", "Share of model input tokens read from the prompt cache, since start.", value=ratio
        )


class Metrics:
    """The bot's collectors, and one method per thing worth counting."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turns = Counter("chatops_turns_total", "Turns by outcome.", ["outcome"], registry=r)
        self.turn_seconds = Histogram(
            "chatops_turn_duration_seconds", "Turn latency by outcome.", ["outcome"], buckets=_TURN_BUCKETS, registry=r
        )
        self.in_flight = Gauge(
            "chatops_turns_in_flight", "Turns running now.", registry=r, multiprocess_mode="livesum"
        )
        self.tool_seconds = Histogram(
            "chatops_tool_call_duration_seconds", "Tool call latency by tool and outcome.", ["tool", "outcome"],
            buckets=_TOOL_BUCKETS, registry=r,
        )  # fmt: skip
        self.denials = Counter("chatops_tool_denials_total", "Tool calls the policy refused.", ["tool"], registry=r)
        self.approvals = Counter(
            "chatops_approvals_total", "Confirmations decided, by tool and decision.", ["tool", "decision"], registry=r
        )
        self.model_seconds = Histogram(
            "chatops_model_call_duration_seconds", "Model call latency by stop reason (or error).", ["outcome"],
            buckets=_TURN_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter("chatops_model_tokens_total", "Model tokens by kind.", ["kind"], registry=r)
        self.slack_retries = Counter(
            "chatops_slack_retries_total", "Slack Web API calls retried, by method and reason.", ["method", "reason"], registry=r
        )
        self.slack_rate_limited = Counter(
            "chatops_slack_rate_limited_total", "Slack Web API answers 429, by method.", ["method"], registry=r
        )
        self.jira_retries = Counter("chatops_jira_retries_total", "Jira reads retried, by reason.", ["reason"], registry=r)
        self.jira_rate_limited = Counter("chatops_jira_rate_limited_total", "Jira answers 429.", registry=r)
        self.first_feedback = Histogram(
            "chatops_first_feedback_seconds", "From an event reaching the bot to the first visible feedback in Slack.",
            buckets=_FEEDBACK_BUCKETS, registry=r,
        )  # fmt: skip
        self._ratio = _CacheRatio()
        if not multiprocess():
            r.register(self._ratio)
        for kind in TOKEN_KINDS:  # present from the start, so a dashboard's rate() has a zero to start from
            self.tokens.labels(kind=kind)

    # ------------------------------------------------------------ what happened
    def turn(self, outcome: str, seconds: float) -> None:
        """A turn ended (or paused)."""
        self.turns.labels(outcome=outcome).inc()
        self.turn_seconds.labels(outcome=outcome).observe(seconds)

    def tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        """A tool call ended; a `denied` outcome is also a denial."""
        self.tool_seconds.labels(tool=tool, outcome=outcome).observe(seconds)
        if outcome == "denied":
            self.denials.labels(tool=tool).inc()

    def approval(self, tool: str, decision: str) -> None:
        """A confirmation was decided: approved, cancelled or expired."""
        self.approvals.labels(tool=tool, decision=decision).inc()

    def model_call(self, outcome: str, seconds: float, usage: Usage | None = None) -> None:
        """A model call ended, with its token usage when it answered."""
        self.model_seconds.labels(outcome=outcome).observe(seconds)
        if usage is None:
            return
        for kind, count in zip(
            TOKEN_KINDS, (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens), strict=True
        ):
            if count:
                self.tokens.labels(kind=kind).inc(count)
        self._ratio.add(usage)

    def slack_retry(self, method: str, reason: str) -> None:
        """A Slack Web API call is sent again (reason: rate_limited, server_error, connection)."""
        self.slack_retries.labels(method=method, reason=reason).inc()

    def slack_429(self, method: str) -> None:
        """Slack answered 429 (whether or not the call is retried)."""
        self.slack_rate_limited.labels(method=method).inc()

    def jira_failure(self, status: int | None, retried: bool, reason: str) -> None:
        """A Jira call failed with `status` (None: no answer); `retried` when it is sent again."""
        if status == 429:
            self.jira_rate_limited.inc()
        if retried:
            self.jira_retries.labels(reason=reason).inc()

    # ------------------------------------------------------------ exposition
    def exposition(self) -> bytes:
        """The text format of every metric: this process's, or every worker's in multiprocess mode."""
        if multiprocess():
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)
