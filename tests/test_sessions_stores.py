"""Every session store, on disk or on a real server: what a session holds comes back whole,
commits are atomic and versioned, and a bad record is an error that names the session."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sessions_servers import postgres_dsn, redis_url  # noqa: F401 (fixtures)

from selectools import Message, Role, ToolCall
from selectools.memory import ConversationMemory
from selectools.sessions import (
    JsonFileSessionStore,
    SessionConflictError,
    SessionCorruptError,
    SessionLockTimeout,
    SessionState,
    SessionStore,
    SQLiteSessionStore,
)
from selectools.types import ContentPart, ReasoningPart

KINDS = ["json", "sqlite", "redis", "postgres"]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()

StoreFactory = Callable[..., SessionStore]
#: Each store a test made, by id: its kind.
KIND_OF: dict[int, str] = {}


@pytest.fixture(params=KINDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes stores of one kind over the same data: a second one is 'after a restart'."""
    kind = request.param
    made: list[SessionStore] = []
    unique = f"t{os.getpid()}_{time.monotonic_ns()}"
    # The servers start now, outside any event loop a test runs.
    server = request.getfixturevalue(f"{kind}_{'url' if kind == 'redis' else 'dsn'}") \
        if kind in ("redis", "postgres") else ""

    def make(**options: Any) -> SessionStore:
        store: SessionStore
        if kind == "json":
            store = JsonFileSessionStore(tmp_path / "sessions", **options)
        elif kind == "sqlite":
            store = SQLiteSessionStore(tmp_path / "sessions.db", **options)
        elif kind == "redis":
            from selectools.sessions import RedisSessionStore

            store = RedisSessionStore(server, prefix=f"{unique}:", **options)
        else:
            from selectools.sessions import PostgresSessionStore

            store = PostgresSessionStore(server, table=unique, **options)
        KIND_OF[id(store)] = kind
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def conversation() -> list[Message]:
    """What Message.to_dict holds: an image, calls with a provider's signature, reasoning
    blocks (signed and redacted), results."""
    return [
        Message(role=Role.USER, content="What is in this picture, and the weather?",
                content_parts=[ContentPart(type="text", text="What is in this picture?"),
                               ContentPart(type="image_base64", image_base64=PNG,
                                           media_type="image/png")]),
        Message(role=Role.ASSISTANT, content="", tool_calls=[
            ToolCall("weather", {"city": "Oslo"}, id="toolu_01",
                     provider_data={"thoughtSignature": "c2lnbmF0dXJl"})],
            reasoning=[ReasoningPart("The user wants the weather.", signature="EqQBCkgIARAB",
                                     protocol="anthropic"),
                       ReasoningPart(redacted="EmwKAhgBEgy3va", protocol="anthropic")],
            stop_reason="tool_calls"),
        Message(role=Role.TOOL, content="12 C, rain", tool_name="weather",
                tool_result="12 C, rain", tool_call_id="toolu_01"),
        Message(role=Role.ASSISTANT, content="A black square; in Oslo it rains, 12 C.",
                stop_reason="completed"),
    ]


def state(session_id: str = "s1", namespace: str | None = None,
          messages: list[Message] | None = None) -> SessionState:
    return SessionState(session_id=session_id, namespace=namespace,
                        messages=conversation() if messages is None else messages)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_session_comes_back_after_a_restart_with_everything_its_messages_held(
        make_store: StoreFactory) -> None:
    async def main() -> None:
        store = make_store()
        await store.acommit(state(), expected_version=0)
        await store.aclose()
        loaded = await make_store().aload_state("s1")
        assert [m.to_dict() for m in loaded.messages] == [m.to_dict() for m in conversation()]
        assert loaded.version == 1 and loaded.pending is None
        assert loaded.messages[1].reasoning == conversation()[1].reasoning
        assert (loaded.messages[1].tool_calls or [])[0].provider_data == {
            "thoughtSignature": "c2lnbmF0dXJl"}
    run(main())


