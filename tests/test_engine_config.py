"""AgentConfig refuses a wrong value when it is made, naming the field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from selectools import Agent, AgentConfig, AgentObserver, LoggingObserver
from selectools.observer import AsyncAgentObserver
from selectools.providers.stubs import LocalProvider

BAD = [
    ("max_tokens", None, TypeError), ("max_tokens", "1000", TypeError),
    ("max_tokens", 0, ValueError), ("max_tokens", True, TypeError),
    ("max_tokens", 10.0, TypeError),
    ("max_iterations", 0, ValueError), ("max_iterations", False, TypeError),
    ("max_iterations", None, TypeError),
    ("max_parallel_tools", 0, ValueError), ("max_parallel_tools", True, TypeError),
    ("max_retries", -1, ValueError), ("max_retries", 1.5, TypeError),
    ("max_retries", True, TypeError),
    ("temperature", math.nan, ValueError), ("temperature", math.inf, ValueError),
    ("temperature", 3.0, ValueError), ("temperature", "0.2", TypeError),
    ("temperature", True, TypeError),
    ("request_timeout", math.nan, ValueError), ("request_timeout", math.inf, ValueError),
    ("request_timeout", 0, ValueError), ("request_timeout", "5", TypeError),
    ("tool_timeout_seconds", math.nan, ValueError), ("tool_timeout_seconds", -1, ValueError),
    ("tool_timeout_seconds", True, TypeError),
    ("run_timeout", math.nan, ValueError), ("run_timeout", math.inf, ValueError),
    ("run_timeout", False, TypeError),
    ("parallel_tool_execution", "no", TypeError), ("parallel_tool_execution", 0, TypeError),
    ("routing_only", None, TypeError), ("enable_analytics", 1, TypeError),
    ("model", 4, TypeError), ("model", "  ", ValueError),
    ("system_prompt", ["be nice"], TypeError),
    ("observers", None, TypeError), ("observers", LoggingObserver(), TypeError),
    ("observers", "LoggingObserver", TypeError), ("observers", [LoggingObserver], TypeError),
    ("observers", [print], TypeError), ("observers", [object()], TypeError),
]


@pytest.mark.parametrize(("name", "value", "error"), BAD,
                         ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_wrong_value_is_refused_naming_its_field(
        name: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=name):
        AgentConfig(**{name: value})


def test_a_single_observer_gets_a_hint_to_wrap_it() -> None:
    with pytest.raises(TypeError, match="wrap it in a list"):
        AgentConfig(observers=LoggingObserver())  # type: ignore[arg-type]


def test_good_values_are_kept() -> None:
    class DuckObserver:
        def on_run_end(self, run_id: str, result: Any) -> None: ...

    observers = [LoggingObserver(), AsyncAgentObserver(), AgentObserver(), DuckObserver()]
    config = AgentConfig(model="m", temperature=0, max_tokens=1, max_iterations=1,
                         max_parallel_tools=None, max_retries=0, request_timeout=0.5,
                         tool_timeout_seconds=1, run_timeout=2.5, observers=observers,
                         system_prompt="")
    assert config.observers == observers and config.observers is not observers
    assert config.temperature == 0 and config.run_timeout == 2.5


def test_temperature_defaults_to_the_models_own_and_none_reaches_the_provider() -> None:
    assert AgentConfig().temperature is None
    seen: list[Any] = []

    class Recording(LocalProvider):
        def complete(self, **kwargs: Any) -> Any:
            seen.append(kwargs["temperature"])
            return super().complete(**kwargs)

    Agent(provider=Recording()).run("hello")
    Agent(provider=Recording(), config=AgentConfig(temperature=0.7)).run("hello")
    assert seen == [None, 0.7]
