"""The real recordings in `../shared/corpus/` (beside the repository; CI has them there), for replay tests.

Tests read them from there and skip, saying why, where the directory is absent (a plain clone). Nothing from
them is copied into tests/: our own fixtures reproduce their shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SLACK = CORPUS / "slack"
ABSENT = f"the recorded corpus is not beside this checkout ({CORPUS} is missing): replay tests skipped"


def slack_dir(*parts: str) -> Path:
    """A directory of the Slack corpus, or skip the test (with the reason) when it is absent."""
    path = SLACK.joinpath(*parts)
    if not path.is_dir():
        pytest.skip(ABSENT if not CORPUS.is_dir() else f"{path} is missing from the corpus")
    return path


def slack_files(*parts: str, pattern: str = "*.json") -> list[Path]:
    """Corpus files for parametrizing (empty when the corpus is absent: the test then skips via `slack_dir`)."""
    path = SLACK.joinpath(*parts)
    return sorted(path.glob(pattern)) if path.is_dir() else []


def load(path: Path) -> Any:
    """A recorded JSON document."""
    return json.loads(path.read_text())
