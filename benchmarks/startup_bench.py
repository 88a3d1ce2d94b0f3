"""Start-up of `chatops run --http` (issue #12: a fast start; every test that spawns the bot pays it).

Two figures, each the median (and range) of `STARTUP_RUNS` (default 5) fresh interpreters:

- time to the first `GET /healthz` 200 of `python -m bot run --http` on an empty SQLite file (migrations and the
  demo seed included), with SLACK_API_URL and ANTHROPIC_BASE_URL on local fakes; and the bot's CPU (utime + stime
  from /proc) at that moment;
- the CPU of importing what the common path imports, each in a fresh interpreter: `bot.cli` (every command),
  and `bot.cli` plus the modules `chatops run` loads (the wiring, the Slack surface, the server).

Wall time moves with the machine's load; CPU time much less. Bytecode is compiled before the first run.
`STARTUP_ROOT=DIR` measures the bot of another checkout (e.g. `git archive` of an older commit) with these fakes,
for a before/after in one sitting.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.slack_server import FakeSlack

ROOT = Path(os.environ.get("STARTUP_ROOT") or Path(__file__).resolve().parents[1])
RUNS = int(os.environ.get("STARTUP_RUNS", "5"))
TICK = os.sysconf("SC_CLK_TCK")
RUN_IMPORTS = "import bot.cli, bot.wiring, bot.slack.server, bot.slack.app, bot.slack.workers"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def time_to_healthz(env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to the first /healthz 200, and the process's CPU seconds then."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        run_env = {**env, "DATABASE_URL": f"sqlite:///{tmp}/bot.db"}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--http", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not _healthy(port):
                if proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with {proc.returncode}")
                time.sleep(0.01)
            return time.perf_counter() - started, _cpu_seconds(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)


def import_cpu(statement: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter that runs `statement`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _line(label: str, values: list[float], unit: str = "s") -> None:
    print(f"   {label:<58} median {statistics.median(values):.3f} {unit}  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})")


def main() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "bot"), str(ROOT / "integrations"), str(ROOT / "prompts")], check=False)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL", "OTEL_", "PROMETHEUS_"))}
    with FakeSlack() as slack, AnthropicServer() as model:
        env = {
            **base,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN,
            "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "ANTHROPIC_BASE_URL": model.url,
        }
        time_to_healthz(env)  # warm the page cache
        runs = [time_to_healthz(env) for _ in range(RUNS)]
    print(f"   bot from {ROOT}")
    _line("`chatops run --http`: spawn to first /healthz 200", [r[0] for r in runs])
    _line("`chatops run --http`: its CPU at that moment", [r[1] for r in runs])
    import_cpu("import bot.cli")
    _line("CPU of `import bot.cli`", [import_cpu("import bot.cli") for _ in range(RUNS)])
    _line(f"CPU of `{RUN_IMPORTS}`", [import_cpu(RUN_IMPORTS) for _ in range(RUNS)])
    _line("CPU of `python -c pass` (the interpreter alone)", [import_cpu("pass") for _ in range(RUNS)])
