"""Typed output through the engine: `run/arun/astream(messages, response_format=T)`.

Through a real OpenAI-compatible server on 127.0.0.1 (whole answers and SSE streams) and
through scripted providers: every kind of `T` (pydantic model, dataclass, TypedDict,
`list[...]`, JSON-schema dict), with and without tools, whole and streamed; an answer
that is valid, repaired (the next request carries the repair prompt), or still invalid
(a status, or a raised error, as configured); and "output_partial" events that grow to
`parsed`. The OpenAI provider sends the schema natively (`response_format`); scripted
providers, which take no options, get it as instructions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from partial_values import extends as grows_into
from pydantic import BaseModel
from wire_server import WireServer

from selectools import (
    Agent,
    AgentConfig,
    AgentObserver,
    AgentResult,
    AsyncAgentObserver,
    ConversationMemory,
    Message,
    OutputValidationError,
    Role,
    StreamChunk,
    ToolCall,
    TraceStep,
    tool,
)
from selectools.output import output_schema
from selectools.providers.base import ProviderEvent
from selectools.providers.openai import OpenAIProvider
from selectools.testing import ScriptedProvider
from selectools.types import TurnEnd, plain_data
from selectools.usage import UsageStats


class Person(BaseModel):
    name: str
    age: int


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


CITY_SCHEMA: dict[str, Any] = {
    "title": "City", "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"], "additionalProperties": False}

#: kind -> (T, a valid answer, the value it parses to, an invalid answer, a path the
#: problem of the invalid answer is named by)
KINDS: dict[str, tuple[Any, str, Any, str, str]] = {
    "pydantic": (Person, '{"name": "Ada Lovelace", "age": 36}', Person(name="Ada Lovelace",
                                                                        age=36),
                 '{"name": "Ada Lovelace"}', "$.age"),
    "dataclass": (Point, '{"x": 3, "y": 4}', Point(3, 4), '{"x": "three"}', "$.x"),
    "typeddict": (Movie, '{"title": "Metropolis", "year": 1927}',
                  {"title": "Metropolis", "year": 1927}, '{"title": "Metropolis"}', "$.year"),
    "list": (list[Person], '[{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]',
             [Person(name="Ada", age=36), Person(name="Alan", age=41)],
             '[{"name": "Ada", "age": "old"}]', "$[0].age"),
    "json schema": (CITY_SCHEMA, '{"name": "Lyon", "population": 522000}',
                    {"name": "Lyon", "population": 522000}, '{"name": "Lyon"}',
                    "$.population"),
}


# -- the OpenAI-compatible wire -------------------------------------------------------------

def whole(text: str | None, calls: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)]
    return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [{
        "index": 0, "finish_reason": "tool_calls" if calls else "stop", "message": message}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


def sse(text: str | None, calls: list[tuple[str, str]] | None = None, step: int = 3) -> str:
    """Chat Completions SSE: the text `step` characters per event, then the calls."""
    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        return "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk",
                                      "model": "m", "choices": [{
                                          "index": 0, "delta": delta,
                                          "finish_reason": finish}]}) + "\n\n"

    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": (text or "")[i:i + step]})
               for i in range(0, len(text or ""), step)]
    for i, (name, arguments) in enumerate(calls or ()):
        events.append(event({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                             "function": {"name": name,
                                                          "arguments": arguments}}]}))
    events.append(event({}, "tool_calls" if calls else "stop"))
    return "".join(events) + "data: [DONE]\n\n"


def answer(server: WireServer, text: str | None, calls: list[tuple[str, str]] | None = None,
           *, streamed: bool) -> None:
    if streamed:
        server.reply(body=sse(text, calls), content_type="text/event-stream", chunk_size=48)
    else:
        server.reply(body=whole(text, calls))


def wire_agent(server: WireServer, tools: list[Any] | None = None,
               **config: Any) -> Agent:
    provider = OpenAIProvider(base_url=server.url, model="m", max_retries=0, timeout=5)
    return Agent(tools=tools, provider=provider, config=AgentConfig(**config))


async def finish(agent: Agent, prompt: str, response_format: Any, *, streamed: bool,
                 events: bool = False) -> tuple[AgentResult, list[StreamChunk]]:
    """The run's result, and (streamed) every chunk before it."""
    if not streamed:
        return await agent.arun(prompt, response_format=response_format), []
    chunks: list[StreamChunk] = []
    async for item in agent.astream(prompt, response_format, events=events):
        if isinstance(item, AgentResult):
            return item, chunks
        chunks.append(item)
    raise AssertionError("the stream ended without a result")


