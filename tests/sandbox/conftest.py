"""Fixtures for the sandbox's own tests: one ``Api`` facade over the in-process sandbox or the
real HTTP server, so the same table rows run both ways.

``api``      in-process only (fast); ``any_api`` parametrized: in-process and over real HTTP.
``catalog``  metrics ``calls`` (region filter) and ``seats``, plans ``pro`` (both charges),
             ``basic`` and ``yearly``: what the subscription and override tests subscribe to.
"""

from __future__ import annotations

from typing import Any

import pytest

from lagoform.sandbox import Sandbox
from tests.conftest import SandboxServer
from tests.sandbox.helpers import (
    Api,
    HttpApi,
    InProcessApi,
    charge_item,
    create_metric,
    create_plan,
)


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    return InProcessApi(sandbox)


@pytest.fixture(params=["in-process", "http"])
def any_api(request: pytest.FixtureRequest) -> Api:
    if request.param == "in-process":
        return InProcessApi(Sandbox(premium=True))
    server: SandboxServer = request.getfixturevalue("sandbox_server")
    return HttpApi(server)


@pytest.fixture
def catalog(any_api: Api) -> dict[str, Any]:
    calls = create_metric(any_api, "calls", filters=[{"key": "region", "values": ["eu", "us"]}])
    seats = create_metric(any_api, "seats", aggregation_type="unique_count_agg", field_name="u")
    pro = create_plan(
        any_api,
        "pro",
        charges=[
            charge_item(
                calls["lago_id"],
                properties={"amount": "1"},
                filters=[{"values": {"region": ["eu"]}, "properties": {"amount": "2"}}],
            ),
            charge_item(seats["lago_id"], properties={"amount": "5"}),
        ],
    )
    create_plan(any_api, "basic", amount_cents=500)
    create_plan(any_api, "yearly", interval="yearly", amount_cents=13000)
    return {"calls": calls, "seats": seats, "pro": pro}