def test_a_commit_on_a_stale_version_is_a_conflict_and_changes_nothing(
        make_store: StoreFactory) -> None:
    async def main() -> None:
        store = make_store()
        first = await store.aload_state("s1")
        second = await store.aload_state("s1")
        first.messages = conversation()[:1]
        second.messages = [Message(role=Role.USER, content="another question")]
        await store.acommit(first, expected_version=0)
        with pytest.raises(SessionConflictError) as raised:
            await store.acommit(second, expected_version=0)
        assert raised.value.session_id == "s1" and "'s1'" in str(raised.value)
        stored = await store.aload_state("s1")
        assert stored.version == 1
        assert [m.content for m in stored.messages] == [conversation()[0].content]
        stored.messages.append(Message(role=Role.ASSISTANT, content="an answer"))
        await store.acommit(stored, expected_version=1)
        with pytest.raises(SessionConflictError):  # the version moved on: 1 is stale now
            await store.acommit(state(), expected_version=1)
        assert (await store.aload_state("s1")).version == 2
    run(main())


def test_list_exists_delete_branch_and_namespaces(make_store: StoreFactory) -> None:
    store = make_store()
    memory = ConversationMemory(max_messages=30)
    memory.add_many(conversation())
    store.save("alpha", memory)
    store.save("alpha", memory, namespace="team")  # the same id, apart
    assert store.exists("alpha") and store.exists("alpha", namespace="team")
    assert not store.exists("beta")
    loaded = store.load("alpha")
    assert loaded is not None and loaded.max_messages == 30
    assert [m.to_dict() for m in loaded.get_history()] == [m.to_dict() for m in conversation()]
    store.branch("alpha", "beta")
    assert {(m.session_id, m.namespace) for m in store.list()} == {
        ("alpha", None), ("alpha", "team"), ("beta", None)}
    assert [m.session_id for m in store.list(namespace="team")] == ["alpha"]
    assert store.list(namespace="team")[0].message_count == 4
    with pytest.raises(SessionConflictError):
        store.branch("alpha", "beta")  # never over an existing session
    with pytest.raises(ValueError, match="'nowhere'"):
        store.branch("nowhere", "gamma")
    assert store.delete("alpha") is True and store.delete("alpha") is False
    assert not store.exists("alpha") and store.exists("beta")
    assert store.exists("alpha", namespace="team")
    assert store.load("alpha") is None


def test_search_finds_words_of_the_users_and_assistants_messages(
        make_store: StoreFactory) -> None:
    store = make_store()
    run(store.acommit(state("weather"), expected_version=0))
    run(store.acommit(state("other", messages=[
        Message(role=Role.USER, content="Tell me about tides"),
        Message(role=Role.ASSISTANT, content="Tides follow the moon."),
        Message(role=Role.TOOL, content="oslo rain", tool_call_id="x", tool_name="t")]),
        expected_version=0))
    found = store.search("RAINS oslo")
    assert [result.session_id for result in found] == ["weather"]  # tool text is not searched
    assert any("Oslo" in text for text in found[0].matched_messages)
    assert [r.session_id for r in store.search("moon")] == ["other"]
    assert store.search("nothing-like-this") == []
    with pytest.raises(ValueError, match="limit"):
        store.search("moon", limit=0)


def test_a_session_expires_after_its_ttl(make_store: StoreFactory) -> None:
    store = make_store(default_ttl=2)
    run(store.acommit(state(), expected_version=0))
    assert store.exists("s1")
    give_up = time.monotonic() + 15
    while store.exists("s1"):
        assert time.monotonic() < give_up, "the session did not expire"
        time.sleep(0.2)
    assert store.load("s1") is None and store.list() == []
    # An expired session starts afresh, on the version it had (no conflict with itself).
    fresh = run(store.aload_state("s1"))
    assert fresh.messages == []
    run(store.acommit(fresh, expected_version=fresh.version))
    assert store.exists("s1")


