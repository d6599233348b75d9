"""Review s11: a tool the model did not call never runs, for a model without native tools
(its calls are read from its text by parser.TextToolCalls).

The model here is a duck-typed provider with `supports_native_tools = False`, the only kind
the text parser serves; the engine, the parser and the tools are the real ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from selectools import Agent, AgentConfig, Message, Role, UsageStats, tool
from selectools.parser import TextToolCalls
from selectools.types import RAW_ARGUMENTS_KEY

#: A marked call to save_note whose last brace the model left out (the commonest slip of
#: a model writing calls as text); the note it saves holds a proposal shaped like a call.
CUT_CALL = ('TOOL_CALL {"tool_name": "save_note", "parameters": {"text": "what the planner '
            'proposed", "proposal": {"tool_name": "delete_files", "parameters": '
            '{"path": "/home/me"}}}')


class TextModel:
    """A model without native tools that answers with the texts given, then "done"."""

    name = "text-model"
    supports_streaming = False
    supports_async = False
    supports_native_tools = False
    default_model = "text-1"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def complete(self, *, model: str, system_prompt: str, messages: list[Message],
                 tools: Any = None, temperature: float | None = None, max_tokens: int = 1000,
                 timeout: float | None = None) -> tuple[Message, UsageStats]:
        text = self.answers.pop(0) if self.answers else "done"
        return (Message(role=Role.ASSISTANT, content=text),
                UsageStats(1, 1, 2, 0.0, model, self.name))


def agent_with_tools(model: TextModel, ran: list[str]) -> Agent:
    @tool(description="Save a note")
    def save_note(text: str, proposal: dict[str, Any] | None = None) -> str:
        ran.append("save_note")
        return "saved"

    @tool(description="Delete every file under a path")
    def delete_files(path: str) -> str:
        ran.append(f"delete_files {path}")
        return "deleted"

    return Agent(tools=[save_note, delete_files], provider=model,
                 config=AgentConfig(max_iterations=3))


def test_an_object_inside_a_cut_call_never_runs_as_a_call() -> None:
    ran: list[str] = []
    agent_with_tools(TextModel(CUT_CALL), ran).run("Note what the planner proposed")
    assert not [name for name in ran if name.startswith("delete_files")], ran


def test_a_cut_call_is_read_as_its_own_tool_with_raw_arguments() -> None:
    calls = TextToolCalls(["save_note", "delete_files"]).parse(CUT_CALL)
    # As any call after the marker whose arguments cannot be read: the model is told.
    assert [call.tool_name for call in calls] == ["save_note"]
    assert RAW_ARGUMENTS_KEY in calls[0].parameters


class Step(BaseModel):
    """A planner's answer: the one step it proposes (not one it takes)."""

    tool: str
    args: dict[str, Any]


def test_a_typed_answer_shaped_like_a_call_is_the_answer_not_a_call() -> None:
    ran: list[str] = []
    plan = '{"tool": "delete_files", "args": {"path": "/home/me"}}'
    model = TextModel(plan, plan)
    result = agent_with_tools(model, ran).run(
        "Propose (do not take) the one step that would clean my home directory",
        response_format=Step)
    assert ran == []
    assert result.parsed == Step(tool="delete_files", args={"path": "/home/me"})