def system_of(request: Any) -> str:
    messages = request.json["messages"]
    return str(messages[0]["content"]) if messages[0]["role"] == "system" else ""


def steps(result: AgentResult) -> list[TraceStep]:
    assert result.trace is not None
    return list(result.trace)


def weather_tool(ran: list[str]) -> Any:
    @tool(description="The weather in a city")
    def weather(city: str) -> str:
        ran.append(city)
        return f"sunny in {city}"

    return weather


# -- valid answers ---------------------------------------------------------------------------

@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kind_of_type_is_parsed_from_the_final_answer(
        wire_server: WireServer, kind: str, streamed: bool) -> None:
    target, valid, expected, _, _ = KINDS[kind]
    answer(wire_server, valid, streamed=streamed)
    result, _ = await finish(wire_agent(wire_server), "tell me", target, streamed=streamed)

    assert result.structured_status == "ok"
    assert result.structured_error is None
    assert result.parsed == expected
    assert type(result.parsed) is type(expected)
    assert result.content == valid  # the text stays the text the model wrote
    # The schema went out natively (OpenAI's response_format: the strict variant when
    # the type has one), and not as instructions too.
    [request] = wire_server.requests
    schema = output_schema(target)
    sent = request.json["response_format"]["json_schema"]
    assert sent["name"] == schema.name
    assert sent["schema"] == (schema.strict_schema or schema.schema)
    assert sent.get("strict", False) is (schema.strict_schema is not None)
    assert "JSON schema" not in system_of(request)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_tools_run_first_and_the_typed_value_is_the_final_answers(
        wire_server: WireServer, kind: str, streamed: bool) -> None:
    target, valid, expected, _, _ = KINDS[kind]
    ran: list[str] = []
    # A first turn that calls a tool; its text is no answer and is never validated.
    answer(wire_server, "Let me check.", [("weather", '{"city": "Lyon"}')], streamed=streamed)
    answer(wire_server, valid, streamed=streamed)
    agent = wire_agent(wire_server, tools=[weather_tool(ran)])
    result, _ = await finish(agent, "weather?", target, streamed=streamed)

    assert ran == ["Lyon"]
    assert result.structured_status == "ok"
    assert result.parsed == expected
    assert result.iterations == 2
    assert [c.tool_name for c in result.tool_calls] == ["weather"]
    second = wire_server.requests[1].json
    assert second["tools"][0]["function"]["name"] == "weather"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_0",
                                      "content": "sunny in Lyon"}
    assert not [s for s in steps(result) if s.type == "structured_retry"]


async def test_the_instructions_belong_to_the_run_not_to_the_agent(
        wire_server: WireServer) -> None:
    agent = wire_agent(wire_server, system_prompt="You are terse.")
    answer(wire_server, '{"name": "Ada", "age": 36}', streamed=False)
    answer(wire_server, "plain words", streamed=False)
    typed = await agent.arun("who?", response_format=Person)
    plain = await agent.arun("and now?")

    first, second = (system_of(r) for r in wire_server.requests)
    assert first == second == "You are terse."
    assert "response_format" in wire_server.requests[0].json
    assert "response_format" not in wire_server.requests[1].json
    assert agent.config.system_prompt == "You are terse."
    assert typed.parsed == Person(name="Ada", age=36)
    assert (plain.parsed, plain.structured_status, plain.structured_error) == (None, None, None)


def test_sync_run_takes_response_format() -> None:
    agent = Agent(provider=ScriptedProvider(['Here: {"x": 1, "y": 2}. Anything else?']))
    result = agent.run("a point", response_format=Point)
    assert result.parsed == Point(1, 2)
    assert result.structured_status == "ok"


# -- repaired answers ------------------------------------------------------------------------

