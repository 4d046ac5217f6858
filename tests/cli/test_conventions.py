"""The CLI behaves like Terraform's: exit codes per error class (2 only ever means changes
pending), colour rules, `show`, a saved plan applied without a prompt, progress only on a
terminal, quiet and verbose, shell completion of environments.

Terminal behaviour is checked on a real pseudo-terminal (``tests.cli.terminal``); the rest
through click's ``CliRunner``, against the embedded sandbox or the sandbox server over HTTP.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lagoform.cli import _register, root
from lagoform.cli.console import Console, Ticker
from lagoform.cli.dispatch import StatusLog
from lagoform.dispatch.worker import Progress
from lagoform.lago.secret import Secret
from tests.cli.terminal import run_on_terminal, terminal_env
from tests.conftest import SandboxServer
from tests.engine.e2e_helpers import edit, example_project

_register()

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONFIG = """\
version: 1
environments:
  sandbox: {premium: true}
  staging:
    description: Lago Cloud staging
    api_url: https://api.getlago.com
    api_key_env: LAGO_API_KEY_STAGING
  production:
    description: Lago Cloud production
    api_url: https://api.getlago.com
    api_key_env: LAGO_API_KEY_PRODUCTION
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(root, list(args), env=env or {})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root_dir = example_project(tmp_path)
    (root_dir / "lagoform.yaml").write_text(CONFIG)
    return root_dir


# -- exit codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--bogus"], "No such option '--bogus'"),
        (["plan", "--detailed-exitcodes"], "Did you mean '--detailed-exitcode'?"),
        (["plan", "--format", "xml"], "'xml' is not one of 'text', 'markdown', 'json'"),
        (["plna"], "No such command 'plna'"),
        (["dispatch", "nope"], "No such command 'nope'"),
        (["show"], "Missing argument 'PLANFILE'"),
        (["plan", "--past-periods", "99"], "99 is not in the range 0<=x<=24"),
    ],
)
def test_usage_errors_exit_1_never_2(project: Path, args: list[str], said: str) -> None:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert said in result.stderr and "Usage: lagoform" in result.stderr
    assert "Traceback" not in result.output


def test_exit_codes_per_error_class(project: Path, tmp_path: Path) -> None:
    where = ("--root", str(project))
    # changes pending: 2 with --detailed-exitcode, 0 without
    assert run("plan", *where, "--detailed-exitcode").exit_code == 2
    assert run("plan", *where).exit_code == 0
    assert run("apply", *where, "--auto-approve").exit_code == 0
    # no changes: 0
    assert run("plan", *where, "--detailed-exitcode").exit_code == 0
    # an unknown environment (lagoform.yaml): 1
    assert run("plan", *where, "-e", "prod").exit_code == 1
    # a missing API key variable: 1
    missing = run("plan", *where, "-e", "staging", "--detailed-exitcode")
    assert missing.exit_code == 1 and "LAGO_API_KEY_STAGING" in missing.stderr
    # Lago unreachable: 1 (nothing listens on port 9)
    down = run("plan", *where, "--api-url", "http://127.0.0.1:9", "--detailed-exitcode",
               env={"LAGO_API_KEY": "k" * 20})  # fmt: skip
    assert down.exit_code == 1 and "Traceback" not in down.output
    # not a plan file: 1
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    assert run("show", str(bogus)).exit_code == 1
    # invalid YAML: 1, even with --detailed-exitcode
    edit(project, "catalog/plans.yaml", "metric: storage_gb", "metric: storage_gbb", count=2)
    invalid = run("plan", *where, "--detailed-exitcode")
    assert invalid.exit_code == 1 and "nothing was sent to Lago" in invalid.stderr


# -- show, and a saved plan applied without asking ---------------------------------------------


