"""``lagoform import``: write catalog/ and overrides/ from a live Lago so the next plan is empty.

Reads Lago like ``plan`` does (list endpoints; the effective plan only for overridden
subscriptions) and turns each object into its catalog model with the catalog's reverse
conversion (``lagoform.catalog.lago_parse``).

Into an empty directory (or with ``--force``) it writes idiomatic YAML (``yaml_out``): one file
per kind under ``catalog/``, one file per customer that has a current subscription under
``overrides/``, a plan that equals another plus a few fields as its variant (``extends``).

Into an existing project it keeps what Lago cannot tell (``import_merge``): the files, their
comments and layout, usage mappings, ``usage_target``, ``cascade_updates``, variants, and the
overrides' ``reason``/``approval``; only values Lago holds differently are rewritten. Overrides
list only what they change (a filter equal to the plan's is not written); new ones get
placeholder ``reason``/``approval`` values — Lago does not know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lagoform.engine.live import CURRENT_STATUSES, LiveRead, read_live
from lagoform.engine.plan import ReadHints
from lagoform.errors import CatalogError, PlanError
from lagoform.lago.client import LagoClient

if TYPE_CHECKING:
    from lagoform.catalog import BillingPlan, Project, Tenant

IMPORTED_REASON = "imported from Lago: state why this customer has custom pricing"
IMPORTED_APPROVAL = "unknown (imported from Lago)"
CATALOG_FILES = (
    ("taxes", "taxes.yaml"),
    ("billable_metrics", "billable_metrics.yaml"),
    ("add_ons", "add_ons.yaml"),
    ("plans", "plans.yaml"),
    ("coupons", "coupons.yaml"),
)


@dataclass
class ImportResult:
    files: list[Path] = field(default_factory=list)  # written (created or changed)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what could not be imported, and why
    kept: list[Path] = field(default_factory=list)  # existing files left as they were
    removed: list[Path] = field(default_factory=list)  # existing files Lago has nothing for
    notes: list[str] = field(default_factory=list)  # what changed in a kept project


@dataclass
class Imported:
    """Lago's state as catalog models: per catalog kind (YAML key) by code, and tenants."""

    catalog: dict[str, dict[str, Any]]
    tenants: dict[str, Tenant]
    customers: set[str]  # every customer Lago has (with or without a subscription)


def import_project(client: LagoClient, root: Path, *, force: bool = False) -> ImportResult:
    """Write ``root``/catalog and ``root``/overrides from Lago (see module doc)."""
    from lagoform.catalog import dump_yaml, load_project
    from lagoform.engine.import_merge import merge_project

    root = Path(root)
    existing = _existing_yaml(root)
    # what the files say (and what Lago cannot), before anything is read or written
    project = None
    if existing and not force:
        try:
            project = load_project(root)
        except CatalogError as err:
            raise PlanError(
                f"{root} holds a project that does not validate; import keeps what it says, so "
                "fix it first, or use --force to discard it and import afresh.\n"
                f"{err}"
            ) from None
    read = _read(client, project)
    if project is not None:
        lago = imported_models(read, project)
        result = merge_project(project, lago, root)
        done = {*result.files, *result.removed}
        result.kept = [path for path in existing if path not in done]
        result.skipped.extend(override_notes(read, lago))
        return result
    documents, result = build_documents(read)
    for path in existing:
        path.unlink()
    for relative, data in documents.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(data))
        result.files.append(path)
    return result


def _read(client: LagoClient, project: Project | None) -> LiveRead:
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
        # an existing tenant file keeps its wallets even when no subscription is current
        tenants=tuple(
            sorted(customers | {t.external_id for t in project.tenants} if project else customers)
        ),
        effective_plans=tuple(sorted(overridden_current)),
        applied_coupons=False,
    )
    return read_live(client, hints)


