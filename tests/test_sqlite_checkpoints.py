"""SQLiteSessionStore's WAL is checkpointed on the store's thread, never on the event loop.

Commits are made on the event loop when they need not wait (the store's "quick"
connection), and a checkpoint (copying the WAL into the database file, with an fsync)
would stall every stream of the loop. So that connection never checkpoints, and one
commit in CHECKPOINT_EVERY goes by the store's thread, where SQLite checkpoints once the
WAL is past its 1,000 pages. Seen from the files: the database file only grows by a
checkpoint, so it stays as it was through the quick commits, and the WAL stays bounded.
"""

from __future__ import annotations

import os
from pathlib import Path

from selectools import Message, Role
from selectools.sessions import SQLiteSessionStore
from selectools.sessions.sqlite import CHECKPOINT_EVERY

#: A record of about 60 KB: 15 pages of 4 KiB each commit, so that fewer commits than
#: CHECKPOINT_EVERY put more than SQLite's 1,000 pages in the WAL.
BIG = "a long answer " * 4300


async def _commit(store: SQLiteSessionStore, number: int) -> None:
    state = await store.aload_state(f"s{number}")
    state.messages = [Message(Role.USER, f"question {number}"), Message(Role.ASSISTANT, BIG)]
    await store.acommit(state, expected_version=state.version)


async def test_commits_on_the_event_loop_leave_the_checkpoint_to_the_thread(
        tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteSessionStore(path)
    wal = Path(f"{path}-wal")
    try:
        await _commit(store, 0)  # (the quick connection is opened by the first call)
        database_before = os.path.getsize(path)
        for number in range(1, CHECKPOINT_EVERY - 1):  # all quick: nothing checkpointed
            await _commit(store, number)
        assert os.path.getsize(wal) > 1000 * 4096  # past SQLite's own threshold...
        assert os.path.getsize(path) == database_before  # ...and the loop did not copy it
        await _commit(store, CHECKPOINT_EVERY - 1)  # the hundredth: by the thread
        assert os.path.getsize(path) > database_before + 50 * 60_000  # checkpointed there
        for number in range(CHECKPOINT_EVERY, 5 * CHECKPOINT_EVERY):
            await _commit(store, number)
        # The WAL is reused once checkpointed: bounded by about 1,000 pages and
        # CHECKPOINT_EVERY commits of 15 pages, not by the 500 commits' 30 MB.
        assert os.path.getsize(wal) < (1000 + CHECKPOINT_EVERY * 16) * 4200
        for number in (0, 250, 5 * CHECKPOINT_EVERY - 1):  # and nothing was lost
            state = await store.aload_state(f"s{number}")
            assert state.version == 1 and state.messages[1].content == BIG
    finally:
        await store.aclose()
