"""The `chatops` command: run (Socket Mode or HTTP), shell, doctor, manifest, eval, policy show.

Each subcommand builds `Settings` once and hands it to the module that does the work.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.deps import Deps

BuildDeps = Callable[..., Awaitable["Deps"]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatops", description="A Slack assistant for your tickets.")
    parser.add_argument("--log-format", choices=["text", "json"], help="log line format (default: text)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the Slack bot (Socket Mode when SLACK_APP_TOKEN is set)")
    run.add_argument("--http", action="store_true", help="serve POST /slack/events and GET /healthz")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode: interface to bind (default 0.0.0.0)")
    run.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    run.add_argument(
        "--workers", type=int, default=None,
        help="HTTP mode: processes sharing the port (default: one per CPU on PostgreSQL, one on SQLite)",
    )  # fmt: skip
    run.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # set by the supervisor

    shell = sub.add_parser("shell", help="talk to the assistant in a terminal")
    shell.add_argument("--user", required=True, help="the Slack user id to act as, e.g. U123ABC")
    shell.add_argument("--name", default=None, help="a display name for attribution")
    shell.add_argument("--email", default=None, help="the user's email (maps to a Jira account)")

    sub.add_parser("doctor", help="check the database, the model API and the ticket backend")
    sub.add_parser("manifest", help="print manifest.yml with the unfurl domains of JIRA_URL / CHATOPS_PUBLIC_URL")

    from bot.evals.cli import add_parser as add_eval_parser

    add_eval_parser(sub)

    policy = sub.add_parser("policy", help="inspect the authorization policy")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    show = policy_sub.add_parser("show", help="print role x tool: allowed / denied / needs confirmation")
    show.add_argument("--format", choices=["markdown", "text"], default="markdown")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `chatops` console script."""
    args = _parser().parse_args(argv)
    try:
        overrides = {"chatops_log_format": args.log_format} if args.log_format else {}
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from bot.logs import configure_logging

    configure_logging(settings)
    try:
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def settle() -> None:
    """Start-up is over: collect its garbage once, then move what it built (modules, SDK types, the parts) out of
    the collector's reach (`gc.freeze`), so later collections and the interpreter's exit do not walk it again."""
    gc.enable()
    gc.collect()
    gc.freeze()


def settled(build: BuildDeps) -> BuildDeps:
    """`build_deps` for a long-running process: `settle()` once every part is built."""

    async def build_settled(settings: Settings, **overrides: Any) -> Deps:
        deps = await build(settings, **overrides)
        settle()
        return deps

    return build_settled


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Start-up allocates most of what a process keeps: a collection meanwhile only walks it again (about 0.4 s of
    # CPU on 2 cores). The collector is off while a command starts, and for the one-shot commands (doctor,
    # manifest, policy) while they run; it is back on once run/shell have built their parts (settle) or when the
    # command ends. An evaluation runs many conversations: it keeps the collector on.
    if args.command != "eval":
        gc.disable()
    try:
        return await _command(args, settings)
    finally:
        gc.enable()


async def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return await _run(args, settings)
    if args.command == "shell":
        return await _shell(args, settings)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return await run_doctor(settings)
    if args.command == "manifest":
        from bot.slack.manifest import run_manifest

        return run_manifest(settings)
    if args.command == "eval":
        from bot.evals.cli import run_eval

        return await run_eval(settings, args)
    if args.command == "policy":
        from bot.policy.show import run_policy_show

        return await run_policy_show(settings, fmt=args.format)
    raise AssertionError(args.command)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.slack.server import check_settings, run_bot
    from bot.slack.workers import supervise, worker_count
    from bot.wiring import build_deps

    if args.worker:
        return await run_bot(settings, build_deps=settled(build_deps), http=True, host=args.host, port=args.port, reuse_port=True)
    check_settings(settings, http=args.http)
    count = worker_count(settings, args.workers, http=args.http)
    if count > 1:
        settle()
        return await supervise(settings, count=count, host=args.host, port=args.port, log_format=args.log_format)
    return await run_bot(settings, build_deps=settled(build_deps), http=args.http, host=args.host, port=args.port)


async def _shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot.shell import run_shell
    from bot.wiring import build_deps

    return await run_shell(settings, build_deps=settled(build_deps), user_id=args.user, name=args.name, email=args.email)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
