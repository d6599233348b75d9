"""OTelObserver on real runs: the span tree and metrics of the GenAI conventions, read with
the SDK's in-memory exporters, for runs against OpenAIProvider over HTTP on 127.0.0.1
(recorded answers): parallel tools, a retry, a fallback, a streamed answer, a failing tool,
a failed and a cancelled run, content capture, and no key anywhere."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentResult, tool
from selectools.otel import CAPTURE_CONTENT_ENV, OTelObserver
from selectools.providers.fallback import FallbackProvider
from selectools.providers.openai import OpenAIProvider

MODEL = "gpt-4o-mini"
KEY = "sk-otel-0123456789abcdefSECRET"
TOOL_CALLS_STREAM = "openai_chat_stream_tool_calls.sse"  # get_weather + get_product_name
TEXT_STREAM = "openai_chat_stream_text_after_tool_result.sse"  # "The capital of the UK..."
SINGLE_CALL = "openai_chat_tool_call_single.json"  # get_user_country, id call_iXFt...
WHOLE_ANSWER = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}
NO_WAIT = {"retry-after": "0"}


class Telemetry:
    """An SDK tracer and meter provider with in-memory exporters, for one test."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        #: For the test's own spans (a caller's, a tool's).
        self.tracer = self.tracer_provider.get_tracer("test")

    def observer(self, **options: Any) -> OTelObserver:
        return OTelObserver(tracer_provider=self.tracer_provider,
                            meter_provider=self.meter_provider, **options)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name.startswith(prefix)]

    def one(self, prefix: str) -> ReadableSpan:
        found = self.named(prefix)
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [point for resource in data.resource_metrics for scope in resource.scope_metrics
                for found in scope.metrics if found.name == metric
                for point in found.data.data_points]

    def metric(self, name: str) -> Any:
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for found in scope.metrics:
                    if found.name == name:
                        return found
        raise KeyError(name)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    kept = Telemetry()
    yield kept
    kept.tracer_provider.shutdown()
    kept.meter_provider.shutdown()


def openai(server: WireServer, **options: Any) -> OpenAIProvider:
    return OpenAIProvider(base_url=server.url + "/v1", api_key=KEY, model=MODEL, **options)


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}


def weather_tools(telemetry: Telemetry) -> list[Any]:
    """The two tools the recorded stream calls, each making a span of its own: one async,
    one sync (run in a worker thread)."""

    @tool(description="The weather in a city")
    async def get_weather(city: str) -> str:
        with telemetry.tracer.start_as_current_span("weather lookup"):
            await asyncio.sleep(0)
        return f"sunny in {city}"

    @tool(description="The product's name")
    def get_product_name() -> str:
        assert threading.current_thread() is not threading.main_thread()
        with telemetry.tracer.start_as_current_span("product lookup"):
            return "selectools"

    return [get_weather, get_product_name]


