"""What a finished run's result holds, and what it no longer holds on to (issue 18: 5,000
held results of a batch were 1.66x the memory of a hand-written loop).

The trace's steps keep the values they were made of and build their `data` when first
read, equal to what the run saw; a result survives pickling and its dict form either way.
A tool call's argument text, kept to be sent back as the model wrote it, is let go once no
later call of the library sends the call again (no memory); with memory it is kept, and
the next run sends it as it came. Through a real OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import fields
from typing import Any

from test_engine_stop_reasons import completion as stop_reasons_completion
from wire_server import WireServer

from selectools import (
    Agent,
    AgentResult,
    AgentTrace,
    ConversationMemory,
    LocalProvider,
    Message,
    Role,
    ToolCall,
    TraceStep,
    tool,
)
from selectools.providers.openai import OpenAIProvider

ODD_ARGUMENTS = '{"city":   "Paris" }'  # as a model may write them: not json.dumps's spacing


@tool(description="The weather in a city")
def weather(city: str) -> str:
    return f"Sunny in {city}"


def completion(content: str | None, calls: list[tuple[str, str]] | None = None
               ) -> dict[str, Any]:
    return stop_reasons_completion(content, "tool_calls" if calls else "stop", calls)


def scripted_run() -> AgentResult:
    provider = LocalProvider(responses=[ToolCall("weather", {"city": "Paris"}, "c1"),
                                        "It is sunny."])
    return Agent([weather], provider=provider).run("Weather in Paris?")


def test_the_fields_keep_the_order_the_engine_fills_them_in() -> None:
    # The engine makes results and tool messages positionally (keywords cost a dict per
    # call): a field moved would land a value in the wrong place.
    assert [f.name for f in fields(AgentResult)] == [
        "message", "tool_name", "tool_args", "iterations", "tool_calls", "trace", "usage",
        "stop_reason", "provider_used", "run_id", "artifacts", "parsed",
        "structured_status", "structured_error", "pending", "session_id"]
    assert [f.name for f in fields(Message)][:8] == [
        "role", "content", "image_path", "tool_name", "tool_result", "tool_calls",
        "tool_call_id", "content_parts"]


def test_the_trace_reads_as_the_run_went() -> None:
    result = scripted_run()
    assert (result.content, result.tool_name, result.tool_args, result.iterations,
            result.stop_reason, result.provider_used, result.artifacts, result.parsed,
            result.structured_status, result.structured_error, result.pending,
            result.session_id) == ("It is sunny.", "weather", {"city": "Paris"}, 2,
                                   "completed", "local", [], None, None, None, [], None)
    assert len(result.run_id) == 32 and result.tool_calls[0].id == "c1"
    assert result.trace is not None and result.usage is not None
    assert result.trace.run_id == result.run_id and result.usage.llm_calls == 2
    llm, selection, execution, final = result.trace.steps
    assert (llm.type, selection.type, execution.type, final.type) == (
        "llm_call", "tool_selection", "tool_execution", "llm_call")
    assert llm.data == {"model": "local", "provider": "local", "tool_calls": 1,
                        "stop_reason": "tool_calls",
                        "prompt_tokens": result.usage.calls[0].prompt_tokens,
                        "completion_tokens": result.usage.calls[0].completion_tokens}
    assert selection.data == {"tools": [{"name": "weather", "args": {"city": "Paris"},
                                         "id": "c1"}]}
    assert execution.data == {"tool_name": "weather", "call_id": "c1",
                              "args": {"city": "Paris"}, "result": "Sunny in Paris",
                              "error": False}
    assert final.data["tool_calls"] == 0 and final.data["stop_reason"] == "completed"
    assert execution.iteration == 1 and final.iteration == 2
    # read once, then the same dict: a change to it stays
    execution.data["note"] = "seen"
    assert execution.data["note"] == "seen"


def test_a_deferred_step_equals_the_step_made_with_its_data() -> None:
    def build(name: str, size: int) -> dict[str, Any]:
        return {"name": name, "size": size}

    deferred = TraceStep.deferred("tool_execution", 2, 1.5, build, "x", 3)
    made = TraceStep("tool_execution", 2, 1.5, {"name": "x", "size": 3})
    assert deferred == made and repr(deferred) == repr(made)
    assert deferred.to_dict() == made.to_dict() == {
        "type": "tool_execution", "iteration": 2, "duration_ms": 1.5,
        "data": {"name": "x", "size": 3}}
    assert TraceStep("error", 1).data == {}
    made.data = {"replaced": True}
    assert made.data == {"replaced": True} and made != deferred


def test_a_held_result_round_trips_through_pickle_and_its_dict() -> None:
    result = scripted_run()
    for copy in (pickle.loads(pickle.dumps(result)), AgentResult.from_dict(
            json.loads(json.dumps(result.to_dict())))):
        assert copy.content == "It is sunny."
        assert copy.trace is not None and result.trace is not None
        assert [s.to_dict() for s in copy.trace] == [s.to_dict() for s in result.trace]
        assert copy.tool_calls == result.tool_calls and copy.usage == result.usage
    # a step pickled before its data was ever read
    fresh = scripted_run()
    assert fresh.trace is not None
    step = pickle.loads(pickle.dumps(fresh.trace.steps[2]))
    assert step.data["result"] == "Sunny in Paris"


def _size(data: str) -> dict[str, Any]:
    return {"size": len(data)}


def test_recorded_steps_are_made_when_read_in_the_order_they_came() -> None:
    trace = AgentTrace("r1")
    trace.record(("llm_call", 1, 2.5, _size, "abc"))
    trace.add(TraceStep("error", 1, 0.0, {"message": "boom"}))
    trace.record(("tool_execution", 2, 1.0, _size, "de"))
    assert len(trace) == 3
    packed = pickle.loads(pickle.dumps(trace))  # pickled before any step was made
    steps = trace.steps
    assert all(type(step) is TraceStep for step in steps)
    assert [(s.type, s.iteration, s.duration_ms, s.data) for s in steps] == [
        ("llm_call", 1, 2.5, {"size": 3}), ("error", 1, 0.0, {"message": "boom"}),
        ("tool_execution", 2, 1.0, {"size": 2})]
    assert trace.steps is steps and packed == trace and packed.steps == steps
    assert [s.type for s in trace] == ["llm_call", "error", "tool_execution"]
    assert [s.type for s in trace.of_type("error")] == ["error"]
    assert repr(trace) == f"AgentTrace(run_id='r1', steps={steps!r})"
    # once the steps were handed out, what comes after is a TraceStep in that same list
    trace.record(("llm_call", 3, 0.5, _size, "f"))
    assert steps[-1] == TraceStep("llm_call", 3, 0.5, {"size": 1}) and len(trace) == 4
    assert trace.to_dict()["steps"][-1] == {"type": "llm_call", "iteration": 3,
                                            "duration_ms": 0.5, "data": {"size": 1}}


def test_a_trimmed_trace_reads_the_same_and_takes_more_steps_in_order() -> None:
    result = scripted_run()
    assert result.trace is not None
    before = pickle.loads(pickle.dumps(result.trace))
    result.trace.trim()
    assert len(result.trace) == 4 and result.trace == before
    result.trace.record(("llm_call", 3, 0.5, _size, "f"))
    assert [s.type for s in result.trace] == ["llm_call", "tool_selection",
                                              "tool_execution", "llm_call", "llm_call"]
    steps = result.trace.steps
    result.trace.trim()  # read: the list handed out stays the trace's
    assert result.trace.steps is steps


def test_a_step_whose_values_are_ints_or_steps_reads_as_recorded() -> None:
    # A record's values follow its length in one flat list: values that are ints (or
    # TraceSteps) are values, never taken for the start of another record.
    trace = AgentTrace("r4")
    inner = TraceStep("error", 0, 0.0, {"message": "inner"})
    trace.record(("llm_call", 1, 0.0, _pair, 7, inner))
    trace.add(TraceStep("error", 1, 0.0, {"message": "boom"}))
    trace.record(("llm_call", 2, 0.0, _pair, 2, 3))
    assert len(trace) == 3
    assert [s.data for s in trace] == [{"pair": (7, inner)}, {"message": "boom"},
                                       {"pair": (2, 3)}]


def test_a_trace_pickled_with_its_records_as_tuples_still_reads() -> None:
    trace = AgentTrace("r5")
    trace._steps = [("llm_call", 1, 2.5, _size, "abc"), TraceStep("error", 1, 0.0, {})]
    assert [(s.type, s.data) for s in trace] == [("llm_call", {"size": 3}), ("error", {})]


def _pair(first: Any, second: Any) -> dict[str, Any]:
    return {"pair": (first, second)}


def test_a_trace_given_its_steps_keeps_that_list_of_steps() -> None:
    given = [TraceStep("llm_call", 1, 0.0, {"model": "m"})]
    trace = AgentTrace(run_id="r2", steps=given)
    trace.record(("llm_call", 2, 0.0, _size, "xy"))
    assert trace.steps is given and type(given[1]) is TraceStep
    assert given[1].data == {"size": 2}
    trace.steps = []
    assert len(trace) == 0 and trace == AgentTrace("r2") and trace != AgentTrace("r3")
    match trace:
        case AgentTrace(run_id, steps):
            assert (run_id, steps) == ("r2", [])


def test_a_selection_step_shows_the_calls_as_the_model_asked_for_them() -> None:
    provider = LocalProvider(responses=[
        [ToolCall("weather", {"city": "Paris"}, "c1"), ToolCall("weather", {"city": "Oslo"},
                                                               "c2")],
        "Both sunny."])
    result = Agent([weather], provider=provider).run("Weather in Paris and Oslo?")
    assert result.trace is not None
    selection = result.trace.of_type("tool_selection")
    assert [s.data for s in selection] == [{"tools": [
        {"name": "weather", "args": {"city": "Paris"}, "id": "c1"},
        {"name": "weather", "args": {"city": "Oslo"}, "id": "c2"}]}]
    assert [s.data["result"] for s in result.trace.of_type("tool_execution")] == [
        "Sunny in Paris", "Sunny in Oslo"]
    assert result.usage is not None and result.usage.cost_usd == 0.0  # a local model


async def test_without_memory_the_result_lets_the_argument_text_go(
        wire_server: WireServer) -> None:
    wire_server.reply(body=completion(None, [("weather", ODD_ARGUMENTS)]))
    wire_server.reply(body=completion("Sunny."))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    try:
        result = await Agent([weather], provider=provider).arun("Weather in Paris?")
    finally:
        await provider.aclose()
    # within the run, the call went back as the model wrote it
    sent = wire_server.requests[1].json["messages"]
    assert [m for m in sent if m["role"] == "assistant"][0]["tool_calls"][0][
        "function"]["arguments"] == ODD_ARGUMENTS
    call = result.tool_calls[0]
    assert call.parameters == {"city": "Paris"}
    assert call.arguments_json() == json.dumps({"city": "Paris"})  # encoded anew, if asked


async def test_with_memory_the_next_run_sends_the_arguments_as_the_model_wrote_them(
        wire_server: WireServer) -> None:
    wire_server.reply(body=completion(None, [("weather", ODD_ARGUMENTS)]))
    wire_server.reply(body=completion("Sunny."))
    wire_server.reply(body=completion("You asked about Paris."))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    agent = Agent([weather], provider=provider, memory=ConversationMemory())
    try:
        await agent.arun("Weather in Paris?")
        result = await agent.arun("What did I ask?")
    finally:
        await provider.aclose()
    assert result.content == "You asked about Paris."
    third = wire_server.requests[2].json["messages"]
    called = [m for m in third if m["role"] == "assistant" and m.get("tool_calls")]
    assert called[0]["tool_calls"][0]["function"]["arguments"] == ODD_ARGUMENTS
    assert [m["role"] for m in third][-1] == Role.USER.value
