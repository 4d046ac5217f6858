"""Parts of ``pricing.py``: the finance lines of a subscription's prices (base, current, new per
plan-level field, charge and filter) and the explanations of what Lago cannot do through
overrides (each a ``Blocked`` with its way out). Pure.
"""

from __future__ import annotations

from typing import Any

from lagoform.engine.diff import FieldChange
from lagoform.engine.locks import Blocked
from lagoform.engine.pricing_model import PriceLine
from lagoform.model.effective import CHARGE_FIELDS as PRICING_CHARGE_FIELDS
from lagoform.model.effective import FIRST_ONLY as PRICING_FIRST_ONLY
from lagoform.model.effective import PLAN_FIELDS as PRICING_PLAN_FIELDS
from lagoform.model.values import Normal


def price_lines(
    base: Normal, now: Normal | None, new: Normal, yaml: Normal, changed: list[FieldChange]
) -> list[PriceLine]:
    """One line per negotiated or changing price: plan-level fields, then each charge's fields
    and filters, by charge code."""
    touched = {c.path[1:] for c in changed}
    out: list[PriceLine] = []
    cur = now or {}
    for name in (*PRICING_PLAN_FIELDS, *PRICING_FIRST_ONLY):
        if name == "amount_currency" and base.get(name) == new.get(name) == cur.get(
            name, base.get(name)
        ):
            continue  # stated with every amount; a line only when it really differs
        if name in yaml or any(p[:1] == (name,) for p in touched):
            out.append(
                PriceLine(
                    field=name, base=base.get(name), current=cur.get(name), new=new.get(name),
                    negotiated=name in yaml,
                )
            )  # fmt: skip
    stated = yaml.get("charges") or {}
    codes = set(stated) | {p[1] for p in touched if len(p) > 1 and p[0] == "charges"}
    for code in sorted(codes):
        out.extend(_charge_lines(code, base, cur, new, stated.get(code) or {}, touched))
    return out


def _charge_lines(
    code: str,
    base: Normal,
    now: Normal,
    new: Normal,
    stated: Normal,
    touched: set[tuple[str, ...]],
) -> list[PriceLine]:
    b, c, n = (f.get("charges", {}).get(code) or {} for f in (base, now, new))
    model = n.get("charge_model") or b.get("charge_model")
    here = {p[2:] for p in touched if p[:2] == ("charges", code)}
    whole = () in here  # the whole charge added or dropped
    out: list[PriceLine] = []
    for name in PRICING_CHARGE_FIELDS:
        if name == "filters":
            continue
        if name in stated or whole or any(p[:1] == (name,) for p in here):
            out.append(
                PriceLine(
                    charge=code, field=name, model=model, base=b.get(name),
                    current=c.get(name), new=n.get(name), negotiated=name in stated,
                )
            )  # fmt: skip
    negotiated = stated.get("filters") or {}
    if negotiated or whole or any(p[:1] == ("filters",) for p in here):
        bf, cf, nf = (x.get("filters") or {} for x in (b, c, n))
        for key in sorted(set(bf) | set(cf) | set(nf)):
            values = [x.get(key) for x in (bf, cf, nf)]
            props = [v.get("properties") if v else None for v in values]
            names = [v.get("invoice_display_name") if v else None for v in values]
            mine = key in negotiated  # an override names only the filters it negotiates
            if len(set(map(repr, props))) > 1 or mine:
                out.append(
                    PriceLine(
                        charge=code, filter=key, field="properties", model=model,
                        base=props[0], current=props[1], new=props[2], negotiated=mine,
                    )
                )  # fmt: skip
            if len(set(names)) > 1:
                out.append(
                    PriceLine(
                        charge=code, filter=key, field="invoice_display_name", model=model,
                        base=names[0], current=names[1], new=names[2], negotiated=mine,
                    )
                )  # fmt: skip
    return out


# -- what Lago cannot do through overrides ------------------------------------------------------


def cannot_add(key: str, plan: str, code: str) -> Blocked:
    return Blocked(
        path=("overrides", "charges", code),
        reason=(
            f"plan {plan!r} has charge {code!r} but subscription {key!r}'s own copy of the plan "
            "does not: the tenant is not billed for it, and Lago cannot add a charge to a "
            "subscription's copy through overrides"
        ),
        way_out=(
            f"add charges to plan {plan!r} with cascade_updates: true (Lago then copies them to "
            "subscriptions with overrides): remove this charge and add it back that way, or end "
            "this subscription and subscribe the tenant again"
        ),
    )


def cannot_drop(key: str, plan: str, code: str) -> Blocked:
    return Blocked(
        path=("overrides", "charges", code),
        reason=(
            f"subscription {key!r}'s own copy of plan {plan!r} still has charge {code!r}, which "
            "the catalog plan does not: the tenant is still billed for it, and Lago's per-charge "
            "override endpoint cannot remove a charge"
        ),
        way_out=(
            "remove charges from a plan with cascade_updates: true (Lago then deletes the "
            "copies too), or end this subscription and subscribe the tenant again (lagoform "
            "never sends a plan_overrides charges list: a partial one deletes charges)"
        ),
    )


def model_differs(key: str, code: str, have: Any, want: Any) -> Blocked:
    return Blocked(
        path=("overrides", "charges", code, "charge_model"),
        reason=(
            f"subscription {key!r}'s copy of charge {code!r} uses the {have} model, the catalog "
            f"uses {want}: Lago cannot change a charge's model through overrides"
        ),
        way_out="keep the charge's model, or end this subscription and subscribe again",
    )


def first_only(key: str, name: str) -> Blocked:
    label = {"trial_period": "trial_days", "amount_currency": "the currency of amount"}[name]
    return Blocked(
        path=("overrides", name),
        reason=(
            f"Lago takes a {name} override only when it first creates a subscription's own "
            f"copy of the plan; subscription {key!r} has one already, so Lago would ignore it"
        ),
        way_out=(
            f"leave {label} as it is, or end this subscription and subscribe the tenant again "
            "with the new value"
        ),
    )
