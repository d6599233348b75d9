"""abatch / batch over real HTTP: a loopback OpenAI-compatible model whose every answer names
its question (benchmarks/batch_server.py), so each result is checked against its input."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selectools import Agent, AgentConfig, AgentResult, ConversationMemory, Message, Role
from selectools.agent.core import Messages
from selectools.batch import AdaptiveLimit, BatchResult, abatch, batch
from selectools.providers.errors import InvalidRequestError, RateLimitError
from selectools.providers.openai import OpenAIProvider

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.batch_server import API_KEY, MODEL, BatchServerProcess  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[BatchServerProcess]:
    with BatchServerProcess(delay=0.002) as running:
        yield running


@pytest.fixture(scope="module")
def limited_server() -> Iterator[BatchServerProcess]:
    """Answers 429 (retry-after-ms: 50) to a request arriving while 3 are being answered."""
    with BatchServerProcess(max_in_flight=3, delay=0.02) as running:
        yield running


def make_agent(base_url: str, **config: object) -> Agent:
    provider = OpenAIProvider(base_url=base_url, api_key=API_KEY, model=MODEL)
    return Agent(provider=provider, config=AgentConfig(**config))  # type: ignore[arg-type]


async def test_results_come_in_input_order_each_answering_its_input(
        server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    prompts = [f"question {n}" for n in range(60)]
    results = await abatch(agent, prompts, max_concurrency=8)
    assert [r.index for r in results] == list(range(60))
    assert [r.input for r in results] == prompts
    assert [r.content for r in results] == [f"echo: {p}" for p in prompts]
    assert all(r.ok and r.error is None for r in results)
    assert agent.usage.total_tokens == 60 * 16  # every run's usage reaches the agent
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_a_held_result_keeps_its_trace_as_the_run_went(
        server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    alone = await agent.arun("question 0")
    held = (await abatch(agent, ["question 0", "question 1"]))[0].result
    assert held is not None and held.trace is not None and alone.trace is not None
    assert [(s.type, s.iteration, s.data) for s in held.trace] == [
        (s.type, s.iteration, s.data) for s in alone.trace]
    assert held.trace.run_id == held.run_id != alone.run_id
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_a_failing_input_is_reported_with_its_input_and_the_rest_finish(
        server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    prompts: list[Messages] = ["a", "FAIL b", "c", [Message(role=Role.USER, content="d FAIL")],
                               "e"]
    results = await abatch(agent, prompts, max_concurrency=2)
    assert [r.ok for r in results] == [True, False, True, False, True]
    failed = results[1]
    assert failed.input == "FAIL b" and failed.result is None and failed.content == ""
    assert isinstance(failed.error, InvalidRequestError) and failed.error.status == 400
    assert isinstance(results[3].error, InvalidRequestError)
    assert results[3].input == prompts[3]
    assert [r.content for r in results if r.ok] == ["echo: a", "echo: c", "echo: e"]
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_rate_limits_slow_the_batch_and_fail_no_input(
        limited_server: BatchServerProcess) -> None:
    before = limited_server.stats()
    # No retries in the provider: every 429 reaches the batch, which must absorb them all.
    agent = make_agent(limited_server.base_url, max_retries=0)
    prompts = [f"item {n}" for n in range(80)]
    results = await abatch(agent, prompts, max_concurrency=12)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    assert [r.content for r in results] == [f"echo: {p}" for p in prompts]
    limited = sum(r.rate_limited for r in results)
    after = limited_server.stats()
    refused = after.get("rate_limited", 0) - before.get("rate_limited", 0)
    assert limited == refused > 0  # the server refused some, and each was run again
    # Adaptive: after the first refusals the batch keeps near the server's limit of 3 in
    # flight, instead of hammering it 12 at a time: far fewer refusals than answers.
    assert refused < len(prompts), (refused, len(prompts))
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_on_progress_counts_and_on_result_gets_each_result_as_it_finishes(
        server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    progress: list[tuple[int, int]] = []
    finished: list[BatchResult] = []
    results = await abatch(agent, [f"p{n}" for n in range(10)], max_concurrency=3,
                           on_progress=lambda done, total: progress.append((done, total)),
                           on_result=finished.append)
    assert progress == [(n, 10) for n in range(1, 11)]
    assert sorted(r.index for r in finished) == list(range(10))
    assert {id(r) for r in finished} == {id(r) for r in results}
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_a_broken_on_progress_is_logged_once_and_the_batch_goes_on(
        server: BatchServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    agent = make_agent(server.base_url)

    def broken(done: int, total: int) -> None:
        raise RuntimeError("progress bar gone")

    results = await abatch(agent, ["x", "y", "z"], on_progress=broken)
    assert all(r.ok for r in results)
    assert sum("on_progress raised" in r.getMessage() for r in caplog.records) == 1
    await agent.provider.aclose()  # type: ignore[union-attr]


async def test_an_on_result_that_raises_ends_the_batch(server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)

    def full_disk(result: BatchResult) -> None:
        raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space"):
        await abatch(agent, [f"q{n}" for n in range(20)], max_concurrency=4,
                     on_result=full_disk)
    await agent.provider.aclose()  # type: ignore[union-attr]


def test_sync_batch_runs_on_the_library_loop(server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    threads: set[str] = set()
    results = batch(agent, ["one", "two", "three"], max_concurrency=2,
                    on_result=lambda r: threads.add(threading.current_thread().name))
    assert [r.content for r in results] == ["echo: one", "echo: two", "echo: three"]
    assert threads == {"selectools-loop"}
    # the same agent again, sync: its connection pool lives on that loop
    assert batch(agent, ["four"])[0].content == "echo: four"


async def test_cancelling_abatch_cancels_the_runs_in_flight() -> None:
    with BatchServerProcess(delay=5.0) as slow:
        agent = make_agent(slow.base_url)
        task = asyncio.ensure_future(abatch(agent, [f"s{n}" for n in range(6)],
                                            max_concurrency=3))
        while slow.stats().get("requests", 0) < 3:
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert slow.stats()["requests"] == 3  # nothing more was started
        await agent.provider.aclose()  # type: ignore[union-attr]


def test_bad_inputs_are_refused_before_anything_runs(server: BatchServerProcess) -> None:
    agent = make_agent(server.base_url)
    before = server.stats()["requests"]
    with pytest.raises(TypeError, match="inputs must be a list"):
        batch(agent, "one string")
    with pytest.raises(ValueError, match=r"inputs\[1\]: the message is empty"):
        batch(agent, ["fine", "  "])
    with pytest.raises(TypeError, match=r"inputs\[2\]"):
        batch(agent, ["fine", "fine", 42])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_concurrency must be >= 1"):
        batch(agent, ["fine"], max_concurrency=0)
    with pytest.raises(TypeError, match="max_concurrency must be an int"):
        batch(agent, ["fine"], max_concurrency=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="without memory"):
        batch(Agent(config=AgentConfig(), memory=ConversationMemory()), ["fine"])
    with pytest.raises(TypeError, match="agent must be an Agent"):
        batch(object(), ["fine"])  # type: ignore[arg-type]
    assert server.stats()["requests"] == before
    assert batch(agent, []) == []


async def test_adaptive_limit_halves_once_per_burst_and_climbs_back() -> None:
    gate = AdaptiveLimit(8)
    generations = [await gate.acquire() for _ in range(8)]
    for generation in generations[:5]:  # five 429s from the same burst: one decrease
        gate.release()
        gate.rate_limited(0.0, generation)
    assert gate.limit == 4
    for _ in range(3):
        gate.release()
    later = await gate.acquire()
    gate.release()
    gate.rate_limited(0.0, later)  # a 429 after the decrease: another one
    assert gate.limit == 2
    for _ in range(2 + 3 + 4 + 5 + 6 + 7):
        gate.succeeded()
    assert gate.limit == 8  # one more slot per `limit` successes, up to the ceiling
    gate.succeeded()
    assert gate.limit == 8


def test_rate_limit_error_class_is_the_one_the_batch_absorbs() -> None:
    from selectools.batch import rate_limit_delay

    assert rate_limit_delay(RateLimitError("slow down", retry_after=1.5), 1) == 1.5
    assert 0.0 < (rate_limit_delay(RateLimitError("slow down"), 3) or 0) <= 2.0
    assert rate_limit_delay(InvalidRequestError("bad"), 1) is None
    assert rate_limit_delay(ValueError("bad"), 1) is None


async def test_keep_results_false_hands_each_result_over_and_holds_none(
        server: BatchServerProcess) -> None:
    import gc
    import weakref

    agent = make_agent(server.base_url)
    seen: list[tuple[int, str]] = []
    alive: list[weakref.ref[AgentResult]] = []

    def take(result: BatchResult) -> None:
        seen.append((result.index, result.content))
        assert result.result is not None
        alive.append(weakref.ref(result.result))

    assert await abatch(agent, [f"k{n}" for n in range(12)], max_concurrency=3,
                        on_result=take, keep_results=False) == []
    assert sorted(seen) == [(n, f"echo: k{n}") for n in range(12)]
    gc.collect()
    assert all(ref() is None for ref in alive)  # nothing held once handed over
    with pytest.raises(ValueError, match="keep_results=False needs on_result"):
        await abatch(agent, ["x"], keep_results=False)
    await agent.provider.aclose()  # type: ignore[union-attr]


@pytest.mark.skipif(not hasattr(Agent, "abatch"), reason="agent/core.py has no batch yet")
async def test_agent_batch_methods_are_this_module(server: BatchServerProcess) -> None:
    agent: Any = make_agent(server.base_url)  # Any: mypy checks this file before core has them
    results = await agent.abatch(["m1", "FAIL m2"], 2)
    assert [(r.ok, r.content) for r in results] == [(True, "echo: m1"), (False, "")]
    progress: list[tuple[int, int]] = []
    results = await asyncio.to_thread(
        agent.batch, ["m3"], on_progress=lambda d, t: progress.append((d, t)))
    assert results[0].content == "echo: m3" and progress == [(1, 1)]


async def test_a_fallback_whose_every_provider_is_rate_limited_holds_the_input_back(
        limited_server: BatchServerProcess) -> None:
    from selectools.providers.fallback import FallbackProvider

    # Two providers on the same limited server: when both refuse, the run fails with
    # AllProvidersFailedError of two 429s, which the batch must take as a rate limit.
    providers = [OpenAIProvider(base_url=url, api_key=API_KEY, model=MODEL)
                 for url in (limited_server.base_url, limited_server.base_url + "/")]
    agent = Agent(provider=FallbackProvider(providers),
                  config=AgentConfig(max_retries=0))
    prompts = [f"fallback {n}" for n in range(60)]
    results = await abatch(agent, prompts, max_concurrency=12)
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:2]
    assert [r.content for r in results] == [f"echo: {p}" for p in prompts]
    assert sum(r.rate_limited for r in results) > 0
    for provider in providers:
        await provider.aclose()
