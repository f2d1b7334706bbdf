"""A disk that really fills up, for the tests of what a full disk does.

Where this process may mount (root in a container), a small tmpfs is mounted and
``fill()`` writes a file until the kernel answers ENOSPC; ``free()`` deletes it. Where
it may not, the one atomic-write function answers ENOSPC while the disk is "full", as
the kernel would (the same errno, message and file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

from sattn_dash import files as atomic


class SmallDisk:
    def __init__(self, path: Path, monkeypatch, size: str = "32M"):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
        self.real = subprocess.run(mount, capture_output=True).returncode == 0
        self._filler = path / "filler.bin"
        self._full = False
        if not self.real:
            original = atomic.write_with

            def write_with(target, write, suffix=""):
                if self._full:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
                return original(target, write, suffix)

            monkeypatch.setattr(atomic, "write_with", write_with)

    def fill(self) -> None:
        """Take every free byte (a real disk: until the kernel says ENOSPC)."""
        self._full = True
        if self.real:
            with open(self._filler, "ab", buffering=0) as handle:
                chunk = b"\0" * (1 << 20)
                with contextlib.suppress(OSError):
                    while True:
                        handle.write(chunk)
                        handle.flush()
                chunk = b"\0" * 512
                with contextlib.suppress(OSError):
                    while True:
                        handle.write(chunk)
                        handle.flush()

    def free(self) -> None:
        self._full = False
        self._filler.unlink(missing_ok=True)

    def close(self) -> None:
        if self.real:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
