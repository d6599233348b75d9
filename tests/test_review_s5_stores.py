"""Session stores given crafted ids and foreign files, on a real directory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from test_sessions_servers import postgres_dsn, redis_url  # noqa: F401 (fixtures)
from test_sessions_stores import _legacy_record, make_store  # noqa: F401 (make_store: a fixture)

from selectools.sessions import JsonFileSessionStore, SessionStore, SQLiteSessionStore
from selectools.types import Message, Role


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_crafted_id_neither_reads_nor_deletes_another_namespaces_1_3_file(
        tmp_path: Path) -> None:
    """1.3.0 named session 'alice' of namespace 'support' `support:alice.json`, which is
    also the 1.3.0 name of session 'support:alice' without a namespace: a client that picks
    that id (a chat id is the client's choice) must not reach the other session's file."""
    directory = tmp_path / "sessions"
    directory.mkdir()
    theirs = directory / "support:alice.json"
    theirs.write_text(_legacy_record("alice", "support", "alice's secret"))
    store = JsonFileSessionStore(directory)
    try:
        assert not store.exists("support:alice")  # not a corrupt session either
        assert store.delete("support:alice") is False
        assert theirs.exists()
        state = run(store.aload_state("support:alice"))
        assert state.messages == [] and state.version == 0
        state.messages = [Message(role=Role.USER, content="mine")]
        run(store.acommit(state, expected_version=0))  # a new session of its own
        assert theirs.exists()
        other, mine = store.get("alice", namespace="support"), store.get("support:alice")
        assert other is not None and mine is not None
        assert [m.content for m in other.messages] == ["alice's secret"]
        assert [m.content for m in mine.messages] == ["mine"]
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["sqlite", "jsonfile"])
def test_search_takes_a_nul_as_a_space_and_names_a_lone_surrogate(
        tmp_path: Path, kind: str) -> None:
    """A NUL in the query was SQLite's OperationalError ("unterminated string"), a lone
    surrogate a UnicodeEncodeError; the JSON store answered both."""
    store: SessionStore = SQLiteSessionStore(tmp_path / "s.db") if kind == "sqlite" \
        else JsonFileSessionStore(tmp_path / "j")
    try:
        state = run(store.aload_state("a"))
        state.messages = [Message(role=Role.USER, content="hello world")]
        run(store.acommit(state, expected_version=0))
        assert [found.session_id for found in store.search("nothing\x00hello")] == ["a"]
        with pytest.raises(ValueError, match="lone surrogate"):
            store.search("hello \ud800")
    finally:
        store.close()


def test_search_words_are_words_never_query_syntax(make_store: Any) -> None:  # noqa: F811
    """Postgres read the query as web-search syntax: '-hello' found the sessions WITHOUT
    hello, and 'hello or' an error or nothing; SQLite's FTS5 had its syntax quoted already."""
    store = make_store()
    for session_id, text in (("a", "hello world"), ("b", "goodbye moon")):
        state = run(store.aload_state(session_id))
        state.messages = [Message(role=Role.USER, content=text)]
        run(store.acommit(state, expected_version=0))
    for query in ("-hello", "!hello", "hello -moon", "hello or", "or", "<->", "hello:*"):
        found = {result.session_id for result in store.search(query)}
        assert "b" not in found or "moon" in query, (query, found)
    assert {result.session_id for result in store.search("moon or hello")} == {"a", "b"}


def test_list_and_search_skip_a_redis_key_that_is_no_session(
        redis_url: str) -> None:  # noqa: F811
    """A key of another type under the prefix (another program's, or one set by hand) made
    every list() and search() fail with WRONGTYPE; the other stores skip a record that is
    no session."""
    import time

    import redis

    from selectools.sessions import RedisSessionStore

    store = RedisSessionStore(redis_url, prefix=f"foreign{time.monotonic_ns()}:")
    try:
        state = run(store.aload_state("mine"))
        state.messages = [Message(role=Role.USER, content="hello")]
        run(store.acommit(state, expected_version=0))
        client = redis.Redis.from_url(redis_url)
        client.set(store._key("theirs", None), "a plain string")
        client.rpush(store._key("list", None), "an item")
        client.close()
        assert [meta.session_id for meta in store.list()] == ["mine"]
        assert [found.session_id for found in store.search("hello")] == ["mine"]
    finally:
        store.close()


def test_a_redis_ttl_under_a_millisecond_still_expires(redis_url: str) -> None:  # noqa: F811
    """int(ttl * 1000) was 0, which the commit script reads as "no expiry": the session
    was kept for good, where every other store let it expire."""
    import time

    from selectools.sessions import RedisSessionStore

    store = RedisSessionStore(redis_url, prefix=f"ttl{time.monotonic_ns()}:",
                              default_ttl=0.0004)
    try:
        state = run(store.aload_state("brief"))
        state.messages = [Message(role=Role.USER, content="hello")]
        stored = run(store.acommit(state, expected_version=0))
        assert stored.expires_at is not None
        while time.time() <= stored.expires_at + 0.005:  # past its expiry (and Redis's 1 ms)
            time.sleep(0.001)
        assert not store.exists("brief")
    finally:
        store.close()


def test_a_message_with_half_a_surrogate_pair_or_a_nul_is_stored(
        make_store: Any) -> None:  # noqa: F811
    """A web client's JSON may carry "\\ud83d" alone (half an emoji) or "\\u0000"; the
    record, written as UTF-8, could not be encoded: every store's commit raised
    UnicodeEncodeError after the run had answered (and run its tools), and the turn was
    lost. (Postgres's search text cannot hold a NUL either.)"""
    store = make_store()
    state = run(store.aload_state("odd"))
    texts = ["half an emoji \ud83d here", "a nul \x00 here", "plain ünïcode"]
    state.messages = [Message(role=Role.USER, content=text) for text in texts]
    run(store.acommit(state, expected_version=0))
    again = run(store.aload_state("odd"))
    assert [m.content for m in again.messages] == texts
    assert [found.session_id for found in store.search("emoji")] == ["odd"]


@pytest.mark.parametrize("kind", ["sqlite", "jsonfile"])
def test_a_session_id_with_half_a_surrogate_pair_is_refused_by_name(
        tmp_path: Path, kind: str) -> None:
    """A served chat's id is the client's (JSON's "\\ud800" alone is valid): a raw
    UnicodeEncodeError from the file name or the SQL binding, a 500 from the server."""
    store: SessionStore = SQLiteSessionStore(tmp_path / "s.db") if kind == "sqlite" \
        else JsonFileSessionStore(tmp_path / "j")
    try:
        with pytest.raises(ValueError, match="session_id is not Unicode text"):
            store.exists("chat \ud800")
        assert store.exists("chat ünï ☃") is False  # unicode itself is fine
    finally:
        store.close()
