"""The engine's trace records (issue 18): a model turn's llm_call and tool_selection steps
come from one record, a tool_execution step from one that holds the ToolCall itself (not
copies of its name, id and arguments); every step reads as it did when each was a record
of its own, before and after pickling, and a call edited at resume is a new ToolCall, so
the held run's trace still reads as that run went.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from selectools import Agent, AgentConfig, AgentTrace, LocalProvider, ToolCall, TraceStep, tool
from selectools.sessions import SQLiteSessionStore
from selectools.sessions.base import SessionState


@tool(description="The weather in a city")
def weather(city: str) -> str:
    return f"Sunny in {city}"


@tool(description="Send money", requires_approval=True)
def pay(to: str, amount: int) -> str:
    return f"paid {amount} to {to}"


def _size(text: str) -> dict[str, Any]:
    return {"size": len(text)}


def _two_steps(iteration: int, *texts: str) -> Any:
    for text in texts:
        yield TraceStep.deferred("llm_call", iteration, 0.5, _size, text)


def test_a_record_of_several_steps_reads_in_order_private_or_not() -> None:
    trace = AgentTrace("r1")
    trace.record((_two_steps, 1, "ab", "cde"))
    trace.add(TraceStep("error", 1, 0.0, {"message": "boom"}))
    trace.record(("tool_execution", 2, 1.0, _size, "f"))
    packed = pickle.loads(pickle.dumps(trace))  # pickled before any step was made
    expected = [("llm_call", 1, {"size": 2}), ("llm_call", 1, {"size": 3}),
                ("error", 1, {"message": "boom"}), ("tool_execution", 2, {"size": 1})]
    assert [(s.type, s.iteration, s.data) for s in trace] == expected
    assert packed == trace and len(packed) == 4
    # steps handed out: a record of several steps is made at once, in that same list
    steps = trace.steps
    trace.record((_two_steps, 3, "g", "hi"))
    assert trace.steps is steps
    assert [(s.type, s.iteration, s.data) for s in steps[4:]] == [
        ("llm_call", 3, {"size": 1}), ("llm_call", 3, {"size": 2})]


def test_a_turn_with_calls_reads_as_its_llm_call_then_its_selection() -> None:
    provider = LocalProvider(responses=[
        [ToolCall("weather", {"city": "Paris"}, "c1"), ToolCall("weather", {"city": "Oslo"}, "c1")],
        "Both sunny."])
    result = Agent([weather], provider=provider).run("Weather?")
    assert result.trace is not None and result.usage is not None
    second_id = result.tool_calls[1].id  # given by the engine: the model's was taken
    assert second_id and second_id.startswith("call_")
    made = [TraceStep(s.type, s.iteration, s.duration_ms, s.data) for s in result.trace]
    assert [(s.type, s.iteration) for s in made] == [
        ("llm_call", 1), ("tool_selection", 1), ("tool_execution", 1),
        ("tool_execution", 1), ("llm_call", 2)]
    first = result.usage.calls[0]
    assert made[0].data == {"model": "local", "provider": "local", "tool_calls": 2,
                            "stop_reason": "tool_calls",
                            "prompt_tokens": first.prompt_tokens,
                            "completion_tokens": first.completion_tokens}
    assert made[1].data == {"tools": [
        {"name": "weather", "args": {"city": "Paris"}, "id": "c1"},
        {"name": "weather", "args": {"city": "Oslo"}, "id": second_id}]}
    assert made[1].duration_ms == 0.0
    assert [s.data for s in made[2:4]] == [
        {"tool_name": "weather", "call_id": "c1", "args": {"city": "Paris"},
         "result": "Sunny in Paris", "error": False},
        {"tool_name": "weather", "call_id": second_id, "args": {"city": "Oslo"},
         "result": "Sunny in Oslo", "error": False}]
    assert made[4].data["tool_calls"] == 0 and made[4].data["stop_reason"] == "completed"
    # the same read from a pickled copy, whose steps were never made before
    fresh = Agent([weather], provider=LocalProvider(responses=[
        [ToolCall("weather", {"city": "Paris"}, "c1")], "Sunny."])).run("Weather?")
    assert fresh.trace is not None
    copy = pickle.loads(pickle.dumps(fresh.trace))
    assert [(s.type, s.data) for s in copy][:3] == [(s.type, s.data) for s in fresh.trace][:3]


def test_steps_pickled_in_the_format_before_still_read() -> None:
    # Records of session 7: a selection of flat name, arguments, id triples; an execution
    # of the call's name, id and arguments.
    from selectools.agent.run import _selection_data
    from selectools.agent.tool_runner import _execution_data

    trace = AgentTrace("old")
    trace.record(("tool_selection", 1, 0.0, _selection_data, "weather", {"city": "P"}, "c1"))
    trace.record(("tool_execution", 1, 2.0, _execution_data, "weather", "c1", {"city": "P"},
                  "Sunny in P", False))
    assert [s.data for s in pickle.loads(pickle.dumps(trace))] == [
        {"tools": [{"name": "weather", "args": {"city": "P"}, "id": "c1"}]},
        {"tool_name": "weather", "call_id": "c1", "args": {"city": "P"},
         "result": "Sunny in P", "error": False}]


class KeepingStore(SQLiteSessionStore):
    """A store that hands back the very objects it was given (a cache in front of one,
    say): the held run's calls and the resumed run's are then the same objects."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.kept: dict[str, SessionState] = {}

    async def acommit(self, state: SessionState, *, expected_version: int | None,
                      new_from: int = 0) -> SessionState:
        stored = await super().acommit(state, expected_version=expected_version,
                                       new_from=new_from)
        self.kept[state.session_id] = stored
        return stored

    async def aload_state(self, session_id: str, namespace: str | None = None
                          ) -> SessionState:
        kept = self.kept.get(session_id)
        return kept if kept is not None else await super().aload_state(session_id, namespace)


