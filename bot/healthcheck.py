"""`python -m bot.healthcheck [URL]`: the container's HEALTHCHECK. Exit 0 when GET /healthz answers 200, else 1.

Quiet on purpose: a 503 (the database is down), a refused connection or a timeout prints one short line, never a
traceback, so `docker inspect`'s health log stays readable. The URL defaults to http://127.0.0.1:3000/healthz.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

DEFAULT_URL = "http://127.0.0.1:3000/healthz"
TIMEOUT_SECONDS = 4.0


def check(url: str = DEFAULT_URL, *, timeout: float = TIMEOUT_SECONDS) -> tuple[int, str]:
    """(exit code, one line saying why)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - a fixed local URL
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, timed out, unresolvable, malformed URL
        return 1, f"unhealthy: {url}: {getattr(exc, 'reason', None) or exc}"
    if status == 200:
        return 0, "healthy"
    return 1, f"unhealthy: {url} answered {status}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: print the verdict line, return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    code, line = check(args[0] if args else DEFAULT_URL)
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
