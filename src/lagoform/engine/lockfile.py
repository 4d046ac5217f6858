"""A lock file under ``.lagoform/`` so two local applies never run against one environment.

Created atomically (``O_EXCL``) with the holder's pid; a lock left by a process that no longer
exists is taken over. It does not protect against applies from other machines (CI should
serialize its own jobs); it stops the common local accident.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from lagoform.errors import PlanError


def lock_path(root: Path, environment: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", environment) or "default"
    return root / ".lagoform" / f"apply-{safe}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def apply_lock(root: Path, environment: str) -> Iterator[Path]:
    path = lock_path(root, environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is not None and _alive(holder):
                raise PlanError(
                    f"another lagoform apply to {environment!r} is running (pid {holder}); "
                    f"wait for it, or delete {path} if that process is gone"
                ) from None
            path.unlink(missing_ok=True)  # left behind by a process that died
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        break
    else:
        raise PlanError(f"could not take the apply lock {path}")
    try:
        yield path
    finally:
        if _holder(path) == os.getpid():
            path.unlink(missing_ok=True)


def _holder(path: Path) -> int | None:
    try:
        first = path.read_text().split()
    except OSError:
        return None
    try:
        return int(first[0]) if first else None
    except ValueError:
        return None
