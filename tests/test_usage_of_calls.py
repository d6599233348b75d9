"""AgentUsage.of_calls, the run's usage made once from its calls, held to add per call."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from selectools.usage import AgentUsage, UsageStats

_costs = st.one_of(st.none(), st.just(0.0), st.integers(0, 10),
                   st.floats(0, 1e3, allow_nan=False), st.floats(1e-9, 1e-3))
_stats = st.builds(UsageStats, st.integers(0, 10**7), st.integers(0, 10**7),
                   st.integers(0, 10**7), _costs, st.sampled_from(["", "gpt-4o", "m"]),
                   st.sampled_from(["", "openai"]), st.integers(0, 1000))


def _added(calls: list[UsageStats]) -> AgentUsage:
    usage = AgentUsage()
    for stats in calls:
        usage.add(stats)
    return usage


def _exactly(usage: AgentUsage) -> tuple[object, ...]:
    # (types too, and the float's bits: 0.1 + 0.2 is not 0.2 + 0.1's neighbour)
    values = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens,
              usage.cost_usd, usage.llm_calls, usage.keep_calls, usage.reasoning_tokens)
    return tuple((type(v), v.hex() if isinstance(v, float) else v) for v in values)


@given(st.lists(_stats, max_size=12))
def test_of_calls_equals_add_for_each_call_in_order(calls: list[UsageStats]) -> None:
    made, added = AgentUsage.of_calls(list(calls)), _added(calls)
    assert _exactly(made) == _exactly(added)
    assert made == added and repr(made) == repr(added) and made.to_dict() == added.to_dict()
    assert made.calls == added.calls == calls


@given(st.lists(st.lists(_stats, max_size=5), max_size=5), st.booleans())
def test_merging_runs_made_of_calls_equals_merging_runs_added(
        runs: list[list[UsageStats]], keep_calls: bool) -> None:
    made, added = AgentUsage(keep_calls=keep_calls), AgentUsage(keep_calls=keep_calls)
    for calls in runs:
        made.merge(AgentUsage.of_calls(list(calls)))
        added.merge(_added(calls))
        assert _exactly(made) == _exactly(added) and made == added


def test_the_costs_fold_in_adds_order_not_sums() -> None:
    # sum() compensates since 3.12 (fsum's answer here); add, and of_calls, do not
    calls = [UsageStats(cost_usd=c) for c in (1e16, 1.0, -1e16)]
    assert AgentUsage.of_calls(calls).cost_usd == _added(calls).cost_usd == 0.0
    assert math.fsum(c.cost_usd or 0.0 for c in calls) == 1.0


def test_a_run_holds_its_calls_list_and_adds_go_on_as_before() -> None:
    calls = [UsageStats(3, 4, model="m")]
    usage = AgentUsage.of_calls(calls)
    assert usage.calls is calls
    usage.add(UsageStats(1, 1))
    assert (usage.total_tokens, usage.llm_calls, len(calls)) == (9, 2, 2)


class _Counted(AgentUsage):
    def add(self, stats: UsageStats) -> None:
        super().add(stats)
        self.llm_calls += 100


def test_a_subclass_gets_its_own_add_per_call() -> None:
    usage = _Counted.of_calls([UsageStats(1, 2), UsageStats(3, 4)])
    assert type(usage) is _Counted and usage.llm_calls == 202 and usage.total_tokens == 10
