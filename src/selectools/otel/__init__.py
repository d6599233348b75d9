"""OpenTelemetry for selectools: spans and metrics on the GenAI semantic conventions.

    from selectools.otel import OTelObserver
    agent = Agent(tools, provider, config=AgentConfig(observers=[OTelObserver()]))

Needs `opentelemetry-api` (the `otel` extra: `pip install "selectools[otel]"`) and, to
send anything anywhere, an SDK and exporter configured by the application. Nothing of it
is imported by `import selectools`; an agent without this observer pays nothing for it.
See docs/observability.md for the spans, attributes and metrics.
"""

from __future__ import annotations

try:
    import opentelemetry.trace  # noqa: F401  (the one dependency, checked here)
except ImportError as exc:  # pragma: no cover - the extra is installed in the tests
    raise ImportError(
        "selectools.otel needs opentelemetry-api: pip install 'selectools[otel]'") from exc

from .observer import CAPTURE_CONTENT_ENV, OTelObserver

__all__ = ["CAPTURE_CONTENT_ENV", "OTelObserver"]
