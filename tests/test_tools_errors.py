"""The `Error: ...` text a model sees when a tool call fails."""

from __future__ import annotations

from selectools.tools import (
    ArgumentProblem,
    ToolArgumentError,
    ToolTimeoutError,
    UnknownToolError,
    format_tool_error,
)


def test_error_classes_are_the_standard_kinds() -> None:
    assert issubclass(ToolArgumentError, ValueError)
    assert issubclass(ToolTimeoutError, TimeoutError)
    assert issubclass(UnknownToolError, LookupError)


def test_argument_error_text_lists_every_problem() -> None:
    exc = ToolArgumentError("book", [ArgumentProblem("date", "missing required parameter 'date'"),
                                     ArgumentProblem("seats", "parameter 'seats': expected int")])
    assert format_tool_error("book", exc) == (
        "Error: invalid arguments for tool 'book': missing required parameter 'date'; "
        "parameter 'seats': expected int")


def test_timeout_text_gives_the_limit() -> None:
    assert format_tool_error("slow", ToolTimeoutError("slow", 2.5)) == (
        "Error: tool 'slow' timed out after 2.5 s")


def test_unknown_tool_text_lists_the_available_tools() -> None:
    exc = UnknownToolError("serch", ["search", "add"])
    assert str(exc) == "unknown tool 'serch' (available tools: search, add)"
    assert format_tool_error("serch", exc) == (
        "Error: unknown tool 'serch' (available tools: search, add)")
    assert "available tools: none" in str(UnknownToolError("x"))


def test_tool_exception_text_has_type_and_message() -> None:
    assert format_tool_error("div", ZeroDivisionError("division by zero")) == (
        "Error: tool 'div' raised ZeroDivisionError: division by zero")
    assert format_tool_error("f", KeyError("user")) == "Error: tool 'f' raised KeyError: 'user'"
    assert format_tool_error("f", RuntimeError()) == "Error: tool 'f' raised RuntimeError"


def test_a_huge_message_is_truncated() -> None:
    text = format_tool_error("f", ValueError("x" * 10_000))
    assert text.startswith("Error: tool 'f' raised ValueError: xxx")
    assert text.endswith("(truncated)")
    assert len(text) <= 2000
