"""A small OTLP/HTTP receiver on 127.0.0.1: what an OpenTelemetry collector does first.

It accepts `POST /v1/traces` and `POST /v1/metrics` with protobuf bodies (gzip or not),
decodes them with the `opentelemetry-proto` messages, keeps the decoded requests, and
answers each with the protobuf success response. Anything else gets the status a collector
gives it (404 for an unknown path, 415 for a body that is not protobuf, 400 for one that
does not decode), so an exporter that sends something wrong fails the test.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

_SERVICES: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest,
                   trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest,
                    metrics_service_pb2.ExportMetricsServiceResponse),
}


class OtlpReceiver:
    """`with OtlpReceiver() as receiver:` ... `receiver.url`, `receiver.spans()`."""

    def __init__(self) -> None:
        self.traces: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        #: (path, content type, content encoding) of every request, accepted or not.
        self.requests: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def keep(self, path: str, message: Any) -> None:
        with self._lock:
            (self.traces if path == "/v1/traces" else self.metrics).append(message)

    def spans(self) -> Iterator[tuple[dict[str, Any], Span]]:
        """Every span received, with its resource's attributes."""
        with self._lock:
            requests = list(self.traces)
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield resource, span

    def metric_names(self) -> set[str]:
        with self._lock:
            requests = list(self.metrics)
        return {metric.name for request in requests for resource in request.resource_metrics
                for scope in resource.scope_metrics for metric in scope.metrics}

    def metric(self, name: str) -> Any:
        with self._lock:
            requests = list(self.metrics)
        for request in requests:
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        if metric.name == name:
                            return metric
        raise KeyError(name)


def attributes(pairs: Any) -> dict[str, Any]:
    """OTLP key-values as a dict of Python values (arrays as tuples)."""
    return {pair.key: _value(pair.value) for pair in pairs}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            kind = self.headers.get("Content-Type", "")
            encoding = self.headers.get("Content-Encoding", "")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append((path, kind, encoding))
            if path not in _SERVICES:
                return self._answer(404, b"")
            if kind != "application/x-protobuf":
                return self._answer(415, b"")
            request_type, response_type = _SERVICES[path]
            try:
                if encoding == "gzip":
                    body = gzip.decompress(body)
                message = request_type.FromString(body)
            except Exception:
                return self._answer(400, b"")
            receiver.keep(path, message)
            self._answer(200, response_type().SerializeToString())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

