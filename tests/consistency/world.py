"""Generated lagoform projects for the consistency suite: plans, tenants, a change, and usage.

A ``World`` is a small but real project — plans with tiers and per-filter prices, yearly
variants billing charges monthly, tenants with and without negotiated prices,
``cascade_updates`` on and off — plus subscriptions a tenant file does not list (their copies
are customised straight in Lago, so only Lago's cascade can reach them), the usage each
subscription sends, and a second version of the catalog (price raises and cuts, fees, cascade
flags, renegotiations, moves to a yearly plan). ``write`` turns a version into YAML files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

TYPES = ("input", "output")


@dataclass(frozen=True)
class Prices:
    """A plan's usage prices: tokens (per filter type, or one price), calls."""

    tokens: dict[str, str]  # type -> unit price; {} = a single charge-level price
    tokens_default: str
    graduated: bool  # tokens billed with a free first tier (1,000 tokens)
    calls: str


@dataclass(frozen=True)
class PlanSpec:
    code: str
    fee_cents: int
    prices: Prices
    cascade: bool
    yearly: bool  # has a `<code>_yearly` variant (fee x 12, charges billed monthly)


@dataclass(frozen=True)
class Deal:
    """A tenant's negotiated values (``None`` = not negotiated)."""

    fee_cents: int | None = None
    calls: str | None = None
    tokens: str | None = None  # one negotiated price for every token (charge-level)
    frozen: bool = False  # keeps the prices its copy has


@dataclass(frozen=True)
class TenantSpec:
    name: str
    plan: str  # a plan code, or `<code>_yearly`
    deal: Deal | None  # None: no `overrides:`; Deal(): `overrides:` without prices


@dataclass(frozen=True)
class Unmanaged:
    """A subscription no tenant file lists, its copy customised in Lago (calls price)."""

    name: str
    plan: str
    calls: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    calls: int


@dataclass(frozen=True)
class Version:
    plans: tuple[PlanSpec, ...]
    tenants: tuple[TenantSpec, ...]


@dataclass(frozen=True)
class World:
    before: Version
    after: Version
    unmanaged: tuple[Unmanaged, ...]
    usage: dict[str, Usage] = field(default_factory=dict)  # subscription -> usage


# -- strategies ---------------------------------------------------------------------------------

_price = st.sampled_from(["0.001", "0.002", "0.0025", "0.004", "0.01"])
_calls = st.sampled_from(["0.05", "0.1", "0.15", "0.2"])
_fee = st.sampled_from([0, 1000, 2500, 5000, 9900])


@st.composite
def prices(draw: st.DrawFn) -> Prices:
    per_type = draw(st.booleans())
    return Prices(
        tokens={t: draw(_price) for t in TYPES} if per_type else {},
        tokens_default=draw(_price),
        graduated=draw(st.booleans()),
        calls=draw(_calls),
    )


@st.composite
def changed(draw: st.DrawFn, old: Prices) -> Prices:
    """The same plan's prices in the next version: some raised or cut, some kept."""

    def pick(value: str, choices: st.SearchStrategy[str]) -> str:
        return draw(choices) if draw(st.booleans()) else value

    return Prices(
        tokens={t: pick(p, _price) for t, p in old.tokens.items()},
        tokens_default=pick(old.tokens_default, _price),
        graduated=old.graduated,  # a model change is blocked on a subscribed plan
        calls=pick(old.calls, _calls),
    )


