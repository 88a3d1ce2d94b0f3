"""`chatops eval`: run the task suite in `evals/` against a model and report how it did.

The parser is built here (`add_parser`) and wired into `chatops` by bot/cli.py; `run_eval` does the work.
Exit status: 0, or 1 when pass^k is under `--min-pass`, or 2 for a configuration or task-file error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.settings import Settings

EPILOG = """\
examples:
  chatops eval --provider scripted -k 4                      # checks the harness itself: a local server replays
                                                             # each task's script over the Messages API (make test)
  ANTHROPIC_API_KEY=sk-ant-... chatops eval --provider anthropic --model claude-sonnet-4-6 -k 4 \\
      --concurrency 4 --report eval-report.json --min-pass 0.8   # a real model: writes eval-report.json and .md
  chatops eval --provider openai --model qwen2.5-7b-instruct --tasks 'create-*'   # OPENAI_BASE_URL + OPENAI_API_KEY set

Costs come from the price table (CHATOPS_PRICE_TABLE, default evals/prices.yaml, USD per million tokens)."""

PROVIDER_CHOICES = ("scripted", "anthropic", "bedrock", "vertex", "openai")
REPO = Path(__file__).resolve().parents[2]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `eval` subcommand."""
    p = sub.add_parser(
        "eval",
        help="run the eval tasks in evals/ against a model; report pass^k, tokens, cost, latency",
        description="Run every task in evals/ k times against a model and score the final ticket state and the answer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--provider", choices=PROVIDER_CHOICES, default=None, help="model provider (default: CHATOPS_PROVIDER)")
    p.add_argument("--model", default=None, help="model name (default: CHATOPS_MODEL)")
    p.add_argument("-k", type=int, default=1, help="tries per task (default 1); pass^k needs k tries")
    p.add_argument("--concurrency", type=int, default=4, help="tries run at once (default 4)")
    p.add_argument("--tasks", default=None, metavar="PATTERN", help="only tasks whose id or file name matches this glob")
    p.add_argument("--report", type=Path, default=None, metavar="OUT.json", help="write the JSON report here and a Markdown table beside it (.md)")
    p.add_argument("--min-pass", type=float, default=None, metavar="X", help="exit 1 when pass^k is below X (0..1)")
    p.add_argument("--dir", type=Path, default=None, help="task directory (default: ./evals, else the one shipped with chatops)")


def task_dir(given: Path | None) -> Path:
    """The task directory: the given one, ./evals, or the repository's evals/."""
    if given is not None:
        return given
    local = Path("evals")
    return local if local.is_dir() else REPO / "evals"


async def run_eval(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run the suite as the arguments say; print the report; write it when asked."""
    out = out or sys.stdout
    logger = logging.getLogger("chatops")
    level = logger.level
    if settings.chatops_log_level != "DEBUG":  # the report is the output; per-call logs would bury it
        logger.setLevel(logging.ERROR)
    try:
        return await _run(settings, args, out)
    finally:
        logger.setLevel(level)


async def _run(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot.errors import ConfigError
    from bot.evals.report import load_price, markdown_report, summarize, text_report
    from bot.evals.runner import LLMFactory, Runner
    from bot.evals.tasks import Task, load_tasks
    from integrations.llm.base import LLM

    if args.k < 1 or args.concurrency < 1:
        raise ConfigError("-k and --concurrency must be at least 1")
    if args.min_pass is not None and not 0 <= args.min_pass <= 1:
        raise ConfigError("--min-pass is a fraction between 0 and 1")
    directory = task_dir(args.dir)
    tasks = load_tasks(directory, args.tasks)
    provider = args.provider or settings.chatops_provider
    script_server = None
    if provider == "scripted":
        from bot.evals.scripted import MODEL, ScriptServer

        if missing := [t.id for t in tasks if not t.script]:
            raise ConfigError(f"--provider scripted needs a `script:` in every task; missing in: {', '.join(missing)}")
        model = MODEL
        server = script_server = ScriptServer()
        base_settings = settings

        def llm_for(task: Task, index: int) -> LLM:
            return server.llm(base_settings, task, index)

        per_try, shared = False, None  # the tries share the server's client; it closes it
    else:
        from bot.wiring_adapters import build_llm

        model = args.model or settings.chatops_model
        settings = settings.model_copy(update={"chatops_provider": provider, "chatops_model": model})
        built = build_llm(settings)
        if built is None:
            raise ConfigError("no model API key: set ANTHROPIC_API_KEY (or pick another --provider)")
        per_try, shared = False, built

        def llm_for(task: Task, index: int) -> LLM:
            return built

    beside = directory / "prices.yaml"
    price = load_price(settings.chatops_price_table or (beside if beside.is_file() else REPO / "evals" / "prices.yaml"), model)
    settings = settings.model_copy(update={"chatops_model": model})
    factory: LLMFactory = llm_for
    runner = Runner(settings, factory, per_try=per_try, concurrency=args.concurrency, now=datetime.now(UTC))
    try:
        if script_server is not None:
            await script_server.start()
        await runner.prepare()
        tries = await runner.run(tasks, args.k)
    finally:
        runner.close()
        if shared is not None:
            await shared.aclose()
        if script_server is not None:
            await script_server.aclose()
    summary = summarize(tries, model=model, provider=provider, k=args.k, price=price, min_pass=args.min_pass)
    print(text_report(summary), file=out)
    if args.report is not None:
        args.report.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
        args.report.with_suffix(".md").write_text(markdown_report(summary), encoding="utf-8")
        print(f"wrote {args.report} and {args.report.with_suffix('.md')}", file=out)
    return 0 if summary.ok else 1
