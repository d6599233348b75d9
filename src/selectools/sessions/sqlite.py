"""SQLiteSessionStore: the embedded default, on the standard library's sqlite3.

WAL mode (readers never wait for the writer), one connection on the store's own thread
(off the event loop), a commit as one `BEGIN IMMEDIATE` transaction whose upsert succeeds
only on the version the run loaded. Other processes may use the same file: SQLite's own
locking (with a busy timeout) serialises their writes, flock(2) files beside the database
queue their runs for `session_conflict="wait"`. `search` uses an FTS5 index of the user's
and the assistant's messages, updated in the same transaction as the session.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._locks import LocalLocks, file_lock
from ._thread import StoreThread
from .base import (
    SessionMetadata,
    SessionSearchResult,
    SessionStore,
    check_ttl,
    conflict,
    search_terms,
    snippet,
)
from .record import SessionState, check_id, decode, searchable_text

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
    PRIMARY KEY (namespace, session_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS selectools_session_text
    USING fts5(content, namespace UNINDEXED, session_id UNINDEXED);
"""
_UPSERT = """
INSERT INTO selectools_sessions (namespace, session_id, version, record, message_count,
    pending_calls, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (namespace, session_id) DO UPDATE SET version = excluded.version,
    record = excluded.record, message_count = excluded.message_count,
    pending_calls = excluded.pending_calls, updated_at = excluded.updated_at,
    expires_at = excluded.expires_at
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


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

    # -- on the store's thread ---------------------------------------------------------

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

    def _read_now(self, namespace: str, session_id: str) -> tuple[str | None, int]:
        row = self._connect().execute(
            "SELECT record, version, expires_at FROM selectools_sessions "
            "WHERE namespace = ? AND session_id = ?", (namespace, session_id)).fetchone()
        if row is None:
            return None, 0
        if row[2] is not None and row[2] <= time.time():
            return None, int(row[1])
        return str(row[0]), int(row[1])

    def _write_now(self, state: SessionState, expected: int | None, new_from: int) -> bool:
        connection = self._connect()
        namespace = state.namespace or ""
        text = state.encode()
        sql = _UPSERT if expected is None else _UPSERT + " WHERE version = ?"
        values: tuple[Any, ...] = (
            namespace, state.session_id, state.version, text, len(state.messages),
            len(state.pending.calls) if state.pending else 0, state.created_at,
            state.updated_at, state.expires_at)
        connection.execute("BEGIN IMMEDIATE")
        try:
            if expected is not None and expected > 0:
                # The upsert's WHERE guards an existing row; a vanished one must not be
                # re-created from a stale copy.
                row = connection.execute(
                    "SELECT version FROM selectools_sessions WHERE namespace = ? AND "
                    "session_id = ?", (namespace, state.session_id)).fetchone()
                if row is None or row[0] != expected:
                    connection.execute("ROLLBACK")
                    return False
            cursor = connection.execute(sql, values if expected is None
                                        else (*values, expected))
            if cursor.rowcount != 1:
                connection.execute("ROLLBACK")
                return False
            if new_from == 0:
                connection.execute("DELETE FROM selectools_session_text WHERE namespace = ? "
                                   "AND session_id = ?", (namespace, state.session_id))
            texts = searchable_text(state.messages[new_from:])
            if texts:
                connection.executemany(
                    "INSERT INTO selectools_session_text (content, namespace, session_id) "
                    "VALUES (?, ?, ?)", [(t, namespace, state.session_id) for t in texts])
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return True

    def _remove_now(self, namespace: str, session_id: str) -> bool:
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            gone = connection.execute(
                "DELETE FROM selectools_sessions WHERE namespace = ? AND session_id = ?",
                (namespace, session_id)).rowcount
            connection.execute("DELETE FROM selectools_session_text WHERE namespace = ? "
                               "AND session_id = ?", (namespace, session_id))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return bool(gone)

    def _rows(self, sql: str, values: tuple[Any, ...]) -> list[Any]:
        return self._connect().execute(sql, values).fetchall()

    def _close_now(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- the primitives ----------------------------------------------------------------

    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        return await self._thread.call(self._read_now, namespace or "", session_id)

    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        if not await self._thread.call(self._write_now, state, expected, new_from):
            raise conflict(state, expected)

    async def _remove(self, session_id: str, namespace: str | None) -> bool:
        return await self._thread.call(self._remove_now, namespace or "", session_id)

    async def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        where, values = _where(namespace)
        rows = await self._thread.call(
            self._rows, f"SELECT namespace, session_id, record FROM selectools_sessions "
            f"WHERE {where} ORDER BY created_at", values)
        for row_namespace, session_id, record in rows:
            yield decode(record, session_id, row_namespace or None)

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
        sql = ("SELECT t.namespace, t.session_id, bm25(selectools_session_text), t.content "
               "FROM selectools_session_text t JOIN selectools_sessions s "
               "ON s.namespace = t.namespace AND s.session_id = t.session_id "
               "WHERE selectools_session_text MATCH ? AND (s.expires_at IS NULL OR "
               "s.expires_at > ?)")
        values: tuple[Any, ...] = (match, time.time())
        if namespace is not None:
            sql += " AND t.namespace = ?"
            values += (namespace,)
        rows = await self._thread.call(self._rows, sql + " ORDER BY 3", values)
        found: dict[tuple[str, str], tuple[float, list[str]]] = {}
        for row_namespace, session_id, rank, content in rows:
            score, snippets = found.get((row_namespace, session_id), (0.0, []))
            if len(snippets) < 5:
                snippets.append(snippet(content, terms))
            found[(row_namespace, session_id)] = (score - rank, snippets)  # bm25: lower is better
        results = [SessionSearchResult(session_id, score, snippets, row_namespace or None)
                   for (row_namespace, session_id), (score, snippets) in found.items()]
        results.sort(key=lambda result: (-result.score, result.session_id))
        return results[:limit]


def _where(namespace: str | None) -> tuple[str, tuple[Any, ...]]:
    if namespace is None:
        return _LIVE, (time.time(),)
    return f"namespace = ? AND {_LIVE}", (namespace, time.time())
