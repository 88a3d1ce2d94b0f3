"""Files shared beside the repository: `../shared/` (recordings in `corpus/`, vendor specs in `specs/`).

CI checks the repository out with `shared/` beside it; a plain clone has no `shared/`, and the tests that read it
skip with a reason saying where they looked. Nothing here is copied into `tests/`: our fixtures reproduce shapes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
"""`../shared/` relative to the repository root."""

CORPUS = SHARED / "corpus"
SPECS = SHARED / "specs"
JIRA_SPEC = SPECS / "jira-cloud-platform-v3.openapi.json"


def absent_reason(path: Path) -> str:
    """Why a test that needs `path` is skipped."""
    return (
        f"{path} is absent: the shared recordings and specs live in ../shared/ beside the repository "
        "(CI provides them; a plain clone does not)"
    )


def require(path: Path) -> Path:
    """`path`, or skip the calling test when it does not exist."""
    if not path.exists():
        pytest.skip(absent_reason(path))
    return path


def skip_unless(path: Path) -> pytest.MarkDecorator:
    """A mark that skips a test or module when `path` does not exist."""
    return pytest.mark.skipif(not path.exists(), reason=absent_reason(path))
