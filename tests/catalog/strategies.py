"""Hypothesis strategies that build valid catalog models (for round-trip tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from lagoform.catalog import (
    AddOn,
    BillableMetric,
    BillingPlan,
    Charge,
    Coupon,
    Money,
    Subscription,
    Tax,
    Tenant,
    Wallet,
)

CURRENCIES = ["USD", "EUR", "JPY", "CLF", "GBP"]
codes = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
maybe_names = st.none() | names
prices = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 10**9),
    st.integers(0, 15),
)
# wallet credits and rates: Lago keeps numeric(30,5), so at most 5 decimals
credits = st.builds(
    lambda digits, places: Decimal(digits).scaleb(-places),
    st.integers(0, 10**9),
    st.integers(0, 5),
)
small_ints = st.integers(0, 10**6)
timestamps = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
)


@st.composite
def money(draw: st.DrawFn, currency: str | None = None, positive: bool = False) -> Money:
    cur = currency or draw(st.sampled_from(CURRENCIES))
    return Money.from_cents(draw(st.integers(1 if positive else 0, 10**9)), cur)


taxes = st.builds(
    Tax,
    code=codes,
    name=names,
    rate=st.builds(lambda n: Decimal(n).scaleb(-2), st.integers(0, 10000)),
    description=maybe_names,
    applied_to_organization=st.booleans(),
)


@st.composite
def metrics(draw: st.DrawFn) -> BillableMetric:
    aggregation = draw(
        st.sampled_from(["count", "sum", "max", "unique_count", "weighted_sum", "latest"])
    )
    filters = draw(
        st.dictionaries(codes, st.lists(codes, min_size=1, max_size=4, unique=True), max_size=3)
    )
    rounding = draw(
        st.none()
        | st.builds(
            dict, function=st.sampled_from(["round", "ceil", "floor"]), precision=st.integers(-3, 6)
        )
    )
    return BillableMetric.model_validate(
        {
            "code": draw(codes),
            "name": draw(names),
            "description": draw(maybe_names),
            "aggregation": aggregation,
            "field_name": None if aggregation == "count" else draw(codes),
            "recurring": aggregation in ("sum", "unique_count") and draw(st.booleans()),
            "weighted_interval": "seconds" if aggregation == "weighted_sum" else None,
            "rounding": rounding,
            "expression": draw(st.none() | st.just("round(tokens / 1000)")),
            "filters": filters,
        }
    )


@st.composite
def tiers(draw: st.DrawFn, rate: bool = False) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.lists(st.integers(1, 10**7), max_size=4, unique=True)))
    out = []
    start = draw(st.sampled_from([0, 1]))
    for bound in [*bounds, None]:
        if bound is not None and bound <= start:
            continue
        tier: dict[str, Any] = {"from": start, "to": bound, "flat": draw(prices)}
        tier["rate" if rate else "per_unit"] = draw(prices)
        out.append(tier)
        start = (bound or 0) + 1
    return out


@st.composite
def properties(draw: st.DrawFn, model: str) -> dict[str, Any]:
    groups = draw(st.lists(codes, max_size=2))
    base: dict[str, Any] = {"pricing_group_keys": groups}
    if model == "standard":
        base["amount"] = draw(prices)
    elif model in ("graduated", "volume"):
        base["tiers"] = draw(tiers())
    elif model == "graduated_percentage":
        base["tiers"] = draw(tiers(rate=True))
    elif model == "package":
        base.update(
            amount=draw(prices),
            package_size=draw(st.integers(1, 10**6)),
            free_units=draw(small_ints),
        )
    elif model == "percentage":
        base["rate"] = draw(prices)
        for key in (
            "fixed_amount",
            "free_units_per_total_aggregation",
            "per_transaction_min_amount",
        ):
            base[key] = draw(st.none() | prices)
        base["free_units_per_events"] = draw(st.none() | st.integers(1, 1000))
    return base


MODELS = [
    "standard",
    "graduated",
    "graduated_percentage",
    "package",
    "percentage",
    "volume",
    "dynamic",
]


@st.composite
def charges(draw: st.DrawFn, code: str, currency: str) -> Charge:
    model = draw(st.sampled_from(MODELS))
    filter_values = st.dictionaries(
        codes,
        st.lists(codes, min_size=1, max_size=3, unique=True) | st.just(["*"]),
        min_size=1,
        max_size=2,
    )
    filters = draw(
        st.lists(
            filter_values,
            max_size=3,
            unique_by=lambda v: tuple(sorted((k, tuple(sorted(x))) for k, x in v.items())),
        )
    )
    cents = draw(st.integers(0, 10**6))
    return Charge.model_validate(
        {
            "code": code,
            "metric": draw(codes),
            "model": model,
            "invoice_display_name": draw(maybe_names),
            "pay_in_advance": draw(st.booleans()),
            "prorated": draw(st.booleans()),
            "invoiceable": draw(st.booleans()),
            "min_amount": Money.from_cents(cents, currency).amount,
            "tax_codes": sorted(draw(st.lists(codes, max_size=2, unique=True))),
            "properties": draw(properties(model)),
            "filters": [
                {
                    "values": values,
                    "invoice_display_name": draw(maybe_names),
                    "properties": draw(properties(model)),
                }
                for values in filters
            ],
        }
    )


@st.composite
def plans(draw: st.DrawFn) -> BillingPlan:
    amount = draw(money())
    interval = draw(st.sampled_from(["weekly", "monthly", "quarterly", "semiannual", "yearly"]))
    charge_codes = draw(st.lists(codes, max_size=3, unique=True))
    commitment = draw(
        st.none() | st.builds(dict, amount=money(amount.currency), invoice_display_name=maybe_names)
    )
    thresholds = draw(st.lists(money(amount.currency), max_size=2, unique=True))
    return BillingPlan.model_validate(
        {
            "code": draw(codes),
            "name": draw(names),
            "invoice_display_name": draw(maybe_names),
            "description": draw(maybe_names),
            "interval": interval,
            "amount": amount,
            "pay_in_advance": draw(st.booleans()),
            "trial_days": draw(
                st.none() | st.builds(lambda n: Decimal(n).scaleb(-1), st.integers(1, 900))
            ),
            "bill_charges_monthly": (
                draw(st.none() | st.booleans()) if interval in ("yearly", "semiannual") else None
            ),
            "tax_codes": sorted(draw(st.lists(codes, max_size=2, unique=True))),
            "minimum_commitment": commitment,
            "usage_thresholds": [
                {
                    "amount": t,
                    "name": draw(maybe_names),
                    "recurring": i == 0 and draw(st.booleans()),
                }
                for i, t in enumerate(thresholds)
            ],
            "metadata": draw(st.dictionaries(codes, st.none() | names, max_size=3)),
            "cascade_updates": draw(st.booleans()),
            "charges": [draw(charges(c, amount.currency)) for c in charge_codes],
        }
    )


add_ons = st.builds(
    AddOn,
    code=codes,
    name=names,
    amount=money(positive=True),
    invoice_display_name=maybe_names,
    description=maybe_names,
    tax_codes=st.lists(codes, max_size=2, unique=True).map(lambda c: tuple(sorted(c))),
)


@st.composite
def coupons(draw: st.DrawFn) -> Coupon:
    kind = draw(st.sampled_from(["percentage", "fixed_amount"]))
    frequency = draw(st.sampled_from(["once", "recurring", "forever"]))
    scope = draw(
        st.none()
        | st.builds(dict, plans=st.lists(codes, min_size=1, max_size=2))
        | st.builds(dict, metrics=st.lists(codes, min_size=1, max_size=2))
    )
    return Coupon.model_validate(
        {
            "code": draw(codes),
            "name": draw(names),
            "description": draw(maybe_names),
            "type": kind,
            "percentage_rate": draw(prices) if kind == "percentage" else None,
            "amount": draw(money(positive=True)) if kind == "fixed_amount" else None,
            "frequency": frequency,
            "frequency_duration": draw(st.integers(1, 24)) if frequency == "recurring" else None,
            "expiration_at": draw(st.none() | timestamps),
            "reusable": draw(st.booleans()),
            "applies_to": scope,
        }
    )


@st.composite
def tenants(draw: st.DrawFn) -> Tenant:
    tenant_id = draw(codes)
    address = draw(
        st.none()
        | st.builds(
            dict, line1=maybe_names, city=maybe_names, country=st.sampled_from(["US", "FR", "NO"])
        )
    )
    customer = {
        "name": draw(names),
        "email": draw(st.none() | st.just("billing@example.test")),
        "currency": draw(st.none() | st.sampled_from(CURRENCIES)),
        "timezone": draw(st.none() | st.just("UTC")),
        "net_payment_term": draw(st.none() | st.integers(0, 90)),
        "address": address,
        "tax_codes": sorted(draw(st.lists(codes, max_size=2, unique=True))),
        "metadata": draw(st.dictionaries(codes, names, max_size=5)),
    }
    subs = [
        Subscription.model_validate(
            {
                "external_id": sub_id,
                "plan": draw(codes),
                "name": draw(maybe_names),
                "billing_time": draw(st.sampled_from(["calendar", "anniversary"])),
                "start_date": draw(st.none() | timestamps),
                "end_date": draw(st.none() | timestamps),
            }
        )
        for sub_id in draw(st.lists(codes, max_size=2, unique=True))
    ]
    wallets = [
        Wallet.model_validate(
            {
                "code": code,
                "name": draw(maybe_names),
                "currency": draw(st.sampled_from(CURRENCIES)),
                "rate_amount": draw(credits.filter(lambda d: d > 0)),
                "paid_credits": draw(st.none() | credits),
                "granted_credits": draw(st.none() | credits),
                "priority": draw(st.none() | st.integers(1, 50)),
                "expiration_at": draw(st.none() | timestamps),
                "invoice_requires_successful_payment": draw(st.none() | st.booleans()),
            }
        )
        for code in draw(st.lists(codes, max_size=2, unique=True))
    ]
    return Tenant(external_id=tenant_id, customer=customer, subscriptions=subs, wallets=wallets)
