"""Review of session 10's whole-answer short paths against real HTTP on 127.0.0.1:
`Run.direct` (a whole answer asked of an exact_result acomplete straight),
`RunSetup.provider` (the agent's provider taken without provider_for_run's call), and the
connection slot taken and given back inline in `HttpTransport.post_json`.

What must hold there as on the general paths: per-run settings (model, temperature,
max_retries, observers, run_timeout) reach the call; a call cancelled while it holds its
slot (in flight, the server stalling) gives it back; a server's broken or huge answer is a
typed error and its slot is free again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, RunTimeoutError, tool
from selectools.providers.errors import ProviderError
from selectools.providers.openai import OpenAIProvider

WIRE = Path(__file__).parent / "fixtures" / "wire"
ANSWER = {"id": "x", "object": "chat.completion", "model": "m", "choices": [
    {"index": 0, "finish_reason": "stop",
     "message": {"role": "assistant", "content": "an answer"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
BUSY = {"error": {"message": "busy", "type": "server_error"}}


def openai(server: WireServer, pool: int | None = None, **options: Any) -> OpenAIProvider:
    provider = OpenAIProvider(api_key="sk-test", base_url=server.url + "/v1", model="m",
                              **{"max_retries": 0, **options})
    if pool is not None:
        provider._transport.pool_size = pool
    return provider


def slots_of(provider: OpenAIProvider) -> tuple[int, int]:
    slots = provider._transport._slots[asyncio.get_running_loop()]
    return slots.free, len(slots.waiting)


async def test_per_run_model_and_temperature_reach_the_wire_on_the_direct_path(
        wire_server: WireServer) -> None:
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server)
    agent = Agent(provider=provider, config=AgentConfig(model="gpt-run", temperature=0.25,
                                                        max_tokens=77))
    try:
        result = await agent.arun("hi")
    finally:
        await provider.aclose()
    assert result.content == "an answer"
    sent = wire_server.requests[0].json
    assert (sent["model"], sent["temperature"], sent.get("max_tokens",
            sent.get("max_completion_tokens"))) == ("gpt-run", 0.25, 77)


class RetryRecorder:
    def __init__(self) -> None:
        self.retries: list[tuple[int, Any]] = []

    def on_llm_retry(self, run_id: str, attempt: int, max_retries: int | None,
                     error: Exception, backoff_seconds: float) -> None:
        self.retries.append((attempt, max_retries))


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "observed"])
async def test_the_runs_max_retries_is_honoured_on_the_direct_path(
        wire_server: WireServer, observed: bool) -> None:
    """The provider retries nothing itself; the agent's config asks for one retry."""
    wire_server.reply(503, BUSY, headers={"retry-after": "0"})
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server)
    recorder = RetryRecorder()
    config = AgentConfig(max_retries=1, observers=[recorder] if observed else [])
    agent = Agent(provider=provider, config=config)
    try:
        result = await agent.arun("hi")
    finally:
        await provider.aclose()
    assert result.content == "an answer" and len(wire_server.requests) == 2
    assert recorder.retries == ([(1, 1)] if observed else [])


async def test_a_call_cancelled_in_flight_gives_its_inline_slot_back(
        wire_server: WireServer) -> None:
    """Pool of one: the first call takes the slot inline and stalls (the server waits
    3 s); a second waits in Slots.take. Both cancelled: the slot is free, nobody waits,
    and the next call is answered at once."""
    wire_server.reply(body=ANSWER, delay=3.0)
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server, pool=1)
    try:
        agent = Agent(provider=provider)
        first = asyncio.create_task(agent.arun("one"))
        second = asyncio.create_task(agent.arun("two"))
        await asyncio.sleep(0.3)
        assert slots_of(provider) == (0, 1)
        first.cancel()
        second.cancel()
        for task in (first, second):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert slots_of(provider) == (1, 0)
        started = time.monotonic()
        assert (await agent.arun("three")).content == "an answer"
        assert time.monotonic() - started < 2.0
        assert slots_of(provider) == (1, 0)
    finally:
        await provider.aclose()


