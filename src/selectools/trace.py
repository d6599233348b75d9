"""A run's trace: what the agent did, step by step, for inspection and logging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: "tool_calls_dropped": calls of a turn that ended the run (cut by max_tokens, filtered,
#: failed), which were not run. "structured_retry": a final answer that was not of the typed
#: output's shape, sent back to the model with its problems.
StepType = Literal["llm_call", "tool_selection", "tool_execution", "tool_calls_dropped",
                   "structured_retry", "approval_required", "approval_decisions", "error"]


@dataclass
class TraceStep:
    type: StepType
    iteration: int
    duration_ms: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentTrace:
    run_id: str = ""
    steps: list[TraceStep] = field(default_factory=list)

    def add(self, step: TraceStep) -> None:
        self.steps.append(step)

    def of_type(self, step_type: StepType) -> list[TraceStep]:
        return [s for s in self.steps if s.type == step_type]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "steps": [asdict(s) for s in self.steps]}

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)
