"""Token counts and cost, per model call and summed over an agent's runs."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from operator import add as _add
from operator import attrgetter
from typing import Any

from ._dataclass import DataclassMethods
from ._dataclass import new_object as _new_object

# USD per million tokens (input, output), list prices of late 2026 for common models.
# Keys are matched as prefixes of the model name, longest first, so dated snapshots
# ("gpt-4o-2024-08-06") find their family.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-pro": (1.25, 10.00),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-3-pro-preview": (2.00, 12.00),
}
_PREFIXES = sorted(PRICES_PER_MILLION, key=len, reverse=True)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one call, or None when the model is not in the price table (local models).
    (Priced where every model call is: `UsageStats.priced`, the one formula.)"""
    return UsageStats.priced(model=model, provider="", prompt_tokens=prompt_tokens,
                             completion_tokens=completion_tokens).cost_usd


@functools.lru_cache(maxsize=512)
def _prices_of(model: str) -> tuple[float, float] | None:
    # Cached: the table is fixed at import (as `_PREFIXES` is) and a run asks per call.
    name = model.rsplit("/", 1)[-1]
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return PRICES_PER_MILLION[prefix]
    return None


# __init__ below (one per model call); repr and eq from DataclassMethods: none compiled
# at every import
@dataclass(slots=True, init=False, repr=False, eq=False)
class UsageStats(DataclassMethods):
    """Usage of one model call. `reasoning_tokens` are the part of `completion_tokens`
    the model spent reasoning, where the API reports them (billed as output)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    model: str = ""
    provider: str = ""
    reasoning_tokens: int = 0

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0,
                 total_tokens: int = 0, cost_usd: float | None = None, model: str = "",
                 provider: str = "", reasoning_tokens: int = 0) -> None:
        # (The dataclass's __init__ and its __post_init__ in one.)
        if type(self) is not UsageStats and \
                type(self).__post_init__ is not UsageStats.__post_init__:
            # A subclass with a __post_init__ of its own but no dataclass __init__: the
            # fields stored as given, then its __post_init__ called (as 1.x's dataclass
            # __init__ did), which totals them through ours.
            self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens
            self.total_tokens, self.cost_usd = total_tokens, cost_usd
            self.model, self.provider = model, provider
            self.reasoning_tokens = reasoning_tokens
            self.__post_init__()
            return
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        # 0 (not reported): the sum of the two
        self.total_tokens = total_tokens or prompt_tokens + completion_tokens
        self.cost_usd = cost_usd
        self.model = model
        self.provider = provider
        self.reasoning_tokens = reasoning_tokens

    def __post_init__(self) -> None:
        """`__init__`'s total, for a subclass: a dataclass one's generated __init__ stores
        the fields and calls this (as selectools 1.x's UsageStats had one), and so does ours
        for a subclass with a __post_init__ of its own."""
        if not self.total_tokens:
            self.total_tokens = self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageStats:
        _check_mapping("UsageStats", data)
        return cls(**{name: data[name] for name in _USAGE_FIELDS if name in data})

    @classmethod
    def priced(cls, *, model: str, provider: str, prompt_tokens: int,
               completion_tokens: int, reasoning_tokens: int = 0) -> UsageStats:
        """A call's usage as a provider reports it, priced from the table."""
        if cls is not UsageStats:  # a subclass's own __init__ (or __post_init__) decides
            return cls(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens,
                       cost_usd(model, prompt_tokens, completion_tokens), model, provider,
                       reasoning_tokens)
        # Every model call makes one here: the fields stored straight, as __init__ would
        # store them (its one computation, the total, is given), without its call and its
        # check for a subclass. tests/test_usage.py holds the two equal.
        stats: UsageStats = _new_object(UsageStats)
        stats.prompt_tokens = prompt_tokens
        stats.completion_tokens = completion_tokens
        stats.total_tokens = prompt_tokens + completion_tokens
        # The one price formula (`cost_usd` takes its answer from here), written inline:
        # every model call comes this way.
        prices = _prices_of(model)
        stats.cost_usd = None if prices is None else \
            (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000
        stats.model = model
        stats.provider = provider
        stats.reasoning_tokens = reasoning_tokens
        return stats


# __init__ below, repr and eq from DataclassMethods: none compiled at every import
@dataclass(slots=True, init=False, repr=False, eq=False)
class AgentUsage(DataclassMethods):
    """Totals over many calls. A run's usage keeps each call's own stats in `calls`; an
    agent's lifetime totals keep only the sums (`keep_calls=False`), so a long-lived agent
    does not grow a list per model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    calls: list[UsageStats] = field(default_factory=list)
    keep_calls: bool = field(default=True, repr=False)
    reasoning_tokens: int = 0

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0,
                 total_tokens: int = 0, cost_usd: float = 0.0, llm_calls: int = 0,
                 calls: list[UsageStats] | None = None, keep_calls: bool = True,
                 reasoning_tokens: int = 0) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.total_tokens = total_tokens
        self.cost_usd = cost_usd
        self.llm_calls = llm_calls
        self.calls = [] if calls is None else calls  # (a new one each)
        self.keep_calls = keep_calls
        self.reasoning_tokens = reasoning_tokens

    @classmethod
    def of_calls(cls, calls: list[UsageStats]) -> AgentUsage:
        """`AgentUsage()` with `add(stats)` done for each of `calls`, in order, holding
        `calls` itself as its list (a run's, which adds no call after): the totals folded
        in C, a few opcodes however many calls, instead of add's per call (a run's model
        calls; tests/test_usage_of_calls.py holds the two equal).

        Each total is add's own left fold from 0, its falsy values skipped as add skips
        them, so a float sums in add's order (not `sum`'s, which since 3.12 compensates)."""
        if cls is not AgentUsage:  # a subclass's own __init__ and add decide
            usage = cls()
            for stats in calls:
                usage.add(stats)
            return usage
        usage = _new_object(AgentUsage)
        usage.prompt_tokens = _reduce(_add, map(_PROMPT, calls), 0)
        usage.completion_tokens = _reduce(_add, map(_COMPLETION, calls), 0)
        usage.total_tokens = _reduce(_add, map(_TOTAL, calls), 0)
        usage.cost_usd = _reduce(_add, filter(None, map(_COST, calls)), 0.0)
        usage.llm_calls = len(calls)
        usage.calls = calls
        usage.keep_calls = True
        usage.reasoning_tokens = _reduce(_add, filter(None, map(_REASONING, calls)), 0)
        return usage

    def add(self, stats: UsageStats) -> None:
        self.prompt_tokens += stats.prompt_tokens
        self.completion_tokens += stats.completion_tokens
        self.total_tokens += stats.total_tokens
        # (Most calls report no reasoning, and an unpriced model no cost: nothing to add,
        # and no new 0.0 float held per result.)
        if stats.reasoning_tokens:
            self.reasoning_tokens += stats.reasoning_tokens
        if stats.cost_usd:
            self.cost_usd += stats.cost_usd
        self.llm_calls += 1
        if self.keep_calls:
            self.calls.append(stats)

    def to_dict(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "cost_usd": self.cost_usd,
                "llm_calls": self.llm_calls, "calls": [call.to_dict() for call in self.calls],
                "keep_calls": self.keep_calls, "reasoning_tokens": self.reasoning_tokens}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentUsage:
        _check_mapping("AgentUsage", data)
        calls = data.get("calls") or []
        if not isinstance(calls, list):
            raise ValueError(f"AgentUsage.from_dict: 'calls' must be a list, got "
                             f"{type(calls).__name__}")
        return cls(prompt_tokens=data.get("prompt_tokens", 0),
                   completion_tokens=data.get("completion_tokens", 0),
                   total_tokens=data.get("total_tokens", 0),
                   cost_usd=data.get("cost_usd", 0.0), llm_calls=data.get("llm_calls", 0),
                   calls=[UsageStats.from_dict(call) for call in calls],
                   keep_calls=data.get("keep_calls", True),
                   reasoning_tokens=data.get("reasoning_tokens", 0))

    def merge(self, other: AgentUsage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        if other.reasoning_tokens:  # (as in add)
            self.reasoning_tokens += other.reasoning_tokens
        if other.cost_usd:
            self.cost_usd += other.cost_usd
        self.llm_calls += other.llm_calls
        if self.keep_calls:
            self.calls.extend(other.calls)


_USAGE_FIELDS = tuple(f.name for f in fields(UsageStats))
_reduce = functools.reduce
_PROMPT = attrgetter("prompt_tokens")
_COMPLETION = attrgetter("completion_tokens")
_TOTAL = attrgetter("total_tokens")
_COST = attrgetter("cost_usd")
_REASONING = attrgetter("reasoning_tokens")


def _check_mapping(kind: str, data: object) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(f"{kind}.from_dict needs a dict, got {type(data).__name__}")