def test_show_renders_a_saved_plan_as_plan_printed_it(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    for fmt in ("markdown", "json", "text"):
        planned = run("plan", "--root", str(project), "--format", fmt, "--out", str(out))
        shown = run("show", str(out), "--format", fmt)
        assert shown.exit_code == 0, shown.output
        printed = planned.stdout
        if fmt == "text":  # plan's text leads with its target; show's names the saved plan
            printed = printed.split("\n", 1)[1]
            assert shown.stderr.startswith("Saved plan ")
        if fmt == "json":  # the same document, made at another moment
            assert (
                json.loads(shown.stdout)["plan"]["changes"]
                == json.loads(printed)["plan"]["changes"]
            )
            assert json.loads(shown.stdout) == json.loads(out.read_text())
        else:
            assert shown.stdout == printed


def test_a_saved_plan_applies_without_a_prompt_a_fresh_one_still_asks(
    project: Path, tmp_path: Path
) -> None:
    fresh = run("apply", "--root", str(project))  # CliRunner has no terminal to ask on
    assert fresh.exit_code == 1 and "pass --auto-approve" in fresh.stderr
    out = tmp_path / "plan.json"
    assert run("plan", "--root", str(project), "--out", str(out)).exit_code == 0
    saved = run("apply", str(out), "--root", str(project))
    assert saved.exit_code == 0, saved.output
    assert "Apply complete: 18 created, 0 updated, 0 deleted, 0 blocked" in saved.stdout
    assert "+ plan pro_monthly: created (" in saved.stdout
    assert run("plan", "--root", str(project), "--detailed-exitcode").exit_code == 0


def test_on_a_terminal_a_fresh_apply_asks_and_a_saved_one_does_not(
    project: Path, tmp_path: Path
) -> None:
    env = terminal_env()
    declined = run_on_terminal(["apply", "--root", str(project)], cwd=project, env=env,
                               keys=b"n\n")  # fmt: skip
    assert declined.exit_code == 1
    assert "Apply these changes to sandbox (embedded emulator" in declined.terminal
    assert "apply cancelled; nothing was changed" in declined.terminal
    out = tmp_path / "plan.json"
    assert run("plan", "--root", str(project), "--out", str(out)).exit_code == 0
    saved = run_on_terminal(["apply", str(out), "--root", str(project)], cwd=project, env=env)
    assert saved.exit_code == 0, saved.terminal
    assert "Apply these changes" not in saved.terminal
    assert "Apply complete: 18 created" in saved.terminal


# -- colour ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "flags", "coloured"),
    [
        ({}, [], True),
        ({"NO_COLOR": "1"}, [], False),
        ({"NO_COLOR": ""}, [], True),  # no-color.org: set and not empty
        ({"TERM": "dumb"}, [], False),
        ({}, ["--no-color"], False),
    ],
)
def test_colour_only_on_a_terminal_that_wants_it(
    project: Path, extra: dict[str, str], flags: list[str], coloured: bool
) -> None:
    shown = run_on_terminal([*flags, "plan", "--root", str(project)], cwd=project,
                            env=terminal_env(**extra))  # fmt: skip
    assert shown.exit_code == 0, shown.terminal
    assert "+ plan pro_monthly" in ANSI.sub("", shown.terminal)
    assert bool(ANSI.search(shown.terminal)) is coloured
    # errors are coloured by the same rule
    edit(project, "catalog/plans.yaml", "metric: storage_gb", "metric: storage_gbb", count=2)
    failed = run_on_terminal([*flags, "validate", "--root", str(project)], cwd=project,
                             env=terminal_env(**extra))  # fmt: skip
    assert failed.exit_code == 1
    assert bool(ANSI.search(failed.terminal)) is coloured


def test_no_colour_in_a_pipe(project: Path) -> None:
    result = run("plan", "--root", str(project))
    assert result.exit_code == 0 and not ANSI.search(result.output)


# -- progress ----------------------------------------------------------------------------------


def test_progress_shows_on_a_terminal_only(project: Path, sandbox_server: SandboxServer) -> None:
    args = ["plan", "--api-url", sandbox_server.url, "--root", str(project)]
    env = terminal_env(LAGO_API_KEY=sandbox_server.api_key)
    # the live read takes well over 2 s: its lists go four at a time, two round trips of 1.5 s
    sandbox_server.control(latency_ms=1500)
    try:
        on_terminal = run_on_terminal(args, cwd=project, env=env)
        in_a_log = run_on_terminal(args, cwd=project, env=env, stderr_to_pipe=True)
    finally:
        sandbox_server.control(latency_ms=0)
    assert on_terminal.exit_code == 0 and in_a_log.exit_code == 0
    # redrawn in place with the elapsed time, then erased
    assert re.search(r"\rReading Lago \(http://127\.0\.0\.1:\d+ .*\) — \d+ s\x1b\[K",
                     on_terminal.terminal)  # fmt: skip
    assert "\r\x1b[K" in on_terminal.terminal
    # stderr not a terminal: no progress at all, and the plan is the same
    assert "Reading Lago" not in in_a_log.piped + in_a_log.terminal
    assert "+ plan pro_monthly" in in_a_log.terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_ticker_waits_then_redraws_and_erases() -> None:
    now = [0.0]
    stream = _Terminal()
    ticker = Ticker("Applying", stream=stream, enabled=True, delay=0.0, interval=0.01,
                    clock=lambda: now[0])  # fmt: skip
    expected = "\rApplying — [2/3] update plan pro — 12 s\x1b[K"
    with ticker:
        ticker.update("[2/3] update plan pro")
        now[0] = 12.4
        for _ in range(500):  # bounded: until the thread drew the new line
            if expected in stream.getvalue():
                break
            ticker._stop.wait(0.01)
    text = stream.getvalue()
    assert expected in text
    assert text.endswith("\r\x1b[K")
    quiet = _Terminal()
    with Ticker("Reading", stream=quiet, enabled=False, delay=0.0):
        pass
    assert quiet.getvalue() == ""