async def test_a_streamed_run_with_parallel_tools_is_one_tree_on_the_conventions(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    wire_server.reply_file(wire_dir / TOOL_CALLS_STREAM, chunk_size=64)
    wire_server.reply_file(wire_dir / TEXT_STREAM, chunk_size=64)
    agent = Agent(weather_tools(telemetry), provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    with telemetry.tracer.start_as_current_span("request") as caller:
        items = [item async for item in agent.astream("Tell me things")]
    result = items[-1]
    assert isinstance(result, AgentResult) and result.content == "The capital of the UK is London."

    run = telemetry.one("invoke_agent")
    assert parent_of(run) == caller.get_span_context().span_id  # the caller's trace
    assert run.kind is SpanKind.INTERNAL and run.name == "invoke_agent"
    assert attributes(run) == {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL, "gen_ai.usage.input_tokens": 417 + 78,
        "gen_ai.usage.output_tokens": 44 + 9, "selectools.run.id": result.run_id,
        "selectools.stop_reason": "completed"}

    chats = sorted(telemetry.named("chat "), key=lambda span: span.start_time or 0)
    assert [span.name for span in chats] == [f"chat {MODEL}"] * 2
    for chat, finish, (tokens_in, tokens_out) in zip(
            chats, ["tool_call", "stop"], [(417, 44), (78, 9)], strict=True):
        assert chat.kind is SpanKind.CLIENT and parent_of(chat) == span_id(run)
        found = attributes(chat)
        found.pop("gen_ai.response.time_to_first_chunk", None)  # its own test, below
        assert found == {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": MODEL, "gen_ai.response.model": MODEL,
            "gen_ai.response.finish_reasons": (finish,),
            "gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out}
        assert chat.status.status_code is StatusCode.UNSET

    tools = {span.name: span for span in telemetry.named("execute_tool")}
    assert set(tools) == {"execute_tool get_weather", "execute_tool get_product_name"}
    calls = {call.tool_name: call.id for call in result.tool_calls}
    assert calls == {"get_weather": "call_NS4iQj14cDFwc0BnrKqDHavt",
                     "get_product_name": "call_SkGkkGDvHQEEk0CGbnAh2AQw"}
    for name, span in tools.items():
        tool_name = name.removeprefix("execute_tool ")
        assert span.kind is SpanKind.INTERNAL
        assert parent_of(span) == span_id(run)  # siblings of each other and of the chats
        assert attributes(span) == {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool_name,
            "gen_ai.tool.call.id": calls[tool_name], "gen_ai.tool.type": "function"}
        assert span.status.status_code is StatusCode.UNSET
        # As they happened: after the call that asked for them, before the answer.
        assert (chats[0].end_time or 0) <= (span.start_time or 0)
        assert (span.end_time or 0) <= (chats[1].start_time or 0)
    # A tool's own spans are children of its execute_tool span, in a thread too.
    assert parent_of(telemetry.one("weather lookup")) == span_id(tools["execute_tool get_weather"])
    assert parent_of(telemetry.one("product lookup")) == span_id(
        tools["execute_tool get_product_name"])
    assert {span.context.trace_id for span in telemetry.spans() if span.context} == {
        caller.get_span_context().trace_id}
    assert all(not CONTENT_KEYS & set(attributes(span)) for span in telemetry.spans())

    # Metrics: both calls under the same attributes.
    measured = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": MODEL, "gen_ai.response.model": MODEL}
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes) == measured and duration.count == 2
    assert telemetry.metric("gen_ai.client.operation.duration").unit == "s"
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    tokens = {point.attributes["gen_ai.token.type"]: point
              for point in telemetry.points("gen_ai.client.token.usage")}
    assert set(tokens) == {"input", "output"}
    assert (tokens["input"].sum, tokens["input"].count) == (495, 2)
    assert (tokens["output"].sum, tokens["output"].count) == (53, 2)
    assert dict(tokens["input"].attributes) == {**measured, "gen_ai.token.type": "input"}
    assert telemetry.metric("gen_ai.client.token.usage").unit == "{token}"


async def test_a_streamed_answer_s_chat_span_ends_when_the_stream_ends(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    wire_server.reply_file(wire_dir / TEXT_STREAM)
    agent = Agent([], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    stream = agent.astream("Capital of the UK?")
    seen_open = False
    async for item in stream:
        if not isinstance(item, AgentResult) and item.content and not seen_open:
            assert telemetry.named("chat") == []  # text is arriving: the call is not over
            seen_open = True
    assert seen_open
    chat = telemetry.one("chat")
    assert attributes(chat)["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes(chat)["gen_ai.usage.output_tokens"] == 9


@tool(description="The user's country")
def get_user_country() -> str:
    return "Mexico"


async def test_a_retry_is_an_event_of_its_chat_span(
        wire_server: WireServer, telemetry: Telemetry) -> None:
    wire_server.reply(status=429, body={"error": {"message": "Rate limit reached",
                                                  "type": "requests"}}, headers=NO_WAIT)
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()], max_retries=2))
    result = await agent.arun("hello")
    assert result.content == "fine"
    chat = telemetry.one("chat")
    (retry,) = chat.events
    assert retry.name == "selectools.retry"
    assert dict(retry.attributes or {}) == {
        "selectools.retry.attempt": 1, "selectools.retry.max_retries": 2,
        "selectools.retry.backoff_seconds": 0.0, "error.type": "RateLimitError"}
    assert chat.status.status_code is StatusCode.UNSET  # it succeeded in the end
    assert telemetry.one("invoke_agent").status.status_code is StatusCode.UNSET


async def test_a_fallback_is_an_event_and_the_answering_provider_is_named(
        wire_server: WireServer, telemetry: Telemetry) -> None:
    with WireServer() as second:
        wire_server.reply(status=503, body={"error": {"message": "overloaded",
                                                      "type": "server_error"}})
        second.reply(body=WHOLE_ANSWER)
        fallback = FallbackProvider([openai(wire_server, max_retries=0),
                                     openai(second, name="backup")])
        agent = Agent([get_user_country], provider=fallback,
                      config=AgentConfig(observers=[telemetry.observer()]))
        result = await agent.arun("hello")
    assert result.content == "fine"
    chat = telemetry.one("chat")
    (event,) = [e for e in chat.events if e.name == "selectools.fallback"]
    assert dict(event.attributes or {}) == {
        "selectools.fallback.failed_provider": "openai",
        "selectools.fallback.next_provider": "backup", "error.type": "OverloadedError"}
    assert attributes(chat)["gen_ai.provider.name"] == "backup"
    assert attributes(telemetry.one("invoke_agent"))["gen_ai.provider.name"] == "backup"


async def test_a_failing_tool_s_span_has_error_status_and_the_run_goes_on(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    @tool(description="The user's country")
    def get_user_country() -> str:
        raise LookupError("no country on file")

    wire_server.reply_file(wire_dir / SINGLE_CALL)
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    result = await agent.arun("Where am I?")
    assert result.content == "fine"
    span = telemetry.one("execute_tool get_user_country")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "no country on file"
    assert attributes(span)["error.type"] == "LookupError"
    assert attributes(span)["gen_ai.tool.call.id"] == "call_iXFttys57ap0o16JSlC8yhYo"
    (exception,) = span.events
    assert exception.name == "exception"
    assert (exception.attributes or {})["exception.type"] == "LookupError"
    run = telemetry.one("invoke_agent")
    assert run.status.status_code is StatusCode.UNSET  # the model was told; the run went on
    assert [chat.status.status_code for chat in telemetry.named("chat")] == [StatusCode.UNSET] * 2


async def test_a_failed_model_call_fails_its_chat_span_its_run_and_its_duration(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    recorded = json.loads((wire_dir / "openai_error_400_invalid_request.json").read_text())
    wire_server.reply(status=400, body=recorded["body"])
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    with pytest.raises(Exception) as raised:
        await agent.arun("hello")
    kind = type(raised.value).__qualname__
    for span in (telemetry.one("chat"), telemetry.one("invoke_agent")):
        assert span.status.status_code is StatusCode.ERROR
        assert attributes(span)["error.type"] == kind
        assert "does not support 'system'" in (span.status.description or "")
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": MODEL,
        "gen_ai.provider.name": "openai", "error.type": kind}
    assert telemetry.points("gen_ai.client.token.usage") == []  # no usage: none recorded


async def test_a_cancelled_run_ends_its_spans_as_cancelled(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    started = asyncio.Event()

    @tool(description="The user's country")
    async def get_user_country() -> str:
        started.set()
        await asyncio.Event().wait()  # until cancelled
        return "never"

    wire_server.reply_file(wire_dir / SINGLE_CALL)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    run_task = asyncio.ensure_future(agent.arun("Where am I?"))
    await asyncio.wait_for(started.wait(), 10)
    run_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run_task
    await asyncio.sleep(0)  # the task's done-callbacks run on the next turn of the loop
    assert telemetry.one("chat").status.status_code is StatusCode.UNSET  # it had finished
    for name in ("execute_tool get_user_country", "invoke_agent"):
        span = telemetry.one(name)
        assert span.status.status_code is StatusCode.ERROR
        assert attributes(span)["error.type"] == "cancelled"


async def test_a_stream_closed_early_leaves_no_span_open_once_its_consumer_is_done(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    wire_server.reply_file(wire_dir / TEXT_STREAM)
    agent = Agent([], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))

    async def consume_one_chunk() -> None:
        stream = agent.astream("Capital of the UK?")
        async for item in stream:
            if not isinstance(item, AgentResult) and item.content:
                break
        await stream.aclose()

    await asyncio.ensure_future(consume_one_chunk())
    await asyncio.sleep(0)  # the task's done-callbacks run on the next turn of the loop
    for name in ("chat", "invoke_agent"):
        span = telemetry.one(name)
        assert span.status.status_code is StatusCode.ERROR
        # "cancelled" once the engine says so at once; until then, at the task's end.
        assert attributes(span)["error.type"] in ("cancelled", "abandoned")


async def test_a_stream_closed_by_its_consumer_ends_its_spans_at_once(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    wire_server.reply_file(wire_dir / TEXT_STREAM)
    agent = Agent([], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    stream = agent.astream("Capital of the UK?")
    async for item in stream:
        if not isinstance(item, AgentResult) and item.content:
            break
    await stream.aclose()
    run = telemetry.one("invoke_agent")
    assert attributes(run)["error.type"] == "cancelled"


async def test_a_run_out_of_time_fails_its_tools_spans_and_its_own(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    @tool(description="The weather in a city")
    async def get_weather(city: str) -> str:
        await asyncio.Event().wait()  # never answers
        return "never"

    @tool(description="The product's name")
    async def get_product_name() -> str:
        await asyncio.Event().wait()
        return "never"

    wire_server.reply_file(wire_dir / TOOL_CALLS_STREAM)
    agent = Agent([get_weather, get_product_name], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()], run_timeout=0.5))
    with pytest.raises(Exception) as raised:
        [_ async for _ in agent.astream("Tell me things")]
    assert type(raised.value).__qualname__ == "RunTimeoutError"
    tools = telemetry.named("execute_tool")
    assert len(tools) == 2
    # The tools' own time was capped by the run's: each failed by it, then the run did.
    for span, kind in [*((t, "ToolTimeoutError") for t in tools),
                       (telemetry.one("invoke_agent"), "RunTimeoutError")]:
        assert span.status.status_code is StatusCode.ERROR
        assert attributes(span)["error.type"] == kind
    assert telemetry.one("chat").status.status_code is StatusCode.UNSET


def test_a_sync_run_nests_under_the_caller_s_span_and_its_sync_tool_s_spans(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    @tool(description="The user's country")
    def get_user_country() -> str:
        with telemetry.tracer.start_as_current_span("country lookup"):
            return "Mexico"

    wire_server.reply_file(wire_dir / SINGLE_CALL)
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    with telemetry.tracer.start_as_current_span("job") as caller:
        assert agent.run("Where am I?").content == "fine"
    run = telemetry.one("invoke_agent")
    assert parent_of(run) == caller.get_span_context().span_id
    call = telemetry.one("execute_tool get_user_country")
    assert parent_of(call) == span_id(run)
    assert parent_of(telemetry.one("country lookup")) == span_id(call)
    # The caller's context is its own again after the run.
    with telemetry.tracer.start_as_current_span("after") as after:
        pass
    assert parent_of(telemetry.one("after")) is None and after is not None


async def test_a_run_in_a_session_carries_the_session_id_as_conversation_id(
        wire_server: WireServer, telemetry: Telemetry, tmp_path: Path) -> None:
    from selectools.sessions import SQLiteSessionStore

    store = SQLiteSessionStore(tmp_path / "sessions.db")
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()], session_store=store))
    result = await agent.arun("hello", session_id="conversation-7")
    assert result.session_id == "conversation-7"
    assert attributes(telemetry.one("invoke_agent"))["gen_ai.conversation.id"] == "conversation-7"
    await store.aclose()


async def test_each_chat_span_of_a_session_run_carries_the_conversation_id(
        wire_server: WireServer, telemetry: Telemetry, tmp_path: Path) -> None:
    from selectools.sessions import SQLiteSessionStore

    store = SQLiteSessionStore(tmp_path / "sessions.db")
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()], session_store=store))
    try:
        await agent.arun("hello", session_id="conversation-7")
        assert attributes(telemetry.one("chat"))["gen_ai.conversation.id"] == "conversation-7"
    finally:
        await store.aclose()


