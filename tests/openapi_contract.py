"""Contract checks against Lago's OpenAPI spec: a pytest plugin (loaded from tests/conftest.py).

In every test, each exchange answered by the in-process sandbox (any client, any thread) is
validated with openapi-core against Lago's spec (``$LAGO_OPENAPI_SPEC`` or
``../shared/lago/openapi.yaml``; AGPL test data, read at test time, never copied): always the
response, and the request too when lagoform's client sent it (hand-built requests may be wrong
on purpose). Exchanges over real HTTP are checked through ``lago_http_client``'s hooks.
Violations fail the test; ``@pytest.mark.no_contract`` opts a test out, and
``contract.expect_invalid_request()`` marks a deliberately bad request. Where the spec is known
to differ from Lago's server (API_NOTES §12, and what these tests found), the difference is
listed ONCE in ``SPEC_EXCEPTIONS`` below with its reason; nothing else is waived.

Fixtures: ``openapi_spec`` (session; skips with a reason when the spec file is absent),
``contract`` (this test's collector: violations, waivers, httpx hooks, a transport wrapper),
``lago_client`` (LagoClient on the in-process sandbox, contract-checked), ``lago_http_client``
(the same over ``sandbox_server``, a real HTTP subprocess).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI

from lagoform.lago import LagoClient, RetryPolicy
from tests.lago.contract_check import SPEC_ENV, Issue, findings, load_spec, spec_path

__all__ = ["SPEC_EXCEPTIONS", "Contract", "Issue", "SpecException", "load_spec", "spec_path"]

CHECKED_KEY = "lagoform_contract_checked"
API_PATH = "/api/v1/"
# lagoform's client says who it is; its requests must always match the spec
CLIENT_AGENT = "lagoform/"


# -- known differences between the spec and Lago's server ---------------------------------------
@dataclass(frozen=True)
class SpecException:
    """One known spec/server difference. Each field is a regex; all must match an issue."""

    name: str
    reason: str
    side: str = "request|response"  # which half of the exchange
    method: str = ".*"
    path: str = ".*"  # the concrete request path, e.g. /api/v1/billable_metrics/foo
    where: str = ".*"  # the issue's location, e.g. body.billable_metric.aggregation_type
    message: str = ".*"
    status: str = ".*"  # response status code ("" for request issues)

    def matches(self, issue: Issue) -> bool:
        return (
            all(
                re.fullmatch(pattern, value) is not None
                for pattern, value in (
                    (self.side, issue.side),
                    (self.method, issue.method),
                    (self.path, issue.path),
                    (self.where, issue.where),
                    (self.status, issue.status),
                )
            )
            and re.search(self.message, issue.message) is not None
        )


# Fields Lago's serializers emit as null when unset although the spec types them non-nullable
# (OpenAPI 3.1 would need `type: [string, "null"]`). Listed by name so a null anywhere else
# still fails.
_NULLABLE_IN_PRACTICE = (
    r"plan\.(description|invoice_display_name)",
    r"plans\[\d+\]\.(description|invoice_display_name)",
    r"billable_metrics?(\[\d+\])?\.expression",
    r"billing_configuration\.(invoice_grace_period|payment_provider)",
    r"subscriptions?(\[\d+\])?\.(cancellation_reason|on_termination_credit_note)",
    r"payment_method\.payment_method_id",
    r"charges_usage\[\d+\]\.filters\[\d+\]\.(invoice_display_name|values)",
    r"plans?(\[\d+\])?\.trial_period",
)

SPEC_EXCEPTIONS: tuple[SpecException, ...] = (
    SpecException(
        name="custom_agg",
        reason="API_NOTES §12.1: the server accepts aggregation_type custom_agg (with the org "
        "feature flag) but the spec's enum omits it.",
        where=r"body\.(billable_metric|billable_metrics\[\d+\])\.aggregation_type",
        message=r"'custom_agg' is not one of",
    ),
    SpecException(
        name="rate_limit_and_gateway_statuses",
        reason="API_NOTES §2.4: Lago Cloud answers 429 (rate limits) on every endpoint and any "
        "proxy may answer 5xx, but the spec documents neither for most operations; the sandbox "
        "injects both to exercise retries.",
        side="response",
        status=r"429|5\d\d",
    ),
    SpecException(
        name="unknown_route",
        reason="Tests probe Lago's catch-all 404 (`resource_not_found`) with hand-built requests "
        "to routes that do not exist, so the spec has nothing to check them against. Requests "
        "from lagoform's client are always request-checked, so a wrong path there still fails.",
        side="response",
        status="404",
        message=r"^(PathNotFound|OperationNotFound): ",
    ),
    SpecException(
        name="null_for_unset_fields",
        reason="Lago's serializers render every attribute, null when unset (plan description, "
        "metric expression, subscription cancellation_reason, payment_method_id, the default "
        "filter bucket of current usage...), while the spec types these fields non-nullable.",
        side="response",
        where=r"body\.(.*\.)?(" + "|".join(_NULLABLE_IN_PRACTICE) + r")",
        message=r"^None is not (of type|one of)",
    ),
    SpecException(
        name="null_means_unset_in_requests",
        reason="lagoform sends null for optional scalars it manages but leaves unset (a charge's "
        "or filter's invoice_display_name, a subscription's name and ending_at). Lago's "
        "strong parameters accept null and store nil, the same as omitting the key (API_NOTES "
        "§4.6: an omitted invoice_display_name is cleared); the spec types them non-nullable.",
        side="request",
        where=r"body\.(.*\.)?(charges\[\d+\]\.(filters\[\d+\]\.)?invoice_display_name|"
        r"charge\.(filters\[\d+\]\.)?invoice_display_name|subscription\.(name|ending_at))",
        message=r"^None is not of type 'string'$",
    ),
    SpecException(
        name="subscription_status_incomplete",
        reason="API_NOTES §5.6-5.7: `incomplete` is one of Lago's subscription statuses and a "
        "valid `status[]` filter value; the spec's filter enum lists only active, canceled, "
        "pending and terminated.",
        side="request",
        method="GET",
        where=r"query\.status\[\]\[\d+\]",
        message=r"^'incomplete' is not one of",
    ),
    SpecException(
        name="oneof_integer_number",
        reason="Event and usage `properties` values are declared oneOf [string, integer, "
        "number]; every integer also matches `number`, so oneOf rejects any integer (should be "
        "anyOf). Integers are what Lago's own examples send (e.g. gb: 10).",
        where=r"body\.(.*\.)?properties\.[^.]+",
        message=r"is valid under each of \{'type': 'number'\}, \{'type': 'integer'\}",
    ),
    SpecException(
        name="subscription_update_ending_at",
        reason="API_NOTES §5.3: PUT /subscriptions/{external_id} accepts any subset of its keys "
        "(name, ending_at, ...); the spec marks ending_at required, which would forbid renaming.",
        side="request",
        method="PUT",
        path=r"/api/v1/subscriptions/[^/]+",
        where=r"body\.subscription",
        message=r"'ending_at' is a required property",
    ),
    SpecException(
        name="unsaved_computation_records",
        reason="An invoice preview and a fee estimate are computed on records Lago never saves "
        "(invoices/preview_service.rb:27-42, fees/estimate_pay_in_advance_service.rb:28-35; a "
        "proposal's customer and subscription are Customer.new / Subscription.new, "
        "invoices/preview_context_service.rb:55-60, preview/build_subscription_service.rb:29-41), "
        "so their ids, numbers and creation times render null; an invoice without a file or a "
        "payment dispute has null file_url and payment_dispute_lost_at. The spec types these "
        "fields non-nullable.",
        side="response",
        method="POST",
        path=r"/api/v1/(invoices/preview|events/estimate_fees)",
        where=r"body\.("
        r"invoice\.(lago_id|sequential_id|number|file_url|payment_dispute_lost_at)"
        r"|(invoice\.)?(fees\[\d+\]\.)?applied_taxes\[\d+\]\.(lago_id|lago_fee_id|"
        r"lago_invoice_id|created_at)"
        r"|invoice\.customer\.(lago_id|sequential_id|slug|external_id)"
        r"|invoice\.subscriptions\[\d+\]\.(lago_id|lago_customer_id|external_id|"
        r"external_customer_id)"
        r"|invoice\.fees\[\d+\]\.item\.lago_item_id)",
        message=r"^None is not of type",
    ),
    SpecException(
        name="expression_failure_message",
        reason="An event whose billable-metric expression cannot be evaluated is refused with "
        "the evaluator's message as error_details (events/create_service.rb:26-27, "
        "spec/requests/api/v1/events_controller_spec.rb:110-128): a string, where the spec "
        "types error_details as an object.",
        side="response",
        method="POST",
        path=r"/api/v1/events",
        status="422",
        where=r"body\.error_details",
        message=r"^'expression_evaluation_failed: .*' is not of type 'object'$",
    ),
    SpecException(
        name="fee_precise_amounts_are_numbers",
        reason="V1::FeeSerializer renders precise_amount, precise_total_amount and "
        "taxes_precise_amount with Float#fdiv (serializers/v1/fee_serializer.rb:37-40): JSON "
        "numbers, where the spec types them strings.",
        side="response",
        where=r"body\.(invoice\.)?fees\[\d+\]\.(precise_amount|precise_total_amount|"
        r"taxes_precise_amount)",
        message=r"is not of type 'string'$",
    ),
    SpecException(
        name="wallet_balance",
        reason="WalletObject lists `balance` in `required` but defines no such property (a "
        "leftover of the float balance Lago replaced by balance_cents/credits_balance); the "
        "sandbox sends the defined balance fields. Unverified against a live server.",
        side="response",
        where=r"body\.(wallet|wallets\[\d+\])",
        message=r"^'balance' is a required property$",
    ),
)


# -- the collector -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Exchange:
    request: httpx.Request
    response: httpx.Response
    request_side: bool
    expect_invalid: bool


@dataclass
class Contract:
    """Checks exchanges against the spec and keeps every unexplained difference.

    Exchanges are *recorded* as they happen and validated afterwards (``flush``: when the test
    body returns, when ``violations`` is read, at the end of ``expect_invalid_request``), so
    validation never slows the exchange itself — rate-limit and latency tests keep their timing.
    """

    load: Callable[[], OpenAPI]
    exceptions: tuple[SpecException, ...] = SPEC_EXCEPTIONS
    waived: Counter[str] = field(default_factory=Counter)
    exchanges: int = 0
    reported: bool = False
    observing_sandbox: bool = False  # True: the in-process sandbox transport is watched
    expected_request_issues: list[Issue] = field(default_factory=list)
    _violations: list[Issue] = field(default_factory=list)
    _pending: list[_Exchange] = field(default_factory=list)
    _expect_invalid: int = 0

    @property
    def violations(self) -> list[Issue]:
        self.flush()
        return self._violations

    def record(
        self, request: httpx.Request, response: httpx.Response, *, request_side: bool = True
    ) -> None:
        """Keep one exchange for validation (``request_side=False``: check the response only,
        for requests a test built by hand). Paths outside ``/api/v1`` (health, the sandbox's
        control endpoints) are not Lago's API and are not kept."""
        if request.url.path.startswith(API_PATH):
            self.exchanges += 1
            self._pending.append(
                _Exchange(request, response, request_side, self._expect_invalid > 0)
            )

    def flush(self) -> None:
        while self._pending:
            ex = self._pending.pop(0)
            self._validate(
                ex.request,
                ex.response,
                request_side=ex.request_side,
                expect_invalid=ex.expect_invalid,
            )

    def check(
        self,
        request: httpx.Request,
        response: httpx.Response,
        *,
        request_side: bool = True,
        expect_invalid: bool = False,
    ) -> list[Issue]:
        """Validate one exchange now; unexplained issues are kept and returned."""
        self.exchanges += 1
        return self._validate(
            request, response, request_side=request_side, expect_invalid=expect_invalid
        )

    def _validate(
        self,
        request: httpx.Request,
        response: httpx.Response,
        *,
        request_side: bool,
        expect_invalid: bool,
    ) -> list[Issue]:
        found = findings(self.load(), request, response, request_side)
        # Lago refused the request (4xx other than a rate limit): a test exercising the refusal
        # may send a wrong request on purpose; only accepted requests must match the spec.
        refused = 400 <= response.status_code < 500 and response.status_code != 429
        unexplained = []
        for issue in found:
            if issue.side == "request" and (expect_invalid or refused):
                self.expected_request_issues.append(issue)
                continue
            rule = next((x for x in self.exceptions if x.matches(issue)), None)
            if rule is None:
                unexplained.append(issue)
            else:
                self.waived[rule.name] += 1
        self._violations.extend(unexplained)
        return unexplained

    @contextmanager
    def expect_invalid_request(self) -> Iterator[None]:
        """For tests that send Lago a deliberately bad request: request-side issues inside the
        block are expected (at least one must be found); responses are still checked."""
        self.flush()
        before = len(self.expected_request_issues)
        self._expect_invalid += 1
        try:
            yield
        finally:
            self._expect_invalid -= 1
            self.flush()
        if len(self.expected_request_issues) == before:
            pytest.fail("expected an off-spec request, but the spec accepts it", pytrace=False)

    def response_hook(self, response: httpx.Response) -> None:
        """An httpx response hook: read the body, then keep the exchange for checking."""
        response.read()
        if not response.request.extensions.get(CHECKED_KEY):
            self.record(response.request, response)

    def hooks(self) -> dict[str, list[Any]]:
        return {"response": [self.response_hook]}

    def wrap(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        """A transport that checks every exchange passing through ``transport``."""
        return _CheckingTransport(transport, self)

    def report(self) -> str:
        violations = self.violations
        shown = "\n".join(f"  - {v}" for v in violations[:50])
        more = len(violations) - 50
        extra = f"\n  … and {more} more" if more > 0 else ""
        return (
            f"{len(violations)} OpenAPI contract violation(s) in {self.exchanges} "
            f"exchange(s) (if the spec is wrong, add a SpecException with the reason):\n"
            f"{shown}{extra}"
        )

    def assert_clean(self) -> None:
        if self.violations and not self.reported:
            self.reported = True
            pytest.fail(self.report(), pytrace=False)


class _CheckingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, contract: Contract) -> None:
        self.inner = inner
        self.contract = contract

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        request.extensions = {**request.extensions, CHECKED_KEY: True}
        self.contract.record(request, response)
        return response

    def close(self) -> None:
        self.inner.close()