@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_an_invalid_answer_is_sent_back_with_its_problems_and_repaired(
        wire_server: WireServer, kind: str, streamed: bool) -> None:
    target, valid, expected, invalid, path = KINDS[kind]
    answer(wire_server, invalid, streamed=streamed)
    answer(wire_server, valid, streamed=streamed)
    result, _ = await finish(wire_agent(wire_server), "tell me", target, streamed=streamed)

    assert result.structured_status == "ok"
    assert result.parsed == expected
    assert result.iterations == 2
    second = wire_server.requests[1].json["messages"]
    assert second[-2] == {"role": "assistant", "content": invalid}
    repair = second[-1]
    assert repair["role"] == "user"
    assert path in repair["content"]
    assert "Reply again with only the corrected JSON value" in repair["content"]
    [retry] = [s for s in steps(result) if s.type == "structured_retry"]
    assert retry.iteration == 1
    assert retry.data["attempt"] == 1
    assert path in retry.data["error"]
    assert [s.type for s in steps(result)] == ["llm_call", "structured_retry", "llm_call"]


class _Screen:
    """A stream_handler that shows the answer being written and can wipe it."""

    def __init__(self) -> None:
        self.text = ""
        self.wiped: list[str] = []

    def __call__(self, delta: str) -> None:
        self.text += delta

    def discard(self) -> None:
        self.wiped.append(self.text)
        self.text = ""


def test_a_stream_handler_is_told_that_an_answer_sent_for_repair_is_void() -> None:
    screen = _Screen()
    agent = Agent(provider=ScriptedProvider(['{"name": "Ada"}', '{"name": "Ada", "age": 36}']))
    result = agent.run("who?", stream_handler=screen, response_format=Person)
    assert result.parsed == Person(name="Ada", age=36)
    assert screen.wiped == ['{"name": "Ada"}']
    assert screen.text == '{"name": "Ada", "age": 36}'


async def test_repair_turns_count_against_no_other_budget(wire_server: WireServer) -> None:
    # max_iterations=1 is the tool loop's budget; the two repairs come on top of it.
    answer(wire_server, "I think Ada, 36", streamed=False)
    answer(wire_server, '{"name": "Ada"}', streamed=False)
    answer(wire_server, '{"name": "Ada", "age": 36}', streamed=False)
    agent = wire_agent(wire_server, max_iterations=1, output_retries=2)
    result = await agent.arun("who?", response_format=Person)

    assert result.structured_status == "ok"
    assert result.stop_reason == "completed"
    assert result.iterations == 3
    assert len(wire_server.requests) == 3


async def test_repair_prompts_stay_in_the_conversation(wire_server: WireServer) -> None:
    answer(wire_server, '{"name": "Ada"}', streamed=False)
    answer(wire_server, '{"name": "Ada", "age": 36}', streamed=False)
    agent = wire_agent(wire_server)
    await agent.arun("who?", response_format=Person)
    roles = [(m.role, m.content[:12]) for m in agent.history]
    assert roles == [(Role.USER, "who?"), (Role.ASSISTANT, '{"name": "Ad'),
                     (Role.USER, "the answer d"), (Role.ASSISTANT, '{"name": "Ad')]


# -- answers that stay invalid ---------------------------------------------------------------

@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_an_answer_still_invalid_after_its_repairs_fails_by_status(
        wire_server: WireServer, kind: str, streamed: bool) -> None:
    target, _, _, invalid, path = KINDS[kind]
    for _ in range(2):
        answer(wire_server, invalid, streamed=streamed)
    agent = wire_agent(wire_server, output_retries=1)
    result, _ = await finish(agent, "tell me", target, streamed=streamed)

    assert result.structured_status == "validation_failed"
    assert result.parsed is None
    assert result.structured_error is not None and path in result.structured_error
    assert result.content == invalid
    assert result.stop_reason == "completed"
    assert len(wire_server.requests) == 2
    assert len([s for s in steps(result) if s.type == "structured_retry"]) == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_an_answer_still_invalid_raises_when_asked_to(
        wire_server: WireServer, streamed: bool) -> None:
    for _ in range(3):
        answer(wire_server, '{"name": "Ada", "age": "unknown"}', streamed=streamed)
    agent = wire_agent(wire_server, output_failure="raise")  # output_retries=2
    with pytest.raises(OutputValidationError) as caught:
        await finish(agent, "who?", Person, streamed=streamed)
    assert [p.path for p in caught.value.problems] == ["$.age"]
    assert len(wire_server.requests) == 3


