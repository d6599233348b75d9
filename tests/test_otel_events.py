"""The observer events selectools.otel reads beyond 1.x's emitted set are declared once, with
selectools 1.x's names and parameters where 1.x has them, and the hub tells the engine
whether anyone reads one (so a stream is not timed for nobody)."""

from __future__ import annotations

import inspect

from selectools import AgentObserver
from selectools.observer import EVENT_ARGUMENTS, OTHER_EVENT_PARAMETERS, ObserverHub
from selectools.otel import OTelObserver


def test_the_events_otel_reads_are_declared_with_1x_names_and_parameters() -> None:
    assert EVENT_ARGUMENTS["on_session_load"] == ("session_id", "message_count")
    assert EVENT_ARGUMENTS["on_cancelled"] == ("iteration", "reason")
    assert EVENT_ARGUMENTS["on_llm_first_chunk"] == ("latency_ms",)
    assert "on_session_load" not in OTHER_EVENT_PARAMETERS  # declared once
    for event, arguments in EVENT_ARGUMENTS.items():
        if callable(getattr(OTelObserver, event, None)) and \
                getattr(OTelObserver, event) is not getattr(AgentObserver, event):
            names = list(inspect.signature(getattr(OTelObserver, event)).parameters)
            assert names == ["self", "run_id", *arguments], event


def test_the_hub_wants_an_event_only_when_an_observer_handles_it() -> None:
    class OnlyRunEnd(AgentObserver):
        def on_run_end(self, run_id: str, result: object) -> None: ...

    hub = ObserverHub([OnlyRunEnd()])
    assert hub.wants("on_run_end") and not hub.wants("on_llm_first_chunk")
    assert ObserverHub([OTelObserver()]).wants("on_llm_first_chunk")
    assert not ObserverHub([]).wants("on_run_end")
