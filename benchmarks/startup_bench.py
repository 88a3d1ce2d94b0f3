"""Start-up and exit of `chatops run --http` (issue #12: a fast start; every test that spawns the bot pays both).

Figures, each the median (and range) of `STARTUP_RUNS` (default 5) fresh interpreters:

- time to the first `GET /healthz` 200 of `python -m bot run --http` on an empty SQLite file (migrations and the
  demo seed included), with SLACK_API_URL and ANTHROPIC_BASE_URL on local fakes, and the bot's CPU (utime + stime
  from /proc) at that moment; then SIGTERM: seconds to its exit, and its CPU in all (start, drain, interpreter exit);
- the CPU of importing what the common path imports, in a fresh interpreter: `bot.cli` (every command), and the
  modules `chatops run` loads (the wiring, the Slack surface, the server).

`STARTUP_PEER=DIR` measures the bot of another checkout too (e.g. `git archive` of an older commit unpacked in
DIR), interleaved run by run with this one against the same fakes, so that both see the same load: a before/after
in one run. Wall time moves with the machine's load; CPU time much less. Bytecode is compiled before the first run.
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

HERE = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("STARTUP_RUNS", "5"))
TICK = os.sysconf("SC_CLK_TCK")
RUN_IMPORTS = "import bot.cli, bot.wiring, bot.slack.server, bot.slack.app, bot.slack.workers"
FIGURES = [
    "`chatops run --http`: spawn to first /healthz 200",
    "`chatops run --http`: its CPU at that moment",
    "`chatops run --http`: SIGTERM (idle) to exit",
    "`chatops run --http`: its CPU in all, start to exit",
    "CPU of `import bot.cli`",
    "CPU of importing what `chatops run` imports",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def start_and_stop(root: Path, env: dict[str, str]) -> list[float]:
    """Seconds from spawn to the first /healthz 200 and the process's CPU seconds then; seconds from SIGTERM to its
    exit and its CPU seconds in all."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        run_env = {**env, "PYTHONPATH": str(root), "DATABASE_URL": f"sqlite:///{tmp}/bot.db"}
        before = _children_cpu()
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
            up, cpu = time.perf_counter() - started, _cpu_seconds(proc.pid)
            stopping = time.perf_counter()
            proc.terminate()
            proc.wait(30)
            return [up, cpu, time.perf_counter() - stopping, _children_cpu() - before]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def import_cpu(root: Path, statement: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter that runs `statement` in `root`."""
    before = _children_cpu()
    subprocess.run([sys.executable, "-c", statement], cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, check=True)
    return _children_cpu() - before


def measure(root: Path, env: dict[str, str]) -> list[float]:
    """One sample of every figure."""
    return [*start_and_stop(root, env), import_cpu(root, "import bot.cli"), import_cpu(root, RUN_IMPORTS)]


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    peer = os.environ.get("STARTUP_PEER")
    roots = [HERE] + ([Path(peer).resolve()] if peer else [])
    for root in roots:
        subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(root / p) for p in ("bot", "integrations", "prompts"))], check=False)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CHATOPS_", "SLACK_", "JIRA_", "DATABASE_URL", "OTEL_", "PROMETHEUS_"))}
    slack = FakeSlack()
    with slack, AnthropicServer() as model:
        env = {
            **base,
            "SLACK_BOT_TOKEN": FakeSlack.BOT_TOKEN,
            "SLACK_SIGNING_SECRET": FakeSlack.SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "ANTHROPIC_BASE_URL": model.url,
        }
        for root in roots:
            measure(root, env)  # warm the page cache
        samples: dict[Path, list[list[float]]] = {root: [] for root in roots}
        for _ in range(RUNS):
            for root in roots:
                samples[root].append(measure(root, env))
    print(f"   median (min–max) of {RUNS} runs; interpreter alone (`python -c pass`): {_cell([import_cpu(HERE, 'pass') for _ in range(RUNS)])}")
    print(f"   {'figure':<52} " + " | ".join(f"{str(root):<28}" for root in roots))
    for i, figure in enumerate(FIGURES):
        print(f"   {figure:<52} " + " | ".join(f"{_cell([s[i] for s in samples[root]]):<28}" for root in roots))