def test_a_raised_failure_commits_nothing_to_history_or_memory() -> None:
    memory = ConversationMemory()
    agent = Agent(provider=ScriptedProvider(["first answer", "not JSON", "still not"]),
                  config=AgentConfig(output_retries=1, output_failure="raise"), memory=memory)
    agent.run("hello")
    kept = agent.history
    with pytest.raises(OutputValidationError, match="no JSON value"):
        agent.run("now typed", response_format=Person)
    assert agent.history == kept
    assert [m.content for m in memory.get_history()] == ["hello", "first answer"]


async def test_no_repairs_means_one_call(wire_server: WireServer) -> None:
    answer(wire_server, "no JSON here", streamed=False)
    agent = wire_agent(wire_server, output_retries=0)
    result = await agent.arun("who?", response_format=Person)
    assert result.structured_status == "validation_failed"
    assert "no JSON value" in (result.structured_error or "")
    assert len(wire_server.requests) == 1


async def test_a_run_without_a_final_answer_is_not_attempted(wire_server: WireServer) -> None:
    ran: list[str] = []
    answer(wire_server, None, [("weather", '{"city": "Oslo"}')], streamed=False)
    agent = wire_agent(wire_server, tools=[weather_tool(ran)], max_iterations=1,
                       output_failure="raise")
    result = await agent.arun("weather?", response_format=Person)
    assert result.stop_reason == "max_iterations"
    assert (result.structured_status, result.parsed) == ("not_attempted", None)


async def test_an_answer_cut_by_max_tokens_is_not_validated(wire_server: WireServer) -> None:
    body = whole('{"name": "Ada", "a')
    body["choices"][0]["finish_reason"] = "length"
    wire_server.reply(body=body)
    agent = wire_agent(wire_server, output_failure="raise")
    result = await agent.arun("who?", response_format=Person)
    assert result.stop_reason == "length"
    assert result.structured_status == "not_attempted"
    assert len(wire_server.requests) == 1


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["Person", 42, [Person], object()], ids=repr)
async def test_a_bad_response_format_is_a_type_error_before_any_call(
        wire_server: WireServer, bad: Any) -> None:
    agent = wire_agent(wire_server)
    with pytest.raises(TypeError, match="response_format"):
        await agent.arun("who?", response_format=bad)
    with pytest.raises(TypeError, match="response_format"):
        agent.astream("who?", bad)  # at the call, before the stream is read
    with pytest.raises(TypeError, match="response_format"):
        agent.run("who?", response_format=bad)
    assert wire_server.requests == []


