"""`run_timeout` bounds a JsonFileSessionStore's commit too: another process holding the
session's commit lock (a commit of its own, a stopped process) or earlier calls keeping
the store's thread busy end the run at its deadline with nothing written, and the error
says the turn was not saved. Real processes holding real flock(2) locks; the model is
LocalProvider."""

from __future__ import annotations

import asyncio
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from holders import other_process, queued_behind

from selectools import Agent, AgentConfig, RunTimeoutError
from selectools._deadline import DeadlineReached
from selectools.providers.stubs import LocalProvider
from selectools.sessions import JsonFileSessionStore

RUN_TIMEOUT = 1.0
#: The run must end this soon after its run_timeout (a loaded 2-core host included).
SLACK = 2.0

HOLD_FLOCK = '''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
'''


def lock_held(path: Path, seconds: float) -> AbstractContextManager[subprocess.Popen[str]]:
    """Another process holding an exclusive flock on `path` for `seconds`."""
    return other_process(HOLD_FLOCK, str(path), str(seconds))


def agent(store: JsonFileSessionStore, run_timeout: float | None = RUN_TIMEOUT) -> Agent:
    return Agent(tools=[], provider=LocalProvider(), config=AgentConfig(
        session_store=store, run_timeout=run_timeout))


def contents(store: JsonFileSessionStore, session_id: str) -> list[str]:
    state = store.get(session_id)
    assert state is not None
    return [message.content for message in state.messages]


def test_a_commit_behind_another_processs_lock_ends_at_run_timeout_unsaved(
        tmp_path: Path) -> None:
    store = JsonFileSessionStore(tmp_path)
    agent(store, None).run("first", session_id="shared")
    before = store.get("shared")
    assert before is not None
    with lock_held(tmp_path / "shared.json.lock", 8.0):
        started = time.monotonic()
        with pytest.raises(RunTimeoutError) as raised:
            agent(store).run("hello", session_id="shared")
        elapsed = time.monotonic() - started
    assert elapsed < RUN_TIMEOUT + SLACK
    message = str(raised.value)
    assert "commit to session 'shared'" in message and "not saved" in message
    assert isinstance(raised.value.__cause__, DeadlineReached)
    assert "shared.json.lock" in str(raised.value.__cause__)
    after = store.get("shared")
    assert after is not None
    assert (after.version, after.messages) == (before.version, before.messages)
    # the other process gone, the next run commits on top of the session as it was
    agent(store).run("hello again", session_id="shared")
    assert contents(store, "shared")[:len(before.messages)] == [
        m.content for m in before.messages]
    assert "hello again" in contents(store, "shared")
    assert "hello" not in contents(store, "shared")


def test_a_commit_without_run_timeout_waits_for_the_lock_and_commits(
        tmp_path: Path) -> None:
    store = JsonFileSessionStore(tmp_path)
    agent(store, None).run("first", session_id="shared")
    with lock_held(tmp_path / "shared.json.lock", 1.0) as holder:
        agent(store, None).run("hello", session_id="shared")
        assert holder.poll() is not None  # (it committed only once the holder was done)
    assert "hello" in contents(store, "shared")


def test_a_run_queued_behind_a_waiting_commit_ends_at_run_timeout_unrun(
        tmp_path: Path) -> None:
    """Run "a" (no run_timeout) waits on the store's thread for the other process's lock
    on a's file; run "b" (run_timeout), another session, is queued behind it: its load is
    given up at b's deadline (nothing was run), and "a" commits once the other process is
    done. (The same queue gives up a commit unmade: the SQLite store's test.)"""
    store = JsonFileSessionStore(tmp_path)
    agent(store, None).run("first", session_id="a")
    agent(store, None).run("first", session_id="b")

    with lock_held(tmp_path / "a.json.lock", 3.0):
        # (after 0.3 s, a's commit is on the store's thread, waiting)
        elapsed, error = asyncio.run(queued_behind(
            agent(store, None).arun("from a", session_id="a"),
            lambda: agent(store).arun("from b", session_id="b"), 0.3))
    assert error is not None and "load session 'b'; nothing was run" in str(error)
    assert elapsed < RUN_TIMEOUT + SLACK
    assert "from a" in contents(store, "a")
    assert "from b" not in contents(store, "b")
