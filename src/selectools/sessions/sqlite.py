"""SQLiteSessionStore: the embedded default, on the standard library's sqlite3.

WAL mode (readers never wait for the writer); a commit is one statement that succeeds only
on the version the run loaded. The event loop never waits on SQLite: a run's load and commit
are tried on a connection that never waits (busy timeout 0: a WAL read never waits for a
writer, a write only for another writer) and, when SQLite says busy, handed to the store's
thread, whose connection waits up to `busy_timeout`. (A hop to a thread costs a run more
CPU than the statement itself: measured in benchmarks/sessions.py, 0.35 ms per run on this
2-core host against 0.1 ms on the loop. With synchronous="FULL" or "EXTRA", whose commits
fsync, everything runs on the thread.) Other processes may use the same file: SQLite's own
locking (with a busy timeout) serialises their writes, flock(2) files beside the database
queue their runs for `session_conflict="wait"`. A run with a `run_timeout` publishes its
deadline while it opens and commits its session (selectools._deadline): the store's thread
then waits for another writer no longer than that (its busy timeout for the one call is
the time left), and a call still queued behind other calls at the deadline is not made;
either way nothing was written and DeadlineReached says so. `search` uses an FTS5 index of
the user's and the assistant's messages, one document per session (its rowid is the
session row's), brought up to date by `search` itself: a commit only marks its session for
indexing, so runs never pay for the index.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from .._deadline import DeadlineReached
from ._locks import LocalLocks, file_lock
from ._thread import StoreThread
from .base import (
    SessionMetadata,
    SessionSearchResult,
    SessionStore,
    check_ttl,
    conflict,
    decode_listed,
    score_texts,
    search_terms,
)
from .record import SessionState, check_id, index_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS selectools_sessions (
    namespace TEXT NOT NULL,
    session_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    pending_calls INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    expires_at REAL,
    indexed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, session_id)
);
CREATE INDEX IF NOT EXISTS selectools_sessions_unindexed ON selectools_sessions (indexed)
    WHERE indexed = 0;
CREATE VIRTUAL TABLE IF NOT EXISTS selectools_session_text USING fts5(content);
"""
_UPSERT = """
INSERT INTO selectools_sessions (namespace, session_id, version, record, message_count,
    pending_calls, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (namespace, session_id) DO UPDATE SET version = excluded.version,
    record = excluded.record, message_count = excluded.message_count,
    pending_calls = excluded.pending_calls, updated_at = excluded.updated_at,
    expires_at = excluded.expires_at, indexed = 0
"""
#: A new session's commit: created, unless another commit created it first (the row's
#: version is then not 0, and nothing changes).
_CREATE = _UPSERT + " WHERE version = 0"
_UPDATE = """
UPDATE selectools_sessions SET version = ?, record = ?, message_count = ?, pending_calls = ?,
    updated_at = ?, expires_at = ?, indexed = 0
WHERE namespace = ? AND session_id = ? AND version = ?
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
#: SQLite's result codes for "busy" and "locked": the statement would have to wait.
_BUSY = (5, 6)
#: One commit in this many goes by the store's thread even when it could be made on the
#: event loop: there SQLite checkpoints the WAL into the database once the WAL is past its
#: 1,000 pages. The event loop's connection never checkpoints, since a checkpoint fsyncs
#: (0.4 ms on the benchmarks' host, far more on a network disk) and every stream on the
#: loop would wait for it. The WAL then stays under about 1,000 pages and this many commits.
CHECKPOINT_EVERY = 100
T = TypeVar("T")


class SQLiteSessionStore(SessionStore):
    """Sessions in one SQLite database file (":memory:" for one process's use).

    `synchronous`: SQLite's setting; "NORMAL" (the default) survives a crash of the
    process, "FULL" also a loss of power, at the price of an fsync per commit.
    """

    def __init__(self, db_path: str | os.PathLike[str] = "sessions.db",
                 default_ttl: float | None = None, *, synchronous: str = "NORMAL",
                 busy_timeout: float = 30.0) -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, "
                             f"got {synchronous!r}")
        self.db_path = os.fspath(db_path)
        self.default_ttl = check_ttl(default_ttl)
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._memory = self.db_path == ":memory:" or self.db_path.startswith("file::memory:")
        self._thread = StoreThread("selectools-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._local_locks = LocalLocks()
        self._thread.run(self._connect)  # a bad path fails here, not in the first run
        #: The connection that never waits, for statements tried on the event loop; one
        #: caller at a time (loops of several threads may share the store). Nor does it
        #: checkpoint (see CHECKPOINT_EVERY).
        self._quick: sqlite3.Connection | None = None
        #: Commits so far, every CHECKPOINT_EVERY-th of them by the thread.
        self._commits = 0
        self._quick_guard = threading.Lock()
        self._quick_ok = not self._memory and synchronous in ("OFF", "NORMAL")

    # -- where statements run ---------------------------------------------------------

    async def _call(self, work: Callable[..., T], *args: Any, on_loop: bool = True) -> T:
        """`work(connection, *args)` on the event loop if it can run without waiting (and
        `on_loop`), else on the store's thread."""
        if on_loop and self._quick_ok and self._quick_guard.acquire(blocking=False):
            try:
                quick = self._quick
                if quick is None:
                    quick = self._quick = sqlite3.connect(
                        self.db_path, timeout=0, isolation_level=None,
                        check_same_thread=False)
                    quick.execute(f"PRAGMA synchronous={self._synchronous}")
                    quick.execute("PRAGMA wal_autocheckpoint=0")
                return work(quick, *args)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in _BUSY:
                    raise
            finally:
                self._quick_guard.release()
        return await self._thread.call_in_run(repr(self.db_path), self._on_thread, work, *args)

    def _on_thread(self, work: Callable[..., T], *args: Any, left: float | None = None) -> T:
        """`work(connection, *args)` on the store's thread; for a run with `left` seconds
        to its deadline, SQLite's busy timeout for the call is no longer than that."""
        connection = self._connect()
        bound = left if left is not None and left < self._busy_timeout else None
        bounded = bound is not None
        if bound is not None:  # (milliseconds, rounded up: SQLite waits no longer than asked)
            connection.execute(f"PRAGMA busy_timeout = {math.ceil(bound * 1000)}")
        try:
            return work(connection, *args)
        except sqlite3.OperationalError as exc:
            if bounded and getattr(exc, "sqlite_errorcode", None) in _BUSY:
                raise DeadlineReached(
                    f"another writer held {self.db_path!r} until the run's deadline") from exc
            raise
        finally:
            if bounded:
                connection.execute(
                    f"PRAGMA busy_timeout = {math.ceil(self._busy_timeout * 1000)}")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.db_path, timeout=self._busy_timeout,
                                         isolation_level=None, check_same_thread=False)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(f"PRAGMA synchronous={self._synchronous}")
                connection.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    @staticmethod
    def _read_now(connection: sqlite3.Connection, namespace: str,
                  session_id: str) -> tuple[str | None, int]:
        row = connection.execute(
            "SELECT record, version, expires_at FROM selectools_sessions "
            "WHERE namespace = ? AND session_id = ?", (namespace, session_id)).fetchone()
        if row is None:
            return None, 0
        if row[2] is not None and row[2] <= time.time():
            return None, int(row[1])
        return str(row[0]), int(row[1])

    @staticmethod
    def _write_now(connection: sqlite3.Connection, state: SessionState,
                   expected: int | None) -> bool:
        namespace = state.namespace or ""
        record, pending = state.encode(), len(state.pending.calls) if state.pending else 0
        if expected:  # only the version loaded may be replaced; a vanished row stays gone
            cursor = connection.execute(_UPDATE, (
                state.version, record, len(state.messages), pending, state.updated_at,
                state.expires_at, namespace, state.session_id, expected))
        else:  # a new session: created, unless another commit created it first
            cursor = connection.execute(
                _UPSERT if expected is None else _CREATE, (
                    namespace, state.session_id, state.version, record, len(state.messages),
                    pending, state.created_at, state.updated_at, state.expires_at))
        return cursor.rowcount == 1

    def _index_now(self) -> None:
        """Index the sessions committed since the last search (one FTS5 document each)."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows = connection.execute("SELECT rowid, version, record FROM selectools_sessions "
                                      "WHERE indexed = 0").fetchall()
            for rowid, version, record in rows:
                connection.execute(
                    "INSERT OR REPLACE INTO selectools_session_text (rowid, content) "
                    "VALUES (?, ?)", (rowid, index_text(_texts(record))))
                connection.execute("UPDATE selectools_sessions SET indexed = 1 WHERE rowid = ? "
                                   "AND version = ?", (rowid, version))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _remove_now(self, namespace: str, session_id: str) -> bool:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(
                "DELETE FROM selectools_sessions WHERE namespace = ? AND session_id = ? "
                "RETURNING rowid", (namespace, session_id)).fetchone()
            if row is not None:
                connection.execute("DELETE FROM selectools_session_text WHERE rowid = ?",
                                   (row[0],))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return row is not None

    def _rows(self, sql: str, values: tuple[Any, ...]) -> list[Any]:
        return self._connect().execute(sql, values).fetchall()

    def _search_now(self, sql: str, values: tuple[Any, ...]) -> list[Any]:
        self._index_now()
        return self._rows(sql, values)

    def _close_now(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        with self._quick_guard:
            if self._quick is not None:
                self._quick.close()
                self._quick = None

    # -- the primitives ----------------------------------------------------------------

    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        return await self._call(self._read_now, namespace or "", session_id)

    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        # (a count shared by the loops of several threads may skip one: no matter)
        self._commits += 1
        if not await self._call(self._write_now, state, expected,
                                on_loop=self._commits % CHECKPOINT_EVERY != 0):
            raise conflict(state, expected)

    async def _remove(self, session_id: str, namespace: str | None) -> bool:
        return await self._thread.call(self._remove_now, namespace or "", session_id)

    async def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        where, values = _where(namespace)
        rows = await self._thread.call(
            self._rows, f"SELECT namespace, session_id, record FROM selectools_sessions "
            f"WHERE {where} ORDER BY created_at", values)
        for row_namespace, session_id, record in rows:
            state = decode_listed(self, record, session_id, row_namespace or None)
            if state is not None:
                yield state

    def lock(self, session_id: str, namespace: str | None = None, *,
             timeout: float | None = None) -> AbstractAsyncContextManager[None]:
        check_id("session_id", session_id, none_ok=False)
        key = f"{namespace or ''}\x00{session_id}"
        if self._memory:
            return self._local_locks.hold(key, timeout, session_id, namespace)
        folder = self.db_path + ".locks"
        os.makedirs(folder, exist_ok=True)
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        return file_lock(os.path.join(folder, name), timeout, session_id, namespace)

    async def aclose(self) -> None:
        await self._thread.call(self._close_now)
        self._thread.shutdown()

    # -- faster than the generic versions ------------------------------------------------

    async def alist(self, namespace: str | None = None) -> list[SessionMetadata]:
        check_id("namespace", namespace, none_ok=True)
        where, values = _where(namespace)
        rows = await self._thread.call(
            self._rows, f"SELECT session_id, message_count, created_at, updated_at, "
            f"namespace, version, pending_calls FROM selectools_sessions WHERE {where} "
            f"ORDER BY created_at, session_id", values)
        return [SessionMetadata(row[0], row[1], row[2], row[3], row[4] or None, row[5],
                                row[6]) for row in rows]

    async def asearch(self, query: str, namespace: str | None = None, limit: int = 5
                      ) -> list[SessionSearchResult]:
        """Full-text search (FTS5, ranked by bm25) of the user's and assistant's
        messages; a session matches when any word of `query` occurs in it."""
        terms = search_terms(query, limit)
        check_id("namespace", namespace, none_ok=True)
        if not terms:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        sql = ("SELECT s.namespace, s.session_id, bm25(selectools_session_text), t.content "
               "FROM selectools_session_text t JOIN selectools_sessions s ON s.rowid = t.rowid "
               "WHERE selectools_session_text MATCH ? AND (s.expires_at IS NULL OR "
               "s.expires_at > ?)")
        values: tuple[Any, ...] = (match, time.time())
        if namespace is not None:
            sql += " AND s.namespace = ?"
            values += (namespace,)
        rows = await self._thread.call(self._search_now, sql + " ORDER BY 3 LIMIT ?",
                                       (*values, limit))
        # bm25 is lower for a better match; the score is higher.
        return [SessionSearchResult(session_id, -rank, score_texts(content.split("\n"),
                                                                   terms)[1],
                                    row_namespace or None)
                for row_namespace, session_id, rank, content in rows]


def _where(namespace: str | None) -> tuple[str, tuple[Any, ...]]:
    if namespace is None:
        return _LIVE, (time.time(),)
    return f"namespace = ? AND {_LIVE}", (namespace, time.time())


def _texts(record: str) -> list[str]:
    """The searchable texts of a stored record (an unreadable one has none)."""
    import json

    try:
        messages = json.loads(record).get("messages") or []
        return [m["content"] for m in messages if isinstance(m, dict)
                and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
                and m["content"]]
    except (ValueError, AttributeError, TypeError):
        return []
