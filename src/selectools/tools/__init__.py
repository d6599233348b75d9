"""Tools: functions a model may call, described by JSON schema and validated by pydantic."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .base import Tool
from .decorator import tool
from .errors import (
    ArgumentProblem,
    ToolArgumentError,
    ToolTimeoutError,
    UnknownToolError,
    format_tool_error,
)
from .parameter import ToolParameter
from .results import result_to_text

if TYPE_CHECKING:
    from .registry import ToolRegistry


def __getattr__(name: str) -> Any:
    # A registry is a convenience most programs never make (an Agent takes a list of
    # tools): its module loads on first access, not with every `import selectools`.
    # (`selectools.tools.registry`, the module, is reachable too: importing it sets it.)
    if name not in ("ToolRegistry", "registry"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    registry = import_module(f"{__name__}.registry")
    if name == "registry":
        return registry
    globals()[name] = registry.ToolRegistry
    return registry.ToolRegistry


def __dir__() -> list[str]:
    return sorted({*globals(), "ToolRegistry", "registry"})


__all__ = [
    "ArgumentProblem",
    "Tool",
    "ToolArgumentError",
    "ToolParameter",
    "ToolRegistry",
    "ToolTimeoutError",
    "UnknownToolError",
    "format_tool_error",
    "result_to_text",
    "tool",
]
