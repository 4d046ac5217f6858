"""The models of ``policies.yaml``: the company's pricing rules, the approvals they ask for and
the cost table the margin rule reads. Validation only; the rules are checked by
``lagoform.policies``.

A rule is one item of ``rules:``, tagged by ``rule:`` (``max_increase``, ``min_notice``,
``negotiated_floor``, ``margin_floor``, ``approval_above``), with an ``id`` (the finding ids
name it), a ``severity`` (``error``: apply refuses it unless approved or acknowledged;
``warning``: said, never blocking) and an optional ``plans:`` scope. docs/pricing-changes/
policies.md is the user's reference.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from lagoform.catalog.models_base import CatalogModel, Code, Text
from lagoform.catalog.models_charge import FilterValues, UnitText
from lagoform.catalog.money import Currency, ExactDecimal, Money

__all__ = [
    "RULE_KINDS",
    "AnyRule",
    "ApprovalAbove",
    "ApprovalKind",
    "CostEntry",
    "CostTable",
    "GivenApproval",
    "MarginFloor",
    "MaxIncrease",
    "MinNotice",
    "NegotiatedFloor",
    "PoliciesFile",
    "PolicyRule",
    "Severity",
]

Severity = Literal["error", "warning"]
NonNegative = Annotated[ExactDecimal, Field(ge=0)]


class ApprovalKind(CatalogModel):
    """A kind of approval a rule can ask for, and who gives it."""

    reviewers: tuple[Text, ...] = Field(
        default=(),
        description="Who gives this approval: GitHub users or teams (shown in the pull-request "
        "comment next to the rule that asks for it).",
        examples=[["@acme/finance"]],
    )
    description: Text | None = Field(default=None, description="What this approval means.")


class CostEntry(FilterValues):
    """What one combination of a metric's filter values costs us (``*``: any value)."""

    cost: NonNegative = Field(
        description="Our cost per the table's `per:` unit, in its currency.", examples=["0.40"]
    )


class CostTable(CatalogModel):
    """Provider costs of one metric, keyed like its filter values (the margin rule reads it)."""

    metric: Code = Field(description="Code of the billable metric.", examples=["token_usage"])
    per: UnitText = Field(default="1", description="What the costs are per: '1M tokens'.")
    currency: Currency = Field(description="Currency of the costs.", examples=["USD"])
    costs: tuple[CostEntry, ...] = Field(
        min_length=1, description="Cost per combination of filter values."
    )


class _Rule(CatalogModel):
    id: Code = Field(description="Name of the rule: finding ids start policy:<id>:.")
    severity: Severity = Field(
        default="error",
        description="error: apply refuses the plan unless approved or acknowledged; warning: "
        "shown, never blocking.",
    )
    description: Text | None = Field(default=None, description="Why the company has this rule.")
    plans: tuple[Code, ...] | None = Field(
        default=None,
        description="Only these plans (and subscriptions on them); default: every plan.",
        examples=[["pro_monthly", "enterprise"]],
    )


class MaxIncrease(_Rule):
    """No customer's bill rises by more than ``percent`` or ``amount`` a month (the revenue
    impact's monthly run-rate), unless approved."""

    rule: Literal["max_increase"] = Field(description="The rule: max_increase.")
    percent: NonNegative | None = Field(default=None, description="Largest rise, in percent.")
    amount: Money | None = Field(
        default=None, description="Largest rise a month: '500.00 USD'.", examples=["500.00 USD"]
    )
    approval: Code | None = Field(
        default=None, description="An approval of this kind lets a larger rise through."
    )

    @model_validator(mode="after")
    def _a_limit(self) -> MaxIncrease:
        if self.percent is None and self.amount is None:
            raise ValueError("max_increase needs percent, amount or both")
        return self


class MinNotice(_Rule):
    """A price rise reaches an existing customer no sooner than ``days`` after the plan."""

    rule: Literal["min_notice"] = Field(description="The rule: min_notice.")
    days: int = Field(ge=0, description="Days of notice before a rise applies.", examples=[30])


class NegotiatedFloor(_Rule):
    """A negotiated price is at least list × ``floor`` unless its override names an approval
    of kind ``approval`` (``approvals: [{kind: finance, ref: FIN-123}]``)."""

    rule: Literal["negotiated_floor"] = Field(description="The rule: negotiated_floor.")
    floor: Annotated[ExactDecimal, Field(gt=0, le=1)] = Field(
        description="Lowest share of the list price: 0.7 = at most 30% off.", examples=["0.7"]
    )
    approval: Code | None = Field(
        default=None, description="Kind of approval that lets a lower price through."
    )


class MarginFloor(_Rule):
    """Every list price is at least cost × (1 + ``margin``), from the cost table."""

    rule: Literal["margin_floor"] = Field(description="The rule: margin_floor.")
    margin: NonNegative = Field(description="0.3 = price at least cost + 30%.", examples=["0.3"])


class ApprovalAbove(_Rule):
    """A change above a threshold needs an approval of kind ``approval``."""

    rule: Literal["approval_above"] = Field(description="The rule: approval_above.")
    approval: Code = Field(description="Kind of approval required.", examples=["finance"])
    price_change_percent: NonNegative | None = Field(
        default=None, description="Any price moving (up or down) by more than this percent."
    )
    revenue_change: Money | None = Field(
        default=None,
        description="Monthly revenue moving (up or down, all customers) by more than this.",
        examples=["1000.00 USD"],
    )

    @model_validator(mode="after")
    def _a_threshold(self) -> ApprovalAbove:
        if self.price_change_percent is None and self.revenue_change is None:
            raise ValueError("approval_above needs price_change_percent, revenue_change or both")
        return self


class GivenApproval(CatalogModel):
    """An approval given in the repository, for named findings (reviewed like any change)."""

    kind: Code = Field(description="Kind of approval (a name under approvals:).")
    ref: Text = Field(description="Where it was given: ticket, document or e-mail id.")
    findings: tuple[Text, ...] = Field(
        min_length=1,
        description="Ids of the policy findings it lets through (policy:<rule>:<subject>).",
        examples=[["policy:big-change:plan:pro_monthly"]],
    )


# Any rule, for code that reads what every rule has (id, severity, plans).
AnyRule = MaxIncrease | MinNotice | NegotiatedFloor | MarginFloor | ApprovalAbove
RULE_KINDS = ("max_increase", "min_notice", "negotiated_floor", "margin_floor", "approval_above")
PolicyRule = Annotated[
    MaxIncrease | MinNotice | NegotiatedFloor | MarginFloor | ApprovalAbove,
    Field(discriminator="rule"),
]


class PoliciesFile(CatalogModel):
    """policies.yaml: the pricing rules every plan is checked against."""

    approvals: dict[Code, ApprovalKind] = Field(
        default_factory=dict, description="Kinds of approval the rules ask for, by name."
    )
    costs: tuple[CostTable, ...] = Field(
        default=(), description="What serving each metric costs (the margin_floor rule)."
    )
    rules: tuple[PolicyRule, ...] = Field(default=(), description="The pricing rules.")
    approved: tuple[GivenApproval, ...] = Field(
        default=(),
        description="Approvals given for named findings (e.g. in the pull request that makes "
        "the change, reviewed by the approval's reviewers).",
    )
    acknowledge: tuple[Text, ...] = Field(
        default=(),
        description="Ids of policy findings accepted as they are (like a tenant's "
        "`acknowledge:`), for findings about the catalog rather than one tenant.",
    )