async def test_a_streamed_call_records_its_time_to_first_chunk(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    wire_server.reply_file(wire_dir / TEXT_STREAM)
    agent = Agent([], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    [_ async for _ in agent.astream("Capital of the UK?")]
    (point,) = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    chat = telemetry.one("chat")
    assert point.count == 1 and 0 < point.sum <= 10
    assert attributes(chat)["gen_ai.response.time_to_first_chunk"] == point.sum


async def test_a_whole_answer_records_no_time_to_first_chunk(
        wire_server: WireServer, telemetry: Telemetry) -> None:
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([], provider=openai(wire_server),
                  config=AgentConfig(observers=[telemetry.observer()]))
    await agent.arun("hello")
    assert telemetry.points("gen_ai.client.operation.time_to_first_chunk") == []
    assert "gen_ai.response.time_to_first_chunk" not in attributes(telemetry.one("chat"))


def captured_run(wire_server: WireServer, wire_dir: Path, telemetry: Telemetry,
                 observer: OTelObserver) -> AgentResult:
    wire_server.reply_file(wire_dir / SINGLE_CALL)
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[observer], system_prompt="Be brief."))
    return agent.run("Where am I?")


def test_content_is_captured_on_opt_in_in_the_conventions_shapes(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry) -> None:
    captured_run(wire_server, wire_dir, telemetry, telemetry.observer(capture_content=True))
    call_id = "call_iXFttys57ap0o16JSlC8yhYo"
    first, second = sorted(telemetry.named("chat"), key=lambda span: span.start_time or 0)
    ask = {"role": "user", "parts": [{"type": "text", "content": "Where am I?"}]}
    asked = {"role": "assistant", "parts": [
        {"type": "tool_call", "id": call_id, "name": "get_user_country", "arguments": {}}]}
    answered = {"role": "tool", "parts": [
        {"type": "tool_call_response", "id": call_id, "response": "Mexico"}]}
    instructions = [{"type": "text", "content": "Be brief."}]
    assert json.loads(attributes(first)["gen_ai.input.messages"]) == [ask]
    assert json.loads(attributes(first)["gen_ai.system_instructions"]) == instructions
    assert json.loads(attributes(first)["gen_ai.output.messages"]) == [
        {**asked, "finish_reason": "tool_call"}]
    assert json.loads(attributes(second)["gen_ai.input.messages"]) == [ask, asked, answered]
    assert json.loads(attributes(second)["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "fine"}],
         "finish_reason": "stop"}]
    tool_span = attributes(telemetry.one("execute_tool"))
    assert json.loads(tool_span["gen_ai.tool.call.arguments"]) == {}
    assert tool_span["gen_ai.tool.call.result"] == "Mexico"
    run = attributes(telemetry.one("invoke_agent"))
    assert json.loads(run["gen_ai.input.messages"]) == [ask]
    assert json.loads(run["gen_ai.output.messages"])[0]["parts"][0]["content"] == "fine"


