"""Shared pieces of the documented-example tables: the pages cited, the case record, helpers.

Every case names the page its figures come from. Where a page states only the configuration
(tiers, rates), the expected amount is worked out by hand from the page's own wording and noted
so. Where a page disagrees with the server's behaviour (API_NOTES §13), the case follows §13
and says so in its note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lagoform.pricing import price_units, to_cents

DOCS = "https://docs.getlago.com"
STANDARD = f"{DOCS}/guide/plans/charges/charge-models/standard"
GRADUATED = f"{DOCS}/guide/plans/charges/charge-models/graduated"
VOLUME = f"{DOCS}/guide/plans/charges/charge-models/volume"
PACKAGE = f"{DOCS}/guide/plans/charges/charge-models/package"
PERCENTAGE = f"{DOCS}/guide/plans/charges/charge-models/percentage"
GRADUATED_PERCENTAGE = f"{DOCS}/guide/plans/charges/charge-models/graduated-percentage"
DYNAMIC = f"{DOCS}/guide/plans/charges/charge-models/dynamic"
CHARGES_OVERVIEW = f"{DOCS}/guide/plans/charges/overview"
FILTERS = f"{DOCS}/guide/plans/charges/charges-with-filters"
SPENDING_MINIMUM = f"{DOCS}/guide/plans/charges/spending-minimum"
COMMITMENT = f"{DOCS}/guide/plans/commitment"
PRORATED = f"{DOCS}/guide/plans/charges/prorated-vs-full"
ASSIGN_PLAN = f"{DOCS}/guide/subscriptions/assign-plan"
PLAN_MODEL = "https://doc.getlago.com/docs/guide/plans/plan-model"
SEGMENT = f"{DOCS}/templates/hybrid/segment"
ALGOLIA = f"{DOCS}/templates/payg/algolia"
STRIPE = f"{DOCS}/templates/per-transaction/stripe"
MISTRAL = f"{DOCS}/templates/per-token/mistral"
# Lago's product update announcing per-transaction min/max (newsletter #25).
MIN_MAX_UPDATE = "https://d376nw0erossg9.cloudfront.net/updates-25.html"
# Lago's own roadmap entry for minimum commitment, with its worked invoice.
COMMITMENT_ROADMAP = (
    "https://getlago.canny.io/feature-requests/p/set-minimum-spend-for-subscriptions"
)
MINIMUMS_COMMUNITY = "https://community.getlago.com/t/ability-to-define-minimums/55"
ZERO_USAGE_FIX = "https://github.com/getlago/lago-api/pull/5760"

D = Decimal


def tier_range(lo: int, hi: int | None, price: str, flat: str = "0") -> dict[str, Any]:
    return {"from_value": lo, "to_value": hi, "per_unit_amount": price, "flat_amount": flat}


def fee(model: str, props: dict[str, Any], units: str | int, **kw: Any) -> int:
    return to_cents(price_units(model, props, D(units), **kw))


@dataclass(frozen=True)
class DocCase:
    name: str
    source: str
    compute: Callable[[], int]
    expected_cents: int
    note: str = ""
