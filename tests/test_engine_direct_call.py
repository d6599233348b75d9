"""The whole answer's short paths held to the general one: a run asks a provider whose
`acomplete` checks its own result (providers.base.exact_result) straight, with
`Run.request()`'s keywords written out (`Run.direct`), and takes the agent's provider
without `provider_for_run`'s call when nothing is configured per run
(`RunSetup.provider`). Each gives the provider what the general path gives it."""

from __future__ import annotations

import inspect
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools import Agent, AgentConfig, ToolCall, tool
from selectools.providers.base import exact_acomplete, exact_result
from selectools.types import Message, Role
from selectools.usage import UsageStats


@tool(description="Add two numbers")
async def add(a: int, b: int) -> int:
    return a + b


class _Answers:
    """A provider answering from a script, recording each call's keywords and which
    frame started its coroutine (the engine's own loop, or complete_any's layer)."""

    name = "scripted"
    default_model = "scripted-model"

    def __init__(self, answers: list[Message]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.callers: list[str] = []

    async def _answer(self, kwargs: dict[str, Any]) -> tuple[Message, UsageStats]:
        frame = inspect.currentframe()
        caller = frame.f_back.f_back if frame and frame.f_back else None
        self.callers.append(caller.f_code.co_name if caller else "")
        # The history as it was at the call (the run's list grows after it).
        self.calls.append({**kwargs, "messages": list(kwargs["messages"])})
        return self.answers.pop(0), UsageStats.priced(
            model=kwargs["model"], provider=self.name, prompt_tokens=3, completion_tokens=2)


class Marked(_Answers):
    @exact_result
    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        return await self._answer(kwargs)


class Unmarked(_Answers):
    async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
        return await self._answer(kwargs)


def _script() -> list[Message]:
    return [Message(role=Role.ASSISTANT, content="",
                    tool_calls=[ToolCall("add", {"a": 1, "b": 2}, "c1"),
                                ToolCall("add", {"a": 3, "b": 4}, "c2")]),
            Message(role=Role.ASSISTANT, content="3 and 7")]


def _run(provider: _Answers, config: AgentConfig) -> Any:
    return Agent(tools=[add], provider=cast(Any, provider), config=config).run("add them")


def test_exact_acomplete_is_the_marked_method_alone() -> None:
    marked = Marked([])
    assert exact_acomplete(marked) == marked.acomplete
    assert exact_acomplete(Unmarked([])) is None
    assert exact_acomplete(object()) is None
    marked.acomplete = Unmarked([]).acomplete  # type: ignore[method-assign]
    assert exact_acomplete(marked) is None  # (set on the instance: not the class's)


@settings(max_examples=40, deadline=None)
@given(model=st.none() | st.sampled_from(["m-1", "gpt-4o", "a/b"]),
       temperature=st.none() | st.floats(0, 2),
       max_tokens=st.integers(1, 4000),
       request_timeout=st.none() | st.floats(1, 1000),
       system_prompt=st.none() | st.text("abc xyz", min_size=1, max_size=20))
def test_a_direct_call_gets_the_keywords_the_general_path_gives(
        model: str | None, temperature: float | None, max_tokens: int,
        request_timeout: float | None, system_prompt: str | None) -> None:
    def config() -> AgentConfig:
        return AgentConfig(model=model, temperature=temperature, max_tokens=max_tokens,
                           request_timeout=request_timeout, system_prompt=system_prompt)

    direct, general = Marked(_script()), Unmarked(_script())
    first, second = _run(direct, config()), _run(general, config())
    assert direct.callers == ["run_agent", "run_agent"]  # the short path was taken
    assert general.callers == ["_complete_any", "_complete_any"]
    assert direct.calls == general.calls
    assert first.content == second.content == "3 and 7"
    assert first.usage.total_tokens == second.usage.total_tokens == 10


def test_a_run_with_a_time_limit_caps_the_direct_call_as_the_general_one() -> None:
    config = AgentConfig(request_timeout=500.0, run_timeout=30.0)
    direct, general = Marked(_script()), Unmarked(_script())
    _run(direct, config)
    _run(general, config)
    # (awaited under the run's deadline: not through complete_any's layer)
    assert "_complete_any" not in direct.callers
    assert general.callers == ["_complete_any", "_complete_any"]
    for mine, theirs in zip(direct.calls, general.calls, strict=True):
        assert set(mine) == set(theirs)
        assert 29.0 < mine["timeout"] <= 30.0 and 29.0 < theirs["timeout"] <= 30.0
        assert {k: v for k, v in mine.items() if k != "timeout"} == {
            k: v for k, v in theirs.items() if k != "timeout"}


def test_a_run_with_an_option_beyond_the_protocol_takes_the_general_path() -> None:
    class Reasoning(Marked):
        call_options = frozenset({"reasoning"})

    provider = Reasoning(_script())
    _run(provider, AgentConfig(reasoning="low"))
    # (request()'s keywords, the option with them: the direct call has none)
    assert [call.get("reasoning") for call in provider.calls] == ["low", "low"]


@settings(max_examples=20, deadline=None)
@given(observed=st.booleans(), max_retries=st.none() | st.integers(0, 3))
def test_the_agent_provider_is_taken_as_provider_for_run_would_give_it(
        observed: bool, max_retries: int | None) -> None:
    class Observer:
        def on_run_start(self, *args: Any) -> None:
            pass

    provider = Marked(_script())
    agent = Agent(tools=[add], provider=cast(Any, provider), config=AgentConfig(
        observers=[Observer()] if observed else [], max_retries=max_retries))
    setup = agent._setup
    assert (setup.provider is None) == observed
    if setup.provider is not None and max_retries is None:
        assert setup.provider is setup.provider_for_run("run-id")
    assert agent.run("add them").content == "3 and 7"
    assert provider.callers == ["run_agent", "run_agent"]
