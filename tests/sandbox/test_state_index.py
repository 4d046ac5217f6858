"""The external-id index of the sandbox's state answers exactly what a scan would."""

from __future__ import annotations

from lagoform.sandbox.state import State


def _customer(lago_id: str, external_id: str, deleted: bool = False) -> dict[str, object]:
    return {"lago_id": lago_id, "external_id": external_id, "deleted_at": 1.0 if deleted else None}


def test_lookups_follow_additions_deletions_and_in_place_changes() -> None:
    state = State()
    state.customers = {f"c{i}": _customer(f"c{i}", f"ext-{i}") for i in range(1000)}
    assert state.customer_by_external_id("ext-500") is state.customers["c500"]
    assert state.customer_by_external_id("nobody") is None
    # a deleted customer and a new one with the same external id: the live one answers
    state.customers["c500"]["deleted_at"] = 2.0
    state.customers["c1000"] = _customer("c1000", "ext-500")
    assert state.customer_by_external_id("ext-500") is state.customers["c1000"]
    # a record changed in place (the sandbox never does this, the index must not care)
    state.customers["c7"]["external_id"] = "renamed"
    assert state.customer_by_external_id("renamed") is state.customers["c7"]
    assert state.customer_by_external_id("ext-7") is None
    assert [r["lago_id"] for r in state.with_external_id("customers", "ext-500")] == [
        "c500",
        "c1000",
    ]  # insertion order, deleted ones included: callers choose
