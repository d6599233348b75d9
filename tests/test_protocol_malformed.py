"""Wrong-shaped answers never escape as AttributeError, KeyError, TypeError, ValueError or
RecursionError: on every protocol, each becomes a typed ProviderError
(`MalformedResponseError`, `MalformedStreamError` inside a stream) that names what was
wrong, and that a FallbackProvider moves on from."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_replay import WIRES, whole_with_call
from wire_server import WireServer

from selectools.providers.errors import (
    MalformedResponseError,
    MalformedStreamError,
    ProviderError,
    StreamError,
)
from selectools.providers.fallback import FallbackProvider
from selectools.types import Message, Role

PROTOCOLS = list(WIRES)
ASK = [Message(Role.USER, "What is the weather in Paris?")]
DEEP = 100_000

Mutation = Callable[[Any], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(data: Any) -> None:
        for step in path[:-1]:
            data = data[step]
        data[path[-1]] = value
    return mutate


def _del(path: tuple[Any, ...]) -> Mutation:
    def mutate(data: Any) -> None:
        for step in path[:-1]:
            data = data[step]
        del data[path[-1]]
    return mutate


# (protocol, what is wrong, the mutation of an authentic answer, the words the error says)
CASES: list[tuple[str, str, Mutation, str]] = [
    ("openai", "choices a string", _set(("choices",), "oops"), "choices is a string"),
    ("openai", "a null choice", _set(("choices", 0), None), "choices[0] is null"),
    ("openai", "no choices", _set(("choices",), []), "choices is empty"),
    ("openai", "a call without a name", _del(("choices", 0, "message", "tool_calls", 0,
                                              "function", "name")),
     "choices[0].message.tool_calls[0] has no function name"),
    ("openai", "content a number", _set(("choices", 0, "message", "content"), 5),
     "choices[0].message.content is a number"),
    ("openai", "usage counts as words", _set(("usage", "prompt_tokens"), "twelve"),
     "usage.prompt_tokens is a string ('twelve'), not a token count"),
    ("anthropic", "content a string", _set(("content",), "oops"), "content is a string"),
    ("anthropic", "a null block", _set(("content", 0), None), "content[0] is null"),
    ("anthropic", "a tool_use without a name", _del(("content", 0, "name")),
     "content[0] has no function name"),
    ("anthropic", "text a number", _set(("content", 0), {"type": "text", "text": 5}),
     "content[0].text is a number"),
    ("anthropic", "usage counts as words", _set(("usage", "output_tokens"), "many"),
     "usage.output_tokens is a string"),
    ("gemini", "candidates a string", _set(("candidates",), "oops"),
     "candidates is a string"),
    ("gemini", "a null candidate", _set(("candidates", 0), None), "candidates[0] is null"),
    ("gemini", "a call without a name", _del(("candidates", 0, "content", "parts", 0,
                                              "functionCall", "name")),
     "candidates[0].content.parts[0].functionCall has no function name"),
    ("gemini", "parts an object", _set(("candidates", 0, "content", "parts"), {}),
     "candidates[0].content.parts is an object, not an array"),
    ("gemini", "usage counts as words", _set(("usageMetadata", "promptTokenCount"), "ten"),
     "usageMetadata.promptTokenCount is a string"),
    ("ollama", "message a string", _set(("message",), "oops"), "message is a string"),
    ("ollama", "tool_calls an object", _set(("message", "tool_calls"), {"a": 1}),
     "message.tool_calls is an object"),
    ("ollama", "a call without a name", _del(("message", "tool_calls", 0, "function", "name")),
     "message.tool_calls[0] has no function name"),
    ("ollama", "content a number", _set(("message", "content"), 5),
     "message.content is a number"),
    ("ollama", "usage counts as words", _set(("eval_count",), "many"),
     "eval_count is a string"),
]


@pytest.mark.parametrize(("protocol", "wrong", "mutate", "words"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_wrong_shape_is_a_typed_error_that_names_it(
        protocol: str, wrong: str, mutate: Mutation, words: str) -> None:
    wire = WIRES[protocol]
    data = wire.whole()
    mutate(data)
    with pytest.raises(MalformedResponseError) as caught:
        wire.module.parse_response(data, "m")
    assert words in str(caught.value)
    assert caught.value.fail_over and not caught.value.should_retry


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("answer", [[1, 2], "text", 7, None], ids=["list", "str", "int", "null"])
def test_an_answer_that_is_not_an_object(protocol: str, answer: Any) -> None:
    with pytest.raises(MalformedResponseError, match="the answer is"):
        WIRES[protocol].module.parse_response(answer, "m")


# -- any mutation of the authentic answers: a typed error or an answer, nothing else ------------

ODD_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [None, "x", "", 7, -1, 1.5, True, [], {}, [None], {"a": None}, [[[]]], "{\"broken"])


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here] if here else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*here, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*here, index))
    return found


def _mutated(data: Any, draw: st.DrawFn) -> Any:
    data = copy.deepcopy(data)
    paths = _paths(data)
    if not paths:
        return draw(ODD_VALUES)
    _set(draw(st.sampled_from(paths)), draw(ODD_VALUES))(data)
    return data


@st.composite
def mutated_answers(draw: st.DrawFn) -> tuple[str, Any]:
    protocol = draw(st.sampled_from(PROTOCOLS))
    base = draw(st.sampled_from([WIRES[protocol].whole(),
                                 whole_with_call(protocol, "weather", '{"city": "Paris"}')]))
    return protocol, _mutated(base, draw)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated_answers())
def test_any_mutated_whole_answer_parses_or_raises_a_provider_error(
        case: tuple[str, Any]) -> None:
    protocol, data = case
    try:
        message, usage = WIRES[protocol].module.parse_response(data, "m")
    except ProviderError:
        return
    assert isinstance(message, Message) and usage.total_tokens >= 0


def _stream_events(protocol: str) -> list[Any]:
    raw = WIRES[protocol].stream_bytes().decode()
    if WIRES[protocol].ndjson:
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [json.loads(line[5:]) for line in raw.splitlines()
            if line.startswith("data:") and line[5:].strip() != "[DONE]"]


def _reframed(protocol: str, events: list[Any]) -> bytes:
    if WIRES[protocol].ndjson:
        return b"".join(json.dumps(event).encode() + b"\n" for event in events)
    return b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)


@st.composite
def mutated_streams(draw: st.DrawFn) -> tuple[str, bytes]:
    protocol = draw(st.sampled_from(PROTOCOLS))
    events = _stream_events(protocol)
    index = draw(st.integers(0, len(events) - 1))
    events[index] = _mutated(events[index], draw)
    return protocol, _reframed(protocol, events)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated_streams())
def test_any_mutated_stream_event_decodes_or_raises_a_provider_error(
        case: tuple[str, bytes]) -> None:
    protocol, raw = case
    try:
        WIRES[protocol].decode(raw)
    except ProviderError:
        pass


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stream_event_of_the_wrong_shape_is_a_stream_error(protocol: str) -> None:
    raw = b"[1, 2]\n" if WIRES[protocol].ndjson else b"data: [1, 2]\n\n"
    with pytest.raises(MalformedStreamError) as caught:
        WIRES[protocol].decode(raw)
    assert isinstance(caught.value, StreamError) and caught.value.fail_over


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_json_nested_100k_deep_is_a_typed_error(wire_server: WireServer,
                                                      protocol: str) -> None:
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url)
    deep = b"[" * DEEP + b"]" * DEEP
    wire_server.reply(body=deep)
    try:
        with pytest.raises(MalformedResponseError):
            await provider.acomplete(model="m", messages=ASK)
        if wire.ndjson:
            wire_server.reply(body=deep + b"\n", content_type="application/x-ndjson")
        else:
            wire_server.reply(body=b"data: " + deep + b"\n\n", content_type="text/event-stream")
        with pytest.raises(MalformedStreamError) as caught:
            async for _ in provider.astream(model="m", messages=ASK):
                pass
        assert caught.value.fail_over
    finally:
        await provider.aclose()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_wrong_shaped_answer_fails_over(wire_server: WireServer, protocol: str) -> None:
    wire = WIRES[protocol]
    broken, sound = wire.provider(wire_server.url), wire.provider(wire_server.url)
    bad = wire.whole()
    CASES_BY_PROTOCOL[protocol](bad)
    wire_server.reply(body=bad)
    wire_server.reply(body=wire.whole())
    fallback = FallbackProvider([broken, sound])
    try:
        message, _ = await fallback.acomplete(model="m", system_prompt="", messages=ASK)
    finally:
        await broken.aclose()
        await sound.aclose()
    assert message.tool_calls and len(wire_server.requests) == 2


CASES_BY_PROTOCOL = {case[0]: case[2] for case in CASES if "without a name" in case[1]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_event_that_is_not_json_is_a_stream_error_that_fails_over(
        wire_server: WireServer, protocol: str) -> None:
    # Once StreamError on openai and ollama but a plain ProviderError (no fail-over) on
    # anthropic and gemini: one policy now.
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url)
    if wire.ndjson:
        wire_server.reply(body=b"<html>oops</html>\n", content_type="application/x-ndjson")
    else:
        wire_server.reply(body=b"data: <html>oops</html>\n\n", content_type="text/event-stream")
    try:
        with pytest.raises(StreamError) as caught:
            async for _ in provider.astream(model="m", messages=ASK):
                pass
    finally:
        await provider.aclose()
    assert caught.value.fail_over and "oops" in str(caught.value)


async def test_the_provider_boundary_lets_no_untyped_error_out(wire_server: WireServer) -> None:
    # A protocol whose own checks missed a shape: the glue's net still gives a typed error.
    import dataclasses
    from collections.abc import AsyncIterator

    from selectools.providers import openai
    from selectools.providers._http_provider import HttpProvider

    def parse(data: Any, model: str) -> Any:
        return data["no such field"]

    async def decode(events: AsyncIterator[Any], model: str, *,
                     tool_deltas: bool = False) -> AsyncIterator[Any]:
        async for event in events:
            yield event.data.no_such_attribute

    careless = dataclasses.replace(openai.PROTOCOL, parse_response=parse, decode_stream=decode)
    provider = HttpProvider(careless, base_url=wire_server.url, max_retries=0)
    wire_server.reply(body={"choices": []})
    wire_server.reply(body=b"data: {}\n\n", content_type="text/event-stream")
    try:
        with pytest.raises(MalformedResponseError, match="KeyError") as whole:
            await provider.acomplete(model="m", messages=ASK)
        with pytest.raises(MalformedStreamError, match="AttributeError") as streamed:
            async for _ in provider.astream(model="m", messages=ASK):
                pass
    finally:
        await provider.aclose()
    assert whole.value.provider == streamed.value.provider == "openai"
    assert whole.value.fail_over and streamed.value.fail_over
