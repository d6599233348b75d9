"""Session stores given crafted ids and foreign files, on a real directory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from selectools.sessions import JsonFileSessionStore
from selectools.types import Message, Role


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def _legacy_record(session_id: str, namespace: str | None, text: str) -> str:
    # What selectools 1.3.0's JsonFileSessionStore.save writes (as tests/test_sessions_stores).
    return json.dumps({"session_id": session_id, "namespace": namespace,
                       "created_at": 1700000000.0, "updated_at": 1700000100.0,
                       "memory": {"max_messages": 50, "max_tokens": None, "message_count": 1,
                                  "summary": None,
                                  "messages": [{"role": "user", "content": text}]}})


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
