"""SessionStore: the protocol every store follows, with what they share.

A store keeps one record per (namespace, session id): a versioned JSON document (see
record.py). The engine loads a session when a run starts and commits the run's new
messages in ONE write when it ends, on the version it loaded (`acommit`): a run that died
half-way committed nothing, and a run whose session another run committed to meanwhile
gets a SessionConflictError instead of overwriting it. `lock` queues runs of one session
instead, for `AgentConfig(session_conflict="wait")`.

The names and the sync methods are selectools 1.3.0's (`save`, `load`, `list`, `delete`,
`exists`, `branch`, `search`); each has an async twin (`asave`, `aload`, ...), which the
engine uses. Sync methods run on the library's event loop (selectools._sync).
"""

from __future__ import annotations

import builtins
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import SessionConflictError, SessionCorruptError, describe
from .record import SessionState, check_id, decode, searchable_text

if TYPE_CHECKING:
    from ..memory import ConversationMemory

T = TypeVar("T")
_SNIPPET_CHARS = 160
_SNIPPETS_PER_SESSION = 5


@dataclass
class SessionMetadata:
    """A stored session in brief (`SessionStore.list`)."""

    session_id: str
    message_count: int
    created_at: float
    updated_at: float
    namespace: str | None = None
    version: int = 0
    #: How many tool calls wait for approval (see Agent.resume).
    pending_calls: int = 0


@dataclass(frozen=True)
class SessionSearchResult:
    """A session that `search` matched: higher `score` is more relevant (comparable within
    one result list only), `matched_messages` are snippets of the matching messages."""

    session_id: str
    score: float
    matched_messages: builtins.list[str] = field(default_factory=builtins.list)
    namespace: str | None = None


