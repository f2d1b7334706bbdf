"""Parallel trials on one machine: one worker process each, each on its share of cores.

TensorFlow keeps its state per process, so parallel trials are processes, never threads.
Each worker gets ``SATTN_DASH_CPUS`` (its cores) and, with GPUs, ``CUDA_VISIBLE_DEVICES``
(one GPU, round robin); it pins itself to those cores and sizes TensorFlow's thread
pools to them before TensorFlow loads. A worker started by ``search --workers`` gets
SIGINT when its parent dies, so it ends its trial cleanly instead of running on alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

CPUS_ENV = "SATTN_DASH_CPUS"
PR_SET_PDEATHSIG = 1


def available_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def core_shares(workers: int, cores: Sequence[int] | None = None) -> list[list[int]]:
    """Split the cores into ``workers`` equal shares (round robin when there are fewer
    cores than workers: then workers share cores)."""
    cores = list(cores if cores is not None else available_cores())
    if workers <= len(cores):
        size = len(cores) // workers
        return [cores[i * size : (i + 1) * size] for i in range(workers)]
    return [[cores[i % len(cores)]] for i in range(workers)]


def limit_to_cores() -> list[int] | None:
    """Apply ``SATTN_DASH_CPUS`` to this process (call before TensorFlow loads)."""
    value = os.environ.get(CPUS_ENV)
    if not value:
        return None
    cpus = [int(c) for c in value.split(",") if c.strip()]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    threads = str(len(cpus))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = threads
    os.environ["TF_NUM_INTEROP_THREADS"] = "1" if len(cpus) <= 2 else "2"
    return cpus


def _die_with_parent() -> None:
    """In the child, before exec: SIGINT when the parent process ends (Linux)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGINT)


def worker_env(index: int, workers: int, gpus: int = 0) -> dict[str, str]:
    env = dict(os.environ)
    env[CPUS_ENV] = ",".join(map(str, core_shares(workers)[index]))
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    return env


def spawn_workers(arguments: list[list[str]], gpus: int = 0) -> list[subprocess.Popen]:
    """Start one ``python -m sattn_dash search-worker ...`` per argument list."""
    children = []
    for i, args in enumerate(arguments):
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "sattn_dash", "search-worker", *args],
                env=worker_env(i, len(arguments), gpus),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the parent prints the one JSON object
                start_new_session=True,  # a terminal's Ctrl-C reaches the parent only
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        )
    return children


def wait_for(children: list[subprocess.Popen]) -> tuple[list[int], bool]:
    """Wait for every child; Ctrl-C (or SIGINT) is passed on to them once (they stop
    their trials) and a second one ends them at once. Returns their exit codes and whether Ctrl-C came."""
    interrupted = False
    while any(c.poll() is None for c in children):
        try:
            time.sleep(0.2)
        except KeyboardInterrupt:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL if interrupted else signal.SIGINT)
            interrupted = True
    return [c.returncode for c in children], interrupted
