"""Desired state: the catalog's Lago request bodies in the comparison form.

``desired_state`` is pure and takes Lago-shaped request bodies per kind (what
``lagoform.catalog.lago_form`` produces; plan charges carry ``billable_metric_code``, resolved to
an id only at apply time). ``from_project`` feeds it a loaded ``Project``. Both go through the
same normalizers as live state (``normal.py``), so equal means "Lago would hold the same".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from lagoform.engine.live import wallet_key
from lagoform.engine.retire import retire
from lagoform.errors import CatalogError, Problem
from lagoform.model import forms
from lagoform.model.forms import charge_code
from lagoform.model.state import KINDS, REMOVABLE, DesiredObject, DesiredState, Kind, fingerprint
from lagoform.model.values import Normal

if TYPE_CHECKING:
    from lagoform.catalog.project import Project

Body = dict[str, Any]


def key_of(kind: Kind, body: Mapping[str, Any]) -> str:
    if kind in ("customer", "subscription"):
        return str(body.get("external_id") or "")
    if kind == "wallet":
        return wallet_key(body)
    return str(body.get("code") or "")


def desired_state(
    bodies: Mapping[Kind, Iterable[Mapping[str, Any]]],
    remove: Mapping[str, Iterable[str]] | None = None,
    meta: Mapping[str, Mapping[str, Any]] | None = None,
) -> DesiredState:
    """Build the desired state from Lago request bodies per kind.

    ``remove`` uses the YAML names (``plans``, ``billable_metrics`` ...). A key given twice for
    one kind is a catalog error (the loader should have caught it; never guess which wins).
    ``meta`` (by ``"kind:key"``) holds what Lago never sees: a subscription's override
    ``reason`` and ``approval``. A subscription body carrying ``plan_overrides`` (even empty)
    states ``overrides:`` in YAML.
    """
    objects: dict[Kind, dict[str, DesiredObject]] = {kind: {} for kind in KINDS}
    problems: list[Problem] = []
    plan_models: dict[str, dict[str, str | None]] = {}
    for body in bodies.get("plan", ()):
        plan_models[str(body.get("code"))] = {
            charge_code(c): c.get("charge_model") for c in body.get("charges") or []
        }
    for kind in KINDS:
        for body in bodies.get(kind, ()):
            key = key_of(kind, body)
            if not key:
                problems.append(Problem(f"{kind} without a code or external_id"))
                continue
            if key in objects[kind]:
                problems.append(Problem(f"{kind} {key!r} is defined more than once"))
                continue
            objects[kind][key] = DesiredObject(
                kind=kind,
                key=key,
                normal=normal_of(kind, body, plan_models),
                body=dict(body),
                cascade_updates=bool(body.get("cascade_updates")) if kind == "plan" else False,
                meta=dict((meta or {}).get(f"{kind}:{key}") or {}),
            )
    removal: dict[Kind, frozenset[str]] = {}
    for name, codes in (remove or {}).items():
        removable = REMOVABLE.get(name)
        if removable is None:
            problems.append(Problem(f"remove.{name}: lagoform cannot delete {name}"))
            continue
        removal[removable] = frozenset(codes)
        for code in sorted(removal[removable] & set(objects[removable])):
            problems.append(
                Problem(f"{removable} {code!r} is both defined and listed under remove")
            )
    if problems:
        raise CatalogError(problems)
    fp = fingerprint(
        [
            {kind: {k: o.body for k, o in sorted(objs.items())} for kind, objs in objects.items()},
            {kind: sorted(codes) for kind, codes in removal.items()},
            {ref: dict(m) for ref, m in sorted((meta or {}).items())},
        ]
    )
    return DesiredState(objects=objects, remove=removal, fingerprint=fp)


def normal_of(
    kind: Kind, body: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]
) -> Normal:
    """The comparison form of one request body (``models``: plan code → charge code → model,
    used to read a subscription's override properties)."""
    norm = forms.NORMALIZERS[kind](body)
    if kind == "subscription" and body.get("plan_overrides"):
        plan_models = models.get(str(body.get("plan_code")), {})
        overrides = forms.plan_overrides(body["plan_overrides"], plan_models)
        if overrides:
            norm["overrides"] = overrides
    return norm


def from_project(project: Project) -> DesiredState:
    """The desired state of a loaded, validated project (catalog + overrides)."""
    from lagoform.catalog import lago_form
    from lagoform.engine.versions import subscription_options

    catalog = project.catalog
    plans = {p.code: p for p in catalog.plans}
    subscriptions: list[Body] = []
    meta: dict[str, dict[str, Any]] = {}
    for tenant, sub in project.subscriptions():
        body = lago_form.subscription_body(tenant.external_id, sub)
        base = plans.get(sub.plan)
        if sub.overrides is not None and base is not None:
            # present even when empty: `overrides:` with no prices means "the catalog's prices"
            body["plan_overrides"] = lago_form.plan_overrides_body(sub.overrides, base)
            meta[f"subscription:{sub.external_id}"] = {
                "reason": sub.overrides.reason,
                "approval": sub.overrides.approval,
                **({"frozen": True} if sub.overrides.frozen else {}),
                **({"acknowledge": list(ack)} if (ack := sub.overrides.acknowledge) else {}),
                **({"rules": rules} if (rules := lago_form.price_rules(sub.overrides)) else {}),
            }
        subscriptions.append(body)
        versioned = subscription_options(project, tenant, sub, _without_overrides(body))
        if versioned is not None:  # resolved against Lago by engine.versions.resolve
            meta.setdefault(f"subscription:{sub.external_id}", {})["versions"] = versioned
    bodies: dict[Kind, list[Body]] = {
        "tax": [lago_form.tax_body(t) for t in catalog.taxes],
        "billable_metric": [lago_form.billable_metric_body(m) for m in catalog.billable_metrics],
        "add_on": [lago_form.add_on_body(a) for a in catalog.add_ons],
        # the update form: what a full PUT needs (cascade policy included) is also a valid POST
        "plan": [lago_form.plan_body(p, update=True) for p in catalog.plans],
        "coupon": [lago_form.coupon_body(c) for c in catalog.coupons],
        "customer": [lago_form.customer_body(t) for t in project.tenants],
        "subscription": subscriptions,
        "wallet": [
            lago_form.wallet_body(t.external_id, w) for t in project.tenants for w in t.wallets
        ],
    }
    remove = catalog.remove
    retired: dict[str, dict[str, set[str]]] = {}
    for entry in remove.filter_values:
        for key, values in entry.values.items():
            retired.setdefault(entry.metric, {}).setdefault(key, set()).update(values)
    frozen_retired = {m: {k: frozenset(v) for k, v in keys.items()} for m, keys in retired.items()}
    places = retire(bodies, frozen_retired)
    for metric, keys in frozen_retired.items():
        which = "; ".join(f"{k}={'/'.join(sorted(v))}" for k, v in sorted(keys.items()))
        meta[f"billable_metric:{metric}"] = {
            "retired": (
                f"retires {which} everywhere: from this metric, from {places['plan']} plan "
                f"filter(s) and {places['subscription']} negotiated filter(s) of tenants"
            )
        }
    units = {
        p.code: found
        for p in catalog.plans
        if (found := {c.code: u for c in p.charges if (u := lago_form.charge_units(c))})
    }
    state = desired_state(
        bodies,
        {
            "plans": remove.plans,
            "billable_metrics": remove.billable_metrics,
            "add_ons": remove.add_ons,
            "coupons": remove.coupons,
            "taxes": remove.taxes,
        },
        meta,
    )
    return replace(state, units=units, price_tables=project.table_sources)


def _without_overrides(body: Body) -> Body:
    return {k: v for k, v in body.items() if k != "plan_overrides"}
