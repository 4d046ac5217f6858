"""Helpers for the end-to-end tests: a copy of the example project and a client to a server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx

from lagoform.catalog import load_project
from lagoform.engine.apply import ApplyReport, apply_plan
from lagoform.engine.desired import from_project
from lagoform.engine.hooks import MemoryAudit
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import Plan, build_plan, hints_for
from lagoform.engine.versions import resolve as resolve_versions
from lagoform.lago import LagoClient, RetryPolicy
from tests.conftest import SandboxServer

REPO = Path(__file__).resolve().parents[2]
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def example_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "catalog", root / "catalog")
    shutil.copytree(REPO / "overrides", root / "overrides")
    return root


def edit(root: Path, file: str, old: str, new: str, count: int = 1) -> None:
    path = root / file
    text = path.read_text()
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new))


def client_for(server: SandboxServer, retry: RetryPolicy = FAST_RETRY) -> LagoClient:
    return LagoClient(server.url, server.api_key, retry=retry, pacing=None)


def make_plan(root: Path, client: LagoClient) -> Plan:
    desired = from_project(load_project(root))
    live = fetch_live(client, hints_for(desired))
    return build_plan(resolve_versions(desired, live).desired, live, target="test")


def apply(root: Path, client: LagoClient, audit: MemoryAudit | None = None) -> ApplyReport:
    return apply_plan(make_plan(root, client), client, audit=audit or MemoryAudit())


def lago(server: SandboxServer, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A direct call to the sandbox, as someone editing in Lago's UI would."""
    response = httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def charge_ids(server: SandboxServer, plan_code: str) -> dict[str, str]:
    plan = lago(server, "GET", f"/plans/{plan_code}")["plan"]
    return {c["code"]: c["lago_id"] for c in plan["charges"]}


def changes_of(plan: Plan) -> dict[str, list[tuple[tuple[str, ...], Any, Any]]]:
    """ref -> [(path, old, new)] for every pending change."""
    return {c.ref: [(f.path, f.old, f.new) for f in c.changes] for c in plan.pending()}


class Recorder:
    """Every request a ``LagoClient`` sends, as (method, path with query, JSON body): what the
    apply really sent over the wire, to assert on."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        path = request.url.path.removeprefix("/api/v1")
        query = request.url.query.decode() if request.url.query else ""
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, f"{path}?{query}" if query else path, body))

    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] != "GET"]

    def clear(self) -> None:
        self.requests.clear()


def recording_client(server: SandboxServer) -> tuple[LagoClient, Recorder]:
    recorder = Recorder()
    client = LagoClient(
        server.url,
        server.api_key,
        retry=FAST_RETRY,
        pacing=None,
        event_hooks={"request": [recorder]},
    )
    return client, recorder


def no_charges_list(writes: list[tuple[str, str, Any]]) -> None:
    """The override trap of API_NOTES §5.4: never a ``plan_overrides.charges`` list (on an
    overridden subscription a partial one deletes the charges it leaves out)."""
    for method, path, body in writes:
        sub = (body or {}).get("subscription") or {}
        assert "charges" not in (sub.get("plan_overrides") or {}), (method, path, body)