# -- fixtures ----------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "no_contract: do not check this test's sandbox traffic against Lago's OpenAPI spec",
    )


def _spec_or_skip() -> OpenAPI:
    path = spec_path()
    if not path.is_file():
        pytest.skip(
            f"Lago's OpenAPI spec not found at {path} (set {SPEC_ENV}); "
            "contract checks need it — CI always has it beside the repo"
        )
    return load_spec(path)


@pytest.fixture(scope="session")
def openapi_spec() -> OpenAPI:
    return _spec_or_skip()


@contextmanager
def _observe_sandbox(observer: Contract) -> Iterator[None]:
    """Check every exchange answered by an in-process sandbox transport (any client, any
    thread). Requests are checked too when lagoform's client sent them."""
    from lagoform.sandbox.transport import SandboxTransport

    sync_original = SandboxTransport.handle_request
    async_original = SandboxTransport.handle_async_request

    def ours(request: httpx.Request) -> bool:
        agent: str = request.headers.get("user-agent", "")
        return agent.startswith(CLIENT_AGENT)

    def handle_request(self: SandboxTransport, request: httpx.Request) -> httpx.Response:
        response = sync_original(self, request)
        observer.record(request, response, request_side=ours(request))
        return response

    async def handle_async_request(
        self: SandboxTransport, request: httpx.Request
    ) -> httpx.Response:
        response = await async_original(self, request)
        observer.record(request, response, request_side=ours(request))
        return response

    SandboxTransport.handle_request = handle_request  # type: ignore[method-assign]
    SandboxTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        SandboxTransport.handle_request = sync_original  # type: ignore[method-assign]
        SandboxTransport.handle_async_request = async_original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _sandbox_contract(request: pytest.FixtureRequest) -> Iterator[Contract | None]:
    """Every test: the in-process sandbox's traffic is checked against the spec (loaded on the
    first exchange). Opt out with ``@pytest.mark.no_contract``; no spec file → not checked."""
    if request.node.get_closest_marker("no_contract") or not spec_path().is_file():
        yield None
        return
    observer = Contract(lambda: load_spec(spec_path()), observing_sandbox=True)
    with _observe_sandbox(observer):
        yield observer
    observer.assert_clean()