@st.composite
def deals(draw: st.DrawFn) -> Deal | None:
    kind = draw(st.sampled_from(["none", "empty", "calls", "tokens", "fee", "mix", "frozen"]))
    if kind == "none":
        return None
    if kind == "empty":
        return Deal()
    if kind == "frozen":
        return Deal(calls=draw(st.none() | _calls), frozen=True)
    return Deal(
        fee_cents=draw(_fee) if kind in ("fee", "mix") else None,
        calls=draw(_calls) if kind in ("calls", "mix") else None,
        tokens=draw(_price) if kind in ("tokens", "mix") else None,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    plans = tuple(
        PlanSpec(f"p{i}", draw(_fee), draw(prices()), draw(st.booleans()), draw(st.booleans()))
        for i in range(draw(st.integers(1, 2)))
    )
    codes = [p.code for p in plans] + [f"{p.code}_yearly" for p in plans if p.yearly]
    tenants = tuple(
        TenantSpec(f"t{i}", draw(st.sampled_from(codes)), draw(deals()))
        for i in range(draw(st.integers(1, 3)))
    )
    unmanaged = tuple(
        Unmanaged(f"u{i}", draw(st.sampled_from(codes)), draw(_calls))
        for i in range(draw(st.integers(0, 2)))
    )
    after_plans = tuple(
        replace(
            p,
            fee_cents=draw(st.sampled_from([p.fee_cents, p.fee_cents + 500])),
            prices=draw(changed(p.prices)),
            cascade=draw(st.booleans()),
        )
        for p in plans
    )
    after_tenants = []
    for tenant in tenants:
        deal = tenant.deal
        if draw(st.booleans()):
            # renegotiated (or negotiated now); once stated, `overrides:` cannot be dropped
            deal = draw(deals()) or (Deal() if deal is not None else None)
        plan = tenant.plan
        if not plan.endswith("_yearly") and f"{plan}_yearly" in codes and draw(st.booleans()):
            # a move to the yearly variant: same yearly fee, so Lago upgrades it at once
            plan = f"{plan}_yearly"
        after_tenants.append(replace(tenant, plan=plan, deal=deal))
    subscriptions = [f"{t.name}-main" for t in tenants] + [f"{u.name}-main" for u in unmanaged]
    usage = {
        sub: Usage(
            draw(st.sampled_from([0, 400, 2500, 12000])),
            draw(st.sampled_from([0, 700, 3000])),
            draw(st.integers(0, 12)),
        )
        for sub in subscriptions
    }
    return World(
        Version(plans, tenants), Version(after_plans, tuple(after_tenants)), unmanaged, usage
    )


# -- YAML ---------------------------------------------------------------------------------------

METRICS = """\
billable_metrics:
  - code: tokens
    name: Tokens
    aggregation: sum
    field_name: tokens
    filters:
      type: [input, output]
  - code: calls
    name: API calls
    aggregation: count
"""


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f} USD"


def _token_properties(price: str, graduated: bool, indent: str) -> str:
    if not graduated:
        return f'{indent}properties: {{amount: "{price}"}}\n'
    return (
        f"{indent}properties:\n{indent}  tiers:\n{indent}    - {{to: 1000, per_unit: 0}}\n"
        f'{indent}    - {{per_unit: "{price}"}}\n'
    )


def _plan(spec: PlanSpec) -> str:
    p = spec.prices
    model = "graduated" if p.graduated else "standard"
    text = (
        f"  - code: {spec.code}\n    name: Plan {spec.code}\n    interval: monthly\n"
        f"    amount: {money(spec.fee_cents)}\n    cascade_updates: {str(spec.cascade).lower()}\n"
        f"    charges:\n      - code: tokens\n        metric: tokens\n        model: {model}\n"
        + _token_properties(p.tokens_default, p.graduated, "        ")
    )
    if p.tokens:
        text += "        filters:\n"
        for kind, price in p.tokens.items():
            text += f"          - values: {{type: {kind}}}\n"
            text += _token_properties(price, p.graduated, "            ")
    text += (
        "      - code: calls\n        metric: calls\n        model: standard\n"
        f'        properties: {{amount: "{p.calls}"}}\n'
    )
    if spec.yearly:
        text += (
            f"  - code: {spec.code}_yearly\n    extends: {spec.code}\n"
            f"    name: Plan {spec.code} (yearly)\n    interval: yearly\n"
            f"    amount: {money(spec.fee_cents * 12)}\n    bill_charges_monthly: true\n"
        )
    return text


def _tenant(spec: TenantSpec, plans: dict[str, PlanSpec]) -> str:
    text = (
        f"customer:\n  name: Tenant {spec.name}\n  currency: USD\nsubscriptions:\n"
        f"  - external_id: {spec.name}-main\n    plan: {spec.plan}\n"
    )
    deal = spec.deal
    if deal is None:
        return text
    text += "    overrides:\n      reason: Negotiated\n      approval: MSA-1\n"
    if deal.frozen:
        text += "      frozen: true\n"
    if deal.fee_cents is not None:
        text += f"      amount: {money(deal.fee_cents)}\n"
    if deal.calls is None and deal.tokens is None:
        return text
    text += "      charges:\n"
    if deal.calls is not None:
        text += f'        calls:\n          properties: {{amount: "{deal.calls}"}}\n'
    if deal.tokens is not None:
        base = plans[spec.plan.removesuffix("_yearly")].prices
        text += "        tokens:\n" + _token_properties(deal.tokens, base.graduated, "          ")
    return text


def write(root: Path, version: Version) -> None:
    """The version's project files under ``root`` (replacing what was there)."""
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    (root / "overrides").mkdir(exist_ok=True)
    for old in (root / "overrides").glob("*.yaml"):
        old.unlink()
    (root / "catalog" / "metrics.yaml").write_text(METRICS)
    plans_text = "plans:\n" + "".join(_plan(p) for p in version.plans)
    (root / "catalog" / "plans.yaml").write_text(plans_text)
    by_code = {p.code: p for p in version.plans}
    for tenant in version.tenants:
        (root / "overrides" / f"{tenant.name}.yaml").write_text(_tenant(tenant, by_code))
