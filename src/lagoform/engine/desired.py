"""Desired state: the catalog's Lago request bodies in the comparison form.

``desired_state`` is pure and takes Lago-shaped request bodies per kind (what
``lagoform.catalog.lago_form`` produces; plan charges carry ``billable_metric_code``, resolved to
an id only at apply time). ``from_project`` feeds it a loaded ``Project``. Both go through the
same normalizers as live state (``normal.py``), so equal means "Lago would hold the same".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lagoform.engine import normal
from lagoform.engine.live import wallet_key
from lagoform.engine.normal import Normal, charge_code
from lagoform.engine.state import KINDS, REMOVABLE, DesiredObject, DesiredState, Kind, fingerprint
from lagoform.errors import CatalogError, Problem

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
) -> DesiredState:
    """Build the desired state from Lago request bodies per kind.

    ``remove`` uses the YAML names (``plans``, ``billable_metrics`` ...). A key given twice for
    one kind is a catalog error (the loader should have caught it; never guess which wins).
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
                normal=_normal(kind, body, plan_models),
                body=dict(body),
                cascade_updates=bool(body.get("cascade_updates")) if kind == "plan" else False,
            )
    removal: dict[Kind, frozenset[str]] = {}
    for name, codes in (remove or {}).items():
        kind = REMOVABLE.get(name)
        if kind is None:
            problems.append(Problem(f"remove.{name}: lagoform cannot delete {name}"))
            continue
        removal[kind] = frozenset(codes)
        for code in sorted(removal[kind] & set(objects[kind])):
            problems.append(Problem(f"{kind} {code!r} is both defined and listed under remove"))
    if problems:
        raise CatalogError(problems)
    fp = fingerprint(
        [
            {kind: {k: o.body for k, o in sorted(objs.items())} for kind, objs in objects.items()},
            {kind: sorted(codes) for kind, codes in removal.items()},
        ]
    )
    return DesiredState(objects=objects, remove=removal, fingerprint=fp)


def _normal(kind: Kind, body: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]) -> Normal:
    norm = normal.NORMALIZERS[kind](body)
    if kind == "subscription" and body.get("plan_overrides"):
        plan_models = models.get(str(body.get("plan_code")), {})
        norm["overrides"] = normal.plan_overrides(body["plan_overrides"], plan_models)
    return norm
