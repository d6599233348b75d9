"""Runs under way finish first: when more model calls want a connection than a provider's
pool has, the calls wait in the order their runs began (selectools._seniority), so a
run's second call goes before the first call of a run that began after it.

Through real HTTP on 127.0.0.1 with a pool of one connection: three runs begun a, b, c,
each calling one tool and then answering. In the order the calls asked, the server
would see a1 b1 c1 a2 b2 c2 (every run advancing in lockstep, each holding its
conversation until the last one's first call is done); by seniority it sees a1 b1 a2 b2
c1 c2, and run a has its answer before run c has made its first call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fault_server import Answer, FaultServer, openai_text, openai_tool_calls, sse
from wire_server import RecordedRequest

from selectools import Agent, AgentConfig, AgentResult, tool
from selectools.providers.openai import OpenAIProvider

#: Each answer waits this long before it starts, so that the other runs' calls queue up
#: behind the first (the runs begin 5 ms apart: a host stalled for this long between two
#: of them would let a run's second call find the connection free).
LATENCY = 0.2


@tool(description="Look a word up")
async def look_up(word: str) -> str:
    return f"{word}: found"


def _whole(message: dict[str, Any]) -> Answer:
    body = {"id": "c", "object": "chat.completion", "model": "m", "choices": [
        {"index": 0, "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
         "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    return Answer(body=json.dumps(body).encode(), delay=LATENCY)


def _asked(request: RecordedRequest) -> tuple[str, bool]:
    """The run's word (its user message) and whether the call carries the tool's result."""
    messages = request.json["messages"]
    word = next(message["content"] for message in messages if message["role"] == "user")
    return word, any(message["role"] == "tool" for message in messages)


def _plan(index: int, request: RecordedRequest) -> Answer:
    """A first call (no tool result yet) gets a tool call; a second, the answer."""
    word, answered = _asked(request)
    if request.json.get("stream"):
        events = openai_text([f"done {word}"]) if answered \
            else openai_tool_calls([(f"call_{word}", "look_up", {"word": word})])
        return replace(sse(events), delay=LATENCY)
    if answered:
        return _whole({"content": f"done {word}"})
    return _whole({"content": None, "tool_calls": [{
        "id": f"call_{word}", "type": "function",
        "function": {"name": "look_up", "arguments": json.dumps({"word": word})}}]})


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(plan=_plan) as running:
        yield running


def _calls_seen(server: FaultServer) -> list[str]:
    """Each request the server saw, in order: its run's word and 1 or 2 (which call)."""
    return [f"{word}{2 if answered else 1}"
            for word, answered in map(_asked, server.requests)]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_run_under_way_goes_before_runs_that_began_after_it(
        server: FaultServer, streamed: bool) -> None:
    provider = OpenAIProvider(api_key="sk-test", base_url=server.url, model="m",
                              max_retries=0)
    provider._transport.pool_size = 1  # one connection: every other call waits for it
    agent = Agent([look_up], provider=provider, config=AgentConfig())
    finished: list[str] = []

    async def run(word: str) -> str:
        if streamed:
            result = None
            async for item in agent.astream(word):
                if isinstance(item, AgentResult):
                    result = item
            assert result is not None
        else:
            result = await agent.arun(word)
        finished.append(word)
        return str(result.content)

    try:
        tasks = []
        for word in "abc":  # begun in this order, each a moment after the one before
            tasks.append(asyncio.create_task(run(word)))
            await asyncio.sleep(0.005)
        answers = await asyncio.wait_for(asyncio.gather(*tasks), 10)
    finally:
        await provider.aclose()
    assert answers == ["done a", "done b", "done c"]
    assert _calls_seen(server) == ["a1", "b1", "a2", "b2", "c1", "c2"]
    assert finished == ["a", "b", "c"]
