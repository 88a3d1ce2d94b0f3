"""Tests find the shared recordings and specs relative to the repository, so any clone passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.shared_files import REPO_ROOT, SHARED, absent_reason, require

ABSOLUTE_FILE = re.compile(r"""(Path\(\s*|open\(\s*)["']/(?!dev/|proc/|tmp/)""")
"""A file opened by an absolute path (outside the places every machine has)."""


def test_shared_is_found_beside_the_repository_root() -> None:
    assert SHARED == REPO_ROOT.parent / "shared"
    assert (REPO_ROOT / "pyproject.toml").is_file()


def test_no_test_or_benchmark_reads_a_file_by_an_absolute_path() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for folder in ("tests", "benchmarks")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ABSOLUTE_FILE.search(line)
    ]
    assert offenders == []


def test_a_missing_shared_file_skips_with_the_place_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "shared" / "corpus" / "nothing.json"
    with pytest.raises(pytest.skip.Exception) as skipped:
        require(missing)
    assert str(missing) in str(skipped.value) and "../shared/" in absent_reason(missing)
