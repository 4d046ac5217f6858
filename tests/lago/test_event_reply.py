"""``ClientCore.event_reply``: the batch answer is confirmed by a scan of its transaction ids
when it plainly accounts for every event, and by the exact parse in every other case."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from lagoform.errors import LagoUnconfirmed, LagoValidationError
from lagoform.lago.transport import ClientCore, EventPostResult, RawResponse


def core() -> ClientCore:
    return ClientCore("https://lago.test", "lago_test_key_1")


def reply(c: ClientCore, response: RawResponse, events: list[dict[str, Any]]) -> EventPostResult:
    """As the async client calls it: with the body it sent."""
    request, _ = c.encode({"events": events})
    return c.event_reply(response, events, request)


def answer(events: list[dict[str, Any]], status: int = 200) -> RawResponse:
    body = orjson.dumps({"events": events})
    return RawResponse(status, {"date": "Mon, 07 Dec 2026 09:00:00 GMT"}, body)


def sent(*tids: Any) -> list[dict[str, Any]]:
    return [{"transaction_id": t, "code": "calls", "properties": {"n": 1}} for t in tids]


def created(event: dict[str, Any]) -> dict[str, Any]:
    """What Lago answers for an event it stored (the fields around the id do not matter)."""
    return {"lago_id": "x", **event, "timestamp": "2026-12-07T09:00:00.000Z"}


def test_every_id_in_the_answer_confirms_without_parsing() -> None:
    events = sent("r1:a", "r1:b", "r2:a")
    result = reply(core(), answer([created(e) for e in events]), events)
    assert not result.already_delivered
    assert "unread" in repr(result)  # not parsed yet
    assert [e["transaction_id"] for e in result.events] == ["r1:a", "r1:b", "r2:a"]


def test_a_missing_event_is_unconfirmed() -> None:
    events = sent("r1:a", "r1:b", "r2:a")
    with pytest.raises(LagoUnconfirmed, match="accounts for 2 of the 3 events"):
        reply(core(), answer([created(e) for e in events[:2]]), events)


@pytest.mark.parametrize("body", [b"", b"{}", b'{"events":[]}'])
def test_an_empty_answer_is_unconfirmed(body: bytes) -> None:
    with pytest.raises(LagoUnconfirmed):
        reply(core(), RawResponse(200, {}, body), sent("r1:a"))


def test_a_property_named_transaction_id_cannot_stand_in_for_a_missing_event() -> None:
    """The missing event's id appears only as another event's property (sent that way, and
    echoed by Lago): the request holds the key twice for one event, so the exact parse
    decides — and it finds the event missing."""
    events = sent("r1:a", "r1:b")
    events[0]["properties"] = {"nested": {"transaction_id": "r1:b"}}
    decoy = created(events[0])
    with pytest.raises(LagoUnconfirmed, match="missing 'r1:b'"):
        reply(core(), answer([decoy]), events)


@pytest.mark.parametrize("tid", ['r"1:a', "r\\1:a", "réunion:a", "<r1>&:a"])
def test_ids_written_with_escapes_are_confirmed_by_the_exact_parse(tid: str) -> None:
    events = sent(tid, "r2:a")
    # Rails escapes <, > and & (\u003c…), JSON escapes quotes and backslashes
    body = (
        orjson.dumps({"events": [created(e) for e in events]})
        .replace(b"<", b"\\u003c")
        .replace(b">", b"\\u003e")
        .replace(b"&", b"\\u0026")
    )
    result = reply(core(), RawResponse(200, {}, body), events)
    assert [e["transaction_id"] for e in result.events] == [tid, "r2:a"]


def test_an_id_that_is_not_text_takes_the_exact_path() -> None:
    events = sent(42, "r2:a")
    result = reply(core(), answer([created(e) for e in events]), events)
    assert [e["transaction_id"] for e in result.events] == [42, "r2:a"]


def test_an_error_answer_raises_the_lago_error() -> None:
    body = orjson.dumps(
        {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": {"0": {"code": ["value_is_mandatory"]}},
        }
    )
    with pytest.raises(LagoValidationError):
        reply(core(), RawResponse(422, {}, body), sent("r1:a"))


def test_without_the_request_body_the_exact_path_decides() -> None:
    events = sent("r1:a", "r1:b")
    result = core().event_reply(answer([created(e) for e in events]), events, None)
    assert "unread" not in repr(result) and len(result.events) == 2


def test_the_server_date_is_noted() -> None:
    c = core()
    events = sent("r1:a")
    reply(c, answer([created(e) for e in events]), events)
    assert c.server_date == "Mon, 07 Dec 2026 09:00:00 GMT"
