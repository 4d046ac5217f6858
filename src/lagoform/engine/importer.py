"""``lagoform import``: write catalog/ and overrides/ from a live Lago so the next plan is empty.

Reads Lago like ``plan`` does (list endpoints; the effective plan only for overridden
subscriptions), turns each object into its catalog model with the catalog's reverse conversion
(``lagoform.catalog.lago_parse``) and writes idiomatic YAML (``yaml_out``): one file per kind
under ``catalog/``, one file per customer that has a current subscription under ``overrides/``.
Overrides get placeholder ``reason``/``approval`` values — Lago does not know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lagoform.engine.live import CURRENT_STATUSES, LiveRead, read_live
from lagoform.engine.plan import ReadHints
from lagoform.errors import PlanError
from lagoform.lago.client import LagoClient

IMPORTED_REASON = "imported from Lago: state why this customer has custom pricing"
IMPORTED_APPROVAL = "unknown (imported from Lago)"
_CATALOG_FILES = (
    ("taxes", "taxes.yaml"),
    ("billable_metrics", "billable_metrics.yaml"),
    ("add_ons", "add_ons.yaml"),
    ("plans", "plans.yaml"),
    ("coupons", "coupons.yaml"),
)


@dataclass
class ImportResult:
    files: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what could not be imported, and why


def import_project(client: LagoClient, root: Path, *, force: bool = False) -> ImportResult:
    """Write ``root``/catalog and ``root``/overrides from Lago (see module doc)."""
    root = Path(root)
    existing = _existing_yaml(root)
    if existing and not force:
        listing = ", ".join(str(p.relative_to(root)) for p in existing[:5])
        raise PlanError(
            f"{root} already holds catalog YAML ({listing}); import writes a fresh catalog. "
            "Use --force to overwrite, or import into an empty directory."
        )
    first = read_live(client, ReadHints())
    customers = {
        str(s.get("external_customer_id"))
        for s in first.subscriptions
        if s.get("status") in CURRENT_STATUSES
    }
    overridden_current = {
        str(s["external_id"])
        for s in first.subscriptions
        if s.get("status") in CURRENT_STATUSES and str(s.get("lago_id")) in first.overridden
    }
    hints = ReadHints(
        tenants=tuple(sorted(customers)),
        effective_plans=tuple(sorted(overridden_current)),
        applied_coupons=False,
    )
    read = read_live(client, hints)
    documents, result = build_documents(read)
    for path in existing:
        path.unlink()
    from lagoform.catalog import dump_yaml

    for relative, data in documents.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(data))
        result.files.append(path)
    return result


def _existing_yaml(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder in ("catalog", "overrides"):
        base = root / folder
        if base.is_dir():
            out.extend(sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml")))
    return out


def build_documents(read: LiveRead) -> tuple[dict[str, Any], ImportResult]:
    """Pure: the YAML documents (relative path → data) for what ``read`` holds."""
    from lagoform.catalog import (
        Tenant,
        add_on_from_lago,
        billable_metric_from_lago,
        coupon_from_lago,
        customer_from_lago,
        overrides_from_plans,
        plan_from_lago,
        subscription_from_lago,
        tax_from_lago,
        tenant_to_yaml,
        to_yaml,
        wallet_from_lago,
    )

    result = ImportResult()
    plans = [p for p in read.plans if not p.get("pending_deletion")]
    result.skipped.extend(
        f"plan {p.get('code')}: being deleted in Lago"
        for p in read.plans
        if p.get("pending_deletion")
    )
    converters: dict[str, tuple[list[dict[str, Any]], Any]] = {
        "taxes": (read.taxes, tax_from_lago),
        "billable_metrics": (read.billable_metrics, billable_metric_from_lago),
        "add_ons": (read.add_ons, add_on_from_lago),
        "plans": (plans, plan_from_lago),
        "coupons": (
            [c for c in read.coupons if c.get("status", "active") != "terminated"],
            coupon_from_lago,
        ),
    }
    documents: dict[str, Any] = {}
    for key, filename in _CATALOG_FILES:
        items, convert = converters[key]
        models = [convert(obj) for obj in sorted(items, key=lambda o: str(o.get("code")))]
        result.counts[key] = len(models)
        if models:
            documents[f"catalog/{filename}"] = {key: [to_yaml(m) for m in models]}
    parents = {str(p["code"]): plan_from_lago(p) for p in plans}
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for sub in read.subscriptions:
        if sub.get("status") in CURRENT_STATUSES:
            by_customer.setdefault(str(sub.get("external_customer_id")), []).append(sub)
    wallets: dict[str, list[dict[str, Any]]] = {}
    for wallet in read.wallets:
        if wallet.get("status", "active") == "active":
            wallets.setdefault(str(wallet.get("external_customer_id")), []).append(wallet)
    tenants = 0
    for customer in sorted(read.customers, key=lambda c: str(c.get("external_id"))):
        tenant_id = str(customer.get("external_id"))
        subs = sorted(by_customer.get(tenant_id, []), key=lambda s: str(s.get("external_id")))
        if not subs:
            continue
        subscriptions = []
        for sub in subs:
            overrides = None
            child = read.effective_plans.get(str(sub["external_id"]))
            parent = parents.get(str(sub.get("plan_code")))
            if child is not None and parent is not None:
                overrides = overrides_from_plans(
                    parent,
                    plan_from_lago({**child, "code": parent.code}),
                    reason=IMPORTED_REASON,
                    approval=IMPORTED_APPROVAL,
                )
            subscriptions.append(subscription_from_lago(sub, overrides))
        tenant = Tenant(
            external_id=tenant_id,
            customer=customer_from_lago(customer),
            subscriptions=tuple(subscriptions),
            wallets=tuple(wallet_from_lago(w) for w in wallets.get(tenant_id, [])),
        )
        documents[f"overrides/{tenant_id}.yaml"] = tenant_to_yaml(tenant)
        tenants += 1
    result.counts["tenants"] = tenants
    return documents, result
