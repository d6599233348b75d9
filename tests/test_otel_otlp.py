"""End to end: a run traced by OTelObserver, sent by the SDK's own OTLP/HTTP exporters to a
receiver on 127.0.0.1 that decodes the protobuf it gets (tests/otlp_receiver.py)."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.trace.v1.trace_pb2 import Span as WireSpan
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from otlp_receiver import OtlpReceiver, attributes
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentResult, tool
from selectools.otel import OTelObserver
from selectools.providers.openai import OpenAIProvider

MODEL = "gpt-4o-mini"
KEY = "sk-otlp-0123456789abcdefSECRET"


@tool(description="The weather in a city")
async def get_weather(city: str) -> str:
    return f"sunny in {city}"


@tool(description="The product's name")
def get_product_name() -> str:
    return "selectools"


async def test_a_run_arrives_at_an_otlp_receiver_as_protobuf_spans_and_metrics(
        wire_server: WireServer, wire_dir: Path) -> None:
    wire_server.reply_file(wire_dir / "openai_chat_stream_tool_calls.sse")
    wire_server.reply_file(wire_dir / "openai_chat_stream_text_after_tool_result.sse")
    with OtlpReceiver() as receiver:
        resource = Resource.create({"service.name": "otel-test"})
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=receiver.url + "/v1/traces", compression=Compression.Gzip)))
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=receiver.url + "/v1/metrics"),
            export_interval_millis=3_600_000)  # exported at shutdown only
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        observer = OTelObserver(tracer_provider=tracer_provider,
                                meter_provider=meter_provider, capture_content=True)
        provider = OpenAIProvider(base_url=wire_server.url + "/v1", api_key=KEY, model=MODEL)
        agent = Agent([get_weather, get_product_name], provider=provider,
                      config=AgentConfig(observers=[observer]))
        items = [item async for item in agent.astream("Tell me things")]
        assert isinstance(items[-1], AgentResult)
        tracer_provider.shutdown()  # flushes the batch, then stops
        meter_provider.shutdown()
        received = list(receiver.spans())
        paths = {path: (kind, encoding) for path, kind, encoding in receiver.requests}

    assert paths == {"/v1/traces": ("application/x-protobuf", "gzip"),
                     "/v1/metrics": ("application/x-protobuf", "")}
    assert {resource["service.name"] for resource, _ in received} == {"otel-test"}
    spans = {span.name: span for _, span in received}
    assert sorted(spans) == sorted(["invoke_agent", f"chat {MODEL}",
                                    "execute_tool get_weather", "execute_tool get_product_name"])
    assert len(received) == 5  # two chat spans, one name
    run = spans["invoke_agent"]
    assert run.parent_span_id == b"" and run.kind == WireSpan.SPAN_KIND_INTERNAL
    for _, span in received:
        assert span.trace_id == run.trace_id
        if span is not run:
            assert span.parent_span_id == run.span_id
    chats = [span for _, span in received if span.name.startswith("chat")]
    assert {span.kind for span in chats} == {WireSpan.SPAN_KIND_CLIENT}
    first, second = sorted(chats, key=lambda span: span.start_time_unix_nano)
    assert attributes(first.attributes)["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attributes(second.attributes)["gen_ai.usage.output_tokens"] == 9
    assert attributes(spans["execute_tool get_weather"].attributes)[
        "gen_ai.tool.call.arguments"] == '{"city": "Mexico City"}'
    assert attributes(run.attributes)["gen_ai.usage.input_tokens"] == 417 + 78
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= \
        receiver.metric_names()
    tokens = receiver.metric("gen_ai.client.token.usage")
    assert tokens.unit == "{token}"
    sums = {attributes(point.attributes)["gen_ai.token.type"]: point.sum
            for point in tokens.histogram.data_points}
    assert sums == {"input": 495, "output": 53}
    raw = b"".join(request.SerializeToString() for request in receiver.traces)
    assert KEY.encode() not in raw
