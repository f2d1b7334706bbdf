"""Long work of a page in a worker thread: its status, polled by the page.

A ``Job`` is written by its worker (progress, a line of text, the outcome) and read by
the page's ``st.fragment(run_every=...)``; it makes no Streamlit calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sattn_dash.errors import UserError


@dataclass
class Job:
    """One piece of long work: progress 0..1, a line of text, the outcome."""

    progress: float = 0.0
    message: str = "starting"
    error: str | None = None
    done: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def running(self) -> bool:
        return not self.done

    def report(self, share: float, message: str) -> None:
        """The worker's progress (never going back) and what it is doing; safe to call
        from several threads."""
        with self._lock:
            self.progress, self.message = max(self.progress, min(share, 1.0)), message

    def start_thread(self, work: Callable[[], None], name: str, failure: str) -> None:
        """Run ``work`` in a daemon thread; what it raises becomes ``error`` (a user's
        mistake as its message, anything else after ``failure``), then ``done``."""

        def guarded() -> None:
            try:
                work()
            except UserError as error:
                self.error = str(error)
            except Exception as error:  # noqa: BLE001 - shown in the page, not lost in a thread
                self.error = f"{failure}: {type(error).__name__}: {error}"
            finally:
                self.done = True

        self.thread = threading.Thread(target=guarded, name=name, daemon=True)
        self.thread.start()
