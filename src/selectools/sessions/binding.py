"""One run's session: loaded when the run starts, committed once when it ends.

The engine holds a `SessionRun` for a run with a session id. `open` (after taking the
session's lock, with `session_conflict="wait"`) loads the session; `commit` writes the
run's whole outcome in one store write, on the version `open` loaded; `close` releases
the lock, whatever happened. A run that fails commits nothing: the session stays as the
last finished run left it, with every tool call paired with its result.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Literal

from ..types import Message
from .base import SessionStore
from .record import PendingApproval, SessionState, check_id

SessionConflict = Literal["raise", "wait"]


class SessionRun:
    def __init__(self, store: SessionStore, session_id: str, namespace: str | None, *,
                 wait: bool, wait_timeout: float | None,
                 limits: tuple[int, int | None] | None = None) -> None:
        check_id("session_id", session_id, none_ok=False)
        check_id("namespace", namespace, none_ok=True)
        self.store = store
        self.session_id = session_id
        self.namespace = namespace
        self.wait = wait
        self.wait_timeout = wait_timeout
        #: (max_messages, max_tokens) of the agent's memory, which then bounds the session.
        self.limits = limits
        self.state: SessionState | None = None
        self._lock: AbstractAsyncContextManager[None] | None = None

    async def open(self) -> SessionState:
        if self.wait:
            lock = self.store.lock(self.session_id, self.namespace, timeout=self.wait_timeout)
            await lock.__aenter__()
            self._lock = lock
        self.state = await self.store.aload_state(self.session_id, self.namespace)
        return self.state

    async def commit(self, messages: list[Message], pending: PendingApproval | None) -> None:
        state = self.state
        assert state is not None, "commit before open"
        loaded = len(state.messages)
        kept = messages
        if self.limits is not None:
            from ..memory import ConversationMemory

            memory = ConversationMemory(max_messages=self.limits[0], max_tokens=self.limits[1])
            memory.add_many(messages)
            kept = memory.get_history()
        # The messages loaded are stored already unless trimming dropped some of them.
        new_from = loaded if len(kept) == len(messages) else 0
        version = state.version
        state.messages, state.pending = kept, pending
        await self.store.acommit(state, expected_version=version, new_from=new_from)

    async def close(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            await lock.__aexit__(None, None, None)