def write_raw(store: SessionStore, session_id: str, text: str) -> None:
    """Put `text` where the store keeps session `session_id`'s record, bypassing it."""
    kind = KIND_OF[id(store)]
    if kind == "json":
        Path(store._path(session_id, None)).write_text(text)  # type: ignore[attr-defined]
    elif kind == "sqlite":
        with sqlite3.connect(store.db_path) as db:  # type: ignore[attr-defined]
            db.execute("INSERT OR REPLACE INTO selectools_sessions (namespace, session_id, "
                       "version, record, message_count, pending_calls, created_at, updated_at) "
                       "VALUES ('', ?, 1, ?, 0, 0, 1, 1)", (session_id, text))
    elif kind == "redis":
        import redis

        client = redis.Redis.from_url(store.url)  # type: ignore[attr-defined]
        client.hset(store._key(session_id, None),  # type: ignore[attr-defined]
                    mapping={"v": 1, "r": text})
        client.close()
    else:
        import asyncpg  # type: ignore[import-untyped, import-not-found]

        async def insert() -> None:
            await store.aexists("warm-up")  # the store makes its table
            connection = await asyncpg.connect(store.dsn)  # type: ignore[attr-defined]
            await connection.execute(
                f"INSERT INTO {store.table} VALUES ('', $1, 1, $2, 0, 0, 1, 1, NULL, '')",  # type: ignore[attr-defined]
                session_id, text)
            await connection.close()
        run(insert())


CORRUPT_RECORDS = [
    ("{not json", "not JSON"),
    ('{"hello": "world"}', "not a selectools session"),
    ('{"format": "selectools.session", "schema_version": 99}', "schema_version 99"),
    ('{"format": "selectools.session", "schema_version": 2, "messages": [{"role": "x"}]}',
     "role"),
    ('{"format": "selectools.session", "schema_version": 2, "session_id": "else"}',
     "belongs to session 'else'"),
]


@pytest.mark.parametrize("text, problem", CORRUPT_RECORDS)
def test_a_corrupt_or_foreign_record_is_an_error_naming_the_session(
        make_store: StoreFactory, text: str, problem: str) -> None:
    store = make_store()
    run(store.acommit(state("good"), expected_version=0))
    write_raw(store, "bad", text)
    with pytest.raises(SessionCorruptError, match=problem) as raised:
        run(store.aload_state("bad"))
    assert raised.value.session_id == "bad" and "session 'bad'" in str(raised.value)
    # Nothing else is lost: the other session loads, the bad record is left as it was.
    assert [m.to_dict() for m in run(store.aload_state("good")).messages] == [
        m.to_dict() for m in conversation()]
    with pytest.raises(SessionCorruptError):
        run(store.aload_state("bad"))


def listing_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelname == "WARNING" and "list() and search() skip" in
            record.getMessage()]


@pytest.mark.parametrize("text, problem", CORRUPT_RECORDS)
def test_list_and_search_skip_a_corrupt_record_naming_it(
        make_store: StoreFactory, text: str, problem: str,
        caplog: pytest.LogCaptureFixture) -> None:
    store = make_store()
    run(store.acommit(state("good"), expected_version=0))
    write_raw(store, "bad", text)
    with caplog.at_level("WARNING", logger="selectools"):
        listed = [meta.session_id for meta in store.list()]
        found = [result.session_id for result in store.search("weather")]
    assert "good" in listed and found == ["good"]
    if KIND_OF[id(store)] != "sqlite":  # (SQLite lists from its columns, decoding nothing)
        assert listed == ["good"]
        warned = listing_warnings(caplog)
        # Once by list(), once by search() (PostgreSQL searches its own column).
        assert len(warned) == (1 if KIND_OF[id(store)] == "postgres" else 2), warned
        assert all(type(store).__name__ in line and "session 'bad'" in line
                   and problem in line for line in warned)
    with pytest.raises(SessionCorruptError, match=problem):  # left as it was
        run(store.aload_state("bad"))


