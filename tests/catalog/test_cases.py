"""Every committed bad-input case reports exactly its expected problems, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from lagoform.catalog import load_project
from lagoform.errors import CatalogError

CASES = Path(__file__).parent / "cases"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASE_DIRS) >= 30


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name)
def test_case_reports_expected_problems(case: Path) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert expected, "a case must expect at least one problem"
    try:
        problems = list(load_project(case).warnings)  # a valid project with likely mistakes
        assert all(p.warning for p in problems)
    except CatalogError as caught:
        problems = caught.problems
    assert [str(p) for p in problems] == expected
    for problem in problems:
        assert problem.file is not None and problem.line is not None and problem.column is not None
