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
from .results import result_to_text

__all__ = [
    "ArgumentProblem",
    "Tool",
    "ToolArgumentError",
    "ToolTimeoutError",
    "UnknownToolError",
    "format_tool_error",
    "result_to_text",
    "tool",
]
