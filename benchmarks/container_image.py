"""The container image, before and after (issue #12): built with buildah, run with podman, no Docker daemon.

Builds the Dockerfile at a git revision ("before", default the one before the image fixes) and the current
Dockerfile ("after") from the current source, then prints for each image:
- image size, its part above the base image, the venv's size, bytecode files, pip/setuptools in the venv;
- time from `podman start` to the first 200 from GET /healthz, and the CPU the container's processes used by
  then (from /proc), median and range of N starts, the two images alternating;
- checks: the configured USER and the uid:gid the bot runs as (non-root), /data writable, the HEALTHCHECK kept in
  the image (needs `--format docker`) and `podman healthcheck run` green, the image's own HEALTHCHECK command on
  a 503 and on a refused connection (exit code, lines printed, traceback or not), Bolt's "token ... will be
  unused" warning in the start log, exit code on `podman stop`.

Not part of `python -m benchmarks` (it builds two images: minutes of CPU, root, buildah and podman). Run as root:

    python -m benchmarks.container_image [--starts 5] [--before-rev c51b8e0^] [--no-build]

The bot runs with `--network host` on 127.0.0.1:3000 (the port the HEALTHCHECK asks), which must be free. Its
Slack and model URLs point at a closed local port: start-up needs neither. Without registry access, make a
stand-in for `python:3.11-slim` first from Debian's packages (debootstrap + buildah; see docs/benchmarks.md):

    python -m benchmarks.container_image --make-base /var/tmp/chatops-base
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "python:3.11-slim"
PORT = 3000
HEALTHZ = f"http://127.0.0.1:{PORT}/healthz"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-0-image-bench",
    "SLACK_SIGNING_SECRET": "image-bench-signing-secret",
    "SLACK_API_URL": f"{CLOSED}/api/",
    "ANTHROPIC_API_KEY": "sk-ant-image-bench",
    "ANTHROPIC_BASE_URL": CLOSED,
    "CHATOPS_ADMINS": "U0BENCH",
}
TOKEN_WARNING = "will be unused"


def sh(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command, text output captured."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr.strip()}")
    return proc


# --- the stand-in base image ---------------------------------------------------------------------------------

def make_base(rootfs: Path) -> None:
    """debootstrap a bookworm minbase with python3.11, venv and pip, shaped like python:3.11-slim where the
    Dockerfile relies on it (`python` and `pip` on PATH, no stdlib bytecode, no EXTERNALLY-MANAGED), and commit it
    as localhost/python:3.11-slim. Debian's python lives in /usr/lib/python3.11, the official one's in
    /usr/local/lib/python3.11: the Dockerfile asks sysconfig for the path."""
    if not (rootfs / "usr/bin/python3").exists():
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,python3-pip,ca-certificates",
                        "bookworm", str(rootfs), "http://deb.debian.org/debian"], check=True)
    script = """
