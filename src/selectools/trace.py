"""A run's trace: what the agent did, step by step, for inspection and logging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

#: "tool_calls_dropped": calls of a turn that ended the run (cut by max_tokens, filtered,
#: failed), which were not run. "structured_retry": a final answer that was not of the typed
#: output's shape, sent back to the model with its problems.
StepType = Literal["llm_call", "tool_selection", "tool_execution", "tool_calls_dropped",
                   "structured_retry", "approval_required", "approval_decisions", "error"]


class TraceStep:
    """One step of a run: its type, iteration, duration and `data` (a dict of what the
    step is about: for "llm_call" the model, provider, tool call count, stop reason and
    token counts; for "tool_execution" the tool, call id, arguments, result and error).

    The engine's own steps keep the values they are made of and build `data` from them
    when it is first read (then keep that dict): most traces are never read, and a held
    result's trace was most of its memory (a dict per step, a dict per selected call).
    """

    __slots__ = ("type", "iteration", "duration_ms", "_data", "_build", "_values")
    __match_args__ = ("type", "iteration", "duration_ms", "data")

    type: StepType
    iteration: int
    duration_ms: float

    def __init__(self, type: StepType, iteration: int, duration_ms: float = 0.0,  # noqa: A002
                 data: dict[str, Any] | None = None) -> None:
        self.type = type
        self.iteration = iteration
        self.duration_ms = duration_ms
        self._data: dict[str, Any] = {} if data is None else data
        #: Until `data` is first read: it is _build(*_values).
        self._build: Callable[..., dict[str, Any]] | None = None
        self._values: tuple[Any, ...] = ()

    @classmethod
    def deferred(cls, type: StepType, iteration: int, duration_ms: float,  # noqa: A002
                 build: Callable[..., dict[str, Any]], *values: Any) -> TraceStep:
        """A step whose `data` is `build(*values)`, made only if it is read."""
        step = cls.__new__(cls)  # not __init__: no empty dict made to be replaced
        step.type, step.iteration, step.duration_ms = type, iteration, duration_ms
        step._build, step._values = build, values
        return step

    @property
    def data(self) -> dict[str, Any]:
        if self._build is not None:  # (`_data` is unset until then)
            self._data = self._build(*self._values)
            self._build, self._values = None, ()
        return self._data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data, self._build, self._values = value, None, ()

    def to_dict(self) -> dict[str, Any]:
        import copy

        return {"type": self.type, "iteration": self.iteration,
                "duration_ms": self.duration_ms, "data": copy.deepcopy(self.data)}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, TraceStep)
        return (self.type, self.iteration, self.duration_ms, self.data) == (
            other.type, other.iteration, other.duration_ms, other.data)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass is

    def __repr__(self) -> str:
        return (f"TraceStep(type={self.type!r}, iteration={self.iteration!r}, "
                f"duration_ms={self.duration_ms!r}, data={self.data!r})")


class AgentTrace:
    """A run's steps, in order (`steps`), and the run's id.

    The engine records its steps with `record`, each as the values it is made of, one
    after the other in one flat list (each record's length, then its values); they
    become TraceStep objects when `steps` is first read (then `steps` is a plain list of
    them, kept): most traces are never read, and a held result's trace was most of its
    memory (issue 18: an object and a dict per step, then a tuple per step).
    """

    __slots__ = ("run_id", "_steps", "_private")
    __match_args__ = ("run_id", "steps")

    def __init__(self, run_id: str = "", steps: list[TraceStep] | None = None) -> None:
        self.run_id = run_id
        #: The steps; while `_private`, the records: a record's length (an int) followed by
        #: its values, or a TraceStep added as one.
        self._steps: list[Any] = [] if steps is None else steps
        #: Whether `_steps` is this trace's own list, never handed out: only then may it
        #: hold records (see `record`).
        self._private = steps is None

    def record(self, step: tuple[Any, ...]) -> None:
        """Add a step made only when `steps` is first read: `step` is (type, iteration,
        duration_ms, build, *values), the step `TraceStep.deferred(*step)`; or (make,
        *values), the steps `make(*values)` yields (several steps of one turn from one
        record: each record costs its length and the first values of its steps)."""
        if self._private:  # (one extend of its length and values: fewer opcodes than two)
            self._steps.extend((len(step), *step))
        else:
            self._steps.extend(_steps_of(step))

    def trim(self) -> None:
        """Give back the room the records' list grew into, for a trace held after its run
        ended (a batch holds thousands): about a tenth of it. Steps recorded after still
        come in order."""
        if self._private:  # (a list handed out stays the list its holder has)
            self._steps = self._steps.copy()

    @property
    def steps(self) -> list[TraceStep]:
        if self._private:
            self._steps = list(_made(self._steps))
            self._private = False
        return self._steps

    @steps.setter
    def steps(self, value: list[TraceStep]) -> None:
        self._steps, self._private = value, False

    def add(self, step: TraceStep) -> None:
        self._steps.append(step)

    def of_type(self, step_type: StepType) -> list[TraceStep]:
        return [s for s in self.steps if s.type == step_type]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "steps": [s.to_dict() for s in self.steps]}

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)  # (made once and kept, as any reading of the steps does)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, AgentTrace)
        return (self.run_id, self.steps) == (other.run_id, other.steps)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass is

    def __repr__(self) -> str:
        return f"AgentTrace(run_id={self.run_id!r}, steps={self.steps!r})"


def _made(records: list[Any]) -> Iterator[TraceStep]:
    """The steps of a private trace's `records` (see AgentTrace), in order."""
    index, end = 0, len(records)
    while index < end:
        item = records[index]
        if type(item) is int:  # a record: its length, then its values
            yield from _steps_of(records[index + 1:index + 1 + item])
            index += 1 + item
        else:  # a TraceStep added as it was (or a record as one tuple, as pickled before)
            if type(item) is tuple:
                yield from _steps_of(item)
            else:
                yield item
            index += 1


def _steps_of(record: Sequence[Any]) -> Iterable[TraceStep]:
    """The steps of one record (see AgentTrace.record): one step named by its type, or
    those its first value makes of the others."""
    first = record[0]
    if type(first) is str:
        return (TraceStep.deferred(*record),)
    made: Iterable[TraceStep] = first(*record[1:])
    return made
