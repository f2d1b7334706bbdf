"""The sessions of one process, by run id: a queue with a limit on how many train at once.

The app keeps one registry in ``st.cache_resource``; every tab finds a running job by
its run id (kept in the URL). Sessions beyond ``max_concurrent`` wait in submission
order; one starts each time another ends. Finished sessions are forgotten after
``keep_finished`` newer ones (their runs stay on disk).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sattn_dash.errors import RunError
from sattn_dash.training import users
from sattn_dash.training.session import SessionStatus, TrainingSession
from sattn_dash.training.store import RunStore

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.schema import Schema
    from sattn_dash.training.config import TrainingConfig

DEFAULT_MAX_CONCURRENT = 1  # one at a time: parallel fits on a CPU only share its cores


class SessionRegistry:
    """Submit, find, list and stop training sessions (see the module docstring)."""

    def __init__(
        self,
        store: RunStore | None = None,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        keep_finished: int = 50,
    ):
        if not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise RunError(f"max_concurrent must be 1 or more, got {max_concurrent!r}.")
        self.store = store or RunStore()
        self.max_concurrent = max_concurrent
        self.keep_finished = keep_finished
        self._sessions: OrderedDict[str, TrainingSession] = OrderedDict()
        self._lock = threading.RLock()

    def for_user(self, user: str | None) -> SessionRegistry:
        """This registry as ``user`` sees it: the same queue (and the same slots), but
        only that user's sessions, and new runs recorded as theirs (``training.users``)."""
        view = copy.copy(self)  # shares the sessions, the lock and the limits
        view.store = self.store.for_user(user)
        return view

    def _visible(self, session: TrainingSession) -> bool:
        return users.can_see(session.store.user, self.store.user)

    def submit(
        self,
        df: pd.DataFrame | None,
        schema: Schema,
        spec: ModelSpec | str,
        config: TrainingConfig | None = None,
        **kwargs: Any,
    ) -> str:
        """Queue a session (arguments as ``TrainingSession``); it starts when a slot is free."""
        session = TrainingSession(
            df, schema, spec, config, self.store, on_done=self._session_done, **kwargs
        )
        with self._lock:
            self._sessions[session.run_id] = session
        self._start_waiting()
        return session.run_id

    def resume(self, run_id: str, **options: Any) -> str:
        """Queue an interrupted run to carry on from its checkpoint (``options`` as
        ``training.resume.resume_session``); raises ``RunError`` saying why it cannot."""
        from sattn_dash.training.resume import resume_session

        with self._lock:
            current = self._sessions.get(run_id)
            if current is not None and not current.done:
                return run_id  # a second click, or another tab: already resuming
            session = resume_session(run_id, self.store, on_done=self._session_done, **options)
            self._sessions.pop(run_id, None)
            self._sessions[run_id] = session
        self._start_waiting()
        return run_id

    def get(self, run_id: str) -> TrainingSession | None:
        with self._lock:
            session = self._sessions.get(run_id)
        return session if session is not None and self._visible(session) else None

    def status(self, run_id: str) -> SessionStatus | None:
        session = self.get(run_id)
        return session.status() if session is not None else None

    def sessions(self) -> list[TrainingSession]:
        """Every session this registry remembers (and its user may see), oldest first."""
        with self._lock:
            return [s for s in self._sessions.values() if self._visible(s)]

    def active(self) -> list[TrainingSession]:
        """Sessions queued, running or stopping, oldest first."""
        return [s for s in self.sessions() if not s.status().done]

    def would_wait(self) -> bool:
        """Whether a session submitted now would queue: every slot is taken or others
        wait already, by anyone (without saying whose, for a per-user view)."""
        with self._lock:
            everyone = list(self._sessions.values())
        busy = [s for s in everyone if not s.status().done]
        return len(busy) >= self.max_concurrent

    def queue_position(self, run_id: str) -> int | None:
        """How many queued sessions, anyone's, are ahead of ``run_id`` (None if it is not
        queued or not this user's)."""
        if self.get(run_id) is None:
            return None
        with self._lock:
            everyone = list(self._sessions.values())
        queued = [s.run_id for s in everyone if s.status().state == "queued"]
        return queued.index(run_id) if run_id in queued else None

    def stop(self, run_id: str) -> bool:
        """Ask a session to stop; False when this registry has no such session."""
        session = self.get(run_id)
        if session is None:
            return False
        session.stop()
        return True

    def wait_all(self, timeout: float | None = None) -> None:
        """Block until every session ends (tests and the CLI)."""
        for session in self.sessions():
            session.wait(timeout)

    def _start_waiting(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            running = sum(s.started and not s.done for s in sessions)
            for session in sessions:
                if running >= self.max_concurrent:
                    break
                if not session.started and not session.done:
                    session.start()
                    running += 1

    def _session_done(self, session: TrainingSession) -> None:
        with self._lock:
            finished = [s for s in self._sessions.values() if s.done]
            for old in finished[: max(0, len(finished) - self.keep_finished)]:
                del self._sessions[old.run_id]
        self._start_waiting()