@pytest.mark.parametrize("kind", ["json", "redis"])
def test_a_record_that_is_not_utf8_is_corrupt_and_skipped_by_list(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest,
        caplog: pytest.LogCaptureFixture) -> None:
    store: SessionStore
    if kind == "json":
        store = JsonFileSessionStore(tmp_path / "sessions")
    else:
        import redis

        from selectools.sessions import RedisSessionStore

        url = request.getfixturevalue("redis_url")
        store = RedisSessionStore(url, prefix=f"utf8{time.monotonic_ns()}:")
    try:
        run(store.acommit(state("good"), expected_version=0))
        record = b'{"format": "selectools.session", "schema_version": 2, "summary": "\xff"}'
        if kind == "json":
            Path(store._path("bad", None)).write_bytes(record)  # type: ignore[union-attr]
        else:
            client = redis.Redis.from_url(url)
            client.hset(store._key("bad", None),  # type: ignore[union-attr]
                        mapping={"v": 1, "r": record})
            client.close()
        with pytest.raises(SessionCorruptError, match="'bad'.*not UTF-8"):
            store.get("bad")
        with caplog.at_level("WARNING", logger="selectools"):
            assert [meta.session_id for meta in store.list()] == ["good"]
        (warned,) = listing_warnings(caplog)
        assert "session 'bad'" in warned
    finally:
        store.close()