class SessionStore(ABC):
    """Where sessions live. Subclasses implement the primitives below; `default_ttl`
    (seconds, None: never) expires a session that long after its last commit."""

    default_ttl: float | None = None

    # -- what a store implements -------------------------------------------------------

    @abstractmethod
    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        """(the record's text, or None when there is none or it expired; its version, 0
        when there is no record at all). One round trip to a server."""

    @abstractmethod
    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        """Store `state` (its `version` already the new one) atomically, only if the stored
        version is still `expected` (None: whatever it is), else raise
        SessionConflictError. `new_from`: the messages before it were stored already (a
        store indexing messages for search may index only the rest). One round trip."""

    @abstractmethod
    async def _remove(self, session_id: str, namespace: str | None) -> bool: ...

    @abstractmethod
    def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        """Every live session (of `namespace`; of all namespaces when None)."""

    @abstractmethod
    def lock(self, session_id: str, namespace: str | None = None, *,
             timeout: float | None = None) -> AbstractAsyncContextManager[None]:
        """Hold the session for one run (`session_conflict="wait"`): other runs of it wait,
        in this process and in others; a crashed holder's lock is released (or expires)
        by itself. Raises SessionLockTimeout after `timeout` seconds."""

    async def aclose(self) -> None:  # noqa: B027 (a store with nothing to release)
        """Release connections and threads (the store may be used again after)."""

    # -- the engine's calls ------------------------------------------------------------

    async def aload_state(self, session_id: str, namespace: str | None = None
                          ) -> SessionState:
        """The session as stored, or a new empty one (version 0 when no record exists)."""
        check_id("session_id", session_id, none_ok=False)
        check_id("namespace", namespace, none_ok=True)
        text, version = await self._read(session_id, namespace)
        if text is None:
            return SessionState(session_id=session_id, namespace=namespace, version=version)
        return decode(text, session_id, namespace)

    async def acommit(self, state: SessionState, *, expected_version: int | None,
                      new_from: int = 0) -> SessionState:
        """Write `state` as the next version after `expected_version` (None: overwrite
        whatever is stored). Raises SessionConflictError, changing nothing, when another
        commit came first. Returns the state as stored (its version, times, expiry)."""
        now = time.time()
        state.version = (expected_version if expected_version is not None
                         else state.version) + 1
        state.created_at = state.created_at or now
        state.updated_at = now
        state.expires_at = now + self.default_ttl if self.default_ttl is not None else None
        await self._write(state, expected_version, new_from)
        return state

    # -- the public API, async ---------------------------------------------------------

    async def aget(self, session_id: str, namespace: str | None = None
                   ) -> SessionState | None:
        state = await self.aload_state(session_id, namespace)
        return state if state.created_at else None

    async def aexists(self, session_id: str, namespace: str | None = None) -> bool:
        return await self.aget(session_id, namespace) is not None

    async def adelete(self, session_id: str, namespace: str | None = None) -> bool:
        """Delete a session; True when it existed."""
        check_id("session_id", session_id, none_ok=False)
        check_id("namespace", namespace, none_ok=True)
        return await self._remove(session_id, namespace)

    async def asave(self, session_id: str, memory: ConversationMemory,
                    namespace: str | None = None) -> None:
        """Store `memory`'s messages as the session, replacing what it held (pending
        approvals included), whatever its version."""
        state = await self.aload_state(session_id, namespace)
        state.messages = memory.get_history()
        state.summary = memory.summary
        state.pending = None
        state.limits = {"max_messages": memory.max_messages, "max_tokens": memory.max_tokens}
        await self.acommit(state, expected_version=None)

    async def aload(self, session_id: str, namespace: str | None = None
                    ) -> ConversationMemory | None:
        """The session as a ConversationMemory (with the limits it was saved with, else
        room for all its messages), or None when there is none."""
        from ..memory import ConversationMemory

        state = await self.aget(session_id, namespace)
        if state is None:
            return None
        limits = state.limits or {}
        return ConversationMemory.from_dict({
            "max_messages": max(limits.get("max_messages") or 20, len(state.messages)),
            "max_tokens": limits.get("max_tokens"),
            "messages": [message.to_dict() for message in state.messages],
            "summary": state.summary})

    async def abranch(self, source_id: str, new_id: str, namespace: str | None = None) -> None:
        """Copy session `source_id` to `new_id` (same namespace); the copies are independent
        from then on. ValueError when the source does not exist; SessionConflictError when
        `new_id` exists already."""
        check_id("new_id", new_id, none_ok=False)
        source = await self.aget(source_id, namespace)
        if source is None:
            raise ValueError(f"cannot branch {describe(source_id, namespace)}: it does not "
                             "exist")
        target = await self.aload_state(new_id, namespace)
        if target.created_at:
            raise SessionConflictError(f"cannot branch to {describe(new_id, namespace)}: it "
                                       "exists already", new_id, namespace)
        source.session_id, source.created_at = new_id, 0.0
        source.metadata = {**source.metadata, "branched_from": source_id}
        await self.acommit(source, expected_version=target.version)

    async def alist(self, namespace: str | None = None) -> builtins.list[SessionMetadata]:
        """Every live session (of `namespace`; of every namespace when None), oldest
        first."""
        check_id("namespace", namespace, none_ok=True)
        found = [SessionMetadata(state.session_id, len(state.messages), state.created_at,
                                 state.updated_at, state.namespace, state.version,
                                 len(state.pending.calls) if state.pending else 0)
                 async for state in self._scan(namespace)]
        return sorted(found, key=lambda meta: (meta.created_at, meta.session_id))

    async def asearch(self, query: str, namespace: str | None = None, limit: int = 5
                      ) -> builtins.list[SessionSearchResult]:
        """Sessions whose user or assistant messages contain any of `query`'s words
        (case-insensitive), most relevant first (here: most occurrences)."""
        terms = search_terms(query, limit)
        results = []
        async for state in self._scan(namespace):
            score, snippets = score_texts(searchable_text(state.messages), terms)
            if score:
                results.append(SessionSearchResult(state.session_id, score, snippets,
                                                   state.namespace))
        results.sort(key=lambda found: (-found.score, found.session_id))
        return results[:limit]

    # -- the public API, sync (selectools 1.3.0's names) -------------------------------

    def save(self, session_id: str, memory: ConversationMemory,
             namespace: str | None = None) -> None:
        _run(self.asave(session_id, memory, namespace))

    def load(self, session_id: str, namespace: str | None = None
             ) -> ConversationMemory | None:
        return _run(self.aload(session_id, namespace))

    def get(self, session_id: str, namespace: str | None = None) -> SessionState | None:
        """The whole session (messages, pending approvals, version), or None."""
        return _run(self.aget(session_id, namespace))

    def list(self, namespace: str | None = None) -> builtins.list[SessionMetadata]:
        return _run(self.alist(namespace))

    def delete(self, session_id: str, namespace: str | None = None) -> bool:
        return _run(self.adelete(session_id, namespace))

    def exists(self, session_id: str, namespace: str | None = None) -> bool:
        return _run(self.aexists(session_id, namespace))

    def branch(self, source_id: str, new_id: str, namespace: str | None = None) -> None:
        _run(self.abranch(source_id, new_id, namespace))

    def search(self, query: str, namespace: str | None = None, limit: int = 5
               ) -> builtins.list[SessionSearchResult]:
        return _run(self.asearch(query, namespace, limit))

    def close(self) -> None:
        _run(self.aclose())


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from .._sync import run_sync

    return run_sync(coro)


