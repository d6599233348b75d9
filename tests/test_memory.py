"""ConversationMemory trims whole exchanges and never orphans a tool result."""

from __future__ import annotations

import pytest

from selectools import ConversationMemory, Message, Role, ToolCall


def user(text: str) -> Message:
    return Message(role=Role.USER, content=text)


def calling(*ids: str) -> Message:
    return Message(role=Role.ASSISTANT, tool_calls=[ToolCall("t", {}, id=i) for i in ids])


def result(call_id: str) -> Message:
    return Message(role=Role.TOOL, content="r", tool_result="r", tool_call_id=call_id,
                   tool_name="t")


def test_keeps_the_last_messages() -> None:
    memory = ConversationMemory(max_messages=3)
    dropped = memory.add_many(user(str(i)) for i in range(5))
    assert dropped == 2
    assert [m.content for m in memory.get_history()] == ["2", "3", "4"]


def test_never_separates_a_tool_call_from_its_results() -> None:
    memory = ConversationMemory(max_messages=4)
    memory.add_many([user("q"), calling("a", "b"), result("a"), result("b"),
                     Message(role=Role.ASSISTANT, content="answer")])
    history = memory.get_history()
    # One over the limit: only "q" goes.
    assert [m.role for m in history] == [Role.ASSISTANT, Role.TOOL, Role.TOOL, Role.ASSISTANT]
    memory.add(user("next"))
    history = memory.get_history()
    assert history[0].role != Role.TOOL
    assert [m.content for m in history] == ["answer", "next"]


def test_token_budget_trims_too() -> None:
    memory = ConversationMemory(max_messages=100, max_tokens=30)
    memory.add_many(user("x" * 40) for _ in range(5))
    assert 1 <= len(memory) < 5


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_messages"):
        ConversationMemory(max_messages=0)
    with pytest.raises(ValueError, match="max_tokens"):
        ConversationMemory(max_tokens=0)
