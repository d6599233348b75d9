"""A bounded load test: 200 concurrent streaming agent runs through a FallbackProvider whose
primary fails a third of its requests (500, 429, reset, a stream cut mid-answer). Every
run must end with its own correct answer, its tool result, and no text shown twice.

The breaker's cooldown is short, so under this load it opens, probes and closes again
while runs are in flight: its lock is exercised by hundreds of concurrent tasks.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator

import pytest
from fault_server import (
    Answer,
    FaultServer,
    openai_text,
    openai_tool_calls,
    rate_limited,
    reset,
    server_error,
    sse,
)
from wire_server import RecordedRequest

from selectools import Agent, AgentConfig, AgentObserver, AgentResult, StreamChunk, tool
from selectools.providers.fallback import FallbackProvider
from selectools.providers.openai import OpenAIProvider

RUNS = 200


class Primary(OpenAIProvider):
    name = "primary"


class Backup(OpenAIProvider):
    name = "backup"


@tool()
def echo(text: str) -> str:
    """Say it back.

    Args:
        text: What to say back.
    """
    return f"echo {text}"


def healthy(server_name: str) -> Callable[[int, RecordedRequest], Answer]:
    """A model that calls `echo` with the user's words, then answers with its result."""
    call_ids = itertools.count()

    def answer(index: int, request: RecordedRequest) -> Answer:
        messages = request.json["messages"]
        last = messages[-1]
        if last["role"] == "tool":
            words = f"{server_name} heard: {last['content']}".split(" ")
            return sse(openai_text([w if i == 0 else " " + w for i, w in enumerate(words)]))
        user = next(m for m in reversed(messages) if m["role"] == "user")["content"]
        return sse(openai_tool_calls([(f"call_{server_name}_{next(call_ids)}", "echo",
                                       {"text": user})]))

    return answer


def flaky(server_name: str) -> Callable[[int, RecordedRequest], Answer]:
    """Like `healthy`, but every third request fails, in turn in each of four ways."""
    good = healthy(server_name)
    faults = itertools.cycle(["500", "429", "reset", "cut"])

    def answer(index: int, request: RecordedRequest) -> Answer:
        reply: Answer = good(index, request)
        if index % 3 != 2:
            return reply
        fault = next(faults)
        if fault == "cut":
            return reply.cut_after(3)  # mid-answer: after the role chunk and two pieces
        return {"500": server_error(), "429": rate_limited(0), "reset": reset()}[fault]

    return answer


@pytest.fixture
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    with FaultServer(flaky("primary")) as primary, \
            FaultServer(healthy("backup")) as backup:
        yield primary, backup


class CountFallbacks(AgentObserver):
    def __init__(self) -> None:
        self.count = 0

    def on_provider_fallback(self, run_id: str, failed_provider: str, next_provider: str,
                             error: BaseException) -> None:
        self.count += 1


async def test_200_concurrent_streaming_runs_all_complete_correctly(
        servers: tuple[FaultServer, FaultServer]) -> None:
    primary_server, backup_server = servers
    primary = Primary(base_url=primary_server.url, max_retries=0, timeout=10)
    backup = Backup(base_url=backup_server.url, max_retries=0, timeout=10)
    fallback = FallbackProvider([primary, backup], circuit_breaker_threshold=3,
                                circuit_breaker_cooldown=0.05)
    observer = CountFallbacks()
    agent = Agent(tools=[echo], provider=fallback, config=AgentConfig(observers=[observer]))

    async def one_run(number: int) -> tuple[AgentResult, list[StreamChunk]]:
        chunks: list[StreamChunk] = []
        async for item in agent.astream(f"run {number}"):
            if isinstance(item, AgentResult):
                return item, chunks
            chunks.append(item)
        raise AssertionError("no result")

    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(one_run(n) for n in range(RUNS))), timeout=60)
    finally:
        await primary.aclose()
        await backup.aclose()

    answered_by = {"primary": 0, "backup": 0}
    restarted = 0
    for number, (result, chunks) in enumerate(outcomes):
        who = result.provider_used
        assert who in answered_by, who
        answered_by[who] += 1
        assert result.content == f"{who} heard: echo run {number}"
        assert [c.parameters for c in result.tool_calls] == [{"text": f"run {number}"}]
        # What a UI shows: text after the last discard notice is the answer, exactly once.
        last_discard = max((i for i, c in enumerate(chunks) if c.event == "fallback"),
                           default=-1)
        shown = "".join(c.content for c in chunks[last_discard + 1:])
        restarted += last_discard >= 0
        assert shown == result.content

    assert len(primary_server.requests) + len(backup_server.requests) >= 2 * RUNS
    failed_on_primary = sum(1 for i in range(len(primary_server.requests)) if i % 3 == 2)
    assert observer.count == failed_on_primary > 0  # every primary failure fell back
    assert answered_by["primary"] > 0 and answered_by["backup"] > 0
    assert restarted > 0  # some answers were cut mid-stream and restarted on the backup
    print(f"\n{answered_by=} {restarted=} fallbacks={observer.count} "
          f"primary_requests={len(primary_server.requests)} "
          f"backup_requests={len(backup_server.requests)}")
