"""`UsageStats.priced` computes the cost itself (without a call of `cost_usd`): held to
`cost_usd` for any model name, priced or not, and any counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from selectools.usage import PRICES_PER_MILLION, UsageStats, cost_usd

models = st.sampled_from(sorted(PRICES_PER_MILLION)) | st.text(max_size=12) | st.builds(
    "{}/{}-x".format, st.text(max_size=4), st.sampled_from(sorted(PRICES_PER_MILLION)))
counts = st.integers(min_value=0, max_value=10**9)


@given(models, counts, counts)
def test_priced_costs_what_cost_usd_says(model: str, prompt: int, completion: int) -> None:
    stats = UsageStats.priced(model=model, provider="p", prompt_tokens=prompt,
                              completion_tokens=completion)
    assert stats.cost_usd == cost_usd(model, prompt, completion)
    assert type(stats.cost_usd) is type(cost_usd(model, prompt, completion))
