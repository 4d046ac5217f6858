"""LagoClient: envelopes, URLs, timeouts, pagination, create reconciliation, resource helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from lagoform.errors import LagoError, LagoNotFound, LagoServerError, LagoValidationError
from lagoform.lago import AsyncLagoClient, LagoClient, RetryPolicy, Timeouts, api_root
from tests.lago.scripted import FakeTime, ScriptedLago, lago_error, ok


def make(steps: list[Any], **kw: Any) -> tuple[LagoClient, ScriptedLago, FakeTime]:
    lago, fake = ScriptedLago(list(steps)), FakeTime()
    client = LagoClient(
        kw.pop("base_url", "https://lago.test"),
        "lago_test_key_1",
        transport=lago.transport(),
        retry=kw.pop("retry", RetryPolicy(max_attempts=4)),
        pacing=None,
        sleep=fake.sleep,
        clock=fake.clock,
        # scripted answers come in order: one page at a time (concurrent pages: tests below)
        page_concurrency=kw.pop("page_concurrency", 1),
        **kw,
    )
    return client, lago, fake


def meta(page: int, nxt: int | None, total_pages: int, count: int) -> dict[str, Any]:
    return {
        "current_page": page,
        "next_page": nxt,
        "prev_page": page - 1 or None,
        "total_pages": total_pages,
        "total_count": count,
    }


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("https://api.getlago.com", "https://api.getlago.com/api/v1"),
        ("https://api.getlago.com/", "https://api.getlago.com/api/v1"),
        ("http://localhost:3000/api/v1/", "http://localhost:3000/api/v1"),
    ],
)
def test_api_root(base: str, root: str) -> None:
    assert api_root(base) == root


def test_api_root_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="http"):
        api_root("api.getlago.com")


def test_request_shape_envelope_auth_and_encoding() -> None:
    client, lago, _ = make([ok({"plan": {"code": "a/b c"}})])
    assert client.update_plan("a/b c", {"name": "Pro"}) == {"code": "a/b c"}
    req = lago.requests[0]
    assert req.method == "PUT"
    assert req.url.raw_path == b"/api/v1/plans/a%2Fb%20c"
    assert req.headers["authorization"] == "Bearer lago_test_key_1"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"].startswith("lagoform/")
    assert lago.bodies() == [{"plan": {"name": "Pro"}}]


def test_explicit_timeouts_on_every_call() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok({"plans": [], "meta": meta(0, None, 0, 0)})

    client = LagoClient(
        "https://lago.test",
        "lago_test_key_1",
        transport=httpx.MockTransport(handler),
        pacing=None,
        timeouts=Timeouts(connect=1.5, read=7.0, write=3.0, pool=2.0),
    )
    client.list_plans()
    assert seen == [{"connect": 1.5, "read": 7.0, "write": 3.0, "pool": 2.0}]


def test_pagination_follows_next_page_with_per_page_100() -> None:
    pages = [
        ok({"plans": [{"code": f"p{i}"} for i in range(100)], "meta": meta(1, 2, 3, 205)}),
        ok({"plans": [{"code": f"p{i}"} for i in range(100, 200)], "meta": meta(2, 3, 3, 205)}),
        ok({"plans": [{"code": f"p{i}"} for i in range(200, 205)], "meta": meta(3, None, 3, 205)}),
    ]
    client, lago, _ = make(pages)
    plans = client.list_plans()
    assert [p["code"] for p in plans] == [f"p{i}" for i in range(205)]
    assert [dict(r.url.params) for r in lago.requests] == [
        {"page": str(n), "per_page": "100"} for n in (1, 2, 3)
    ]


def _paged(total: int, per_page: int = 100) -> Any:
    """A handler answering ``GET /plans`` by its page number (any order), as Lago does."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        codes = range((page - 1) * per_page, min(page * per_page, total))
        pages = -(-total // per_page)
        nxt = page + 1 if page < pages else None
        return ok(
            {"plans": [{"code": f"p{i}"} for i in codes], "meta": meta(page, nxt, pages, total)}
        )

    return answer


def test_pages_after_the_first_are_read_concurrently_and_joined_in_order() -> None:
    in_flight, most = [0], [0]
    lock = threading.Lock()
    answer = _paged(2_350)

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)  # long enough for the other pages to be asked meanwhile
        with lock:
            in_flight[0] -= 1
        return answer(request)

    client, lago, _ = make([slow] * 24, page_concurrency=4)
    plans = client.list_plans()
    assert [p["code"] for p in plans] == [f"p{i}" for i in range(2_350)]
    assert sorted(int(r.url.params["page"]) for r in lago.requests) == list(range(1, 25))
    assert lago.requests[0].url.params["page"] == "1"  # the count comes first
    assert 1 < most[0] <= 4  # concurrent, and never more than asked