@pytest.mark.parametrize(("value", "captured"), [
    ("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("false", False),
    ("NO_CONTENT", False), ("", False)])
def test_the_conventions_switch_in_the_environment_turns_capture_on(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry,
        monkeypatch: pytest.MonkeyPatch, value: str, captured: bool) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, value)
    captured_run(wire_server, wire_dir, telemetry, telemetry.observer())
    keys = set().union(*(attributes(span) for span in telemetry.spans()))
    assert (CONTENT_KEYS <= keys) is captured
    assert bool(CONTENT_KEYS & keys) is captured


def test_an_explicit_choice_wins_over_the_environment(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    captured_run(wire_server, wire_dir, telemetry, telemetry.observer(capture_content=False))
    assert all(not CONTENT_KEYS & set(attributes(span)) for span in telemetry.spans())


@pytest.mark.parametrize("capture", [True, False])
def test_no_key_in_any_span_event_or_metric_even_when_the_server_echoes_it(
        wire_server: WireServer, wire_dir: Path, telemetry: Telemetry, capture: bool) -> None:
    observer = telemetry.observer(capture_content=capture)
    captured_run(wire_server, wire_dir, telemetry, observer)
    wire_server.reply(status=401, body={"error": {
        "message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error",
        "code": "invalid_api_key"}})
    agent = Agent([get_user_country], provider=openai(wire_server),
                  config=AgentConfig(observers=[observer]))
    with pytest.raises(Exception, match="Incorrect API key"):
        agent.run("again")
    spans = telemetry.spans()
    assert any(span.status.status_code is StatusCode.ERROR for span in spans)
    dumped = "\n".join(span.to_json() for span in spans)
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    dumped += data.to_json()
    assert "Incorrect API key provided" in dumped  # the error is there...
    assert KEY not in dumped and KEY[8:] not in dumped  # ...without the key
    assert "Bearer" not in dumped and "authorization" not in dumped.lower()


def test_an_agent_name_names_the_run_span(
        wire_server: WireServer, telemetry: Telemetry) -> None:
    wire_server.reply(body=WHOLE_ANSWER)
    agent = Agent([], provider=openai(wire_server), config=AgentConfig(
        observers=[telemetry.observer(agent_name="support")]))
    agent.run("hello")
    run = telemetry.one("invoke_agent")
    assert run.name == "invoke_agent support"
    assert attributes(run)["gen_ai.agent.name"] == "support"


@pytest.mark.parametrize(("options", "message"), [
    ({"capture_content": "yes"}, "capture_content must be True, False or None"),
    ({"agent_name": ""}, "agent_name must be a non-empty str"),
    ({"agent_name": 3}, "agent_name must be a non-empty str"),
    ({"tracer_name": ""}, "tracer_name must be a non-empty str")])
def test_bad_options_are_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        OTelObserver(**options)


def test_import_selectools_imports_no_opentelemetry() -> None:
    code = ("import sys, selectools\n"
            "from selectools import Agent, AgentConfig\n"
            "import selectools.observer, selectools.agent.loop\n"
            "found = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
            "assert not found, found\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
