"""The sandbox over real HTTP: health, auth, a write and a read."""

from __future__ import annotations

import httpx

from tests.conftest import SandboxServer


def test_server_health_auth_and_roundtrip(sandbox_server: SandboxServer) -> None:
    assert httpx.get(f"{sandbox_server.url}/health").json()["message"] == "Success"
    unauthorized = httpx.get(f"{sandbox_server.url}/api/v1/taxes")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"status": 401, "error": "Unauthorized"}
    wrong = httpx.get(
        f"{sandbox_server.url}/api/v1/taxes", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    headers = {"Authorization": f"Bearer {sandbox_server.api_key}"}
    created = httpx.post(
        f"{sandbox_server.url}/api/v1/taxes",
        json={"tax": {"name": "VAT", "code": "vat", "rate": "20"}},
        headers=headers,
    )
    assert created.status_code == 200
    listed = httpx.get(f"{sandbox_server.url}/api/v1/taxes", headers=headers).json()
    assert [t["code"] for t in listed["taxes"]] == ["vat"]
