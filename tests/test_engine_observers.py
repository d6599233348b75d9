"""Observer events are declared once (EVENT_ARGUMENTS); the bases, the hub and
LoggingObserver all follow that one table."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytest

from selectools import Agent, AgentConfig, AgentObserver, LoggingObserver, ToolCall, tool
from selectools.observer import (
    EVENT_ARGUMENTS,
    EVENT_PARAMETERS,
    EVENTS,
    AsyncAgentObserver,
    ObserverHub,
)
from selectools.providers.stubs import LocalProvider


@pytest.mark.parametrize(("base", "prefix"), [(AgentObserver, "on_"),
                                              (AsyncAgentObserver, "a_on_")])
def test_each_observer_base_has_exactly_the_declared_events(base: type, prefix: str) -> None:
    declared = {name for name in vars(base) if name.startswith(prefix)}
    assert declared == {prefix[:-3] + event for event in EVENT_PARAMETERS}
    for event, arguments in EVENT_ARGUMENTS.items():
        method = getattr(base, prefix[:-3] + event)
        assert inspect.iscoroutinefunction(method) == (base is AsyncAgentObserver), event
        names = list(inspect.signature(method).parameters)
        assert names == ["self", "run_id", *arguments], event
    assert issubclass(AsyncAgentObserver, AgentObserver)
    assert AsyncAgentObserver.blocking is False


def test_logging_observer_logs_every_event_with_its_argument_names(
        caplog: pytest.LogCaptureFixture) -> None:
    observer = LoggingObserver()
    with caplog.at_level(logging.INFO, logger="selectools"):
        for event, arguments in EVENT_ARGUMENTS.items():
            getattr(observer, event)("r1", *range(len(arguments)))
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == len(EVENTS)
    for line, (event, arguments) in zip(lines, EVENT_ARGUMENTS.items(), strict=True):
        expected = " ".join(f"{name}={i}" for i, name in enumerate(arguments))
        assert line == f"{event[3:]} run=r1 {expected}"


async def test_the_hub_calls_only_what_an_observer_overrides_and_refuses_unknown_events() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []

    class OnlyToolEnd(AgentObserver):
        def on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                        duration_ms: float) -> None:
            calls.append(("on_tool_end", (run_id, call_id, tool_name, result)))

    class Duck:  # not a subclass: any object with event methods will do
        async def on_run_end(self, run_id: str, result: Any) -> None:
            calls.append(("on_run_end", (run_id,)))

    hub = ObserverHub([OnlyToolEnd(), Duck()])
    await hub.emit("on_tool_end", "r", "c", "t", "ok", 1.0)
    await hub.emit("on_run_end", "r", None)
    await hub.emit("on_llm_start", "r", [], "m", "")  # nobody overrides it
    assert calls == [("on_tool_end", ("r", "c", "t", "ok")), ("on_run_end", ("r",))]
    with pytest.raises(KeyError):
        await hub.emit("on_tool_finished", "r")


def test_a_broken_repr_does_not_cost_the_log_line(caplog: pytest.LogCaptureFixture) -> None:
    class Odd:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    @tool(description="Returns an odd object's name")
    def odd(thing: str) -> str:
        return thing

    provider = LocalProvider(responses=[ToolCall("odd", {"thing": "x"}, "c1"), "fine"])
    agent = Agent(tools=[odd], provider=provider,
                  config=AgentConfig(observers=[LoggingObserver()]))
    with caplog.at_level(logging.INFO, logger="selectools"):
        agent.run("go")
        LoggingObserver().on_error("r1", RuntimeError("x"), {"odd": Odd()})
    assert any(r.getMessage().startswith("error run=r1 error=") for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
