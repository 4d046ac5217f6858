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
