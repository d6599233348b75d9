"""A client that goes away, Ctrl-C, and timeouts: the agent stops promptly, stops the HTTP
stream and its tools, and stays usable.

Waits below are upper bounds that keep a broken build from hanging the suite, not
assertions about speed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import ctrl_c
import pytest
from fault_server import (
    FaultServer,
    hang,
    openai_text,
    openai_tool_calls,
    sse,
)

from selectools import Agent, AgentConfig, AgentResult, RunTimeoutError, StreamChunk, tool
from selectools.providers.fallback import FallbackProvider
from selectools.providers.openai import OpenAIProvider

GUARD = 10.0  # seconds before a test gives up instead of hanging
SLOW_STREAM = sse(openai_text([f"word{i} " for i in range(2000)]), pause=0.01)  # ~20 s


@pytest.fixture
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with FaultServer() as primary, FaultServer() as backup:
        yield primary, backup


@pytest.fixture
async def fallback(servers: tuple[FaultServer, FaultServer]) -> AsyncIterator[FallbackProvider]:
    primary, backup = servers
    first = OpenAIProvider(base_url=primary.url, max_retries=0, timeout=5)
    second = OpenAIProvider(base_url=backup.url, max_retries=0, timeout=5)
    yield FallbackProvider([first, second])
    await first.aclose()
    await second.aclose()


async def test_cancelling_the_consumer_closes_the_http_stream_and_keeps_the_agent_usable(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    primary.queue(SLOW_STREAM)
    agent = Agent(provider=fallback)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for chunk in agent.astream("Tell me a long story"):
            if isinstance(chunk, StreamChunk) and chunk.content:
                first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, GUARD)

    assert await asyncio.to_thread(primary.wait_for_abort, GUARD)  # server saw the close
    assert backup.requests == []  # cancelling is not a failure to fail over from
    assert fallback.breakers[0].consecutive_failures == 0

    primary.queue(sse(openai_text(["still", " here"])))
    result = [item async for item in agent.astream("Are you there?")][-1]
    assert isinstance(result, AgentResult) and result.content == "still here"


async def test_cancelling_the_consumer_cancels_running_async_tools(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, _ = servers
    started: list[str] = []
    cancelled: list[str] = []
    both_started = asyncio.Event()

    @tool()
    async def slow_lookup(key: str) -> str:
        """Look a key up, slowly.

        Args:
            key: What to look up.
        """
        started.append(key)
        if len(started) == 2:
            both_started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(key)
            raise
        return key

    primary.queue(sse(openai_tool_calls([("call_a", "slow_lookup", {"key": "a"}),
                                         ("call_b", "slow_lookup", {"key": "b"})])))
    agent = Agent(tools=[slow_lookup], provider=fallback)

    async def consume() -> None:
        async for _ in agent.astream("Look up a and b"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(both_started.wait(), GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, GUARD)
    assert sorted(cancelled) == ["a", "b"]


async def test_a_slow_tool_times_out_and_the_model_is_told(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, _ = servers

    @tool()
    async def stuck(key: str) -> str:
        """Never answers.

        Args:
            key: Anything.
        """
        await asyncio.sleep(60)
        return key

    primary.queue(sse(openai_tool_calls([("call_s", "stuck", {"key": "k"})])),
                  sse(openai_text(["The tool", " timed out."])))
    agent = Agent(tools=[stuck], provider=fallback,
                  config=AgentConfig(tool_timeout_seconds=0.2))
    result = await asyncio.wait_for(agent.arun("go", stream_handler=lambda _: None), GUARD)

    assert result.content == "The tool timed out."
    sent = primary.requests[1].json["messages"][-1]
    assert sent["role"] == "tool" and sent["tool_call_id"] == "call_s"
    assert "timed out" in sent["content"] or "timeout" in sent["content"].lower()


async def test_run_timeout_ends_a_run_whose_providers_all_hang(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, backup = servers
    primary.queue(hang(30))
    backup.queue(hang(30))
    agent = Agent(provider=fallback, config=AgentConfig(run_timeout=0.3))
    with pytest.raises(RunTimeoutError, match="run_timeout"):
        await asyncio.wait_for(agent.arun("hello?"), GUARD)


async def test_run_timeout_stops_a_stream_that_keeps_trickling(
        servers: tuple[FaultServer, FaultServer], fallback: FallbackProvider) -> None:
    primary, _ = servers
    primary.queue(SLOW_STREAM)
    agent = Agent(provider=fallback, config=AgentConfig(run_timeout=0.5))

    async def consume() -> None:
        async for _ in agent.astream("Tell me a long story"):
            pass

    task = asyncio.create_task(consume())
    done, _ = await asyncio.wait([task], timeout=3)
    if not done:  # fail cleanly instead of waiting out the whole stream
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pytest.fail("run_timeout=0.5 did not stop the stream")
    with pytest.raises(RunTimeoutError):
        task.result()
    assert await asyncio.to_thread(primary.wait_for_abort, GUARD)


# -- Ctrl-C on the sync API ------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import asyncio, json, sys, threading, time
    sys.path.insert(0, sys.argv[1])
    from fault_server import FaultServer, openai_text, sse
    from selectools import Agent
    from selectools import _sync
    from selectools.providers.fallback import FallbackProvider
    from selectools.providers.openai import OpenAIProvider

    with FaultServer() as primary, FaultServer() as backup:
        primary.queue(sse(openai_text([f"w{i} " for i in range(3000)]), pause=0.01))
        provider = FallbackProvider([OpenAIProvider(base_url=primary.url, max_retries=0),
                                     OpenAIProvider(base_url=backup.url, max_retries=0)])
        agent = Agent(provider=provider)

        def announce_first_words(text):
            if not announce_first_words.done:
                announce_first_words.done = True
                print("streaming", flush=True)
        announce_first_words.done = False

        try:
            agent.run("Tell me a long story", stream_handler=announce_first_words)
            outcome = "finished"
        except KeyboardInterrupt:
            outcome = "interrupted"
        aborted = primary.wait_for_abort(10)

        async def others():
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        deadline = time.monotonic() + 10
        while True:
            left = asyncio.run_coroutine_threadsafe(others(), _sync._loop).result()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        threads = sorted(t.name for t in threading.enumerate())
        print(json.dumps({"outcome": outcome, "aborted": aborted,
                          "tasks_left": len(left), "backup_requests": len(backup.requests),
                          "threads": threads}), flush=True)
""")


def test_ctrl_c_stops_a_sync_run_and_leaves_nothing_running(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             preexec_fn=ctrl_c.heard)
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.strip() == "streaming", child.stderr.read() if child.stderr else first
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["outcome"] == "interrupted"
    assert report["aborted"] is True  # the HTTP stream was closed
    assert report["tasks_left"] == 0  # nothing still running on the library loop
    assert report["backup_requests"] == 0  # Ctrl-C is not a provider failure
    # The fault servers' own request threads may still be winding down (they notice the
    # client is gone at their next write); they are the test's, not the library's.
    workers = [name for name in report["threads"]
               if name not in ("MainThread", "selectools-loop", "fault-server")
               and "process_request_thread" not in name]
    assert workers == [], workers
