"""Recorded answers of the real services, read from `../shared/corpus/` (and our own fixtures of the same shape in
tests/fixtures/) and served by the fakes as they were recorded (status, headers, body bytes: `Recording.raw()` for
the fake Messages API), so the real SDKs and our adapters parse the service's own bytes.

Nothing here is copied into the repository: the files are read where CI puts them (beside the clone), and tests
that need them skip with a reason where they are absent (tests/shared_files.py). A recording's `meta.json` gives
its status and headers; bodies were stored decoded, so the encoding and length headers are dropped and aiohttp
sets its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.anthropic_server import Raw
from tests.shared_files import CORPUS

ANTHROPIC = CORPUS / "anthropic"
JIRA = CORPUS / "jira"
_NOT_FORWARDED = {"content-length", "content-encoding", "transfer-encoding", "connection", "date"}
"""Headers that describe the recorded transfer, not the answer (the body is stored decoded)."""


@dataclass(frozen=True)
class Recording:
    """One recorded HTTP answer."""

    name: str
    """Path relative to the corpus set, e.g. `mirascope/model_not_found.00`."""
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_sse(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")

    def json(self) -> Any:
        return json.loads(self.body)

    def raw(self) -> Raw:
        """The answer for the fake Messages API to send exactly as recorded."""
        return Raw(self.status, self.body, dict(self.headers))

    @classmethod
    def file(cls, body: Path) -> Recording:
        """A recorded answer body (`.sse` stream or `.json` message or error), with the status and headers of its
        `meta.json` when it was recorded with one (else 200: the SDK's, the vendor's and our own fixtures)."""
        stem = body.name.rsplit(".response.", 1)[0] if ".response." in body.name else body.name.rsplit(".", 1)[0]
        meta = body.with_name(f"{stem}.meta.json")
        if meta.exists():
            response = json.loads(meta.read_text())["response"]
            status, headers = int(response["status"]), _headers(response.get("headers") or {})
        else:
            status, headers = 200, {}
        data = body.read_bytes()
        if body.suffix == ".sse":
            headers["content-type"] = "text/event-stream; charset=utf-8"
            if not meta.exists() and not data.endswith(b"\n\n"):
                # Hand-trimmed fixtures drop the blank line that ends the last event; real streams end with it
                # (corpus README), and without it an SSE reader never delivers `message_stop`.
                data = data.rstrip(b"\n") + b"\n\n"
        else:
            headers.setdefault("content-type", "application/json")
        return cls(f"{body.parent.name}/{stem}", status, data, headers)


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw.items():
        if name.lower() in _NOT_FORWARDED:
            continue
        out[name.lower()] = ", ".join(value) if isinstance(value, list) else str(value)
    return out


def anthropic_recordings() -> list[Recording]:
    """Every recorded Messages API answer (JSON, SSE, errors), in a stable order; [] when the corpus is absent."""
    return [
        Recording.file(body)
        for body in sorted(ANTHROPIC.glob("*/*"))
        if body.suffix in (".json", ".sse") and not body.name.endswith((".meta.json", ".request.json", ".snapshot.json"))
    ]


def jira_file(relative: str) -> Any:
    """A recorded Jira JSON body (path relative to corpus/jira)."""
    return json.loads((JIRA / relative).read_text(encoding="utf-8"))


def corpus_present(path: Path = CORPUS) -> bool:
    return path.is_dir()
