"""A child process that runs ``lagoform validate`` on project files it is sent, one case at a
time, under a memory cap: the hostile-YAML suite's sandbox (tests/catalog/test_hostile_yaml.py).

Protocol: one JSON line per case on stdin, ``{"files": {relative path: base64 bytes}}``; one
JSON line per answer on stdout, ``{"exit_code", "stderr", "stdout", "exception", "grew_mb"}``.
``exception`` is the type and message of anything that escaped the CLI (a traceback a user
would see); ``grew_mb`` is how much the process's peak memory grew during the case. The address
space is capped (``RLIMIT_AS``), so a case that tries to allocate gigabytes fails with a
MemoryError here instead of taking the test run down.
"""

from __future__ import annotations

import base64
import json
import resource
import sys
import tempfile
from pathlib import Path

MEMORY_CAP_BYTES = 2 * 1024**3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(files: dict[str, bytes]) -> dict[str, object]:
    from click.testing import CliRunner

    from lagoform.cli import _register, root

    _register()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "catalog").mkdir()
        (base / "overrides").mkdir()
        for name, data in files.items():
            (base / name).write_bytes(data)
        before = _peak_mb()
        result = CliRunner().invoke(root, ["validate", "--root", str(base)])
        grew = _peak_mb() - before
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return {
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "exception": None if escaped is None else f"{type(escaped).__name__}: {escaped}"[:500],
        "grew_mb": grew,
    }


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    import lagoform.cli  # noqa: F401  (imported before the first case: not counted in it)

    for line in sys.stdin:
        case = json.loads(line)
        files = {name: base64.b64decode(data) for name, data in case["files"].items()}
        answer = run_case(files)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
