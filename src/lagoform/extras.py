"""Optional parts of lagoform and the pip extra that installs each.

A plain ``pip install lagoform`` carries what ``validate``, ``plan``, ``apply``, ``import``,
``impact``, ``audit`` and the usage worker need. The HTTP servers (``sandbox serve``,
``dispatch serve``), the GitHub Action's entry point and the Kafka source need more; when their
extra is missing, ``require_extra`` turns the ImportError into one line naming the extra.
"""

from __future__ import annotations

import importlib

from lagoform.errors import ConfigError

# extra -> the module whose absence means the extra is not installed
EXTRA_MODULES: dict[str, str] = {
    "server": "uvicorn",
    "github": "github_action_toolkit",
    "kafka": "confluent_kafka",
}


def missing_extra_message(extra: str, needed_by: str) -> str:
    """The one line shown when ``extra`` is not installed (``needed_by``: the command)."""
    return f"{needed_by} needs the '{extra}' extra: pip install 'lagoform[{extra}]'"


def require_extra(extra: str, needed_by: str) -> None:
    """Raise ConfigError naming ``extra`` when its module cannot be imported."""
    try:
        importlib.import_module(EXTRA_MODULES[extra])
    except ImportError as err:
        raise ConfigError(missing_extra_message(extra, needed_by)) from err
