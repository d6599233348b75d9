"""Hostile review (session 8, second): batch.input_runner (8b8ffa2) runs each input through
the agent's engine directly unless the Agent's class has an `arun` of its own. An `arun`
set on the instance (a wrapper for logging or metrics, or a test's mock of the model side:
`monkeypatch.setattr(agent, "arun", fake)`) was called for every input at 99ed814 and is
passed over now: the real provider is called instead."""

from __future__ import annotations

from typing import Any

from selectools import Agent, AgentResult, LocalProvider, Message, Role
from selectools.batch import abatch


async def test_an_arun_set_on_the_instance_runs_each_input() -> None:
    agent = Agent([], provider=LocalProvider(responses=["from the provider"]))
    seen: list[Any] = []
    real = agent.arun

    async def logged(messages: Any, *args: Any, **kwargs: Any) -> AgentResult:
        seen.append(messages)
        return await real(messages, *args, **kwargs)

    agent.arun = logged  # type: ignore[method-assign]
    [held] = await abatch(agent, ["hi"])
    assert held.ok
    assert seen == ["hi"]


async def test_an_arun_of_a_subclass_runs_each_input() -> None:
    seen: list[Any] = []

    class Logged(Agent):
        async def arun(self, messages: Any, *args: Any, **kwargs: Any) -> AgentResult:
            seen.append(messages)
            return await super().arun(messages, *args, **kwargs)

    [held] = await abatch(Logged([], provider=LocalProvider(responses=["ok"])), ["hi"])
    assert held.ok and seen == ["hi"]
    assert held.result is not None
    assert held.result.message == Message(role=Role.ASSISTANT, content="ok")
