"""The fees of one subscription's next invoice, for ``POST /invoices/preview``.

Subscription fee (fees/subscription_service.rb: the full amount for a whole period, else days
billed × amount ÷ days in the period; a trial covering the period bills 0), the charges period's
usage with each charge's prorated minimum true-up (fees/charge_service.rb; a pay-in-advance
charge on a non-recurring metric is billed event by event, never here; Lago keeps no empty fee),
fixed charges, and the minimum-commitment top-up of a plan billed in arrears
(fees/commitments/minimum/calculate_preview_fee_service.rb). Every amount comes from
lagoform.pricing; what it cannot price raises ``estimates.not_supported``.
"""

from __future__ import annotations

from decimal import Decimal

from lagoform import pricing
from lagoform.model.periods import current_period, days
from lagoform.sandbox import aggregation, fees, usage
from lagoform.sandbox.estimates import not_supported
from lagoform.sandbox.request import Request
from lagoform.sandbox.state import E_CODE, E_TS, Record, State

DAY = 86400


def full_period(state: State, sub: Record, at: float) -> tuple[float, float]:
    plan = state.plans[sub["plan_id"]]
    return current_period(plan["interval"], sub["billing_time"], anchor(sub), at)


def anchor(sub: Record) -> float:
    return float(sub["started_at"] if sub["started_at"] is not None else sub["subscription_at"])


def subscription_fee(state: State, sub: Record, span: tuple[float, float]) -> int:
    """Fees::SubscriptionService for the period ``span``: the full amount for a whole period,
    else days billed × amount ÷ days in the period; a trial covering the period bills 0."""
    plan = state.plans[sub["plan_id"]]
    full_start, full_end = full_period(state, sub, span[0])
    start = max(span[0], anchor(sub))
    if plan["trial_period"]:
        trial_end = anchor(sub) + plan["trial_period"] * DAY
        if trial_end >= full_end:
            return 0
        start = max(start, trial_end)
    return pricing.base_fee_cents(
        plan["amount_cents"], period_days=(days(start, full_end), days(full_start, full_end))
    )


def plan_fee(
    state: State, sub: Record, customer: Record, amount_cents: int, span: tuple[float, float]
) -> fees.Fee:
    plan = state.plans[sub["plan_id"]]
    return fees.Fee(
        kind="subscription",
        subscription=sub,
        customer=customer,
        currency=plan["amount_currency"],
        amount_cents=amount_cents,
        units=Decimal(1),
        item=fees.item(
            "subscription",
            {"code": plan["code"], "lago_id": sub["lago_id"]},
            name=plan["name"],
            display_name=plan["invoice_display_name"],
            description=plan["description"],
            item_type="Subscription",
        ),
        taxes=fees.applicable_taxes(state, customer, plan),
        pay_in_advance=bool(plan["pay_in_advance"]),
        from_date=span[0],
        to_date=span[1],
        amount_details={"plan_amount_cents": plan["amount_cents"]},
    )


def charge_fees(req: Request, sub: Record, customer: Record) -> list[fees.Fee]:
    """The charges period's usage of a stored subscription, priced like its invoice."""
    state = req.state
    plan = state.plans[sub["plan_id"]]
    start, end = usage.charges_period(state, sub, req.now)
    full_start, full_end = current_period(
        "monthly" if plan["bill_charges_monthly"] else plan["interval"],
        sub["billing_time"],
        anchor(sub),
        req.now,
    )
    period_days = (days(start, end), days(full_start, full_end))
    pool = state.events_by_sub.get(sub["external_id"], [])
    out: list[fees.Fee] = []
    for charge in plan["charges"]:
        metric = state.metrics.get(charge["billable_metric_id"])
        if metric is None or not charge["invoiceable"]:
            continue
        if charge["pay_in_advance"] and not metric["recurring"]:
            continue  # billed event by event, never on the period's invoice
        since = anchor(sub) if metric["recurring"] else start
        events = [e for e in pool if e[E_CODE] == metric["code"] and since <= e[E_TS] <= end]
        priced = aggregation.price_charge(
            plan, charge, metric, events, (start, end), req.org.premium, period_days=period_days
        )
        for group in priced.groups:
            for key, cents in group.fees.by_group.items():
                used = group.usage.groups.get(key, pricing.GroupUsage())
                if cents == 0 and used.units == 0 and not used.events_count:
                    continue  # Lago keeps no empty fee (fees/charge_service.rb#should_persist_fee?)
                charge_filter = charge["filters"][key] if key is not None else None
                out.append(
                    fees.charge_fee(
                        state,
                        sub,
                        customer,
                        charge,
                        charge_filter,
                        amount_cents=cents,
                        units=used.units,
                        events_count=used.events_count or 0,
                        window=(start, end),
                        precise_amount=group.fees.precise_by_group[key],
                        grouped_by=group.grouped_by or {},
                        pay_in_advance=bool(charge["pay_in_advance"]),
                    )
                )
        if priced.true_up_cents:
            out.append(
                fees.charge_fee(
                    state,
                    sub,
                    customer,
                    charge,
                    None,
                    amount_cents=priced.true_up_cents,
                    units=Decimal(1),
                    events_count=0,
                    window=(start, end),
                )
            )
    return out


