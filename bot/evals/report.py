"""What an eval run reports: per task pass/fail per try, pass^1 and pass^k over the suite, tokens, a cost
estimate from the price table, latency percentiles and tool-call counts — printed, and written as JSON and as a
Markdown table.

pass^k (from τ-bench) is the chance that all k tries of a task succeed, estimated per task from n tries with c
successes as C(c, k) / C(n, k) and averaged over tasks; pass^1 is the mean success rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import ConfigError
from bot.evals.runner import Try


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_read: float = Field(default=0.0, ge=0)
    cache_write: float = Field(default=0.0, ge=0)


def load_price(path: Path, model: str) -> Price:
    """The model's row of the price table (YAML `models: {name: {input, output, cache_read, cache_write}}`)."""
    if not path.is_file():
        raise ConfigError(f"CHATOPS_PRICE_TABLE: no price table at {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"CHATOPS_PRICE_TABLE: {path} is not valid YAML: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigError(f"CHATOPS_PRICE_TABLE: {path} needs a `models:` mapping of model name → prices")
    row = models.get(model)
    if row is None:
        raise ConfigError(
            f"CHATOPS_PRICE_TABLE: {path} has no price for model {model!r}; add a row under `models:` like\n"
            f"  {model}: {{input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}}   # USD per million tokens"
        )
    try:
        return Price.model_validate(row)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"CHATOPS_PRICE_TABLE: {path}: models.{model}.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def pass_hat_k(successes: int, tries: int, k: int) -> float:
    """C(c, k) / C(n, k): the chance that k tries drawn from these n all succeeded."""
    if k > tries:
        raise ValueError(f"pass^{k} needs at least {k} tries, got {tries}")
    return math.comb(successes, k) / math.comb(tries, k)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Summary:
    """The whole run, ready to print or save."""

    model: str
    provider: str
    k: int
    tasks: list[dict[str, Any]]
    pass_1: float
    pass_k: float
    tokens: dict[str, int]
    cost_usd: float
    latency_p50_s: float
    latency_p95_s: float
    tool_calls: dict[str, int]
    min_pass: float | None = None

    @property
    def ok(self) -> bool:
        """True unless pass^k is under --min-pass."""
        return self.min_pass is None or self.pass_k >= self.min_pass

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "provider": self.provider, "k": self.k, "pass^1": round(self.pass_1, 4),
            f"pass^{self.k}": round(self.pass_k, 4), "tokens": self.tokens, "cost_usd": round(self.cost_usd, 6),
            "latency_s": {"p50": round(self.latency_p50_s, 3), "p95": round(self.latency_p95_s, 3)},
            "tool_calls": self.tool_calls, "min_pass": self.min_pass, "ok": self.ok, "tasks": self.tasks,
        }


def summarize(tries: list[Try], *, model: str, provider: str, k: int, price: Price, min_pass: float | None = None) -> Summary:
    """Aggregate the tries of a run."""
    by_task: dict[str, list[Try]] = {}
    for t in tries:
        by_task.setdefault(t.task_id, []).append(t)
    tasks: list[dict[str, Any]] = []
    for task_id, own in by_task.items():
        own.sort(key=lambda t: t.index)
        wins = sum(t.passed for t in own)
        tasks.append({
            "id": task_id, "tries": [t.passed for t in own], "pass^1": wins / len(own), f"pass^{k}": pass_hat_k(wins, len(own), k),
            "tool_calls": sum(sum(t.tool_calls.values()) for t in own), "problems": sorted({p for t in own for p in t.problems}),
        })
    tokens = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    calls: dict[str, int] = {}
    for t in tries:
        tokens["input"] += t.usage.input_tokens
        tokens["output"] += t.usage.output_tokens
        tokens["cache_read"] += t.usage.cache_read_tokens
        tokens["cache_write"] += t.usage.cache_write_tokens
        for name, count in t.tool_calls.items():
            calls[name] = calls.get(name, 0) + count
    cost = sum(tokens[name] * getattr(price, name) for name in tokens) / 1_000_000
    latencies = [t.seconds for t in tries] or [0.0]
    return Summary(
        model=model, provider=provider, k=k, tasks=tasks,
        pass_1=sum(t["pass^1"] for t in tasks) / max(1, len(tasks)), pass_k=sum(t[f"pass^{k}"] for t in tasks) / max(1, len(tasks)),
        tokens=tokens, cost_usd=cost, latency_p50_s=percentile(latencies, 50), latency_p95_s=percentile(latencies, 95),
        tool_calls=dict(sorted(calls.items())), min_pass=min_pass,
    )


def text_report(summary: Summary) -> str:
    """The console report."""
    k = summary.k
    lines = [f"chatops eval — {summary.provider}/{summary.model}, k={k}, {len(summary.tasks)} tasks", ""]
    width = max((len(t["id"]) for t in summary.tasks), default=4)
    for task in summary.tasks:
        marks = "".join("✓" if ok else "✗" for ok in task["tries"])
        verdict = "PASS" if all(task["tries"]) else "FAIL"
        lines.append(f"{verdict}  {task['id']:<{width}}  {marks}")
        lines.extend(f"      - {p}" for p in task["problems"][:4] if not all(task["tries"]))
    t = summary.tokens
    lines += [
        "",
        f"pass^1 {summary.pass_1:.3f}" + (f"   pass^{k} {summary.pass_k:.3f}" if k > 1 else ""),
        f"tokens: input {t['input']:,}  output {t['output']:,}  cache read {t['cache_read']:,}  cache write {t['cache_write']:,}",
        f"cost estimate: ${summary.cost_usd:.4f}",
        f"latency per try: p50 {summary.latency_p50_s:.2f} s  p95 {summary.latency_p95_s:.2f} s",
        "tool calls: " + (", ".join(f"{n} {c}" for n, c in summary.tool_calls.items()) or "none"),
    ]
    if summary.min_pass is not None:
        lines.append(f"--min-pass {summary.min_pass:.3f}: {'met' if summary.ok else f'NOT met (pass^{k} {summary.pass_k:.3f})'}")
    return "\n".join(lines)


def markdown_report(summary: Summary) -> str:
    """The Markdown table (one row per task, then the totals)."""
    k = summary.k
    rows = [f"| task | tries | pass^1 | pass^{k} | tool calls |", "|---|---|---|---|---|"]
    for task in summary.tasks:
        marks = " ".join("✅" if ok else "❌" for ok in task["tries"])
        rows.append(f"| {task['id']} | {marks} | {task['pass^1']:.2f} | {task[f'pass^{k}']:.2f} | {task['tool_calls']} |")
    t = summary.tokens
    return "\n".join([
        f"## chatops eval: {summary.provider} / {summary.model} (k={k})", "",
        f"**pass^1 {summary.pass_1:.3f} · pass^{k} {summary.pass_k:.3f}** · cost ${summary.cost_usd:.4f} · "
        f"latency p50 {summary.latency_p50_s:.2f} s, p95 {summary.latency_p95_s:.2f} s", "",
        f"Tokens: input {t['input']:,}, output {t['output']:,}, cache read {t['cache_read']:,}, cache write {t['cache_write']:,}", "",
        *rows, "",
    ])
