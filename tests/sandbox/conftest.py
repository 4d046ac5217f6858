"""Fixtures for the sandbox's own tests: one ``Api`` facade over the in-process sandbox or the
real HTTP server, so the same table rows run both ways.

``api``      in-process only (fast); ``any_api`` parametrized: in-process and over real HTTP.
"""

from __future__ import annotations

import pytest

from lagoform.sandbox import Sandbox
from tests.conftest import SandboxServer
from tests.sandbox.helpers import Api, HttpApi, InProcessApi


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    return InProcessApi(sandbox)


@pytest.fixture(params=["in-process", "http"])
def any_api(request: pytest.FixtureRequest) -> Api:
    if request.param == "in-process":
        return InProcessApi(Sandbox(premium=True))
    server: SandboxServer = request.getfixturevalue("sandbox_server")
    return HttpApi(server)
