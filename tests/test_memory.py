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
    # The newest exchange alone is too long: its tool round goes whole, its question stays.
    assert [m.content for m in memory.get_history()] == ["q", "answer"]
    memory.add_many([user("next"), calling("c"), result("c"), user("last")])
    # Over by two: the older exchange goes whole.
    assert [m.role for m in memory.get_history()] == [Role.USER, Role.ASSISTANT, Role.TOOL,
                                                      Role.USER]


def test_history_always_starts_with_a_question() -> None:
    memory = ConversationMemory(max_messages=5)
    for i in range(4):
        memory.add_many([user(f"q{i}"), calling(f"c{i}"), result(f"c{i}"),
                         Message(role=Role.ASSISTANT, content=f"a{i}")])
        history = memory.get_history()
        assert history[0].role == Role.USER
        assert len(history) <= 5
        for index, message in enumerate(history):  # every result follows its call
            if message.role == Role.TOOL:
                assert history[index - 1].tool_calls


def test_token_budget_trims_too() -> None:
    memory = ConversationMemory(max_messages=100, max_tokens=30)
    memory.add_many(user("x" * 40) for _ in range(5))
    assert 1 <= len(memory) < 5


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_messages"):
        ConversationMemory(max_messages=0)
    with pytest.raises(ValueError, match="max_tokens"):
        ConversationMemory(max_tokens=0)