set -e
rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* usr/share/doc/* usr/share/man/* \
       usr/share/locale/* usr/share/info/*
rm -f usr/lib/python3.11/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 usr/local/bin/python
ln -sf /usr/bin/pip3 usr/local/bin/pip
cp /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-certificates.crt
find usr/lib/python3.11 usr/lib/python3 -name __pycache__ -type d -prune -exec rm -rf {} +
"""
    subprocess.run(["sh", "-c", script], cwd=rootfs, check=True)
    ctr = sh("buildah", "from", "scratch").stdout.strip()
    sh("buildah", "copy", ctr, str(rootfs), "/", timeout=600)
    sh("buildah", "config", "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
       "--env", "LANG=C.UTF-8", "--cmd", "python3", ctr)
    sh("buildah", "commit", "--rm", ctr, f"localhost/{BASE}", timeout=600)
    print(f"localhost/{BASE}: {image_size(f'localhost/{BASE}') / 1e6:.0f} MB")


# --- building and inspecting ---------------------------------------------------------------------------------

def build(tag: str, dockerfile: Path) -> float:
    """`buildah bud --format docker` from the repo; wall seconds."""
    started = time.perf_counter()
    proc = subprocess.run(["buildah", "bud", "--format", "docker", "--pull=never", "--network", "host", "--layers",
                           "-f", str(dockerfile), "-t", tag, str(ROOT)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build of {tag} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    for line in proc.stdout.splitlines() + proc.stderr.splitlines():
        if "warning" in line.lower():
            print(f"   {tag} build: {line.strip()}")
    return time.perf_counter() - started


def inspect(image: str) -> dict[str, object]:
    return dict(json.loads(sh("podman", "image", "inspect", image).stdout)[0])


def image_size(image: str) -> int:
    return int(str(inspect(image)["Size"]))


def in_image(image: str, script: str) -> str:
    return sh("podman", "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", image, "-c", script).stdout


VENV_FIGURES = r"""
cd /opt/venv
echo venv_kib $(du -sk . | cut -f1)
echo pyc $(find . -name '*.pyc' | wc -l) $(find . -name '*.pyc' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
echo py $(find . -name '*.py' | wc -l)
echo stdlib_pyc $(find "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" -name '*.pyc' | wc -l)
echo tooling $(ls lib/python3*/site-packages | grep -E '^(pip|setuptools|pkg_resources|_distutils_hack)$' | tr '\n' ' ')
"""


# --- running -------------------------------------------------------------------------------------------------

def proc_tree_cpu(pid: int) -> float:
    """User + system seconds of pid and its descendants (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def healthz_status() -> int | None:
    try:
        with urllib.request.urlopen(HEALTHZ, timeout=0.5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class Start:
    seconds: float
    cpu: float
    checks: dict[str, str] = field(default_factory=dict)


def start_once(image: str, name: str, checks: bool) -> Start:
    """Create a container, start it, poll /healthz until 200; with checks, look at it while it runs."""
    env = [a for k, v in ENV.items() for a in ("-e", f"{k}={v}")]
    sh("podman", "rm", "-f", "-v", name, check=False)
    sh("podman", "create", "--name", name, "--network", "host", *env, image,
       "chatops", "run", "--http", "--host", "127.0.0.1", "--port", str(PORT))
    started = time.perf_counter()
    sh("podman", "start", name)
    pid = int(sh("podman", "inspect", "--format", "{{.State.Pid}}", name).stdout.strip())
    while healthz_status() != 200:
        if time.perf_counter() - started > 180:
            raise SystemExit(f"{image}: no 200 from /healthz in 180 s\n{sh('podman', 'logs', name).stderr[-3000:]}")
        time.sleep(0.02)
    result = Start(time.perf_counter() - started, proc_tree_cpu(pid))
    if checks:
        c = result.checks
        c["USER"] = sh("podman", "inspect", "--format", "{{.Config.User}}", name).stdout.strip()
        c["runs as uid:gid"] = ":".join(sh("podman", "exec", name, "id", flag).stdout.strip() for flag in ("-u", "-g"))
        probe = sh("podman", "exec", name, "sh", "-c", "touch /data/.probe && rm /data/.probe", check=False)
        c["/data writable"] = "yes" if probe.returncode == 0 else f"no: {probe.stderr.strip()}"
        health = sh("podman", "healthcheck", "run", name, check=False)
        c["podman healthcheck run (bot up)"] = f"exit {health.returncode} {health.stdout.strip()}".strip()
    sh("podman", "stop", "-t", "30", name, timeout=60)
    if checks:
        logs = sh("podman", "logs", name)
        log = logs.stdout + logs.stderr
        result.checks["Bolt 'token ... unused' warning"] = "yes" if TOKEN_WARNING in log else "no"
        result.checks["tracebacks in the log"] = str(log.count("Traceback"))
        result.checks["exit code on podman stop"] = sh("podman", "inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    sh("podman", "rm", "-v", name)
    return result


def _podman_noise(line: str) -> bool:
    """podman's own log lines (e.g. no systemd for health-check timers), not the container's output."""
    return line.startswith('time="') and " level=" in line


class _Unavailable(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"database": "down"}')

    def log_message(self, *args: object) -> None:
        pass


def healthcheck_verdicts(image: str) -> dict[str, str]:
    """The image's own HEALTHCHECK command, run in a one-off container, against a 503 and a refused port."""
    health = inspect(image).get("Healthcheck")
    if not isinstance(health, dict) or not health.get("Test"):
        return {"HEALTHCHECK in the image": "none (built without --format docker?)"}
    test = list(health["Test"])
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    verdicts = {"HEALTHCHECK in the image": " ".join(command)[:90]}

    def run(label: str) -> None:
        proc = sh("podman", "run", "--rm", "--network", "host", image, *command, check=False)
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if not _podman_noise(line)]
        out = "\n".join(lines)
        verdicts[f"HEALTHCHECK on {label}"] = (f"exit {proc.returncode}, {len(lines)} line(s)"
                                               + (", traceback" if "Traceback" in out else f": {lines[-1] if lines else ''}"))

    run("refused")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run("503")
    finally:
        server.shutdown()
        server.server_close()
    return verdicts


# --- the report ----------------------------------------------------------------------------------------------

def figures(starts: list[Start]) -> str:
    secs = [s.seconds for s in starts]
    cpus = [s.cpu for s in starts]
    return (f"{statistics.median(secs):.2f} s (range {min(secs):.2f}-{max(secs):.2f}), "
            f"CPU {statistics.median(cpus):.2f} s (range {min(cpus):.2f}-{max(cpus):.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.container_image")
    parser.add_argument("--starts", type=int, default=5, help="starts per image (median and range)")
    parser.add_argument("--before-rev", default="c51b8e0^", help="git revision of the 'before' Dockerfile")
    parser.add_argument("--no-build", action="store_true", help="measure localhost/chatops:before/after as they are")
    parser.add_argument("--make-base", type=Path, metavar="ROOTFS", help=f"only make the stand-in localhost/{BASE}")
    args = parser.parse_args(argv)
    if args.make_base:
        make_base(args.make_base)
        return 0
    if healthz_status() is not None:
        raise SystemExit(f"something already answers {HEALTHZ}: port {PORT} must be free")
    images = {"before": "localhost/chatops:before", "after": "localhost/chatops:after"}
    if not args.no_build:
        with tempfile.TemporaryDirectory() as tmp:
            before = Path(tmp) / "Dockerfile.before"
            before.write_text(sh("git", "-C", str(ROOT), "show", f"{args.before_rev}:Dockerfile").stdout)
            for label, dockerfile in (("before", before), ("after", ROOT / "Dockerfile")):
                print(f"built {label} in {build(images[label], dockerfile):.0f} s")
    base = image_size(BASE)
    print(f"base {BASE}: {base / 1e6:.0f} MB ({inspect(BASE).get('Id', '')!s:.12})")
    for label, image in images.items():
        size = image_size(image)
        venv = {k: v for k, _, v in (line.partition(" ") for line in in_image(image, VENV_FIGURES).splitlines())}
        pyc_count, pyc_bytes = venv["pyc"].split()
        print(f"{label:6} image {size / 1e6:.0f} MB (+{(size - base) / 1e6:.0f} MB over the base), "
              f"venv {int(venv['venv_kib']) / 1024:.0f} MiB, {pyc_count} .pyc ({int(pyc_bytes) / 2**20:.0f} MiB) "
              f"for {venv['py']} .py, stdlib .pyc {venv['stdlib_pyc']}, pip/setuptools: {venv['tooling'] or 'none'}")
    runs: dict[str, list[Start]] = {label: [] for label in images}
    for i in range(args.starts):  # alternate, so both images see the same machine
        for label, image in images.items():
            runs[label].append(start_once(image, f"chatops-bench-{label}", checks=i == 0))
    for label, image in images.items():
        print(f"{label:6} podman start -> /healthz 200: {figures(runs[label])}, {args.starts} starts")
        for key, value in {**runs[label][0].checks, **healthcheck_verdicts(image)}.items():
            print(f"       {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
