"""Price one subscription's period of usage under its current and its proposed pricing.

First the check: every charge of the current pricing is priced from Lago's reported units with
lagoform's calculator and compared with the amount Lago reports, to the cent (per charge and per
filter). A charge whose price changes is estimated only when that check passed; otherwise the
period is *unreliable* and the reason names the charge and both amounts. A charge whose price
does not change keeps Lago's own amount on both sides (a failed check there is only a note).

Amounts are one usage period's bill as if it closed with the usage so far: charge fees (Lago's
amounts, which exclude minimum true-ups), each charge's ``min_amount_cents`` true-up, the
subscription fee's share of that period and the plan's minimum-commitment top-up — no
proration, taxes, coupons or credits. The usage period is the current plan's charges period
(a month for a yearly plan billing charges monthly): a yearly fee counts a twelfth of itself
there, and after a move across intervals each side's fee counts its own share of that period
(``model.intervals``). ``monthly_old_cents`` / ``monthly_new_cents`` put the period on the
monthly run-rate basis every total is given on. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lagoform.impact.forms import PricedCharge, PricedPlan
from lagoform.impact.proposed import Proposal
from lagoform.impact.usage import ChargeReport, PeriodUsage, route
from lagoform.model.currency import money
from lagoform.model.intervals import monthly_cents, rebase
from lagoform.pricing import (
    COUNTED_AGGREGATIONS,
    ChargeFees,
    ChargeUsage,
    PricingError,
    invoice_total,
    price_charge_usage,
    true_up_cents,
)
from lagoform.pricing.rounding import round_half_up

__all__ = [
    "COMMITMENT",
    "FEE",
    "ChargeLine",
    "PeriodEstimate",
    "attach",
    "estimate_period",
    "price_reported",
]

FEE = "(subscription fee)"
COMMITMENT = "(minimum commitment)"


@dataclass(frozen=True)
class ChargeLine:
    charge: str  # a charge code, or FEE / COMMITMENT
    old_cents: int
    new_cents: int


@dataclass(frozen=True)
class PeriodEstimate:
    period: str
    from_datetime: str | None
    to_datetime: str | None
    currency: str
    interval: str = "monthly"  # the usage period's length: what one period of these amounts is
    lines: tuple[ChargeLine, ...] = ()
    problems: tuple[str, ...] = ()  # non-empty: no estimate for this period
    notes: tuple[str, ...] = ()

    @property
    def reliable(self) -> bool:
        return not self.problems

    @property
    def old_cents(self) -> int:
        return sum(line.old_cents for line in self.lines)

    @property
    def new_cents(self) -> int:
        return sum(line.new_cents for line in self.lines)

    @property
    def monthly_old_cents(self) -> int:
        return monthly_cents(self.old_cents, self.interval)

    @property
    def monthly_new_cents(self) -> int:
        return monthly_cents(self.new_cents, self.interval)


@dataclass(frozen=True)
class _Options:
    premium: bool
    zero_usage_first_tier_flat: bool
    currency: str


def _price(
    charge: PricedCharge, usage: ChargeUsage, opts: _Options, aggregation: str
) -> ChargeFees:
    return price_charge_usage(
        charge.lago(),
        usage,
        premium=opts.premium,
        zero_usage_first_tier_flat=opts.zero_usage_first_tier_flat,
        currency=opts.currency or None,
        count_aggregation=aggregation in COUNTED_AGGREGATIONS,
    )


def price_reported(
    charge: PricedCharge,
    report: ChargeReport,
    *,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
    currency: str = "",
) -> ChargeFees | str:
    """lagoform's own price of the usage Lago reports for ``charge`` (or why there is none)."""
    opts = _Options(premium, zero_usage_first_tier_flat, currency)
    usage = route(report, charge, charge)
    if isinstance(usage, str):
        return f"charge {charge.code} cannot be priced from Lago's totals: {usage}"
    try:
        return _price(charge, usage, opts, report.aggregation)
    except PricingError as err:
        return f"charge {charge.code} cannot be priced from Lago's totals: {err}"


def _check(charge: PricedCharge, report: ChargeReport, opts: _Options) -> str | None:
    """None when lagoform prices Lago's reported usage of ``charge`` exactly as Lago did."""
    fees = price_reported(
        charge, report, premium=opts.premium,
        zero_usage_first_tier_flat=opts.zero_usage_first_tier_flat, currency=opts.currency,
    )  # fmt: skip
    if isinstance(fees, str):
        return fees
    if fees.amount_cents != report.amount_cents:
        return (
            f"charge {charge.code}: Lago bills {money(report.amount_cents, opts.currency)}, "
            f"lagoform's calculator {money(fees.amount_cents, opts.currency)} for the same usage"
        )
    index = {f.key: i for i, f in enumerate(charge.filters)}
    for group in report.groups:
        if group.key is not None and group.key not in index:
            continue
        ours = fees.by_group.get(None if group.key is None else index[group.key], 0)
        if ours != group.amount_cents:
            where = f"filter {group.key}" if group.key else "its default price"
            return (
                f"charge {charge.code}, {where}: Lago bills "
                f"{money(group.amount_cents, opts.currency)}, lagoform's calculator "
                f"{money(ours, opts.currency)}"
            )
    return None