def test_a_json_schema_that_cannot_be_checked_is_refused_before_any_call() -> None:
    provider = ScriptedProvider(["{}"])
    with pytest.raises(TypeError, match="unevaluatedProperties"):
        Agent(provider=provider).run("x", response_format={
            "type": "object", "unevaluatedProperties": False})
    assert provider.requests == []


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"output_retries": -1}, ValueError, "output_retries must be at least 0"),
    ({"output_retries": True}, TypeError, "output_retries must be an int"),
    ({"output_retries": 1.5}, TypeError, "output_retries must be an int"),
    ({"output_failure": "explode"}, ValueError, "output_failure must be 'status' or 'raise'"),
    ({"output_failure": None}, ValueError, "output_failure"),
])
def test_output_options_are_checked_when_the_config_is_made(
        options: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        AgentConfig(**options)


# -- partial values while streaming ----------------------------------------------------------

def partials(chunks: list[StreamChunk]) -> list[str]:
    """The output_partial values as JSON text, snapshot by snapshot (the value is live)."""
    return [json.dumps(c.data) for c in chunks if c.event == "output_partial"]


@pytest.mark.parametrize("kind", list(KINDS))
async def test_output_partial_events_grow_to_the_parsed_value(
        wire_server: WireServer, kind: str) -> None:
    target, valid, _, _, _ = KINDS[kind]
    answer(wire_server, valid, streamed=True)
    agent = wire_agent(wire_server)
    chunks: list[StreamChunk] = []
    shown: list[str] = []
    async for item in agent.astream("tell me", target, events=True):
        if isinstance(item, AgentResult):
            result = item
            break
        chunks.append(item)
        if item.event == "output_partial":
            shown.append(json.dumps(item.data))  # a snapshot now: the value grows in place

    assert len(shown) >= 3
    assert len(set(shown)) == len(shown)  # an event only when the value changed
    assert json.loads(shown[-1]) == plain_data(result.parsed)
    # Each partial value comes right after the text delta that changed it.
    for before, chunk in zip(chunks, chunks[1:], strict=False):
        if chunk.event == "output_partial":
            assert before.content


async def test_no_partial_events_without_events_or_without_response_format(
        wire_server: WireServer) -> None:
    valid = '{"name": "Ada", "age": 36}'
    answer(wire_server, valid, streamed=True)
    answer(wire_server, valid, streamed=True)
    agent = wire_agent(wire_server)
    result, quiet = await finish(agent, "who?", Person, streamed=True)
    assert result.parsed == Person(name="Ada", age=36)
    assert all(c.event is None for c in quiet)
    assert "".join(c.content for c in quiet) == valid
    _, plain = await finish(agent, "who?", None, streamed=True, events=True)
    assert not partials(plain)
    assert {c.event for c in plain} == {None, "iteration_start", "iteration_end"}


async def test_a_turn_that_calls_tools_is_not_the_answer_its_partial_stream_stops(
        wire_server: WireServer) -> None:
    ran: list[str] = []
    answer(wire_server, '{"name": "Bob", "age"', [("weather", '{"city": "Oslo"}')],
           streamed=True)
    answer(wire_server, '{"name": "Ada", "age": 36}', streamed=True)
    agent = wire_agent(wire_server, tools=[weather_tool(ran)])
    result, chunks = await finish(agent, "who?", Person, streamed=True, events=True)

    assert result.parsed == Person(name="Ada", age=36)
    first_end = next(i for i, c in enumerate(chunks) if c.event == "iteration_end")
    first, final = chunks[:first_end], chunks[first_end:]
    call_at = next(i for i, c in enumerate(first) if c.tool_calls)
    assert not partials(first[call_at:])
    # The final answer's partial values start afresh: nothing of the first turn's text.
    assert all("Bob" not in shown for shown in partials(final))
    assert json.loads(partials(final)[-1]) == {"name": "Ada", "age": 36}


class _CallInTheMiddle:
    """A turn that writes text, calls a tool, and writes on (Anthropic may put a text
    block after a tool_use block); then a typed answer."""

    name = "middle"
    supports_native_tools = True

    def __init__(self) -> None:
        self.turns = 0

    async def astream(self, **_: Any) -> AsyncIterator[Any]:
        self.turns += 1
        if self.turns == 1:
            yield '{"name": "Bob'
            yield ToolCall("weather", {"city": "Oslo"}, id="c1")
            yield 'by", "age": 7}'
            yield TurnEnd("tool_calls")
        else:
            for piece in ['{"name": ', '"Ada", ', '"age": 36}']:
                yield piece
            yield TurnEnd("completed")
        yield UsageStats(model="m", provider=self.name)

    async def acomplete(self, **_: Any) -> tuple[Message, UsageStats]:
        raise AssertionError("only streamed here")


async def test_text_after_a_tool_call_in_the_same_turn_is_not_followed() -> None:
    ran: list[str] = []
    agent = Agent(tools=[weather_tool(ran)], provider=_CallInTheMiddle())
    result, chunks = await finish(agent, "who?", Person, streamed=True, events=True)
    assert ran == ["Oslo"]
    call_at = next(i for i, c in enumerate(chunks) if c.tool_calls)
    end_at = next(i for i, c in enumerate(chunks) if c.event == "iteration_end")
    assert [json.loads(v) for v in partials(chunks[:call_at])] == [{"name": "Bob"}]
    assert partials(chunks[call_at:end_at]) == []
    assert json.loads(partials(chunks[end_at:])[-1]) == plain_data(result.parsed)


class _RestartingProvider:
    """A provider whose stream is restarted mid-answer, as FallbackProvider does when the
    first provider fails: a `discard_partial` event, then the answer from the beginning."""

    name = "restarting"
    supports_native_tools = True

    async def astream(self, **_: Any) -> AsyncIterator[Any]:
        for piece in ['{"name": ', '"Bob', 'by", ']:
            yield piece
        yield ProviderEvent("fallback", {"failed": "first", "next": "second"},
                            discard_partial=True)
        for piece in ['{"name": ', '"Ada", ', '"age": 36}']:
            yield piece
        yield TurnEnd("completed")
        yield UsageStats(model="m", provider="second")

    async def acomplete(self, **_: Any) -> tuple[Message, UsageStats]:
        raise AssertionError("only streamed here")


async def test_a_restarted_answer_restarts_its_partial_value() -> None:
    agent = Agent(provider=_RestartingProvider())
    result, chunks = await finish(agent, "who?", Person, streamed=True, events=True)
    assert result.parsed == Person(name="Ada", age=36)
    restart = next(i for i, c in enumerate(chunks) if c.event == "fallback")
    before, after = partials(chunks[:restart]), partials(chunks[restart:])
    assert json.loads(before[-1]) == {"name": "Bobby"}
    assert after and all("Bob" not in shown for shown in after)
    assert json.loads(after[-1]) == {"name": "Ada", "age": 36}


async def test_partial_values_of_a_scripted_answer_in_words() -> None:
    text = '{"name": "Ada King Lovelace", "age": 36}'
    agent = Agent(provider=ScriptedProvider([text]))
    result, chunks = await finish(agent, "who?", Person, streamed=True, events=True)
    shown = [json.loads(v) for v in partials(chunks)]
    assert shown[-1] == result.parsed.model_dump()
    names = [v.get("name", "") for v in shown]
    assert names == sorted(names, key=len)  # the name only grows
    assert all("Ada King Lovelace".startswith(n) for n in names)


class _Pieces:
    """Streams one answer cut at the given places."""

    name = "pieces"
    supports_native_tools = True

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    async def astream(self, **_: Any) -> AsyncIterator[Any]:
        for piece in self.pieces:
            yield piece
        yield TurnEnd("completed")
        yield UsageStats(model="m", provider=self.name)

    async def acomplete(self, **_: Any) -> tuple[Message, UsageStats]:
        raise AssertionError("only streamed here")


_TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(st.builds(dict, name=_TEXTS, age=st.integers(-10**6, 10**6)),
                       max_size=4),
       cuts=st.lists(st.integers(0, 400), max_size=12), indent=st.sampled_from([None, 1]))
