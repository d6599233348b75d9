"""Conversations that outlive the process: session stores (see docs/sessions.md).

`from selectools.sessions import SQLiteSessionStore` and give it to
`AgentConfig(session_store=...)`. The Redis and PostgreSQL stores import their client
libraries (the `redis` and `postgres` extras) only when one is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import SessionMetadata, SessionSearchResult, SessionStore
from .errors import (
    ApprovalPendingError,
    SessionConflictError,
    SessionCorruptError,
    SessionError,
    SessionLockTimeout,
)
from .record import SCHEMA_VERSION, PendingApproval, SessionState

if TYPE_CHECKING:
    from .jsonfile import JsonFileSessionStore
    from .postgres import PostgresSessionStore
    from .redis import RedisSessionStore
    from .sqlite import SQLiteSessionStore

_STORES = {"JsonFileSessionStore": "jsonfile", "SQLiteSessionStore": "sqlite",
           "RedisSessionStore": "redis", "PostgresSessionStore": "postgres"}

__all__ = [
    "SCHEMA_VERSION", "ApprovalPendingError", "JsonFileSessionStore", "PendingApproval",
    "PostgresSessionStore", "RedisSessionStore", "SQLiteSessionStore", "SessionConflictError",
    "SessionCorruptError", "SessionError", "SessionLockTimeout", "SessionMetadata",
    "SessionSearchResult", "SessionState", "SessionStore",
]


def __getattr__(name: str) -> Any:
    """The stores, each imported when first named (sqlite3, redis, asyncpg are not light)."""
    module = _STORES.get(name)
    if module is None:
        raise AttributeError(f"module 'selectools.sessions' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
