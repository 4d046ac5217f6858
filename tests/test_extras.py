"""A command whose extra is not installed says which extra, in one line, and exits 1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lagoform.cli import _register, root
from lagoform.errors import ConfigError
from lagoform.extras import EXTRA_MODULES, require_extra
from lagoform.github.__main__ import main as action_main


def _hide(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, EXTRA_MODULES[extra], None)


@pytest.mark.parametrize("extra", sorted(EXTRA_MODULES))
def test_require_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    require_extra(extra, "x")  # the dev venv has every extra
    _hide(monkeypatch, extra)
    with pytest.raises(ConfigError) as raised:
        require_extra(extra, "lagoform thing")
    assert str(raised.value) == (
        f"lagoform thing needs the '{extra}' extra: pip install 'lagoform[{extra}]'"
    )


@pytest.mark.parametrize(
    "args", [["sandbox", "serve", "--port", "0"], ["dispatch", "serve", "--port", "0"]]
)
def test_serve_commands_without_the_server_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    _hide(monkeypatch, "server")
    _register()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: lagoform {args[0]} serve needs the 'server' extra: pip install 'lagoform[server]'"
    )
    assert not (tmp_path / ".lagoform").exists()  # nothing started, nothing written


def test_action_entry_point_without_the_github_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _hide(monkeypatch, "github")
    assert action_main(["pr"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "Error: python -m lagoform.github needs the 'github' extra: "
        "pip install 'lagoform[github]'\n"
    )
