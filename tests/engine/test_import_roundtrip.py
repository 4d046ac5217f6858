"""Property: any catalog applied to the sandbox and imported back plans as empty.

Random catalogs (metrics with filters, plans with every common charge model, tiers, filter
prices, taxes, add-ons, coupons) → apply to the in-process sandbox → ``import`` into an empty
directory → load that project → the plan against the same sandbox has no changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagoform.catalog import load_project
from lagoform.engine.apply import apply_plan
from lagoform.engine.desired import from_project
from lagoform.engine.hooks import NullAudit
from lagoform.engine.importer import import_project
from lagoform.engine.live import fetch_live
from lagoform.engine.plan import build_plan, hints_for
from lagoform.lago import LagoClient
from lagoform.sandbox import Sandbox

PRICES = ["0", "0.5", "1", "0.000002", "12.75", "3.1415", "100"]
price = st.sampled_from(PRICES)
ZERO: dict[str, dict[str, Any]] = {
    "standard": {"amount": "0"},
    "graduated": {"tiers": [{"per_unit": "0"}]},
    "volume": {"tiers": [{"per_unit": "0"}]},
    "package": {"amount": "0", "package_size": 1},
    "percentage": {"rate": "0"},
}


@st.composite
def metrics(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        aggregation = draw(st.sampled_from(["sum", "count", "max", "unique_count"]))
        metric: dict[str, Any] = {
            "code": f"m{i}",
            "name": f"Metric {i}",
            "aggregation": aggregation,
        }
        if aggregation != "count":
            metric["field_name"] = "value"
        if draw(st.booleans()):
            metric["filters"] = {
                "region": draw(
                    st.lists(
                        st.sampled_from(["eu", "us", "apac"]), min_size=1, max_size=3, unique=True
                    )
                )
            }
        out.append(metric)
    return out


@st.composite
def properties(draw: st.DrawFn, model: str) -> dict[str, Any]:
    if model == "standard":
        return {"amount": draw(price)}
    if model in ("graduated", "volume"):
        bounds = sorted(draw(st.lists(st.integers(1, 10_000), min_size=0, max_size=2, unique=True)))
        tiers: list[dict[str, Any]] = [{"to": b, "per_unit": draw(price)} for b in bounds]
        tiers.append({"per_unit": draw(price), "flat": draw(st.sampled_from(["0", "5"]))})
        return {"tiers": tiers}
    if model == "package":
        return {
            "amount": draw(price),
            "package_size": draw(st.integers(1, 1000)),
            "free_units": draw(st.integers(0, 100)),
        }
    return {"rate": draw(st.sampled_from(["0.5", "1", "2.25"]))}


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    mets = draw(metrics())
    plans = []
    for i in range(draw(st.integers(1, 3))):
        charges = []
        priced: set[str] = set()
        for j in range(draw(st.integers(0, 3))):
            metric = draw(st.sampled_from(mets))
            model = draw(
                st.sampled_from(["standard", "graduated", "volume", "package", "percentage"])
            )
            charge: dict[str, Any] = {
                "code": f"c{j}",
                "metric": metric["code"],
                "model": model,
                # a second charge on a metric prices only its filters (else validate refuses
                # the double billing of events matching no filter)
                "properties": ZERO[model] if metric["code"] in priced else draw(properties(model)),
            }
            priced.add(metric["code"])
            values = metric.get("filters", {}).get("region", [])
            if values and draw(st.booleans()):
                charge["filters"] = [
                    {"values": {"region": value}, "properties": draw(properties(model))}
                    for value in values
                ]
            charges.append(charge)
        interval = draw(st.sampled_from(["monthly", "yearly", "quarterly", "weekly"]))
        plan: dict[str, Any] = {
            "code": f"p{i}",
            "name": f"Plan {i}",
            "interval": interval,
            "amount": f"{draw(st.integers(0, 50000))}.{draw(st.integers(0, 99)):02d} USD",
            "pay_in_advance": draw(st.booleans()),
            "charges": charges,
        }
        if draw(st.booleans()):
            plan["trial_days"] = draw(st.integers(1, 30))
        if interval == "yearly" and draw(st.booleans()):
            plan["bill_charges_monthly"] = True
        plans.append(plan)
    catalog: dict[str, Any] = {"billable_metrics": mets, "plans": plans}
    if draw(st.booleans()):
        catalog["taxes"] = [
            {"code": "vat", "name": "VAT", "rate": draw(st.sampled_from([5, 20, 7.5]))}
        ]
    if draw(st.booleans()):
        catalog["add_ons"] = [{"code": "setup", "name": "Setup", "amount": "250.00 USD"}]
    if draw(st.booleans()):
        catalog["coupons"] = [
            {
                "code": "off",
                "name": "Off",
                "type": "percentage",
                "percentage_rate": draw(st.sampled_from([10, 12.5])),
                "frequency": "once",
            }
        ]
    return catalog


def _plan_changes(root: Path, client: LagoClient) -> list[str]:
    d = from_project(load_project(root))
    p = build_plan(d, fetch_live(client, hints_for(d)))
    return [f"{c.ref}: {[f.dotted() for f in c.changes]}" for c in p.pending()]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_apply_import_plan_is_empty(catalog: dict[str, Any]) -> None:
    sandbox = Sandbox(premium=True)
    client = LagoClient("http://sandbox.invalid", "k", transport=sandbox.transport(), pacing=None)
    with tempfile.TemporaryDirectory() as tmp:
        source, imported = Path(tmp) / "source", Path(tmp) / "imported"
        (source / "catalog").mkdir(parents=True)
        (source / "catalog" / "catalog.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
        d = from_project(load_project(source))
        apply_plan(build_plan(d, fetch_live(client, hints_for(d))), client, audit=NullAudit())
        assert _plan_changes(source, client) == []
        import_project(client, imported)
        assert _plan_changes(imported, client) == []
        written = {p: p.read_bytes() for p in imported.rglob("*.yaml")}
        again = import_project(client, imported)  # into the project it wrote: nothing changes
        assert again.files == [] and again.removed == []
        assert {p: p.read_bytes() for p in imported.rglob("*.yaml")} == written
        # the imported catalog describes the same Lago as the original one
        again = from_project(load_project(imported))
        assert {k: set(v) for k, v in again.objects.items()} == {
            k: set(v) for k, v in d.objects.items()
        }