def _existing_yaml(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder in ("catalog", "overrides"):
        base = root / folder
        if base.is_dir():
            out.extend(sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml")))
    return out


def imported_models(read: LiveRead, project: Project | None = None) -> Imported:
    """Lago's objects as catalog models. With ``project`` (the files as they are), a tenant it
    describes is read back even without a current subscription, and each subscription's
    overrides keep what the file wrote while it still holds (reason, approval, values)."""
    from lagoform.catalog import (
        add_on_from_lago,
        billable_metric_from_lago,
        coupon_from_lago,
        plan_from_lago,
        tax_from_lago,
    )

    converters: dict[str, tuple[list[dict[str, Any]], Any]] = {
        "taxes": (read.taxes, tax_from_lago),
        "billable_metrics": (read.billable_metrics, billable_metric_from_lago),
        "add_ons": (read.add_ons, add_on_from_lago),
        "plans": ([p for p in read.plans if not p.get("pending_deletion")], plan_from_lago),
        "coupons": (
            [c for c in read.coupons if c.get("status", "active") != "terminated"],
            coupon_from_lago,
        ),
    }
    catalog = {
        key: {
            str(obj.get("code")): convert(obj)
            for obj in sorted(items, key=lambda o: str(o.get("code")))
        }
        for key, (items, convert) in converters.items()
    }
    if project is not None:
        catalog["plans"] = {
            code: _carried(plan, project.catalog.plan(code))
            for code, plan in catalog["plans"].items()
        }
    tenants = _tenants(read, catalog["plans"], project)
    return Imported(catalog, tenants, {str(c.get("external_id")) for c in read.customers})


def _carried(lago: BillingPlan, written: BillingPlan | None) -> BillingPlan:
    """Lago's plan with what only the project knows carried over: ``cascade_updates``,
    ``extends``, and the units (``per:``) its prices are written in."""
    from lagoform.catalog import with_units

    if written is None:
        return lago
    charges = tuple(with_units(c, written.charge(c.code)) for c in lago.charges)
    return lago.model_copy(
        update={
            "cascade_updates": written.cascade_updates,
            "extends": written.extends,
            "charges": charges,
        }
    )


def _tenants(
    read: LiveRead, parents: dict[str, BillingPlan], project: Project | None
) -> dict[str, Tenant]:
    from lagoform.catalog import (
        Tenant,
        customer_from_lago,
        overrides_from_plans,
        plan_from_lago,
        subscription_from_lago,
        wallet_from_lago,
    )

    by_customer: dict[str, list[dict[str, Any]]] = {}
    for sub in read.subscriptions:
        if sub.get("status") in CURRENT_STATUSES:
            by_customer.setdefault(str(sub.get("external_customer_id")), []).append(sub)
    wallets: dict[str, list[dict[str, Any]]] = {}
    for wallet in read.wallets:
        if wallet.get("status", "active") == "active":
            wallets.setdefault(str(wallet.get("external_customer_id")), []).append(wallet)
    out: dict[str, Tenant] = {}
    for customer in sorted(read.customers, key=lambda c: str(c.get("external_id"))):
        tenant_id = str(customer.get("external_id"))
        old = project.tenant(tenant_id) if project is not None else None
        subs = sorted(by_customer.get(tenant_id, []), key=lambda s: str(s.get("external_id")))
        if not subs and old is None:
            continue
        subscriptions = []
        for sub in subs:
            external_id = str(sub["external_id"])
            mine = old.subscription(external_id) if old is not None else None
            written = (
                mine.overrides if mine is not None and mine.plan == sub.get("plan_code") else None
            )
            overrides = None
            child = read.effective_plans.get(external_id)
            parent = parents.get(str(sub.get("plan_code")))
            if child is not None and parent is not None:
                overrides = overrides_from_plans(
                    parent,
                    plan_from_lago({**child, "code": parent.code}),
                    reason=written.reason if written else IMPORTED_REASON,
                    approval=written.approval if written else IMPORTED_APPROVAL,
                    written=written,
                )
            model = subscription_from_lago(sub, overrides)
            if mine is not None and mine.usage_target:  # lagoform's, not Lago's
                model = model.model_copy(update={"usage_target": True})
            if mine is not None and mine.start_date is None:
                # unstated: "start when created", which Lago did; the plan compares no date
                model = model.model_copy(update={"start_date": None})
            subscriptions.append(model)
        lago_customer = customer_from_lago(customer)
        lago_wallets = [wallet_from_lago(w) for w in wallets.get(tenant_id, [])]
        if old is not None:  # what the file leaves unset, Lago's values do not fill in
            lago_customer = _unset_like(lago_customer, old.customer)
            by_code = {w.code: w for w in old.wallets}
            lago_wallets = [_unset_like(w, by_code.get(w.code)) for w in lago_wallets]
        out[tenant_id] = Tenant(
            external_id=tenant_id,
            customer=lago_customer,
            subscriptions=tuple(subscriptions),
            wallets=tuple(lago_wallets),
        )
    return out


def _unset_like(lago: Any, written: Any) -> Any:
    """``lago`` with the optional fields ``written`` leaves unset left unset too: lagoform
    sends only what a tenant file writes (customer, wallets), the rest is managed elsewhere."""
    if written is None:
        return lago
    unset = {
        name: None
        for name, field in type(lago).model_fields.items()
        if not field.is_required() and getattr(written, name) is None
    }
    return lago.model_copy(update=unset)


def override_notes(read: LiveRead, imported: Imported) -> list[str]:
    """What a subscription's copy holds that overrides cannot say (see ``override_gaps``)."""
    from lagoform.catalog import override_gaps, plan_from_lago

    notes: list[str] = []
    for tenant in imported.tenants.values():
        for sub in tenant.subscriptions:
            child = read.effective_plans.get(sub.external_id)
            parent = imported.catalog["plans"].get(sub.plan)
            if child is None or parent is None:
                continue
            copy = plan_from_lago({**child, "code": parent.code})
            notes.extend(
                f"subscription {sub.external_id}: {gap} (the next plan shows it)"
                for gap in override_gaps(parent, copy)
            )
    return notes


def build_documents(read: LiveRead) -> tuple[dict[str, Any], ImportResult]:
    """Pure: the YAML documents (relative path → data) for what ``read`` holds."""
    from lagoform.catalog import plans_to_yaml, tenant_to_yaml, to_yaml

    result = ImportResult()
    result.skipped.extend(
        f"plan {p.get('code')}: being deleted in Lago"
        for p in read.plans
        if p.get("pending_deletion")
    )
    imported = imported_models(read)
    result.skipped.extend(override_notes(read, imported))
    documents: dict[str, Any] = {}
    for key, filename in CATALOG_FILES:
        models = list(imported.catalog[key].values())
        result.counts[key] = len(models)
        if models:
            items = plans_to_yaml(models) if key == "plans" else [to_yaml(m) for m in models]
            documents[f"catalog/{filename}"] = {key: items}
    for tenant_id, tenant in imported.tenants.items():
        documents[f"overrides/{tenant_id}.yaml"] = tenant_to_yaml(tenant)
    result.counts["tenants"] = len(imported.tenants)
    return documents, result
