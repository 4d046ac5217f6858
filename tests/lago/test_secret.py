"""The canary key: set a recognisable API key, drive every path, and look for it everywhere."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback

import httpx
import pytest

from lagoform.errors import LagoError
from lagoform.lago import LagoClient, RetryPolicy, Secret
from tests.lago.scripted import FakeTime, ScriptedLago, lago_error, ok

CANARY = "lago_canary_9f3b51c2-7d44-4a8e-b0aa-2f6c0de1c4e7"


def test_secret_masks_itself() -> None:
    secret = Secret(CANARY)
    assert secret.reveal() == CANARY
    for text in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>80}",
        "%s" % (secret,),  # noqa: UP031
        repr([secret]),
        repr({"k": secret}),
    ):
        assert CANARY not in text
    assert secret == Secret(CANARY) and secret != Secret("other_key_123")
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.redact(f"echo {CANARY} echo") == "echo ******** echo"
    with pytest.raises(ValueError):
        Secret("   ")


def test_canary_never_leaks(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    echo = {"status": 401, "error": f"Unauthorized: Bearer {CANARY}"}
    lago = ScriptedLago(
        [
            httpx.Response(401, json=echo),  # server echoes the key
            httpx.Response(502, html=f"<title>bad gateway {CANARY}</title>"),  # proxy page echo
            httpx.ConnectError(f"refused while sending Authorization: Bearer {CANARY}"),
            httpx.ConnectError("refused"),
            lago_error(500),
            lago_error(429, headers={"Retry-After": "1"}),
            ok({"plan": {"code": "pro"}}),
        ]
    )
    client = LagoClient(
        "https://lago.test",
        CANARY,
        transport=lago.transport(),
        retry=RetryPolicy(max_attempts=2),
        pacing=None,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    texts = [repr(client), repr(client.core), repr(client.core.secret), str(vars(client.core))]
    errors: list[LagoError] = []
    for _ in range(3):
        try:
            client.get("/plans/pro")
        except LagoError as err:
            errors.append(err)
            texts += [str(err), repr(err), *err.args, "".join(traceback.format_exception(err))]
    assert client.get("/plans/pro") == {"plan": {"code": "pro"}}
    print(*texts)  # anything the CLI would print of them
    assert len(errors) == 3
    assert lago.requests[0].headers["authorization"] == f"Bearer {CANARY}"  # it was really sent
    captured = capsys.readouterr()
    for text in [*texts, caplog.text, captured.out, captured.err]:
        assert CANARY not in text
    assert "retrying" in caplog.text  # logs were produced, and they are clean


def _leaks(text: str) -> bool:
    """The whole canary, or the first 8 characters a truncation could have left in view."""
    return CANARY in text or CANARY[:8] in text


def test_an_echoed_key_is_redacted_before_anything_is_truncated() -> None:
    # the key placed where a 120/160-character cut would have kept its start in view
    lago = ScriptedLago(
        [
            httpx.Response(200, text="x" * 110 + f" key={CANARY} " + "y" * 200),  # 2xx, not JSON
            httpx.Response(502, text="z" * 150 + f" {CANARY} " + "w" * 500),  # error page
            httpx.Response(422, json={"error_details": {"name": [f"echo {CANARY}"]}}),
        ]
    )
    client = LagoClient(
        "https://lago.test", CANARY, transport=lago.transport(), retry=RetryPolicy(max_attempts=1)
    )
    texts: list[str] = []
    for _ in range(3):
        with pytest.raises(LagoError) as info:
            client.get("/plans/pro")
        texts += [str(info.value), repr(info.value.details)]
    for text in texts:
        assert not _leaks(text), text
    assert "expected JSON" in texts[0] and "non-JSON response" in texts[2]


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (f"{CANARY}\r\nX-Injected: 1", "line break"),
        (f"{CANARY[:10]}\n{CANARY[10:]}", "line break"),
        (f"{CANARY}é", "non-ASCII"),
        (f"“{CANARY}”", "non-ASCII"),
        (f"{CANARY[:10]} {CANARY[10:]}", "space or a control character"),
        (f"{CANARY}\x00", "space or a control character"),
    ],
)
def test_a_malformed_key_is_refused_at_load_never_shown(key: str, why: str) -> None:
    from lagoform.config import read_key
    from lagoform.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        read_key("LAGO_API_KEY", "--api-url", {"LAGO_API_KEY": key})
    message = str(info.value)
    assert "LAGO_API_KEY" in message and why in message
    assert not _leaks(message)
    with pytest.raises(ValueError, match=why):
        LagoClient("https://lago.test", key)


def test_url_credentials_are_never_shown() -> None:
    from lagoform.lago.secret import without_userinfo

    url = "http://user:hunter2@lago.test:8080/api/v1"
    assert without_userinfo(url) == "http://lago.test:8080/api/v1"
    assert without_userinfo("https://lago.test/a@b") == "https://lago.test/a@b"
    client = LagoClient(url, "k" * 12, transport=httpx.MockTransport(lambda r: ok({})))
    assert "hunter2" not in repr(client) and "hunter2" not in repr(client.core)
