from importlib import import_module
from typing import Any

from .config import AgentConfig
from .core import Agent
from .deadline import RunTimeoutError


def __getattr__(name: str) -> Any:
    # Analytics load only with AgentConfig(enable_analytics=True) (agent/core.py); the
    # module is still reachable as `selectools.agent.analytics`, imported when read.
    if name != "analytics":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return import_module(f"{__name__}.analytics")


def __dir__() -> list[str]:
    return sorted({*globals(), "analytics"})

__all__ = ["Agent", "AgentConfig", "RunTimeoutError"]
