"""A call object that fails to decode is read as one call or none, never searched inside;
typed runs read only marked calls. (The review s11 cases are in test_review_s11_parser.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from selectools import Agent, AgentConfig, Message, Role, UsageStats, tool
from selectools.parser import TextToolCalls, ToolCallParser
from selectools.types import RAW_ARGUMENTS_KEY

parser = TextToolCalls(["save_note", "delete_files", "add"])

#: save_note's arguments hold an object that names a tool: data, never a call.
PROPOSAL = '{"tool_name": "delete_files", "parameters": {"path": "/home/me"}}'
NOTE = f'{{"tool_name": "save_note", "parameters": {{"text": "plan", "proposal": {PROPOSAL}}}'


def found(text: str, **options: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(call.tool_name, call.parameters) for call in parser.parse(text, **options)]


def raw(written: str) -> dict[str, Any]:
    return {RAW_ARGUMENTS_KEY: written}


@pytest.mark.parametrize("before, after", [
    ("TOOL_CALL ", ""), ("TOOL_CALL: ", "\n"), ("TOOL_CALL\n```json\n", "\n```\n"),
    ("Here it is. TOOL_CALL ", "\nThat was the call."),
])
def test_a_cut_marked_call_is_its_own_tool_with_its_text_as_arguments(
        before: str, after: str) -> None:
    # The commonest slip: the last brace left out. Nothing inside it is a call.
    text = before + NOTE + after
    written = NOTE if "```" in after or not after.strip() else (NOTE + after).rstrip()
    assert found(text) == [("save_note", raw(written))]


def test_a_cut_call_is_told_apart_from_the_marked_call_after_it() -> None:
    text = (f"TOOL_CALL {NOTE}\n"
            'TOOL_CALL {"tool_name": "add", "parameters": {"a": 2}}')
    assert found(text) == [("save_note", raw(NOTE)), ("add", {"a": 2})]


def test_a_call_after_a_cut_call_in_a_fence_is_found() -> None:
    text = f'TOOL_CALL ```json\n{NOTE}\n```\nand then {{"tool": "add", "args": {{"a": 1}}}}'
    assert found(text) == [("save_note", raw(NOTE)), ("add", {"a": 1})]


def test_braces_and_calls_in_a_string_left_open_are_inside_the_cut_call() -> None:
    text = ('TOOL_CALL {"tool_name": "save_note", "parameters": {"text": "}}} ' + PROPOSAL
            .replace('"', '\\"') + ' and TOOL_CALL {\\"tool\\": \\"add\\"}')
    assert [name for name, _ in found(text)] == ["save_note"]


def test_a_cut_call_in_python_quotes_is_read_as_one() -> None:
    text = "TOOL_CALL {'tool_name': 'save_note', 'parameters': {'proposal': " + \
        PROPOSAL.replace('"', "'") + "}"
    assert [name for name, _ in found(text)] == ["save_note"]


def test_a_cut_call_whose_name_cannot_be_read_is_no_call() -> None:
    for text in ["TOOL_CALL {", 'TOOL_CALL {"tool_name": "sav',
                 'TOOL_CALL {"parameters": {"proposal": ' + PROPOSAL]:
        assert found(text) == [], text


def test_a_malformed_marked_call_is_its_own_tool_with_all_inside_it() -> None:
    # Closed, but missing a comma before the proposal: save_note is told its arguments are
    # unreadable, nothing inside them runs, and the next call does.
    malformed = ('{"tool_name": "save_note", "parameters": {"text": "plan" "proposal": '
                 f'{PROPOSAL}}}}}')
    text = f'TOOL_CALL {malformed}\nTOOL_CALL {{"tool_name": "add", "parameters": {{}}}}'
    assert found(text) == [("save_note", raw(malformed)), ("add", {})]


@pytest.mark.parametrize("malformed", [
    '{"tool_name": "add", "parameters": {"a": 1,}}',        # a trailing comma
    '{"tool_name": "add", "parameters": {"a": 1 "b": 2}}',  # a comma left out
    '{"tool_name": "add", "parameters": {a: 1}}',           # a key without quotes
    "{'tool_name': 'add', 'parameters': {'a': it's}}",       # Python's quotes, broken
])
def test_every_closed_but_malformed_marked_call_is_reported(malformed: str) -> None:
    assert found(f"TOOL_CALL {malformed}") == [("add", raw(malformed))]
    assert ToolCallParser().parse(f"TOOL_CALL {malformed}").tool_call is not None


def test_a_malformed_object_that_names_no_tool_is_no_call() -> None:
    for text in ['TOOL_CALL {"parameters": {"a": 1,}}', 'TOOL_CALL {"note": oops}',
                 'TOOL_CALL {"tool_name": 3, "parameters": {,}}']:
        assert found(text) == [], text


def test_an_unmarked_cut_call_runs_nothing_inside_it() -> None:
    assert found(NOTE) == []
    assert found(NOTE + ' now {"tool": "add", "args": {"a": 3}}') == []  # (all inside it)
    # A cut wrapper is no call: its complete calls still count.
    assert found('{"calls": [' + PROPOSAL + ', {"tool": "add", "args": {') == [
        ("delete_files", {"path": "/home/me"})]


def test_selectools_1x_reader_reads_a_cut_call_as_its_own() -> None:
    result = ToolCallParser().parse(f"TOOL_CALL {NOTE}")
    assert result.tool_call is not None
    assert result.tool_call.tool_name == "save_note"
    assert result.tool_call.parameters == raw(NOTE)


def test_marked_only_reads_calls_after_the_marker_alone() -> None:
    bare = '{"tool": "add", "args": {"a": 1}}'
    assert found(bare, marked_only=True) == []
    assert found(f"```json\n{bare}\n```", marked_only=True) == []
    assert found(f"{bare}\nTOOL_CALL {bare}", marked_only=True) == [("add", {"a": 1})]
    assert found(f"TOOL_CALL ```json\n{bare}\n```", marked_only=True) == [("add", {"a": 1})]
    assert found(f"TOOL_CALL {NOTE}", marked_only=True) == [("save_note", raw(NOTE))]
    assert found(bare) == [("add", {"a": 1})]  # (without it, as before)


# The engine, with a model without native tools (the only kind the parser serves).

class TextModel:
    name = "text-model"
    supports_streaming = False
    supports_async = False
    supports_native_tools = False
    default_model = "text-1"

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.seen: list[list[Message]] = []

    def complete(self, *, model: str, system_prompt: str, messages: list[Message],
                 tools: Any = None, temperature: float | None = None, max_tokens: int = 1000,
                 timeout: float | None = None) -> tuple[Message, UsageStats]:
        self.seen.append(list(messages))
        text = self.answers.pop(0) if self.answers else "done"
        return (Message(role=Role.ASSISTANT, content=text),
                UsageStats(1, 1, 2, 0.0, model, self.name))


class Sum(BaseModel):
    total: int


def agent(model: TextModel, ran: list[str]) -> Agent:
    @tool(description="Add two numbers")
    def add(a: int, b: int = 0) -> int:
        ran.append(f"add {a} {b}")
        return a + b

    @tool(description="Save a note")
    def save_note(text: str, proposal: dict[str, Any] | None = None) -> str:
        ran.append("save_note")
        return "saved"

    return Agent(tools=[add, save_note], provider=model, config=AgentConfig(max_iterations=4))


def test_a_typed_run_still_runs_a_marked_call_then_reads_the_answer() -> None:
    ran: list[str] = []
    model = TextModel('TOOL_CALL {"tool_name": "add", "parameters": {"a": 2, "b": 3}}',
                      '{"total": 5}')
    result = agent(model, ran).run("Add 2 and 3", response_format=Sum)
    assert ran == ["add 2 3"]
    assert result.parsed == Sum(total=5)


def test_an_untyped_run_still_runs_a_bare_call() -> None:
    ran: list[str] = []
    result = agent(TextModel('{"tool": "add", "args": {"a": 1}}', "1"), ran).run("Add 1")
    assert ran == ["add 1 0"]
    assert result.content == "1"


def test_the_model_is_told_its_cut_call_was_not_run() -> None:
    ran: list[str] = []
    model = TextModel(f"TOOL_CALL {NOTE}", "sorry")
    agent(model, ran).run("Note the plan")
    assert ran == []
    told = [m for m in model.seen[1] if m.role == Role.TOOL]
    assert len(told) == 1 and "unreadable" in (told[0].content or ""), told


def test_the_model_is_told_its_malformed_call_was_not_run_and_its_retry_runs() -> None:
    ran: list[str] = []
    model = TextModel('TOOL_CALL {"tool_name": "add", "parameters": {"a": 2 "b": 3}}',
                      'TOOL_CALL {"tool_name": "add", "parameters": {"a": 2, "b": 3}}', "5")
    result = agent(model, ran).run("Add 2 and 3")
    assert ran == ["add 2 3"]  # the retry alone
    told = [m.content or "" for m in model.seen[1] if m.role == Role.TOOL]
    assert len(told) == 1 and "unreadable" in told[0] and '"a": 2 "b": 3' in told[0], told
    assert result.content == "5"
