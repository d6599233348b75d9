"""RedisSessionStore: sessions in Redis, through redis-py's asyncio client.

A session is one hash (`v`: its version, `r`: the record). Loading it is one HMGET; a
commit is one Lua script that checks the version and writes the record (Redis runs a
script atomically), so a run costs two round trips. Expiry is Redis's own (PEXPIRE,
renewed by every commit). `lock` is a key set with NX and a lease that the holder renews;
a holder that dies stops renewing it, and the lease runs out after `lock_ttl` seconds.
`search` scans the sessions (Redis without its search module has no text index).
"""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote

from ._locks import poll
from .base import SessionStore, check_ttl, conflict, decode_listed, skip_unreadable
from .errors import SessionCorruptError, describe
from .record import SessionState, check_id

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("selectools")

_COMMIT = """
local current = redis.call('HGET', KEYS[1], 'v') or '0'
if ARGV[1] ~= '' and current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4])
else redis.call('PERSIST', KEYS[1]) end
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisSessionStore(SessionStore):
    """Sessions under `prefix` in the Redis at `url` (redis-py, the `redis` extra).

    Each event loop that uses the store gets its own client (a client belongs to the loop
    that made it; the sync methods run on the library's loop)."""

    def __init__(self, url: str = "redis://localhost:6379/0",
                 prefix: str = "selectools:session:", default_ttl: float | None = None, *,
                 lock_ttl: float = 30.0, **client_options: Any) -> None:
        try:
            self._redis = _import("redis.asyncio")
        except ImportError as exc:
            raise ImportError("RedisSessionStore needs redis-py: pip install "
                              "'selectools[redis]'") from exc
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty str")
        if isinstance(lock_ttl, bool) or not isinstance(lock_ttl, (int, float)) \
                or not lock_ttl > 0:
            raise ValueError(f"lock_ttl must be a positive number of seconds, got {lock_ttl!r}")
        self.url = url
        self.prefix = prefix
        self.default_ttl = check_ttl(default_ttl)
        self.lock_ttl = float(lock_ttl)
        self._options = client_options
        #: Per event loop: its client and the client's three scripts.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = (
            weakref.WeakKeyDictionary())

    def _connection(self) -> _Client:
        import asyncio

        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            client = self._redis.from_url(self.url, **self._options)
            found = _Client(client, client.register_script(_COMMIT),
                            client.register_script(_RENEW), client.register_script(_RELEASE))
            self._clients[loop] = found
        return found

    def _client(self) -> Any:
        return self._connection().client

    def _key(self, session_id: str, namespace: str | None) -> str:
        return f"{self.prefix}{quote(namespace or '', safe='')}:{quote(session_id, safe='')}"

    def _wrong_type(self, session_id: str, namespace: str | None) -> SessionCorruptError:
        return SessionCorruptError(f"{describe(session_id, namespace)}: the Redis key "
                                   f"{self._key(session_id, namespace)!r} holds something "
                                   "else than a session", session_id, namespace)

    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        try:
            version, record = await self._client().hmget(self._key(session_id, namespace),
                                                         "v", "r")
        except self._redis.ResponseError as exc:
            if "WRONGTYPE" not in str(exc):
                raise
            raise self._wrong_type(session_id, namespace) from None
        if record is None:
            return None, 0
        if isinstance(record, bytes):
            try:
                record = record.decode()
            except UnicodeDecodeError as exc:
                raise SessionCorruptError(f"{describe(session_id, namespace)}: the stored "
                                          f"record is not UTF-8 text ({exc})", session_id,
                                          namespace) from None
        return record, int(version or 0)

    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        # At least 1 ms: 0 is the script's "no expiry" (a TTL under a millisecond kept the
        # session for good).
        ttl_ms = max(1, math.ceil(self.default_ttl * 1000)) if self.default_ttl is not None \
            else 0
        written = await self._connection().commit(
            keys=[self._key(state.session_id, state.namespace)],
            args=["" if expected is None else str(expected), str(state.version),
                  state.encode(), str(ttl_ms)])
        if not written:
            raise conflict(state, expected)

    async def _remove(self, session_id: str, namespace: str | None) -> bool:
        return bool(await self._client().delete(self._key(session_id, namespace)))

    async def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        client = self._client()
        pattern = self.prefix + (quote(namespace, safe="") + ":*" if namespace is not None
                                 else "*")
        sessions = [(key, owner) async for key in client.scan_iter(match=pattern, count=500)
                    if (owner := self._owner(key)) is not None]
        if not sessions:
            return
        async with client.pipeline(transaction=False) as pipe:
            for key, _ in sessions:
                pipe.hget(key, "r")
            records = await pipe.execute(raise_on_error=False)
        for (_, (session_id, stored_namespace)), record in zip(sessions, records,
                                                               strict=True):
            if record is None:
                continue  # deleted or expired meanwhile
            if isinstance(record, self._redis.ResponseError) and "WRONGTYPE" in str(record):
                # The session's key holds something else than a hash: loading the session
                # says so (_read); listing skips it, saying so too.
                skip_unreadable(self, self._wrong_type(session_id, stored_namespace))
                continue
            if isinstance(record, Exception):
                raise record
            # Decoded as the session whose key it is, as loading it by id does: a record
            # naming another session is unreadable here as it is there.
            state = decode_listed(self, record, session_id, stored_namespace)
            if state is not None:
                yield state

    def _owner(self, key: bytes | str) -> tuple[str, str | None] | None:
        """The (session id, namespace) whose key `key` is (`_key`'s inverse), or None for a
        key under the prefix that is no session's (a lock's, or another program's)."""
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        rest = text[len(self.prefix):]
        quoted_namespace, colon, quoted_id = rest.partition(":")
        if not colon or not quoted_id:
            return None
        session_id, stored_namespace = unquote(quoted_id), unquote(quoted_namespace) or None
        return ((session_id, stored_namespace)
                if self._key(session_id, stored_namespace) == text else None)

    def lock(self, session_id: str, namespace: str | None = None, *,
             timeout: float | None = None) -> AbstractAsyncContextManager[None]:
        check_id("session_id", session_id, none_ok=False)
        return self._lease(f"{self.prefix}:lock:{self._key(session_id, namespace)}",
                           timeout, session_id, namespace)

    @asynccontextmanager
    async def _lease(self, key: str, timeout: float | None, session_id: str,
                     namespace: str | None) -> AsyncIterator[None]:
        import asyncio

        connection = self._connection()
        client = connection.client
        token = os.urandom(16).hex()
        ttl_ms = int(self.lock_ttl * 1000)

        async def attempt() -> bool:
            return bool(await client.set(key, token, nx=True, px=ttl_ms))

        await poll(attempt, timeout, session_id, namespace)

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lock_ttl / 3)
                try:
                    await connection.renew(keys=[key], args=[token, str(ttl_ms)])
                except Exception as exc:  # the next renewal may succeed; the lease says
                    log.warning("could not renew the lock of %s: %s",  # how long it holds
                                describe(session_id, namespace), exc)

        renewing = asyncio.get_running_loop().create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            await connection.release(keys=[key], args=[token])

    async def aclose(self) -> None:
        import asyncio

        found = self._clients.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.client.aclose()


class _Client(NamedTuple):
    client: Any
    commit: Any
    renew: Any
    release: Any


def _import(name: str) -> Any:
    from importlib import import_module

    return import_module(name)
