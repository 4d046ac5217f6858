"""What Lago checks before it creates a wallet or a wallet transaction, in Lago's order.

A wallet is checked in stages, each answering alone when it fails (wallets/create_service.rb):
the request (customer, credits as decimal strings, expiration, recurring rules, the wallet limit —
wallets/validate_service.rb), then the record (rate, currency, priority, paid top-up bounds, code,
purchase order number — models/wallet.rb), then credits worth less than one minor unit
(``amount_rounds_to_zero``), then the paid top-up bounds (``amount_below_minimum`` /
``amount_above_maximum``, validators/wallet_transaction_amount_limits_validator.rb). A top-up
checks its wallet and every amount together (wallet_transactions/validate_service.rb).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from lagoform import pricing
from lagoform.model.currency import ACCEPTED
from lagoform.sandbox.api_errors import FieldErrors, invalid
from lagoform.sandbox.fields import purchase_order_number
from lagoform.sandbox.numbers import decimal_string
from lagoform.sandbox.state import Record, parse_iso

MAX_ACTIVE_WALLETS = 6
MAX_TRANSACTION_AMOUNT = Decimal(10) ** 25 - 1
NOT_A_NUMBER = "is not a number"  # Rails' own message: Lago's locale does not map it


def _truthy(value: Any) -> bool:
    """``ActiveModel::Type::Boolean`` casting, as Lago reads its ``ignore_…`` flags."""
    return value not in (None, False, "", "0", "f", "false", "F", "FALSE", "off", "OFF")


def credits_cents(credits: Decimal, rate: Decimal, currency: str) -> int:
    """What credits are worth in minor units: credits floored to 5 decimals × rate, rounded to
    the currency (models/wallet_credit.rb)."""
    floored = credits.quantize(Decimal("0.00001"), rounding=ROUND_FLOOR)
    return pricing.to_cents(floored * rate, currency=currency)


def check_credit(errors: FieldErrors, key: str, value: Any, *, upper: bool = False) -> Decimal:
    """A credits amount: a decimal string ≥ 0 (and below 10^25 for a transaction)."""
    if value is None:
        return Decimal(0)
    parsed = decimal_string(value)
    if parsed is None or parsed < 0 or (upper and parsed > MAX_TRANSACTION_AMOUNT):
        errors.add(key, f"invalid_{key}")
        errors.add(key, "invalid_amount")
        return Decimal(0)
    return parsed


def request_stage(
    customer: Record | None, active_wallets: int, body: Record, now: float
) -> tuple[Record, dict[str, Decimal]]:
    """wallets/validate_service.rb: every problem of the request at once; returns the customer
    and the paid and granted credits."""
    errors = FieldErrors()
    if customer is None:
        errors.add("customer", "customer_not_found")
    credits = {k: check_credit(errors, k, body.get(k)) for k in ("paid_credits", "granted_credits")}
    expiration = body.get("expiration_at")
    if expiration:
        parsed = parse_iso(expiration)
        if parsed is None or parsed <= now:
            errors.add("expiration_at", "invalid_date")
    rules = body.get("recurring_transaction_rules")
    if isinstance(rules, list) and len(rules) > 1:
        errors.add("recurring_transaction_rules", "invalid_number_of_recurring_rules")
    if customer is not None and active_wallets >= MAX_ACTIVE_WALLETS:
        errors.add("customer", "wallet_limit_reached")
    if customer is None or errors:
        raise errors.error()
    return customer, credits


def _rate(errors: FieldErrors, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        errors.add("rate_amount", NOT_A_NUMBER)
        return Decimal(1)
    try:
        rate = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except InvalidOperation:
        errors.add("rate_amount", NOT_A_NUMBER)
        return Decimal(1)
    if not rate.is_finite():
        errors.add("rate_amount", NOT_A_NUMBER)
        return Decimal(1)
    if rate <= 0:
        errors.add("rate_amount", "value_is_out_of_range")
    return rate


def record_stage(body: Record, currency: Any, code_taken: bool) -> tuple[Decimal, int]:
    """models/wallet.rb: the record's validations, reported together. Returns (rate, priority)."""
    errors = FieldErrors()
    rate = _rate(errors, body.get("rate_amount"))
    if currency not in ACCEPTED:
        errors.add("currency", "value_is_invalid")
    priority = body.get("priority") or 50
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 50:
        errors.add("priority", "value_is_invalid")
    check_top_up_bounds(errors, body)
    if code_taken:
        errors.add("code", "value_already_exist")
    body["purchase_order_number"] = purchase_order_number(body.get("purchase_order_number"), errors)
    errors.raise_if_any()
    return rate, priority


LOW, HIGH = "paid_top_up_min_amount_cents", "paid_top_up_max_amount_cents"


def check_top_up_bounds(errors: FieldErrors, wallet: Record) -> None:
    low, high = wallet.get(LOW), wallet.get(HIGH)
    for key, value in ((LOW, low), (HIGH, high)):
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            errors.add(key, "value_is_out_of_range")
    if isinstance(low, int | float) and isinstance(high, int | float) and high < low:
        errors.add(HIGH, "must_be_greater_than_or_equal_min")


def rounds_to_zero(errors: FieldErrors, key: str, credits: Decimal, wallet: Record) -> None:
    """Credits worth less than one minor unit (``amount_rounds_to_zero``)."""
    floored = credits.quantize(Decimal("0.00001"), rounding=ROUND_FLOOR)
    rate = Decimal(wallet["rate_amount"])
    if floored > 0 and credits_cents(credits, rate, wallet["currency"]) == 0:
        errors.add(key, "amount_rounds_to_zero")


def check_paid_limits(paid: Decimal, wallet: Record, ignore: Any) -> None:
    """The wallet's paid top-up bounds, unless the caller asked to ignore them."""
    if paid <= 0 or _truthy(ignore):
        return
    low, high = wallet[LOW], wallet[HIGH]
    cents = credits_cents(paid, Decimal(wallet["rate_amount"]), wallet["currency"])
    if low is not None and cents < low:
        raise invalid("paid_credits", "amount_below_minimum")
    if high is not None and cents > high:
        raise invalid("paid_credits", "amount_above_maximum")
