"""Who owns a run that is still training, and whether that owner is still alive.

A run on disk that says ``running`` may belong to a process that was killed. The status
file records the owner (host, process id and the process's start time, so a recycled
process id is not mistaken for the owner); a run whose owner is gone is interrupted.
Inside one process, live sessions claim their run ids here, so a run this process
abandoned without a final status (it cannot happen short of a crash) is not shown as
running forever either.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

# With no way to check the process (another host), a heartbeat this old means it is gone.
HEARTBEAT_TIMEOUT_S = 300.0

_claimed: set[str] = set()
_lock = threading.Lock()


def claim(run_id: str) -> None:
    with _lock:
        _claimed.add(run_id)


def release(run_id: str) -> None:
    with _lock:
        _claimed.discard(run_id)


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process, to tell a recycled pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    fields = _proc_stat(pid)
    if fields is not None:
        return fields[0] not in ("Z", "X")  # a killed child not yet reaped is a zombie
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def this_owner() -> dict[str, Any]:
    """The fields a status file records so a later reader can check this process."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "pid_start": _process_start(pid)}


def owner_alive(run_id: str, status: dict[str, Any]) -> bool:
    """Whether the process that wrote an active ``status`` can still be writing it."""
    pid = status.get("pid")
    heartbeat = status.get("heartbeat")
    if status.get("host") != socket.gethostname() or not isinstance(pid, int):
        return isinstance(heartbeat, int | float) and time.time() - heartbeat < HEARTBEAT_TIMEOUT_S
    if pid == os.getpid():
        with _lock:
            return run_id in _claimed
    if not _pid_alive(pid):
        return False
    recorded, current = status.get("pid_start"), _process_start(pid)
    if recorded is not None and current is not None:
        return recorded == current
    return isinstance(heartbeat, int | float) and time.time() - heartbeat < HEARTBEAT_TIMEOUT_S