def test_list_skips_a_redis_key_of_another_type_naming_the_session(
        redis_url: str, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    import redis

    from selectools.sessions import RedisSessionStore

    store = RedisSessionStore(redis_url, prefix=f"wrongtype{time.monotonic_ns()}:")
    run(store.acommit(state("good"), expected_version=0))
    client = redis.Redis.from_url(redis_url)
    client.set(store._key("taken", None), "a plain string")
    client.set(f"{store.prefix}no-session-key", "another program's")  # no session's key
    client.close()
    with caplog.at_level("WARNING", logger="selectools"):
        assert [meta.session_id for meta in store.list()] == ["good"]
    (warned,) = listing_warnings(caplog)
    assert "session 'taken'" in warned and "something else than a session" in warned
    store.close()


def test_a_selectools_1_3_record_is_migrated(make_store: StoreFactory) -> None:
    store = make_store()
    legacy = {"session_id": "old", "namespace": None, "created_at": 1700000000.0,
              "updated_at": 1700000100.0,
              "memory": {"max_messages": 50, "max_tokens": None, "message_count": 2,
                         "summary": "earlier talk", "messages": [
                             {"role": "user", "content": "hi"},
                             {"role": "assistant", "content": "hello"}]}}
    write_raw(store, "old", json.dumps(legacy))
    migrated = run(store.aload_state("old"))
    assert [(m.role, m.content) for m in migrated.messages] == [
        (Role.USER, "hi"), (Role.ASSISTANT, "hello")]
    assert migrated.summary == "earlier talk" and migrated.version == 1
    memory = store.load("old")
    assert memory is not None and memory.max_messages == 50
    # Its next commit writes the current schema, on its version.
    migrated.messages.append(Message(role=Role.USER, content="again"))
    run(store.acommit(migrated, expected_version=1))
    assert run(store.aload_state("old")).version == 2


def test_the_lock_holds_off_a_second_run_and_times_out_clearly(
        make_store: StoreFactory) -> None:
    async def main() -> None:
        store, other = make_store(), make_store()  # two stores: as two processes would
        async with store.lock("s1"):
            with pytest.raises(SessionLockTimeout, match="'s1'"):
                async with other.lock("s1", timeout=0.3):
                    pass
            async with other.lock("s2", timeout=5):  # another session is not held
                pass
        async with other.lock("s1", timeout=5):  # released
            pass
    run(main())


@pytest.mark.parametrize("bad, error", [("", ValueError), ("a\x00b", ValueError),
                                         ("x" * 513, ValueError), (42, TypeError)])
def test_bad_session_ids_are_refused_by_name(bad: Any, error: type[Exception]) -> None:
    store = SQLiteSessionStore(":memory:")
    with pytest.raises(error, match="session_id"):
        store.exists(bad)
    store.close()


def test_a_redis_key_of_another_type_is_an_error_naming_the_session(
        redis_url: str) -> None:  # noqa: F811
    import redis

    from selectools.sessions import RedisSessionStore

    store = RedisSessionStore(redis_url, prefix=f"wrongtype{time.monotonic_ns()}:")
    client = redis.Redis.from_url(redis_url)
    client.set(store._key("taken", None), "a plain string")
    client.close()
    with pytest.raises(SessionCorruptError, match="'taken'.*something else than a session"):
        store.exists("taken")
    store.close()


def _legacy_record(session_id: str, namespace: str | None, text: str) -> str:
    # What selectools 1.3.0's JsonFileSessionStore.save writes (its file layout and keys).
    return json.dumps({"session_id": session_id, "namespace": namespace,
                       "created_at": 1700000000.0, "updated_at": 1700000100.0,
                       "memory": {"max_messages": 50, "max_tokens": None, "message_count": 1,
                                  "summary": None,
                                  "messages": [{"role": "user", "content": text}]}})


@pytest.mark.parametrize("session_id, namespace, file_name", [
    ("alice", "support", "support:alice.json"),
    ("my chat", None, "my chat.json"),
    ("t-1", "team a", "team a:t-1.json"),
])
def test_a_directory_selectools_1_3_wrote_is_read_and_moved_on_commit(
        tmp_path: Path, session_id: str, namespace: str | None, file_name: str) -> None:
    directory = tmp_path / "sessions"
    directory.mkdir()
    (directory / file_name).write_text(_legacy_record(session_id, namespace, "from 1.3"))
    (directory / "other.json").write_text(_legacy_record("other", None, "another one"))
    store = JsonFileSessionStore(directory)
    try:
        loaded = run(store.aload_state(session_id, namespace=namespace))
        assert [m.content for m in loaded.messages] == ["from 1.3"] and loaded.version == 1
        memory = store.load(session_id, namespace=namespace)
        assert memory is not None and memory.max_messages == 50
        listed = store.list(namespace=namespace)
        assert [s.session_id for s in listed].count(session_id) == 1
        # The next commit writes the current file and retires 1.3.0's: one session, once.
        loaded.messages.append(Message(role=Role.ASSISTANT, content="now in 2.x"))
        run(store.acommit(loaded, expected_version=1))
        assert not (directory / file_name).exists()
        again = run(store.aload_state(session_id, namespace=namespace))
        assert [m.content for m in again.messages] == ["from 1.3", "now in 2.x"]
        assert again.version == 2
        listed = store.list(namespace=namespace)
        assert [s.session_id for s in listed].count(session_id) == 1
        assert store.delete(session_id, namespace=namespace) is True
        assert not store.exists(session_id, namespace=namespace)
        assert (directory / "other.json").exists()  # nothing else touched
    finally:
        store.close()


def test_deleting_a_session_never_moved_from_1_3_removes_its_file(tmp_path: Path) -> None:
    directory = tmp_path / "sessions"
    directory.mkdir()
    (directory / "ops:bob.json").write_text(_legacy_record("bob", "ops", "old"))
    store = JsonFileSessionStore(directory)
    try:
        assert store.exists("bob", namespace="ops")
        assert store.delete("bob", namespace="ops") is True
        assert not (directory / "ops:bob.json").exists()
        assert not store.exists("bob", namespace="ops")
    finally:
        store.close()