def test_partial_values_only_grow_and_end_at_parsed_however_the_answer_is_cut(
        people: list[dict[str, Any]], cuts: list[int], indent: int | None) -> None:
    text = json.dumps(people, indent=indent)
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    async def go() -> tuple[AgentResult, list[StreamChunk]]:
        return await finish(Agent(provider=_Pieces(pieces)), "x", list[Person],
                            streamed=True, events=True)

    result, chunks = asyncio.run(go())
    shown = [json.loads(v) for v in partials(chunks)]
    assert result.structured_status == "ok"
    assert shown[-1] == plain_data(result.parsed) == people
    for before, after in zip(shown, shown[1:], strict=False):
        assert grows_into(before, after)


# -- the result as data ----------------------------------------------------------------------

@dataclasses.dataclass
class Team:
    name: str
    members: list[Person]
    lead: Point | None = None
    founded: datetime.date | None = None
    tags: tuple[str, ...] = ()


@pytest.mark.parametrize(("target", "text", "data"), [
    (Person, '{"name": "Ada", "age": 36}', {"name": "Ada", "age": 36}),
    (Team, '{"name": "core", "members": [{"name": "Ada", "age": 36}], "lead": {"x": 1}, '
           '"founded": "1843-07-10", "tags": ["a", "b"]}',
     {"name": "core", "members": [{"name": "Ada", "age": 36}], "lead": {"x": 1, "y": 0},
      "founded": "1843-07-10", "tags": ["a", "b"]}),
    (list[Point], '[{"x": 1}, {"x": 2, "y": 5}]', [{"x": 1, "y": 0}, {"x": 2, "y": 5}]),
    (CITY_SCHEMA, '{"name": "Lyon", "population": 1}', {"name": "Lyon", "population": 1}),
])
def test_to_dict_holds_parsed_as_json_data_and_from_dict_gives_it_back(
        target: Any, text: str, data: Any) -> None:
    result = Agent(provider=ScriptedProvider([text])).run("x", response_format=target)
    saved = json.loads(json.dumps(result.to_dict()))
    assert saved["parsed"] == data
    assert saved["structured_status"] == "ok"
    assert saved["structured_error"] is None
    again = AgentResult.from_dict(saved)
    assert again.parsed == data
    assert again.structured_status == "ok"