def fixed_fees(
    state: State, sub: Record, customer: Record, span: tuple[float, float]
) -> list[fees.Fee]:
    plan = state.plans[sub["plan_id"]]
    out: list[fees.Fee] = []
    for fixed in plan["fixed_charges"]:
        if fixed["prorated"]:
            raise not_supported("prorated fixed charges are not previewed by the sandbox")
        units = Decimal(str(fixed["units"]))
        amount = pricing.price_units(fixed["charge_model"], fixed["properties"], units)
        add_on = state.add_ons.get(fixed["add_on_id"]) or {}
        out.append(
            fees.Fee(
                kind="fixed_charge",
                subscription=sub,
                customer=customer,
                currency=plan["amount_currency"],
                amount_cents=pricing.to_cents(amount, currency=plan["amount_currency"]),
                precise_amount=amount,
                units=units,
                item=fees.item(
                    "fixed_charge",
                    add_on,
                    name=add_on.get("name"),
                    display_name=fixed["invoice_display_name"],
                    description=add_on.get("description"),
                    item_type="AddOn",
                ),
                taxes=fees.applicable_taxes(state, customer, plan, fixed["tax_ids"]),
                pay_in_advance=bool(fixed["pay_in_advance"]),
                from_date=span[0],
                to_date=span[1],
            )
        )
    return out


def commitment_fee(
    state: State,
    sub: Record,
    customer: Record,
    span: tuple[float, float],
    sub_fees: list[fees.Fee],
) -> fees.Fee | None:
    """The minimum-commitment top-up of a plan billed in arrears: the commitment prorated by the
    days the subscription was active in the period, less its fees on this invoice
    (fees/commitments/minimum/calculate_preview_fee_service.rb)."""
    plan = state.plans[sub["plan_id"]]
    commitment = plan["minimum_commitment"]
    if commitment is None:
        return None
    if plan["pay_in_advance"]:
        raise not_supported(
            "a pay-in-advance plan's minimum commitment is reconciled against invoices the "
            "sandbox does not keep"
        )
    full_start, full_end = full_period(state, sub, span[0])
    total = pricing.invoice_total(
        0,
        [f.amount_cents for f in sub_fees],
        minimum_commitment_cents=commitment["amount_cents"],
        period_days=(days(max(full_start, anchor(sub)), full_end), days(full_start, full_end)),
    )
    if total.commitment_top_up_cents == 0:
        return None
    return fees.Fee(
        kind="commitment",
        subscription=sub,
        customer=customer,
        currency=plan["amount_currency"],
        amount_cents=total.commitment_top_up_cents,
        units=Decimal(1),
        item=fees.item(
            "commitment",
            {"code": "minimum_commitment", "lago_id": commitment["lago_id"]},
            name=commitment["invoice_display_name"] or "Minimum commitment",
            item_type="Commitment",
        ),
        taxes=fees.applicable_taxes(state, customer, plan, commitment["tax_ids"]),
        from_date=span[0],
        to_date=span[1],
    )