def test_progress_is_off_when_quiet_verbose_dumb_or_not_a_terminal() -> None:
    assert Console(environ={}).progress("x", stream=_Terminal()).enabled
    assert not Console(environ={}, quiet=True).progress("x", stream=_Terminal()).enabled
    assert not Console(environ={"TERM": "dumb"}).progress("x", stream=_Terminal()).enabled
    assert not Console(environ={}, verbose=True).progress("x", stream=_Terminal()).enabled
    assert not Console(environ={}).progress("x", stream=io.StringIO()).enabled


# -- quiet and verbose -------------------------------------------------------------------------


def test_quiet_prints_results_and_errors_only(project: Path) -> None:
    planned = run("-q", "plan", "--root", str(project))
    assert planned.exit_code == 0
    assert "target:" not in planned.output and "+ plan pro_monthly" in planned.stdout
    applied = run("--quiet", "apply", "--root", str(project), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert ": created (" not in applied.output  # no line per change
    assert "Apply complete: 18 created" in applied.stdout


def test_verbose_logs_every_request_with_the_key_masked(
    project: Path, sandbox_server: SandboxServer
) -> None:
    result = run("-v", "plan", "--api-url", sandbox_server.url, "--root", str(project),
                 env={"LAGO_API_KEY": sandbox_server.api_key})  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("debug: ")]
    assert any(re.fullmatch(r"debug: lagoform\.lago: GET /plans -> 200 \(\d+ ms\)", line)
               for line in lines), lines  # fmt: skip
    assert sandbox_server.api_key not in result.output
    quiet = run("plan", "--api-url", sandbox_server.url, "--root", str(project),
                env={"LAGO_API_KEY": sandbox_server.api_key})  # fmt: skip
    assert "debug:" not in quiet.stderr


def test_the_log_masks_every_secret_the_run_knows() -> None:
    console = Console(environ={"PRICING_LAGO_API_KEY": "env-canary-0123456789"})
    console.keep_secret(Secret("flag-canary-9876543210"))
    text = console.redact("sent env-canary-0123456789 and flag-canary-9876543210")
    assert "canary" not in text and text.count("********") == 2


# -- shell completion --------------------------------------------------------------------------


def _complete(words: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(
        root,
        [],
        prog_name="lagoform",
        env={
            "_LAGOFORM_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        },
    )
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line]


def test_completion_offers_the_environments_of_lagoform_yaml(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _complete("lagoform plan -e ", project, monkeypatch) == [
        "plain,production",
        "plain,sandbox",
        "plain,staging",
    ]
    assert _complete("lagoform apply -e st", project, monkeypatch) == ["plain,staging"]
    # --root given first: its lagoform.yaml, wherever the shell is
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _complete(f"lagoform plan --root {project} -e pro", elsewhere, monkeypatch) == [
        "plain,production"
    ]
    # no lagoform.yaml: the embedded sandbox only; a broken one: nothing, and no error
    assert _complete("lagoform plan -e ", elsewhere, monkeypatch) == ["plain,sandbox"]
    (elsewhere / "lagoform.yaml").write_text("environments: [")
    assert _complete("lagoform plan -e ", elsewhere, monkeypatch) == []


# -- dispatch run: a status line when something changed ----------------------------------------


def _progress(elapsed: float, events: int, backlog: int) -> Progress:
    return Progress(elapsed=elapsed, events=events, events_per_second=events / max(elapsed, 1),
                    records=events, backlog=backlog, dead_letters=0, retries=0)  # fmt: skip


def test_dispatch_logs_a_status_line_only_when_something_changed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = StatusLog()
    for second in range(1, 6):  # idle: the same counts every second
        log(_progress(second, 0, 0))
    log(_progress(6, 100, 20))
    log(_progress(7, 100, 20))  # idle again (the rate moves, the counts do not)
    log(_progress(8, 120, 0))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" · ")[1] for line in lines] == [
        "0 events from 0 records",
        "100 events from 100 records",
        "120 events from 120 records",
    ]