@pytest.fixture
def contract(_sandbox_contract: Contract | None) -> Contract:
    """The collector for this test (the same one that watches the in-process sandbox)."""
    if _sandbox_contract is not None:
        return _sandbox_contract
    api = _spec_or_skip()
    return Contract(lambda: api)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test itself (not its teardown) when its exchanges broke the contract."""
    yield  # re-raises if the test already failed
    funcargs = getattr(item, "funcargs", {})
    for checker in (funcargs.get("_sandbox_contract"), funcargs.get("contract")):
        if isinstance(checker, Contract) and checker.violations and not checker.reported:
            checker.reported = True
            pytest.fail(checker.report(), pytrace=False)


NO_SLEEP_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def lago_client(sandbox: Any, contract: Contract) -> Iterator[LagoClient]:
    """A LagoClient on the in-process sandbox; every exchange is contract-checked."""
    transport = sandbox.transport()
    client = LagoClient(
        "http://sandbox.test",
        "lago_sandbox_contract_key",
        transport=transport if contract.observing_sandbox else contract.wrap(transport),
        pacing=None,
        retry=NO_SLEEP_RETRY,
    )
    yield client
    client.close()


@pytest.fixture
def lago_http_client(sandbox_server: Any, contract: Contract) -> Iterator[LagoClient]:
    """A LagoClient over real HTTP to ``sandbox_server``; every exchange is contract-checked."""
    client = LagoClient(
        sandbox_server.url,
        sandbox_server.api_key,
        event_hooks=contract.hooks(),
        pacing=None,
        retry=NO_SLEEP_RETRY,
    )
    yield client
    client.close()
