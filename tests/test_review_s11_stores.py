"""Review s11: session stores that hold one record this version cannot read (a newer
selectools's schema_version, say, during a rolling upgrade of processes sharing a store).

docs/sessions.md: such a record is a SessionCorruptError naming the session, "the record
is left untouched and every other session loads as before". Loading the good session does;
listing and searching the store must not fail for every session because of one.
Real stores: a directory, a SQLite file, redis-server and PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_sessions_servers import postgres_dsn, redis_url  # noqa: F401 (fixtures)

from selectools import Agent, AgentConfig
from selectools.providers.stubs import LocalProvider
from selectools.sessions import JsonFileSessionStore, SessionStore, SQLiteSessionStore


def newer_schema(record: str) -> str:
    """The same record as a later selectools would write it (a schema this one does not
    read)."""
    data = json.loads(record)
    data["schema_version"] = 99
    return json.dumps(data)


def two_sessions(store: SessionStore) -> None:
    agent = Agent(tools=[], provider=LocalProvider(),
                  config=AgentConfig(session_store=store))
    agent.run("hello python", session_id="good")
    agent.run("hello python again", session_id="unreadable")


def json_store(tmp_path: Path, request: pytest.FixtureRequest
               ) -> tuple[SessionStore, Callable[[], None]]:
    store = JsonFileSessionStore(tmp_path / "sessions")

    def spoil() -> None:
        path = tmp_path / "sessions" / "unreadable.json"
        path.write_text(newer_schema(path.read_text()))

    return store, spoil


def redis_store(tmp_path: Path, request: pytest.FixtureRequest
                ) -> tuple[SessionStore, Callable[[], None]]:
    import redis

    from selectools.sessions import RedisSessionStore

    url = request.getfixturevalue("redis_url")
    prefix = f"s11review{tmp_path.name}:"
    store = RedisSessionStore(url, prefix=prefix)

    def spoil() -> None:
        client = redis.Redis.from_url(url)
        key = f"{prefix}:unreadable"
        record = client.hget(key, "r")
        assert isinstance(record, bytes)
        client.hset(key, "r", newer_schema(record.decode()))
        client.close()

    return store, spoil


def postgres_store(tmp_path: Path, request: pytest.FixtureRequest
                   ) -> tuple[SessionStore, Callable[[], None]]:
    import asyncpg  # type: ignore[import-untyped]

    from selectools.sessions import PostgresSessionStore

    dsn = request.getfixturevalue("postgres_dsn")
    table = f"s11review_{abs(hash(tmp_path.name)) % 10**9}"
    store = PostgresSessionStore(dsn, table=table)

    async def spoil_now() -> None:
        connection = await asyncpg.connect(dsn)
        record = await connection.fetchval(
            f"SELECT record FROM {table} WHERE session_id = 'unreadable'")
        await connection.execute(f"UPDATE {table} SET record = $1 WHERE session_id = "
                                 "'unreadable'", newer_schema(record))
        await connection.close()

    return store, lambda: asyncio.run(spoil_now())


def sqlite_store(tmp_path: Path, request: pytest.FixtureRequest
                 ) -> tuple[SessionStore, Callable[[], None]]:
    import sqlite3

    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)

    def spoil() -> None:
        with sqlite3.connect(path) as connection:
            (record,) = connection.execute("SELECT record FROM selectools_sessions WHERE "
                                           "session_id = 'unreadable'").fetchone()
            connection.execute("UPDATE selectools_sessions SET record = ? WHERE "
                               "session_id = 'unreadable'", (newer_schema(record),))
        connection.close()

    return store, spoil


Maker = Callable[[Path, pytest.FixtureRequest], tuple[SessionStore, Callable[[], None]]]


@pytest.mark.parametrize("make", [
    pytest.param(json_store, id="json"),
    pytest.param(redis_store, id="redis"),
    pytest.param(postgres_store, id="postgres"),
    pytest.param(sqlite_store, id="sqlite"),  # holds: it lists from its columns
])
def test_one_unreadable_session_does_not_hide_the_others_from_list(
        make: Maker, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store, spoil = make(tmp_path, request)
    try:
        two_sessions(store)
        spoil()
        assert store.get("good") is not None  # holds in every store: loads as before
        listed = {metadata.session_id for metadata in store.list()}
        assert "good" in listed
    finally:
        store.close()




@pytest.mark.parametrize("make", [
    pytest.param(json_store, id="json"),
    pytest.param(redis_store, id="redis"),
    pytest.param(postgres_store, id="postgres"),  # holds: it searches its own column
    pytest.param(sqlite_store, id="sqlite"),  # holds: its index skips an unreadable record
])
def test_one_unreadable_session_does_not_fail_search(
        make: Maker, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store, spoil = make(tmp_path, request)
    try:
        two_sessions(store)
        spoil()
        found: list[Any] = store.search("python")
        assert "good" in {result.session_id for result in found}
    finally:
        store.close()


@pytest.mark.parametrize("make", [
    pytest.param(json_store, id="json"),
    pytest.param(redis_store, id="redis"),
    pytest.param(postgres_store, id="postgres"),
])
def test_the_unreadable_session_is_skipped_saying_so_and_still_fails_by_id(
        make: Maker, tmp_path: Path, request: pytest.FixtureRequest,
        caplog: pytest.LogCaptureFixture) -> None:
    """The one policy of the stores that list by decoding records (sessions/base.py's
    decode_listed): the session is left out of list() with a warning naming the store and
    the session; loading it names the session and the reason; nothing is rewritten."""
    from selectools.sessions import SessionCorruptError

    store, spoil = make(tmp_path, request)
    try:
        two_sessions(store)
        spoil()
        with caplog.at_level("WARNING", logger="selectools"):
            listed = {metadata.session_id for metadata in store.list()}
        assert listed == {"good"}
        warned = [record.getMessage() for record in caplog.records
                  if record.levelname == "WARNING"]
        assert len(warned) == 1, warned
        assert type(store).__name__ in warned[0] and "session 'unreadable'" in warned[0]
        assert "schema_version 99" in warned[0]
        for _ in range(2):  # (and the record is as it was after the listing)
            with pytest.raises(SessionCorruptError, match="schema_version 99") as raised:
                store.get("unreadable")
            assert raised.value.session_id == "unreadable"
            assert "session 'unreadable'" in str(raised.value)
    finally:
        store.close()
