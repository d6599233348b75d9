"""UsageStats and AgentUsage: their fields, the totals, the dict form."""

from __future__ import annotations

import dataclasses
import inspect

from selectools.usage import AgentUsage, UsageStats, cost_usd


def test_usage_stats_takes_its_fields_by_name_or_in_order_with_their_defaults() -> None:
    parameters = list(inspect.signature(UsageStats).parameters.values())
    assert [(p.name, p.default) for p in parameters] == [
        (f.name, f.default) for f in dataclasses.fields(UsageStats)]
    assert UsageStats(3, 4, 0, None, "m", "p", 1) == UsageStats(
        prompt_tokens=3, completion_tokens=4, total_tokens=7, model="m", provider="p",
        reasoning_tokens=1)


def test_a_total_not_reported_is_the_sum_and_one_reported_is_kept() -> None:
    assert UsageStats(3, 4).total_tokens == 7
    assert UsageStats(3, 4, 10).total_tokens == 10  # (cached prompt tokens, say)
    assert UsageStats().total_tokens == 0
    stats = UsageStats.priced(model="gpt-4o-mini", provider="openai", prompt_tokens=1000,
                              completion_tokens=500)
    assert stats.total_tokens == 1500 and stats.cost_usd == (1000 * 0.15 + 500 * 0.60) / 1e6
    assert UsageStats.from_dict(stats.to_dict()) == stats
    assert dataclasses.replace(stats, completion_tokens=0).total_tokens == 1500


def test_a_runs_usage_adds_each_call_and_an_agents_keeps_the_sums() -> None:
    run = AgentUsage()
    run.add(UsageStats(3, 4, model="m"))
    run.add(UsageStats(5, 6, model="m", reasoning_tokens=2))
    assert (run.prompt_tokens, run.completion_tokens, run.total_tokens, run.llm_calls,
            run.reasoning_tokens, run.cost_usd) == (8, 10, 18, 2, 2, 0.0)
    lifetime = AgentUsage(keep_calls=False)
    lifetime.merge(run)
    assert lifetime.total_tokens == 18 and lifetime.calls == [] and len(run.calls) == 2
    assert AgentUsage.from_dict(run.to_dict()) == run


def test_a_dataclass_subclass_of_usage_stats_gets_its_total() -> None:
    @dataclasses.dataclass
    class Cached(UsageStats):
        cached_tokens: int = 0

    assert Cached(3, 4, cached_tokens=2).total_tokens == 7


def test_a_plain_subclass_of_usage_stats_has_its_own_post_init_called() -> None:
    class Audited(UsageStats):
        def __post_init__(self) -> None:
            self.reported = self.total_tokens  # before the total is made: as given
            super().__post_init__()

    audited = Audited(3, 4)
    assert audited.reported == 0 and audited.total_tokens == 7
    assert Audited(3, 4, 10).total_tokens == 10


def test_priced_stats_are_those_init_makes_and_a_subclass_gets_its_own_init() -> None:
    # (priced stores the fields itself for UsageStats: held to the general path here)
    for model, prompt, completion, reasoning in [("gpt-4o-mini", 1000, 500, 0),
                                                 ("local-model", 0, 0, 0),
                                                 ("o3", 7, 11, 5)]:
        priced = UsageStats.priced(model=model, provider="p", prompt_tokens=prompt,
                                   completion_tokens=completion, reasoning_tokens=reasoning)
        made = UsageStats(prompt, completion, 0, cost_usd(model, prompt, completion), model,
                          "p", reasoning)
        assert type(priced) is UsageStats and priced == made
        assert [getattr(priced, f.name) for f in dataclasses.fields(UsageStats)] == [
            getattr(made, f.name) for f in dataclasses.fields(UsageStats)]
        assert repr(priced) == repr(made)

    class Audited(UsageStats):
        def __post_init__(self) -> None:
            self.reported = True
            super().__post_init__()

    audited = Audited.priced(model="o3", provider="p", prompt_tokens=2, completion_tokens=3)
    assert type(audited) is Audited and audited.reported and audited.total_tokens == 5