def check_ttl(ttl: object) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0 \
            or ttl == float("inf"):
        raise ValueError(f"default_ttl must be a positive number of seconds or None, "
                         f"got {ttl!r}")
    return float(ttl)


def search_terms(query: object, limit: object) -> builtins.list[str]:
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"query is not Unicode text (a lone surrogate): {query!r}") from None
    # A NUL separates words as a space does (SQLite's FTS5 cannot take one in a term).
    return [term for term in query.lower().replace("\x00", " ").split() if term]


def score_texts(texts: builtins.list[str], terms: builtins.list[str]
                ) -> tuple[float, builtins.list[str]]:
    """Occurrences of the terms in the texts, and snippets of the texts that have some."""
    score, snippets = 0, builtins.list[str]()
    for text in texts:
        low = text.lower()
        hits = sum(low.count(term) for term in terms)
        if hits:
            score += hits
            if len(snippets) < _SNIPPETS_PER_SESSION:
                snippets.append(snippet(text, terms))
    return float(score), snippets


def snippet(text: str, terms: builtins.list[str]) -> str:
    """`text` cut to about 160 characters around the first term found."""
    if len(text) <= _SNIPPET_CHARS:
        return text
    low = text.lower()
    found = [at for at in (low.find(term) for term in terms) if at >= 0]
    start = max(0, min(found, default=0) - _SNIPPET_CHARS // 4)
    end = start + _SNIPPET_CHARS - 6
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def decode_listed(store: SessionStore, text: str | bytes, session_id: str,
                  namespace: str | None) -> SessionState | None:
    """`list` and `search`'s policy for a stored record, shared by every store's `_scan`:
    the session, or None (and a warning naming the store and the session) when its record
    cannot be read. One record a process cannot read (damaged, or a newer selectools's
    schema during a rolling upgrade) must not make every other session unlistable; loading
    that session by id still raises the SessionCorruptError, and nothing is changed."""
    try:
        return decode(text, session_id, namespace)
    except SessionCorruptError as exc:
        skip_unreadable(store, exc)
        return None


def skip_unreadable(store: SessionStore, error: SessionCorruptError) -> None:
    """Say that `list` and `search` skip the session of `error` (its message names it)."""
    from .._log import logger

    logger().warning("%s: list() and search() skip a session they cannot read (loading it "
                     "raises SessionCorruptError; the record is left as it is): %s",
                     type(store).__name__, error)


def conflict(state: SessionState, expected: int | None) -> SessionConflictError:
    return SessionConflictError(
        f"{describe(state.session_id, state.namespace)} changed since this run loaded it "
        f"(at version {expected}): another run committed to it first, so this run's "
        "messages were not committed. Run again, or use AgentConfig(session_conflict="
        "'wait') to queue the runs of a session.", state.session_id, state.namespace)
