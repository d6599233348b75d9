"""Tools: functions a model may call, described by JSON schema and validated by pydantic."""

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
from .registry import ToolRegistry
from .results import result_to_text

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