def test_an_edit_at_resume_leaves_the_held_runs_trace_as_that_run_went(tmp_path: Path) -> None:
    store = KeepingStore(tmp_path / "s.db")
    provider = LocalProvider(responses=[[ToolCall("pay", {"to": "bob", "amount": 50}, "c1")],
                                        "Paid."])
    agent = Agent([pay], provider=provider, config=AgentConfig(session_store=store))
    held = agent.run("pay bob 50", session_id="s")
    assert held.stop_reason == "approval_required"
    assert store.kept["s"].pending is not None
    assert store.kept["s"].pending.calls[0] is held.pending[0]  # the very same objects
    resumed = agent.resume("s", {"c1": {"arguments": {"to": "bob", "amount": 20}}})
    assert resumed.content == "Paid."
    assert held.trace is not None and resumed.trace is not None
    [selection] = held.trace.of_type("tool_selection")  # read only now
    assert selection.data["tools"] == [{"name": "pay", "args": {"to": "bob", "amount": 50},
                                        "id": "c1"}]
    assert held.pending[0].parameters == {"to": "bob", "amount": 50}
    [execution] = resumed.trace.of_type("tool_execution")
    assert (execution.data["args"], execution.data["result"]) == (
        {"to": "bob", "amount": 20}, "paid 20 to bob")
    assert [(c.id, c.parameters) for c in resumed.tool_calls] == [
        ("c1", {"to": "bob", "amount": 20})]
    asked = next(m for m in store.kept["s"].messages if m.tool_calls)
    assert (asked.tool_calls or [])[0].parameters == {"to": "bob", "amount": 20}


async def test_a_turn_run_at_once_reads_as_one_step_per_call() -> None:
    # Calls to tools that await nothing run at once, their steps one record for the turn.
    @tool(description="The weather in a city, at once")
    async def forecast(city: str) -> str:
        if not city:
            raise ValueError("no city")
        return f"Sunny in {city}"

    provider = LocalProvider(responses=[
        [ToolCall("forecast", {"city": "Paris"}, "c1"), ToolCall("forecast", {"city": ""}, "c2"),
         ToolCall("nowhere", {}, "c3")], "Done."])
    result = await Agent([forecast], provider=provider).arun("Weather?")
    assert result.trace is not None
    copy = pickle.loads(pickle.dumps(result.trace))
    executions = result.trace.of_type("tool_execution")
    assert [(s.iteration, s.data["call_id"], s.data["tool_name"], s.data["args"],
             s.data["error"]) for s in executions] == [
        (1, "c1", "forecast", {"city": "Paris"}, False),
        (1, "c2", "forecast", {"city": ""}, True),
        (1, "c3", "nowhere", {}, True)]
    assert executions[0].data["result"] == "Sunny in Paris"
    assert "no city" in executions[1].data["result"]
    assert all(type(s.duration_ms) is float and s.duration_ms >= 0 for s in executions)
    assert [s.type for s in result.trace] == [
        "llm_call", "tool_selection", "tool_execution", "tool_execution", "tool_execution",
        "llm_call"]
    assert copy == result.trace


def test_a_call_id_taken_in_an_earlier_turn_is_given_a_new_one() -> None:
    provider = LocalProvider(responses=[
        [ToolCall("weather", {"city": "Paris"}, "c1")],
        [ToolCall("weather", {"city": "Oslo"}, "c1"), ToolCall("weather", {"city": "Rome"})],
        "Sunny everywhere."])
    result = Agent([weather], provider=provider).run("Weather?")
    ids = [call.id for call in result.tool_calls]
    assert ids[0] == "c1" and len(set(ids)) == 3 and all(ids)
    # each result links to its own call, in the history the model was sent
    sent = provider.requests[-1][1]
    assert [(m.tool_call_id, m.content) for m in sent if m.tool_result is not None] == [
        (ids[0], "Sunny in Paris"), (ids[1], "Sunny in Oslo"), (ids[2], "Sunny in Rome")]
    assert result.trace is not None
    assert [s.data["call_id"] for s in result.trace.of_type("tool_execution")] == ids