def attach(plan: PricedPlan, usage: PeriodUsage) -> tuple[dict[str, ChargeReport], list[str]]:
    """Lago's charge reports by charge code of ``plan`` (by lago_id, else by metric)."""
    out: dict[str, ChargeReport] = {}
    problems: list[str] = []
    for report in usage.charges:
        charge = plan.by_lago_id(report.charge_lago_id)
        if charge is None:
            same_metric = [c for c in plan.charges if c.metric == report.metric]
            if len(same_metric) == 1 and same_metric[0].code not in out:
                charge = same_metric[0]
        if charge is None:
            if report.used or report.amount_cents:
                problems.append(
                    f"Lago reports usage of a charge on metric {report.metric} that lagoform "
                    "cannot find on the subscription's plan"
                )
            continue
        out[charge.code] = report
    return out, problems


def _source(
    target: PricedCharge, current: PricedPlan, reports: dict[str, ChargeReport]
) -> tuple[PricedCharge, ChargeReport | None] | None:
    """Which current charge's reported usage ``target`` would bill (same code, else metric)."""
    same = current.charge(target.code)
    if same is not None and same.metric == target.metric:
        return same, reports.get(same.code)
    for charge in current.charges:
        if charge.metric == target.metric and charge.code in reports:
            return charge, reports[charge.code]
    return None


def _new_amount(
    target: PricedCharge,
    current: PricedPlan,
    reports: dict[str, ChargeReport],
    opts: _Options,
) -> int | str:
    found = _source(target, current, reports)
    if found is None:
        return (
            f"charge {target.code} is new on metric {target.metric}: Lago reports no usage "
            "of a metric the current plan does not charge"
        )
    source, report = found
    usage = ChargeUsage({}) if report is None else route(report, source, target)
    if isinstance(usage, str):
        return f"charge {target.code}: {usage}"
    try:
        return _price(target, usage, opts, report.aggregation if report else "").total_cents
    except PricingError as err:
        return f"charge {target.code} cannot be priced from Lago's totals: {err}"


def _share(cents: int | None, plan: PricedPlan, basis: str) -> int:
    """A per-plan-period amount (fee, commitment) as its share of one ``basis`` period."""
    return round_half_up(rebase(cents or 0, plan.interval, basis))


def _codes(current: PricedPlan, proposed: PricedPlan) -> Iterable[str]:
    seen = [c.code for c in current.charges]
    return [*seen, *(c.code for c in proposed.charges if c.code not in seen)]


def estimate_period(
    proposal: Proposal,
    usage: PeriodUsage,
    *,
    premium: bool = True,
    zero_usage_first_tier_flat: bool = True,
) -> PeriodEstimate:
    current, proposed = proposal.current, proposal.proposed
    currency = current.currency or usage.currency or ""
    opts = _Options(premium, zero_usage_first_tier_flat, currency)
    basis = current.charges_interval
    head = (usage.period, usage.from_datetime, usage.to_datetime, currency, basis)
    if proposed.currency and current.currency and proposed.currency != current.currency:
        problem = f"the plan's currency changes ({current.currency} → {proposed.currency})"
        return PeriodEstimate(*head, problems=(problem,))
    reports, problems = attach(current, usage)
    notes: list[str] = []
    lines: list[ChargeLine] = []
    for code in _codes(current, proposed):
        before, after = current.charge(code), proposed.charge(code)
        report = reports.get(code)
        old_fee = report.amount_cents if report is not None else 0
        old = old_fee + (true_up_cents(before.lago(), old_fee) if before is not None else 0)
        checked = _check(before, report, opts) if before and report else None
        if after is None or (before is not None and before == after):
            if checked:
                notes.append(f"{checked} (its price does not change: Lago's amount is kept)")
            lines.append(ChargeLine(code, old, 0 if after is None else old))
            continue
        if checked:
            problems.append(checked)
            continue
        new = _new_amount(after, current, reports, opts)
        if isinstance(new, str):
            problems.append(new)
            continue
        lines.append(ChargeLine(code, old if before is not None else 0, new))
    if problems:
        return PeriodEstimate(*head, problems=tuple(problems), notes=tuple(notes))
    old_fee, new_fee = (
        _share(current.amount_cents, current, basis),
        _share(proposed.amount_cents, proposed, basis),
    )
    if old_fee or new_fee:
        lines.append(ChargeLine(FEE, old_fee, new_fee))
    old_charges = sum(line.old_cents for line in lines if line.charge != FEE)
    new_charges = sum(line.new_cents for line in lines if line.charge != FEE)
    old_top = invoice_total(
        old_fee, [old_charges],
        minimum_commitment_cents=_share(current.commitment_cents, current, basis),
    ).commitment_top_up_cents  # fmt: skip
    new_top = invoice_total(
        new_fee, [new_charges],
        minimum_commitment_cents=_share(proposed.commitment_cents, proposed, basis),
    ).commitment_top_up_cents  # fmt: skip
    if old_top or new_top:
        lines.append(ChargeLine(COMMITMENT, old_top, new_top))
    return PeriodEstimate(*head, lines=tuple(lines), notes=tuple(notes))
