"""Tools that wait for a person: the run stops before such a call, the pending state is
saved in the session, and `resume` (from this process or another) runs, edits or denies
the calls and goes on to the answer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from selectools import Agent, AgentConfig, AgentResult, Message, Role, StreamChunk, ToolCall, tool
from selectools.memory import ConversationMemory
from selectools.sessions import ApprovalPendingError, SQLiteSessionStore
from selectools.testing import ScriptedProvider

SRC = Path(__file__).resolve().parents[1] / "src"
ran: list[tuple[str, Any]] = []


@tool(requires_approval=True)
def send_money(to: str, amount: int) -> str:
    """Send money to someone."""
    ran.append(("send_money", (to, amount)))
    return f"sent {amount} to {to}"


@tool(requires_approval=lambda arguments: arguments.get("amount", 0) > 100)
def refund(order: str, amount: int) -> str:
    """Refund an order; large refunds need a person."""
    ran.append(("refund", (order, amount)))
    return f"refunded {amount} on {order}"


@tool
def balance() -> str:
    """The account's balance."""
    ran.append(("balance", ()))
    return "balance: 500"


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


def turn_with_calls() -> list[ToolCall]:
    return [ToolCall("balance", {}, id="c1"),
            ToolCall("send_money", {"to": "bob", "amount": 50}, id="c2")]


def make_agent(store: Any, turns: list[Any], **config: Any) -> tuple[Agent, ScriptedProvider]:
    provider = ScriptedProvider(turns)
    agent = Agent([send_money, refund, balance], provider=provider,
                  config=AgentConfig(session_store=store, **config))
    return agent, provider


def tool_messages(messages: list[Message]) -> list[tuple[str | None, str]]:
    return [(m.tool_call_id, m.content) for m in messages if m.role == Role.TOOL]


