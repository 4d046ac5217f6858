"""The OpenAPI contract harness: it catches real differences and waives only listed ones."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from lagoform.errors import LagoError
from lagoform.lago import NO_RETRY, LagoClient
from tests.openapi_contract import SPEC_EXCEPTIONS, Contract, load_spec, spec_path

METRIC_ID = "1a901a90-1a90-1a90-1a90-1a901a901a90"
PLAN: dict[str, Any] = {
    "lago_id": METRIC_ID,
    "name": "Pro",
    "code": "pro",
    "interval": "monthly",
    "amount_cents": 100,
    "amount_currency": "USD",
    "created_at": "2026-01-01T00:00:00Z",
    "pay_in_advance": True,
    "charges": [],
}


@pytest.fixture(scope="module")
def checker_api() -> Any:
    if not spec_path().is_file():
        pytest.skip(f"Lago's OpenAPI spec not found at {spec_path()}")
    return load_spec(spec_path())


def exchange(api: Any, handler: Any, call: Any) -> Contract:
    contract = Contract(lambda: api)
    client = LagoClient(
        "http://sandbox.test",
        "lago_contract_key",
        transport=contract.wrap(httpx.MockTransport(handler)),
        pacing=None,
        retry=NO_RETRY,
    )
    with contextlib.suppress(LagoError):  # error answers are checked too
        call(client)
    return contract


def test_conforming_exchange_is_clean(checker_api: Any) -> None:
    contract = exchange(
        checker_api,
        lambda r: httpx.Response(200, json={"plan": PLAN}),
        lambda c: c.create_plan(
            {
                "name": "Pro",
                "code": "pro",
                "interval": "monthly",
                "amount_cents": 100,
                "amount_currency": "USD",
                "pay_in_advance": True,
            }
        ),
    )
    assert contract.exchanges == 1
    assert contract.violations == []


def test_bad_response_body_is_caught_with_its_location(checker_api: Any) -> None:
    broken = {**PLAN, "amount_cents": "100"}
    contract = exchange(
        checker_api,
        lambda r: httpx.Response(200, json={"plan": broken}),
        lambda c: c.get_plan("pro"),
    )
    assert [(v.side, v.where) for v in contract.violations] == [
        ("response", "body.plan.amount_cents")
    ]
    assert "is not of type 'integer'" in contract.violations[0].message


def test_bad_request_body_is_caught(checker_api: Any) -> None:
    contract = exchange(
        checker_api,
        lambda r: httpx.Response(200, json={"plan": PLAN}),
        lambda c: c.create_plan(
            {
                "name": "Pro",
                "code": "pro",
                "interval": "fortnightly",
                "amount_cents": 100,
                "amount_currency": "USD",
                "pay_in_advance": True,
            }
        ),
    )
    sides = {(v.side, v.where) for v in contract.violations}
    assert ("request", "body.plan.interval") in sides


def test_undocumented_status_and_path(checker_api: Any) -> None:
    contract = exchange(
        checker_api, lambda r: httpx.Response(418, json={}), lambda c: c.get("/plans/pro")
    )
    assert any(v.where == "body" and "ResponseNotFound" in v.message for v in contract.violations)
    contract = exchange(
        checker_api, lambda r: httpx.Response(200, json={}), lambda c: c.get("/no_such_thing")
    )
    assert any("PathNotFound" in v.message for v in contract.violations)


def test_listed_exceptions_are_waived_and_counted(checker_api: Any) -> None:
    metric = {
        "lago_id": METRIC_ID,
        "name": "Custom",
        "code": "custom",
        "aggregation_type": "custom_agg",
        "created_at": "2026-01-01T00:00:00Z",
        "recurring": False,
        "filters": [],
    }
    contract = exchange(
        checker_api,
        lambda r: httpx.Response(200, json={"billable_metric": metric}),
        lambda c: c.create_billable_metric(
            {"name": "Custom", "code": "custom", "aggregation_type": "custom_agg"}
        ),
    )
    assert contract.violations == []
    assert contract.waived["custom_agg"] >= 1
    contract = exchange(
        checker_api, lambda r: httpx.Response(503, text="busy"), lambda c: c.get_plan("pro")
    )
    assert contract.violations == []
    assert contract.waived["rate_limit_and_gateway_statuses"] >= 1


def test_every_exception_has_a_reason() -> None:
    names = [x.name for x in SPEC_EXCEPTIONS]
    assert len(names) == len(set(names))
    assert all(len(x.reason) > 30 for x in SPEC_EXCEPTIONS)


def test_without_the_spec_contract_fixtures_skip_with_a_reason(tmp_path: Any) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LAGO_OPENAPI_SPEC": str(tmp_path / "missing.yaml")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/lago/test_contract_sandbox.py::test_contract_in_process",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "OpenAPI spec not found" in done.stdout and "LAGO_OPENAPI_SPEC" in done.stdout