def test_a_list_that_grew_while_read_is_followed_to_its_end() -> None:
    # page 1 said 2 pages; by the time page 2 is read there is a third
    steps = [
        ok({"plans": [{"code": "a"}], "meta": meta(1, 2, 2, 2)}),
        ok({"plans": [{"code": "b"}], "meta": meta(2, 3, 3, 3)}),
        ok({"plans": [{"code": "c"}], "meta": meta(3, None, 3, 3)}),
    ]
    client, lago, _ = make(steps, page_concurrency=4)
    assert [p["code"] for p in client.list_plans()] == ["a", "b", "c"]
    assert [r.url.params["page"] for r in lago.requests] == ["1", "2", "3"]


def test_pagination_empty_meta() -> None:
    empty = {"billable_metrics": [], "meta": meta(0, None, 0, 0)}
    client, lago, _ = make([ok(empty)])
    assert client.list_billable_metrics() == []
    assert len(lago.requests) == 1


def test_pagination_stops_without_next_page() -> None:
    client, lago, _ = make([ok({"taxes": [{"code": "vat"}]})])
    assert client.list_taxes() == [{"code": "vat"}]
    assert len(lago.requests) == 1


@pytest.mark.parametrize("next_page", [1, 3, 0])
def test_pagination_refuses_a_page_that_does_not_advance(next_page: int) -> None:
    # repeating page 1 or skipping page 2 would read objects twice or miss some: a wrong plan
    body = {"taxes": [{"code": "vat"}], "meta": {"next_page": next_page}}
    client, lago, _ = make([ok(body)])
    with pytest.raises(LagoError, match=f"page 1 names next_page {next_page}"):
        client.list_taxes()
    assert len(lago.requests) == 1


def test_pagination_that_never_ends_stops_at_total_pages() -> None:
    # a proxy that always says next_page = page + 1: total_pages ends the list
    def endless(page: int) -> httpx.Response:
        return ok({"taxes": [{"code": f"t{page}"}], "meta": meta(page, page + 1, 2, 2)})

    client, lago, _ = make([endless(1), endless(2), endless(3)])
    assert client.list_taxes() == [{"code": "t1"}, {"code": "t2"}]
    assert len(lago.requests) == 2


def test_pagination_without_total_pages_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from lagoform.lago import transport

    monkeypatch.setattr(transport, "MAX_PAGES", 3)
    pages = [ok({"taxes": [{"code": f"t{n}"}], "meta": {"next_page": n + 1}}) for n in (1, 2, 3)]
    client, lago, _ = make(pages)
    with pytest.raises(LagoError, match="past 3 pages"):
        client.list_taxes()
    assert len(lago.requests) == 3


def test_pagination_keeps_filters() -> None:
    client, lago, _ = make([ok({"subscriptions": [], "meta": meta(0, None, 0, 0)})])
    client.list_subscriptions(plan_code="pro", status=["active", "pending"], overridden=True)
    assert lago.requests[0].url.query == (
        b"plan_code=pro&status%5B%5D=active&status%5B%5D=pending&overridden=true&page=1&per_page=100"
    )


def test_list_without_its_array_is_an_error() -> None:
    client, _, _ = make([ok({"meta": {}})])
    with pytest.raises(LagoError, match="no 'plans' array"):
        client.list_plans()


def test_get_returns_none_only_for_the_resources_not_found_code() -> None:
    client, _, _ = make([lago_error(404, "plan_not_found"), lago_error(404, "resource_not_found")])
    assert client.get_plan("nope") is None
    with pytest.raises(LagoNotFound, match="no such endpoint"):
        client.get_plan("nope")


def test_success_with_non_json_body_is_an_error() -> None:
    client, _, _ = make([httpx.Response(200, html="<html>login</html>")])
    with pytest.raises(LagoError, match="expected JSON"):
        client.get("/plans")


# -- create: never duplicated ------------------------------------------------------------------
def test_create_reconciles_a_lost_response_by_reading_back() -> None:
    created = {"code": "pro", "lago_id": "p1"}
    client, lago, _ = make([httpx.ReadTimeout("lost"), ok({"plan": created})])
    assert client.create_plan({"code": "pro", "name": "Pro"}) == created
    # one POST, then a read-back by code; never a second POST
    assert lago.lines() == ["POST /api/v1/plans", "GET /api/v1/plans/pro"]


def test_create_sends_again_when_read_back_finds_nothing() -> None:
    created = {"code": "pro", "lago_id": "p1"}
    client, lago, fake = make(
        [lago_error(502), lago_error(404, "plan_not_found"), ok({"plan": created})]
    )
    assert client.create_plan({"code": "pro"}) == created
    assert lago.lines() == ["POST /api/v1/plans", "GET /api/v1/plans/pro", "POST /api/v1/plans"]
    assert len(fake.sleeps) == 1


def test_create_already_exists_after_lost_response_reads_back_again() -> None:
    created = {"code": "pro", "lago_id": "p1"}
    exists = lago_error(
        422, "validation_errors", body={"error_details": {"code": ["value_already_exist"]}}
    )
    client, lago, _ = make(
        [
            lago_error(500),
            lago_error(404, "plan_not_found"),  # lost; not visible yet
            exists,
            ok({"plan": created}),  # the first POST did land
        ]
    )
    assert client.create_plan({"code": "pro"}) == created
    assert lago.lines().count("POST /api/v1/plans") == 2