def test_the_run_stops_before_a_call_that_needs_approval_and_saves_it(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent, provider = make_agent(store, [turn_with_calls(), "Sent."])
    result = agent.run("pay bob 50", session_id="s")
    assert result.stop_reason == "approval_required"
    assert [(c.id, c.tool_name, c.parameters) for c in result.pending] == [
        ("c2", "send_money", {"to": "bob", "amount": 50})]
    assert ran == [("balance", ())]  # the turn's other call ran; the held one did not
    assert len(provider.requests) == 1
    state = store.get("s")
    assert state is not None and state.pending is not None
    assert [c.id for c in state.pending.calls] == ["c2"]
    assert state.pending.order == ["c1", "c2"]
    assert tool_messages(state.pending.results) == [("c1", "balance: 500")]
    # The stored conversation ends with the model's turn; no result is in it yet.
    assert state.messages[-1].tool_calls is not None and tool_messages(state.messages) == []
    assert AgentResult.from_dict(result.to_dict()).pending == result.pending
    with pytest.raises(ApprovalPendingError, match="c2"):
        agent.run("something else", session_id="s")
    assert store.get("s").version == state.version  # type: ignore[union-attr]


@pytest.mark.parametrize("decision, tool_result", [
    (True, "sent 50 to bob"),
    ({"arguments": {"to": "bob", "amount": 20}}, "sent 20 to bob"),
    (False, "The user denied this call to send_money"),
])
def test_resume_runs_edits_or_denies_and_the_run_goes_on(
        tmp_path: Path, decision: Any, tool_result: str) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent, provider = make_agent(store, [turn_with_calls(), "Done."])
    agent.run("pay bob 50", session_id="s")
    result = agent.resume("s", {"c2": decision})
    assert result.stop_reason == "completed" and result.content == "Done."
    assert ran[1:] == ([] if decision is False else
                       [("send_money", ("bob", 20 if isinstance(decision, dict) else 50))])
    # The model got both results, in the order it asked for them.
    sent = provider.requests[-1][1]
    results = tool_messages(sent)
    assert [call_id for call_id, _ in results] == ["c1", "c2"]
    assert results[1][1].startswith(tool_result)
    state = store.get("s")
    assert state is not None and state.pending is None
    assert tool_messages(state.messages) == results
    asked = next(m for m in state.messages if m.tool_calls)
    expected = decision["arguments"] if isinstance(decision, dict) else {"to": "bob",
                                                                          "amount": 50}
    assert (asked.tool_calls or [])[1].parameters == expected  # as the call ran


def test_edited_arguments_are_validated_like_the_models(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent, provider = make_agent(store, [turn_with_calls(), "Could not send."])
    agent.run("pay bob 50", session_id="s")
    agent.resume("s", {"c2": {"arguments": {"to": "bob", "amount": "a lot"}}})
    assert ran == [("balance", ())]
    [(_, text)] = [r for r in tool_messages(provider.requests[-1][1]) if r[0] == "c2"]
    assert text.startswith("Error") and "amount" in text


def test_bad_approvals_are_refused_before_anything_runs(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent, _ = make_agent(store, [turn_with_calls(), "Done."])
    agent.run("pay bob 50", session_id="s")
    version = store.get("s").version  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"missing: \['c2'\]"):
        agent.resume("s", {})
    with pytest.raises(ValueError, match="not waiting for approval: \\['c9'\\]"):
        agent.resume("s", {"c2": True, "c9": True})
    with pytest.raises(TypeError, match="approvals\\['c2'\\] must be True, False"):
        agent.resume("s", {"c2": "yes"})
    with pytest.raises(TypeError, match="must be True, False"):
        agent.resume("s", {"c2": {"arguments": ["bob"]}})
    assert ran == [("balance", ())] and store.get("s").version == version  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="nothing to resume"):
        agent.resume("other", {"c2": True})
    agent.resume("s", {"c2": True})
    with pytest.raises(ValueError, match="nothing to resume"):
        agent.resume("s", {"c2": True})


def test_a_rule_of_the_arguments_and_the_agents_policy_decide_per_call(
        tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    turns: list[Any] = [[ToolCall("refund", {"order": "A1", "amount": 30}, id="small"),
                         ToolCall("refund", {"order": "A2", "amount": 300}, id="large"),
                         ToolCall("balance", {}, id="look")], "ok"]
    agent, _ = make_agent(store, turns,
                          approval_policy=lambda call: call.tool_name == "balance")
    result = agent.run("refunds", session_id="s")
    assert [c.id for c in result.pending] == ["large", "look"]
    assert ran == [("refund", ("A1", 30))]

    def broken(arguments: dict[str, Any]) -> bool:
        raise KeyError("amount")

    def erase() -> str:
        """Erase everything."""
        return "erased"

    careful = Agent([tool(requires_approval=broken)(erase)], provider=ScriptedProvider(
        [ToolCall("erase", {}, id="z"), "ok"]), config=AgentConfig(session_store=store))
    assert careful.run("go", session_id="t").pending[0].id == "z"  # when in doubt: held


async def test_astream_says_approval_required_and_resume_streams_the_calls(
        tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent, _ = make_agent(store, [turn_with_calls(), "All done."])
    items = [item async for item in agent.astream("pay bob", events=True, session_id="s")]
    events = [i.event for i in items if isinstance(i, StreamChunk) and i.event]
    assert events.count("tool_start") == 1  # only the call that may run
    [asking] = [i for i in items if isinstance(i, StreamChunk)
                and i.event == "approval_required"]
    assert asking.data == {"session_id": "s", "calls": [
        {"call_id": "c2", "tool_name": "send_money",
         "arguments": {"to": "bob", "amount": 50}}]}
    assert isinstance(items[-1], AgentResult) and items[-1].stop_reason == "approval_required"
    resumed = [item async for item in agent.astream_resume("s", {"c2": True}, events=True)]
    starts = [i.data["call_id"] for i in resumed
              if isinstance(i, StreamChunk) and i.event == "tool_start"]
    results = [i.data for i in resumed if isinstance(i, StreamChunk) and i.event == "tool_result"]
    assert starts[0] == "c2" and results[0]["result"] == "sent 50 to bob"
    assert "".join(i.content for i in resumed if isinstance(i, StreamChunk)) \
        .endswith("All done.")
    final = resumed[-1]
    assert isinstance(final, AgentResult) and final.stop_reason == "completed"


def test_without_a_session_the_run_stops_and_memory_keeps_no_half_turn() -> None:
    memory = ConversationMemory()
    agent = Agent([send_money, refund, balance],
                  provider=ScriptedProvider([turn_with_calls()]), memory=memory)
    result = agent.run("pay bob")
    assert result.stop_reason == "approval_required" and result.pending[0].id == "c2"
    assert [m.role for m in memory.get_history()] == [Role.USER]


def test_resume_in_another_process_after_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    store = SQLiteSessionStore(database)
    agent, _ = make_agent(store, [turn_with_calls()])
    assert agent.run("pay bob 50", session_id="s").stop_reason == "approval_required"
    store.close()
    child = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(SRC)!r}, {str(Path(__file__).parent)!r}]
        from test_approval_flow import make_agent, ran
        from selectools.sessions import SQLiteSessionStore
        agent, provider = make_agent(SQLiteSessionStore({str(database)!r}), ["Sent it."])
        result = agent.resume("s", {{"c2": {{"arguments": {{"to": "bob", "amount": 45}}}}}})
        print(result.stop_reason, "|", result.content, "|", ran)
        print([m.tool_call_id for m in provider.requests[-1][1] if m.tool_call_id])
    """)
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                         timeout=120, check=True).stdout.splitlines()
    assert out == ["completed | Sent it. | [('send_money', ('bob', 45))]", "['c1', 'c2']"]
    state = SQLiteSessionStore(database).get("s")
    assert state is not None and state.pending is None and state.version == 2
    assert tool_messages(state.messages) == [("c1", "balance: 500"), ("c2", "sent 45 to bob")]


def test_requires_approval_takes_a_bool_or_a_function() -> None:
    def wipe() -> str:
        """Wipe."""
        return "wiped"

    with pytest.raises(TypeError, match="requires_approval must be True, False or a function"):
        tool(requires_approval="yes")(wipe)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="approval_policy must be a function"):
        AgentConfig(approval_policy=True)  # type: ignore[arg-type]


def test_a_registry_tool_can_require_approval(tmp_path: Path) -> None:
    from selectools.tools import ToolRegistry

    registry = ToolRegistry()

    @registry.tool(requires_approval=True)
    def shutdown(host: str) -> str:
        """Shut a host down."""
        ran.append(("shutdown", host))
        return "down"

    agent = Agent(registry.all(), provider=ScriptedProvider(
        [ToolCall("shutdown", {"host": "db1"}, id="h")]),
        config=AgentConfig(session_store=SQLiteSessionStore(tmp_path / "s.db")))
    assert agent.run("shut db1", session_id="s").pending[0].id == "h" and ran == []
