"""The fault-injection suite: each test starts the whole stack on throwaway parts, drives orders
through the service layer while one fault hits, recovers as beat and a supervisor would, and checks
the invariants (tests/faults/stack.py). Its figures are printed at the end of the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import FaultStack, Report
from tests.support import servers

REPORTS: list[Report] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.section("fault injection")
        for report in REPORTS:
            terminalreporter.write_line(report.line())


@pytest.fixture
def make_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[object]:
    if not servers.postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing on CI")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed here")
    made: list[FaultStack] = []

    def make(**kwargs: object) -> FaultStack:
        stack = FaultStack(request.node.name, tmp_path, **kwargs)  # type: ignore[arg-type]
        made.append(stack)
        return stack

    yield make
    for stack in made:
        REPORTS.append(stack.report)
        stack.close()