async def test_a_run_timeout_against_a_stalling_server_frees_the_inline_slot(
        wire_server: WireServer) -> None:
    wire_server.reply(body=ANSWER, delay=5.0)
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server, pool=1)
    try:
        agent = Agent(provider=provider, config=AgentConfig(run_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(RunTimeoutError):
            await agent.arun("stall")
        assert time.monotonic() - started < 2.0
        assert slots_of(provider) == (1, 0)
        assert (await agent.arun("again")).content == "an answer"
    finally:
        await provider.aclose()


@pytest.mark.parametrize("body", [
    b'{"choices": [{"message": {"role": "assistant", "content": "cut',  # broken JSON
    b"[" * 100_000,  # deeply nested
    b'{"choices": [{"message": {"role": "assistant", "content": "'
    + b"z" * 30_000_000 + b'"}}]}',  # 30 MB
], ids=["broken", "nested", "huge"])
async def test_hostile_answers_are_typed_errors_and_the_slot_is_free_again(
        wire_server: WireServer, body: bytes) -> None:
    wire_server.reply(body=body)
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server, pool=1)
    try:
        agent = Agent(provider=provider, config=AgentConfig(run_timeout=20))
        try:
            result = await agent.arun("hostile")
        except ProviderError:
            pass
        else:  # (a huge answer may be taken whole: then it is the text sent)
            assert len(result.content) == 30_000_000
        assert slots_of(provider) == (1, 0)
        assert (await agent.arun("again")).content == "an answer"
    finally:
        await provider.aclose()


async def test_many_runs_at_once_with_cancellations_leave_every_slot_free(
        wire_server: WireServer) -> None:
    for _ in range(30):
        wire_server.reply(body=ANSWER, delay=0.05)
    provider = openai(wire_server, pool=3)
    try:
        agent = Agent(provider=provider)
        tasks = [asyncio.create_task(agent.arun(f"q{n}")) for n in range(30)]
        await asyncio.sleep(0.02)
        for task in tasks[::3]:  # in flight or waiting, whichever
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        answered = [r for r in results if not isinstance(r, BaseException)]
        failed = [r for r in results if isinstance(r, BaseException)
                  and not isinstance(r, asyncio.CancelledError)]
        assert not failed and len(answered) >= 20
        assert all(r.content == "an answer" for r in answered)
        assert slots_of(provider) == (3, 0)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("limit", ["run_timeout", "request_timeout"])
async def test_a_server_stalling_mid_body_is_cut_at_the_limit_and_frees_the_slot(
        wire_server: WireServer, limit: str) -> None:
    """Headers and 20 bytes of the body, then nothing: the run's limit holds."""
    release = wire_server.reply(body=ANSWER, chunk_size=10, hold_after=20)
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server, pool=1)
    try:
        options: dict[str, Any] = {limit: 0.5}
        agent = Agent(provider=provider, config=AgentConfig(**options))
        started = time.monotonic()
        with pytest.raises((RunTimeoutError, ProviderError)):
            await agent.arun("stall")
        assert time.monotonic() - started < 2.5
        assert slots_of(provider) == (1, 0)
        release.set()
        assert (await agent.arun("again")).content == "an answer"
    finally:
        release.set()
        await provider.aclose()


@tool(description="The user's country")
def get_user_country() -> str:
    return "France"


async def test_a_runs_usage_is_the_sum_of_its_calls_and_reaches_the_agents_totals(
        wire_server: WireServer) -> None:
    """(91cb2ec: a run's AgentUsage made once with its result, from its calls' usages.)
    Two model calls (a tool call, then the answer); the second run's usage adds up alone."""
    wire_server.reply_file(WIRE / "openai_chat_tool_call_single.json")
    wire_server.reply(body=ANSWER)
    wire_server.reply(body=ANSWER)
    provider = openai(wire_server)
    agent = Agent(tools=[get_user_country], provider=provider,
                  config=AgentConfig(model="gpt-4o-2024-08-06"))
    try:
        results = [await agent.arun("where am I?"), await agent.arun("again")]
    finally:
        await provider.aclose()
    first, second = (result.usage for result in results)
    assert first is not None and second is not None
    assert (first.llm_calls, first.prompt_tokens, first.completion_tokens,
            first.total_tokens) == (2, 68 + 3, 12 + 2, 80 + 5)
    assert [call.prompt_tokens for call in first.calls] == [68, 3]
    assert first.cost_usd == pytest.approx(sum(call.cost_usd or 0 for call in first.calls))
    assert first.cost_usd > 0 and first.keep_calls
    assert (second.llm_calls, second.total_tokens, len(second.calls)) == (1, 5, 1)
    assert first.calls is not second.calls
    totals = agent.usage
    assert (totals.llm_calls, totals.total_tokens, totals.calls) == (3, 90, [])
    assert totals.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)
