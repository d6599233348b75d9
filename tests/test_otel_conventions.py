"""Every name OTelObserver writes is one of the GenAI conventions', as the official
`opentelemetry-semantic-conventions` package lists them (or in our own `selectools.`
namespace): attribute keys, operation names, provider names, token types, metric names and
units, over runs that touch every kind of span, event and failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes, exception_attributes
from wire_server import WireServer

from selectools import Agent, AgentConfig, tool
from selectools.otel import OTelObserver
from selectools.providers.fallback import FallbackProvider
from selectools.providers.openai import OpenAIProvider

GEN_AI_ATTRIBUTES = {value for name, value in vars(gen_ai_attributes).items()
                     if name.startswith("GEN_AI_") and isinstance(value, str)}
OTHER_ATTRIBUTES = {error_attributes.ERROR_TYPE, exception_attributes.EXCEPTION_TYPE,
                    exception_attributes.EXCEPTION_MESSAGE,
                    exception_attributes.EXCEPTION_STACKTRACE, "exception.escaped"}
METRICS = {value for name, value in vars(gen_ai_metrics).items()
           if name.startswith("GEN_AI_") and isinstance(value, str)}
OPERATIONS = {member.value for member in gen_ai_attributes.GenAiOperationNameValues}
PROVIDERS = {member.value for member in gen_ai_attributes.GenAiProviderNameValues}
TOKEN_TYPES = {member.value for member in gen_ai_attributes.GenAiTokenTypeValues}
WHOLE = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                      "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}


@tool(description="The weather in a city")
async def get_weather(city: str) -> str:
    return f"sunny in {city}"


@tool(description="The product's name")
def get_product_name() -> str:
    raise RuntimeError("no product")  # a failing tool, beside a working one


def check_name(key: str, where: str) -> None:
    assert key in GEN_AI_ATTRIBUTES or key in OTHER_ATTRIBUTES or \
        key.startswith("selectools."), f"{where}: {key!r} is no convention's name"


async def test_every_name_written_is_the_conventions(wire_server: WireServer,
                                                     wire_dir: Path) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    observer = OTelObserver(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            capture_content=True, agent_name="checker")

    def openai(server: WireServer, **options: Any) -> OpenAIProvider:
        return OpenAIProvider(base_url=server.url + "/v1", api_key="sk-test",
                              model="gpt-4o-mini", **options)

    # A streamed run with parallel tools (one fails), after a retry and a fallback.
    with WireServer() as backup:
        wire_server.reply(status=429, body={"error": {"message": "slow down"}},
                          headers={"retry-after": "0"})
        wire_server.reply(status=503, body={"error": {"message": "overloaded"}})
        backup.reply_file(wire_dir / "openai_chat_stream_tool_calls.sse")
        backup.reply_file(wire_dir / "openai_chat_stream_text_after_tool_result.sse")
        agent = Agent([get_weather, get_product_name], provider=FallbackProvider(
            [openai(wire_server, max_retries=1), openai(backup)]),
            config=AgentConfig(observers=[observer]))
        [_ async for _ in agent.astream("Tell me things")]
    # A failed run.
    wire_server.reply(status=400, body={"error": {"message": "bad", "type": "invalid"}})
    failing = Agent([get_weather], provider=openai(wire_server, max_retries=0),
                    config=AgentConfig(observers=[observer]))
    try:
        await failing.arun("hello")
    except Exception:
        pass
    else:  # pragma: no cover
        raise AssertionError("the run should have failed")

    spans = exporter.get_finished_spans()
    kinds = {span.name.split(" ", 1)[0] for span in spans}
    assert kinds == {"invoke_agent", "chat", "execute_tool"}
    events = {event.name for span in spans for event in span.events}
    assert events == {"selectools.retry", "selectools.fallback", "exception"}
    for span in spans:
        found = dict(span.attributes or {})
        for key in found:
            check_name(key, span.name)
        for event in span.events:
            for key in event.attributes or {}:
                check_name(key, f"{span.name} / {event.name}")
        operation = found["gen_ai.operation.name"]
        assert operation in OPERATIONS and span.name.startswith(operation)
        if "gen_ai.provider.name" in found:
            assert found["gen_ai.provider.name"] in PROVIDERS
    data = reader.get_metrics_data()
    assert data is not None
    metrics = [metric for resource in data.resource_metrics
               for scope in resource.scope_metrics for metric in scope.metrics]
    assert {metric.name for metric in metrics} == {
        "gen_ai.client.operation.duration", "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk"}  # (the run streams)
    assert {metric.name for metric in metrics} <= METRICS
    for metric in metrics:
        assert metric.unit == {"gen_ai.client.operation.duration": "s",
                               "gen_ai.client.operation.time_to_first_chunk": "s",
                               "gen_ai.client.token.usage": "{token}"}[metric.name]
        for point in metric.data.data_points:
            for key, value in (point.attributes or {}).items():
                check_name(key, metric.name)
                if key == "gen_ai.token.type":
                    assert value in TOKEN_TYPES
                if key == "gen_ai.operation.name":
                    assert value in OPERATIONS
    tracer_provider.shutdown()
    meter_provider.shutdown()
