"""Thin helpers for the Lago resources lagoform manages: plain dicts in, plain dicts out.

Bodies are the inner objects (the client adds the envelope ``{"plan": {...}}``) and results are
unwrapped. ``get_*`` returns None when Lago says ``<resource>_not_found``. The engine normalizes
these dicts; nothing here interprets them. Creates are reconciled by reading back by code or
external id (see ``LagoClient.create``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lagoform.lago.transport import Json, Params, seg

Obj = dict[str, Any]
PageHook = Callable[[list[Obj]], None]


class LagoResources(ABC):
    """Per-resource helpers over the generic verbs a client implements."""

    @abstractmethod
    def get(self, path: str, params: Params = None) -> Obj: ...

    @abstractmethod
    def put(self, path: str, json: Json) -> Obj: ...

    @abstractmethod
    def delete(self, path: str, params: Params = None, json: Json = None) -> Obj: ...

    @abstractmethod
    def post(self, path: str, json: Json, *, idempotent: bool | None = None) -> Obj: ...

    @abstractmethod
    def create(
        self,
        path: str,
        root: str,
        body: Mapping[str, Any],
        read_back: Callable[[], Obj | None] | None = None,
    ) -> Obj: ...

    @abstractmethod
    def find(
        self, path: str, root: str, not_found_code: str, params: Params = None
    ) -> Obj | None: ...

    @abstractmethod
    def list_all(
        self, path: str, root_key: str, params: Params = None, on_page: PageHook | None = None
    ) -> list[Obj]: ...

    # -- shared shapes ----------------------------------------------------------------------
    def _update(self, path: str, root: str, body: Mapping[str, Any]) -> Obj:
        data = self.put(path, {root: body})
        obj = data.get(root)
        return obj if isinstance(obj, dict) else {}

    def _delete(self, path: str, root: str, params: Params = None, json: Json = None) -> Obj | None:
        """The deleted object; None if it was already gone after a lost response."""
        obj = self.delete(path, params, json).get(root)
        return obj if isinstance(obj, dict) else None

    def _create_by_code(self, collection: str, root: str, body: Mapping[str, Any]) -> Obj:
        code = body.get("code")
        read_back = (
            (lambda: self.find(f"/{collection}/{seg(code)}", root, f"{root}_not_found"))
            if isinstance(code, str) and code
            else None
        )
        return self.create(f"/{collection}", root, body, read_back)

    # -- billable metrics -------------------------------------------------------------------
    def list_billable_metrics(self) -> list[Obj]:
        return self.list_all("/billable_metrics", "billable_metrics")

    def get_billable_metric(self, code: str) -> Obj | None:
        return self.find(
            f"/billable_metrics/{seg(code)}", "billable_metric", "billable_metric_not_found"
        )

    def create_billable_metric(self, body: Mapping[str, Any]) -> Obj:
        return self._create_by_code("billable_metrics", "billable_metric", body)

    def update_billable_metric(self, code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/billable_metrics/{seg(code)}", "billable_metric", body)

    def delete_billable_metric(self, code: str) -> Obj | None:
        return self._delete(f"/billable_metrics/{seg(code)}", "billable_metric")

    # -- plans and their charges ------------------------------------------------------------
    def list_plans(self, on_page: PageHook | None = None) -> list[Obj]:
        """Parent plans only (Lago hides overridden child plans), pending deletions included.
        ``on_page`` sees each page as it arrives (see ``LagoClient.list_all``)."""
        return self.list_all("/plans", "plans", on_page=on_page)

    def get_plan(self, code: str) -> Obj | None:
        return self.find(f"/plans/{seg(code)}", "plan", "plan_not_found")

    def create_plan(self, body: Mapping[str, Any]) -> Obj:
        return self._create_by_code("plans", "plan", body)

    def update_plan(self, code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/plans/{seg(code)}", "plan", body)

    def delete_plan(self, code: str) -> Obj | None:
        """Starts Lago's asynchronous delete: the plan comes back with ``pending_deletion``."""
        return self._delete(f"/plans/{seg(code)}", "plan")

    def list_plan_charges(self, plan_code: str) -> list[Obj]:
        return self.list_all(f"/plans/{seg(plan_code)}/charges", "charges")

    def get_plan_charge(self, plan_code: str, charge_code: str) -> Obj | None:
        return self.find(
            f"/plans/{seg(plan_code)}/charges/{seg(charge_code)}", "charge", "charge_not_found"
        )

    def create_plan_charge(self, plan_code: str, body: Mapping[str, Any]) -> Obj:
        code = body.get("code")
        read_back = (
            (lambda: self.get_plan_charge(plan_code, code))
            if isinstance(code, str) and code
            else None
        )
        return self.create(f"/plans/{seg(plan_code)}/charges", "charge", body, read_back)

    def update_plan_charge(self, plan_code: str, charge_code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/plans/{seg(plan_code)}/charges/{seg(charge_code)}", "charge", body)

    def delete_plan_charge(
        self, plan_code: str, charge_code: str, cascade_updates: bool | None = None
    ) -> Obj | None:
        body = None if cascade_updates is None else {"charge": {"cascade_updates": cascade_updates}}
        return self._delete(
            f"/plans/{seg(plan_code)}/charges/{seg(charge_code)}", "charge", json=body
        )

    # -- taxes, add-ons, coupons (all keyed by code) ----------------------------------------
    def list_taxes(self) -> list[Obj]:
        return self.list_all("/taxes", "taxes")

    def get_tax(self, code: str) -> Obj | None:
        return self.find(f"/taxes/{seg(code)}", "tax", "tax_not_found")

    def create_tax(self, body: Mapping[str, Any]) -> Obj:
        return self._create_by_code("taxes", "tax", body)

    def update_tax(self, code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/taxes/{seg(code)}", "tax", body)

    def delete_tax(self, code: str) -> Obj | None:
        return self._delete(f"/taxes/{seg(code)}", "tax")

    def list_add_ons(self) -> list[Obj]:
        return self.list_all("/add_ons", "add_ons")

    def get_add_on(self, code: str) -> Obj | None:
        return self.find(f"/add_ons/{seg(code)}", "add_on", "add_on_not_found")

    def create_add_on(self, body: Mapping[str, Any]) -> Obj:
        return self._create_by_code("add_ons", "add_on", body)

    def update_add_on(self, code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/add_ons/{seg(code)}", "add_on", body)

    def delete_add_on(self, code: str) -> Obj | None:
        return self._delete(f"/add_ons/{seg(code)}", "add_on")

    def list_coupons(self) -> list[Obj]:
        return self.list_all("/coupons", "coupons")

    def get_coupon(self, code: str) -> Obj | None:
        return self.find(f"/coupons/{seg(code)}", "coupon", "coupon_not_found")

    def create_coupon(self, body: Mapping[str, Any]) -> Obj:
        return self._create_by_code("coupons", "coupon", body)

    def update_coupon(self, code: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/coupons/{seg(code)}", "coupon", body)

    def delete_coupon(self, code: str) -> Obj | None:
        return self._delete(f"/coupons/{seg(code)}", "coupon")

    def apply_coupon(self, body: Mapping[str, Any]) -> Obj:
        """``POST /applied_coupons``. Not repeated after a lost response (could apply twice)."""
        return self.create("/applied_coupons", "applied_coupon", body)

    def list_applied_coupons(self, external_customer_id: str | None = None) -> list[Obj]:
        params = {"external_customer_id": external_customer_id} if external_customer_id else None
        return self.list_all("/applied_coupons", "applied_coupons", params)

    # -- customers --------------------------------------------------------------------------
    def list_customers(self) -> list[Obj]:
        return self.list_all("/customers", "customers")

    def get_customer(self, external_id: str) -> Obj | None:
        return self.find(f"/customers/{seg(external_id)}", "customer", "customer_not_found")

    def upsert_customer(self, body: Mapping[str, Any]) -> Obj:
        """``POST /customers`` is an upsert keyed by ``external_id``: safe to repeat."""
        data = self.post("/customers", {"customer": body}, idempotent=True)
        obj = data.get("customer")
        return obj if isinstance(obj, dict) else {}

    def delete_customer(self, external_id: str) -> Obj | None:
        return self._delete(f"/customers/{seg(external_id)}", "customer")

    # -- subscriptions ----------------------------------------------------------------------
    def list_subscriptions(
        self,
        *,
        external_customer_id: str | None = None,
        plan_code: str | None = None,
        status: Iterable[str] | None = None,
        overridden: bool | None = None,
    ) -> list[Obj]:
        """Default status filter is Lago's (active only); pass ``status`` for others."""
        params: dict[str, Any] = {}
        if external_customer_id is not None:
            params["external_customer_id"] = external_customer_id
        if plan_code is not None:
            params["plan_code"] = plan_code
        if status is not None:
            params["status[]"] = list(status)
        if overridden is not None:
            params["overridden"] = "true" if overridden else "false"
        return self.list_all("/subscriptions", "subscriptions", params)

    def get_subscription(self, external_id: str, status: str | None = None) -> Obj | None:
        """The subscription with its *effective* plan (the child plan when overridden)."""
        params = {"status": status} if status is not None else None
        return self.find(
            f"/subscriptions/{seg(external_id)}", "subscription", "subscription_not_found", params
        )

    def create_subscription(self, body: Mapping[str, Any]) -> Obj:
        """``POST /subscriptions``; after a lost response the active subscription with this
        external id, customer and plan code counts as created."""
        ext, customer, plan = (
            body.get("external_id"),
            body.get("external_customer_id"),
            body.get("plan_code"),
        )

        def read_back() -> Obj | None:
            sub = self.get_subscription(str(ext))
            if sub and sub.get("external_customer_id") == customer and sub.get("plan_code") == plan:
                return sub
            return None

        return self.create(
            "/subscriptions",
            "subscription",
            body,
            read_back if isinstance(ext, str) and ext else None,
        )

    def update_subscription(self, external_id: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/subscriptions/{seg(external_id)}", "subscription", body)

    def terminate_subscription(self, external_id: str, status: str | None = None) -> Obj | None:
        params = {"status": status} if status else None
        return self._delete(f"/subscriptions/{seg(external_id)}", "subscription", params)

    def list_subscription_charges(self, external_id: str) -> list[Obj]:
        return self.list_all(f"/subscriptions/{seg(external_id)}/charges", "charges")

    def get_subscription_charge(self, external_id: str, charge_code: str) -> Obj | None:
        return self.find(
            f"/subscriptions/{seg(external_id)}/charges/{seg(charge_code)}",
            "charge",
            "charge_not_found",
        )

    def override_subscription_charge(
        self, external_id: str, charge_code: str, body: Mapping[str, Any]
    ) -> Obj:
        """Per-charge override (premium): patches only the keys in ``body``."""
        return self._update(
            f"/subscriptions/{seg(external_id)}/charges/{seg(charge_code)}", "charge", body
        )

    # -- wallets ----------------------------------------------------------------------------
    def list_wallets(self, external_customer_id: str) -> list[Obj]:
        return self.list_all("/wallets", "wallets", {"external_customer_id": external_customer_id})

    def get_wallet(self, lago_id: str) -> Obj | None:
        return self.find(f"/wallets/{seg(lago_id)}", "wallet", "wallet_not_found")

    def create_wallet(self, body: Mapping[str, Any]) -> Obj:
        """Reconciled by ``code`` within the customer's wallets when a code is given."""
        code, customer = body.get("code"), body.get("external_customer_id")

        def read_back() -> Obj | None:
            wallets = self.list_wallets(str(customer))
            return next(
                (
                    w
                    for w in wallets
                    if w.get("code") == code and w.get("status", "active") == "active"
                ),
                None,
            )

        can = isinstance(code, str) and bool(code) and isinstance(customer, str)
        return self.create("/wallets", "wallet", body, read_back if can else None)

    def update_wallet(self, lago_id: str, body: Mapping[str, Any]) -> Obj:
        return self._update(f"/wallets/{seg(lago_id)}", "wallet", body)

    def terminate_wallet(self, lago_id: str) -> Obj | None:
        return self._delete(f"/wallets/{seg(lago_id)}", "wallet")

    def create_wallet_transaction(self, body: Mapping[str, Any]) -> list[Obj]:
        """A top-up. Never repeated after a lost response: credits must not be granted twice."""
        data = self.post("/wallet_transactions", {"wallet_transaction": body})
        items = data.get("wallet_transactions")
        return list(items) if isinstance(items, list) else []

    def list_wallet_transactions(self, wallet_id: str) -> list[Obj]:
        return self.list_all(
            f"/wallets/{seg(wallet_id)}/wallet_transactions", "wallet_transactions"
        )

    # -- events and usage -------------------------------------------------------------------
    def get_event(self, transaction_id: str) -> Obj | None:
        return self.find(f"/events/{seg(transaction_id)}", "event", "event_not_found")

    def list_events(self, params: Params = None) -> list[Obj]:
        return self.list_all("/events", "events", params)

    def get_current_usage(
        self, external_customer_id: str, external_subscription_id: str, **params: Any
    ) -> Obj:
        data = self.get(
            f"/customers/{seg(external_customer_id)}/current_usage",
            {"external_subscription_id": external_subscription_id, **params},
        )
        obj = data.get("customer_usage")
        return obj if isinstance(obj, dict) else data

    def get_past_usage(
        self, external_customer_id: str, external_subscription_id: str, **params: Any
    ) -> list[Obj]:
        return self.list_all(
            f"/customers/{seg(external_customer_id)}/past_usage",
            "usage_periods",
            {"external_subscription_id": external_subscription_id, **params},
        )

    # -- what Lago computes without storing anything (safe to repeat) ------------------------
    def evaluate_expression(self, expression: str, event: Mapping[str, Any]) -> Any:
        """The value of a billable-metric ``expression`` for a sample ``event``."""
        body = {"expression": expression, "event": dict(event)}
        data = self.post("/billable_metrics/evaluate_expression", body, idempotent=True)
        result = data.get("expression_result")
        return result.get("value") if isinstance(result, dict) else None

    def estimate_fees(self, event: Mapping[str, Any]) -> list[Obj]:
        """The fees one event would add to the subscription's pay-in-advance charges."""
        data = self.post("/events/estimate_fees", {"event": dict(event)}, idempotent=True)
        fees = data.get("fees")
        return [f for f in fees if isinstance(f, dict)] if isinstance(fees, list) else []

    def preview_invoice(self, body: Mapping[str, Any]) -> Obj:
        """Lago's own computation of an invoice (``customer``, ``subscriptions`` or
        ``plan_code``); nothing is created."""
        data = self.post("/invoices/preview", dict(body), idempotent=True)
        invoice = data.get("invoice")
        return invoice if isinstance(invoice, dict) else {}
