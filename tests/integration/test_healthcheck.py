"""The container HEALTHCHECK (`python -m bot.healthcheck`): exit 0 on 200, exit 1 quietly on anything else."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer

ROOT = Path(__file__).resolve().parents[2]


class Health(FakeServer):
    """Answers GET /healthz with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def build_app(self) -> web.Application:
        app = web.Application()

        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"ok": self.status == 200}, status=self.status)

        app.router.add_get("/healthz", healthz)
        return app


@pytest.fixture(params=[200, 503])
def health(request: pytest.FixtureRequest) -> Iterator[Health]:
    with Health(request.param) as server:
        yield server


def run_check(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.healthcheck", url], cwd=ROOT, capture_output=True, text=True, timeout=30)


def test_200_is_healthy_and_anything_else_exits_1_without_a_traceback(health: Health) -> None:
    done = run_check(f"{health.url}/healthz")

    assert done.returncode == (0 if health.status == 200 else 1)
    assert "Traceback" not in done.stderr + done.stdout
    if health.status != 200:
        assert done.stderr.strip() == f"unhealthy: {health.url}/healthz answered 503"


def test_a_refused_connection_exits_1_with_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket is closed
    done = run_check(f"http://127.0.0.1:{port}/healthz")

    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
