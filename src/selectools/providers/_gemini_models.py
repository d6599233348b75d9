"""What each Gemini model takes, read from its name: thinking settings, JSON output beside
function declarations, signed calls (the rules `gemini.py` applies per request)."""

from __future__ import annotations

import re
from typing import Any

#: A model's version from its name: `gemini-2.5-flash` is (2, 5), `gemini-3-pro` (3, none).
_VERSION = re.compile(r"^gemini-(\d+)(?:\.(\d+))?")
#: The thinking budget of an effort on a model whose only setting is a budget (Gemini 2.5:
#: 2.5 Flash takes up to 24576, 2.5 Pro up to 32768).
EFFORT_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}


def thinking_config(reasoning: str | int, model: str) -> dict[str, Any]:
    """`thinkingConfig` for `AgentConfig.reasoning`, always with `includeThoughts` (so the
    thought summaries stream): a token budget as `thinkingBudget` (Gemini 3 still takes
    one); an effort as Gemini 3's `thinkingLevel` ("low", "medium", "high"), and on earlier
    models (2.5, whose only setting is a budget) as the budget of `EFFORT_BUDGETS`."""
    if type(reasoning) is int:
        if reasoning < 1:  # (added to maxOutputTokens: a negative one would cut the answer)
            raise ValueError(f"a reasoning budget must be a positive number of tokens, got "
                             f"{reasoning}")
        return {"thinkingBudget": reasoning, "includeThoughts": True}
    if reasoning not in EFFORT_BUDGETS:
        raise ValueError(f"reasoning must be one of {sorted(EFFORT_BUDGETS)} or a token budget "
                         f"(an int), got {reasoning!r}")
    if is_gemini_3(model):
        return {"thinkingLevel": reasoning, "includeThoughts": True}
    return {"thinkingBudget": EFFORT_BUDGETS[reasoning], "includeThoughts": True}



def takes_thinking(model: str) -> bool:
    """Whether `model` takes `thinkingConfig`: Gemini 2.5 and later, and names this module
    does not know; Gemini 2.0 and 1.x answer 400 ("thinking_config is not supported"), so
    they are sent none (the setting may be meant for another provider of a chain)."""
    match = _VERSION.match(model.rsplit("/", 1)[-1])
    return match is None or (int(match[1]), int(match[2] or 0)) >= (2, 5)


def json_output_with_tools(model: str) -> bool:
    """Whether `model` takes `responseJsonSchema` together with function declarations:
    Gemini 3 does; Gemini 2.5 refuses the pair with a 400 ("Function calling with a response
    mime type: 'application/json' is unsupported"), so there the answer's schema goes into
    the system prompt instead (and is validated as on every provider)."""
    return is_gemini_3(model)


def is_gemini_3(model: str) -> bool:
    """Whether `model` is Gemini 3 or later: thinking levels, JSON output with tools, and
    a replayed model turn refused when its function calls carry no signature."""
    match = _VERSION.match(model.rsplit("/", 1)[-1])
    return match is not None and int(match[1]) >= 3