def test_a_failed_result_keeps_its_error_through_to_dict() -> None:
    agent = Agent(provider=ScriptedProvider(['{"name": 1}']),
                  config=AgentConfig(output_retries=0))
    result = agent.run("x", response_format=Person)
    again = AgentResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.structured_status == "validation_failed"
    assert again.structured_error == result.structured_error
    assert again.parsed is None


def test_a_result_without_response_format_says_none() -> None:
    result = Agent(provider=ScriptedProvider(["hello"])).run("x")
    data = result.to_dict()
    assert (data["parsed"], data["structured_status"], data["structured_error"]) == (
        None, None, None)


def test_scripted_tool_call_then_typed_answer() -> None:
    ran: list[str] = []
    provider = ScriptedProvider([ToolCall("weather", {"city": "Rome"}),
                                 '{"name": "Rome", "population": 2800000}'])
    agent = Agent(tools=[weather_tool(ran)], provider=provider)
    result = agent.run("weather?", response_format=CITY_SCHEMA)
    assert ran == ["Rome"]
    assert result.parsed == {"name": "Rome", "population": 2800000}
    assert "JSON schema" in provider.requests[1][0]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_observers_see_each_validation(asynchronous: bool) -> None:
    seen: list[tuple[bool, int, str | None]] = []

    class Sync(AgentObserver):
        def on_structured_validate(self, run_id: str, success: bool, attempt: int,
                                   error: str | None = None) -> None:
            seen.append((success, attempt, error))

    class Async(AsyncAgentObserver):
        blocking = True

        async def a_on_structured_validate(self, run_id: str, success: bool, attempt: int,
                                           error: str | None = None) -> None:
            seen.append((success, attempt, error))

    observer = Async() if asynchronous else Sync()
    agent = Agent(provider=ScriptedProvider(['{"name": "Ada"}', '{"name": "Ada", "age": 36}']),
                  config=AgentConfig(observers=[observer]))
    result = agent.run("who?", response_format=Person)
    assert result.structured_status == "ok"
    assert [(ok, attempt) for ok, attempt, _ in seen] == [(False, 1), (True, 2)]
    assert "age" in (seen[0][2] or "") and seen[1][2] is None


@dataclasses.dataclass
class Positive:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise LookupError("negative")  # not a ValueError: pydantic passes it through


@pytest.mark.parametrize("failure", ["status", "raise"])
def test_a_type_whose_own_check_raises_anything_is_a_validation_failure(failure: str) -> None:
    agent = Agent(provider=ScriptedProvider(['{"value": -1}', '{"value": 3}']),
                  config=AgentConfig(output_retries=1, output_failure=failure))  # type: ignore[arg-type]
    result = agent.run("a number", response_format=Positive)
    assert (result.structured_status, result.parsed) == ("ok", Positive(3))
    agent = Agent(provider=ScriptedProvider(['{"value": -1}']),
                  config=AgentConfig(output_retries=0, output_failure=failure))  # type: ignore[arg-type]
    if failure == "raise":
        with pytest.raises(OutputValidationError, match="LookupError: negative"):
            agent.run("a number", response_format=Positive)
    else:
        failed = agent.run("a number", response_format=Positive)
        assert failed.structured_status == "validation_failed"
        assert "LookupError: negative" in (failed.structured_error or "")


@pytest.mark.parametrize("text, value", [("12345", 12345), ("1.5", 1.5), ("true", True),
                                         ("null", None), ('"word"', "word")])
async def test_a_scalar_answer_ends_with_its_partial_value(wire_server: WireServer, text: str,
                                                           value: Any) -> None:
    answer(wire_server, text, streamed=True)
    schema = {"type": ["integer", "number", "boolean", "null", "string"]}
    result, chunks = await finish(wire_agent(wire_server), "a value", schema, streamed=True,
                                  events=True)
    partials = [c.data for c in chunks if c.event == "output_partial"]
    assert result.parsed == value and partials and partials[-1] == value
    assert len(partials) == len([p for i, p in enumerate(partials)
                                 if i == 0 or p != partials[i - 1]])  # none shown twice