def test_create_without_read_back_raises_a_lost_response() -> None:
    client, lago, _ = make([httpx.ReadTimeout("lost")])
    with pytest.raises(LagoError):
        client.create("/applied_coupons", "applied_coupon", {"coupon_code": "x"})
    assert len(lago.requests) == 1


def test_create_already_exists_on_first_try_is_raised() -> None:
    exists = lago_error(
        422, "validation_errors", body={"error_details": {"code": ["value_already_exist"]}}
    )
    client, lago, _ = make([exists])
    with pytest.raises(LagoValidationError, match="code: already exists"):
        client.create_plan({"code": "pro"})
    assert len(lago.requests) == 1


def test_create_gives_up_after_max_attempts() -> None:
    client, lago, _ = make(
        [lago_error(500), lago_error(404, "plan_not_found")] * 2,
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(LagoServerError):
        client.create_plan({"code": "pro"})
    assert lago.lines().count("POST /api/v1/plans") == 2


def test_subscription_create_reconciles_on_external_id() -> None:
    sub = {"external_id": "s1", "external_customer_id": "c1", "plan_code": "pro"}
    client, lago, _ = make([lago_error(503), ok({"subscription": sub})])
    assert client.create_subscription(sub) == sub
    assert lago.lines()[1] == "GET /api/v1/subscriptions/s1"


def test_wallet_create_reconciles_by_code_within_customer() -> None:
    wallet = {"code": "prepaid", "external_customer_id": "c1", "status": "active", "lago_id": "w"}
    client, lago, _ = make(
        [
            httpx.RemoteProtocolError("eof"),
            ok(
                {
                    "wallets": [{"code": "other", "status": "active"}, wallet],
                    "meta": meta(1, None, 1, 2),
                }
            ),
        ]
    )
    assert client.create_wallet({"code": "prepaid", "external_customer_id": "c1"}) == wallet
    assert lago.requests[1].url.params["external_customer_id"] == "c1"


def test_customer_upsert_is_repeated() -> None:
    client, lago, _ = make([lago_error(500), ok({"customer": {"external_id": "c1"}})])
    assert client.upsert_customer({"external_id": "c1"}) == {"external_id": "c1"}
    assert len(lago.requests) == 2


def test_wallet_transaction_returns_the_list() -> None:
    txs = [{"lago_id": "t1"}, {"lago_id": "t2"}]
    client, lago, _ = make([ok({"wallet_transactions": txs})])
    assert client.create_wallet_transaction({"wallet_id": "w", "paid_credits": "10"}) == txs
    assert lago.bodies() == [{"wallet_transaction": {"wallet_id": "w", "paid_credits": "10"}}]


def test_subscription_charge_override_and_usage_paths() -> None:
    client, lago, _ = make(
        [
            ok({"charge": {"code": "tokens"}}),
            ok({"customer_usage": {"amount_cents": 5}}),
            ok({"usage_periods": [], "meta": meta(0, None, 0, 0)}),
        ]
    )
    client.override_subscription_charge("s1", "tokens", {"properties": {"amount": "1"}})
    assert client.get_current_usage("c1", "s1") == {"amount_cents": 5}
    assert client.get_past_usage("c1", "s1", periods_count=2) == []
    assert lago.lines() == [
        "PUT /api/v1/subscriptions/s1/charges/tokens",
        "GET /api/v1/customers/c1/current_usage",
        "GET /api/v1/customers/c1/past_usage",
    ]
    assert lago.bodies()[0] == {"charge": {"properties": {"amount": "1"}}}
    assert lago.requests[2].url.params["periods_count"] == "2"


def test_event_hooks_see_every_exchange() -> None:
    seen: list[str] = []
    client, _, _ = make(
        [ok({"tax": {"code": "vat"}})],
        event_hooks={
            "request": [lambda r: seen.append(r.method)],
            "response": [lambda r: seen.append(str(r.status_code))],
        },
    )
    client.get_tax("vat")
    assert seen == ["GET", "200"]


def test_async_client_create_and_list() -> None:
    fake = FakeTime()
    lago = ScriptedLago(
        [
            httpx.ReadTimeout("lost"),
            lago_error(404, "tax_not_found"),
            ok({"tax": {"code": "vat"}}),
            ok({"taxes": [{"code": "vat"}], "meta": meta(1, None, 1, 1)}),
        ]
    )

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with AsyncLagoClient(
            "https://lago.test",
            "lago_test_key_1",
            transport=lago.transport(),
            pacing=None,
            sleep=fake.asleep,
            clock=fake.clock,
        ) as client:

            async def read_back() -> dict[str, Any] | None:
                try:
                    return (await client.get("/taxes/vat"))["tax"]
                except LagoNotFound:
                    return None

            created = await client.create("/taxes", "tax", {"code": "vat"}, read_back)
            return created, await client.list_all("/taxes", "taxes")

    created, taxes = asyncio.run(run())
    assert created == {"code": "vat"} and taxes == [{"code": "vat"}]
    assert lago.lines() == [
        "POST /api/v1/taxes",
        "GET /api/v1/taxes/vat",
        "POST /api/v1/taxes",
        "GET /api/v1/taxes",
    ]
