"""PostgresSessionStore: sessions in PostgreSQL, through asyncpg.

One row per session. Loading it is one SELECT; a commit is one INSERT ... ON CONFLICT DO
UPDATE whose WHERE clause checks the version (PostgreSQL makes the statement atomic), so a
run costs two round trips. `lock` holds a session-level advisory lock on a connection of
its own for the run: PostgreSQL releases it when that connection ends, a crashed holder's
included. `search` is PostgreSQL's full-text search over the user's and assistant's
messages ('simple' configuration: no stemming, any language).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from ._locks import poll
from .base import (
    SessionSearchResult,
    SessionStore,
    check_ttl,
    conflict,
    decode_listed,
    score_texts,
    search_terms,
)
from .errors import SessionLockTimeout, describe
from .record import SessionState, check_id, index_text, searchable_text

if TYPE_CHECKING:
    import asyncio

_IDENTIFIER_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class PostgresSessionStore(SessionStore):
    """Sessions in table `table` of the database at `dsn` (asyncpg, the `postgres` extra).

    Each event loop that uses the store gets its own connection pool (`pool_size`
    connections at most; a run with `session_conflict="wait"` holds one for its lock)."""

    def __init__(self, dsn: str, default_ttl: float | None = None, *,
                 table: str = "selectools_sessions", pool_size: int = 10) -> None:
        try:
            from importlib import import_module

            self._asyncpg: Any = import_module("asyncpg")
        except ImportError as exc:
            raise ImportError("PostgresSessionStore needs asyncpg: pip install "
                              "'selectools[postgres]'") from exc
        if not table or not set(table) <= _IDENTIFIER_CHARS or table[0].isdigit():
            raise ValueError(f"table must be a lower-case SQL identifier, got {table!r}")
        self.dsn = dsn
        self.table = table
        self.default_ttl = check_ttl(default_ttl)
        self.pool_size = pool_size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary())
        t = table
        self._select = (f"SELECT record, version, expires_at FROM {t} "
                        f"WHERE namespace = $1 AND session_id = $2")
        self._upsert = (
            f"INSERT INTO {t} (namespace, session_id, version, record, message_count, "
            f"pending_calls, created_at, updated_at, expires_at, search_text) "
            f"SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE $11::bigint IS NULL OR "
            f"$11 = 0 OR EXISTS (SELECT 1 FROM {t} WHERE namespace = $1 AND session_id = $2) "
            f"ON CONFLICT (namespace, session_id) DO UPDATE SET version = EXCLUDED.version, "
            f"record = EXCLUDED.record, message_count = EXCLUDED.message_count, "
            f"pending_calls = EXCLUDED.pending_calls, updated_at = EXCLUDED.updated_at, "
            f"expires_at = EXCLUDED.expires_at, search_text = EXCLUDED.search_text "
            f"WHERE {t}.version = $11 OR $11 IS NULL RETURNING version")

    async def _pool(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = await self._asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size)
            async with pool.acquire() as connection, connection.transaction():
                # Two processes creating the table at once would collide on its type.
                await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                         self.table)
                await connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    "namespace text NOT NULL, session_id text NOT NULL, "
                    "version bigint NOT NULL, record text NOT NULL, "
                    "message_count integer NOT NULL, pending_calls integer NOT NULL, "
                    "created_at double precision NOT NULL, "
                    "updated_at double precision NOT NULL, expires_at double precision, "
                    "search_text text NOT NULL, PRIMARY KEY (namespace, session_id))")
            pool = self._pools.setdefault(loop, pool)
        return pool

    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        row = await (await self._pool()).fetchrow(self._select, namespace or "", session_id)
        if row is None:
            return None, 0
        if row["expires_at"] is not None and row["expires_at"] <= time.time():
            return None, int(row["version"])
        return str(row["record"]), int(row["version"])

    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        version = await (await self._pool()).fetchval(
            self._upsert, state.namespace or "", state.session_id, state.version,
            state.encode(), len(state.messages),
            len(state.pending.calls) if state.pending else 0, state.created_at,
            state.updated_at, state.expires_at, index_text(searchable_text(state.messages)),
            expected)
        if version is None:
            raise conflict(state, expected)

    async def _remove(self, session_id: str, namespace: str | None) -> bool:
        status = await (await self._pool()).execute(
            f"DELETE FROM {self.table} WHERE namespace = $1 AND session_id = $2",
            namespace or "", session_id)
        return str(status).endswith(" 1")

    async def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        sql = (f"SELECT namespace, session_id, record FROM {self.table} WHERE "
               f"(expires_at IS NULL OR expires_at > $1)")
        values: list[Any] = [time.time()]
        if namespace is not None:
            sql += " AND namespace = $2"
            values.append(namespace)
        for row in await (await self._pool()).fetch(sql + " ORDER BY created_at", *values):
            state = decode_listed(self, row["record"], row["session_id"],
                                  row["namespace"] or None)
            if state is not None:
                yield state

    async def asearch(self, query: str, namespace: str | None = None, limit: int = 5
                      ) -> list[SessionSearchResult]:
        """Full-text search (ranked by ts_rank); a session matches when any word of
        `query` occurs in its user or assistant messages."""
        terms = search_terms(query, limit)
        check_id("namespace", namespace, none_ok=True)
        if not terms:
            return []
        sql = (f"SELECT namespace, session_id, search_text, ts_rank(to_tsvector('simple', "
               f"search_text), websearch_to_tsquery('simple', $1)) AS rank FROM {self.table} "
               f"WHERE to_tsvector('simple', search_text) @@ websearch_to_tsquery('simple', "
               f"$1) AND (expires_at IS NULL OR expires_at > $2)")
        # Each term quoted: websearch_to_tsquery reads a bare `-word` as NOT word, and
        # `or` as its operator; inside quotes a term is only its words.
        match = " or ".join('"' + term.replace('"', " ") + '"' for term in terms)
        values: list[Any] = [match, time.time()]
        if namespace is not None:
            sql += " AND namespace = $3"
            values.append(namespace)
        rows = await (await self._pool()).fetch(sql + " ORDER BY rank DESC, session_id "
                                                f"LIMIT {int(limit)}", *values)
        return [SessionSearchResult(row["session_id"], float(row["rank"]),
                                    score_texts(row["search_text"].split("\n"), terms)[1],
                                    row["namespace"] or None) for row in rows]

    def lock(self, session_id: str, namespace: str | None = None, *,
             timeout: float | None = None) -> AbstractAsyncContextManager[None]:
        check_id("session_id", session_id, none_ok=False)
        namespace_text = namespace or ""  # (text may not hold NUL: lengths keep it unique)
        key = f"{self.table}:{len(namespace_text)}:{namespace_text}:{session_id}"
        return self._advisory(key, timeout, session_id, namespace)

    @asynccontextmanager
    async def _advisory(self, key: str, timeout: float | None, session_id: str,
                        namespace: str | None) -> AsyncIterator[None]:

        pool = await self._pool()
        try:  # (a run waits for a connection of the pool as it waits for the lock)
            connection = await pool.acquire(timeout=timeout)
        except TimeoutError:
            raise SessionLockTimeout(
                f"{describe(session_id, namespace)}: no connection of the pool came free "
                f"within {timeout} s to wait for the session's lock (pool_size="
                f"{self.pool_size})", session_id, namespace) from None
        try:
            async def attempt() -> bool:
                return bool(await connection.fetchval(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key))

            await poll(attempt, timeout, session_id, namespace)
            try:
                yield
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                                         key)
        finally:
            await pool.release(connection)

    async def aclose(self) -> None:
        import asyncio

        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

