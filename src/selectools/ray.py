"""A batch over a Ray cluster: `ray_batch(agent_factory, inputs, num_actors=...)`.

The `ray` extra (`pip install 'selectools[ray]'`); `import selectools` never imports this.

Each of `num_actors` async Ray actors builds one Agent from `agent_factory` (Agents are not
sent over the wire: their providers hold connection pools) and runs up to
`concurrency_per_actor` inputs at once, under its own adaptive limit (a 429 slows that actor
down and fails nothing: see selectools.batch). The driver hands each actor inputs as it
frees slots and receives every result as it finishes (`on_result`, `on_progress`), so
progress is live.

An actor that dies (killed, its node lost) loses nothing: its unfinished inputs go back to
the queue and run on the other actors, and a replacement actor is started while the restart
budget lasts. Each input's result is reported exactly once; an input that was running on
the dead actor may have reached the model twice (its first run's answer died with it).
An input that was running on `MAX_DEATHS_PER_INPUT` actors that died fails with the last
death: an input that kills its actor (a tool that crashes the process, runs it out of
memory) would else go from actor to actor until none is left, taking the batch with it.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayActorError

from .batch import (
    DEFAULT_CONCURRENCY,
    AdaptiveLimit,
    BatchResult,
    OnProgress,
    OnResult,
    Progress,
    check_agent,
    check_concurrency,
    checked_inputs,
    input_runner,
    results_in_order,
    run_item,
)

if TYPE_CHECKING:
    from .agent.core import Agent, Messages
    from .output import ResponseFormat

log = logging.getLogger("selectools.ray")

#: The prefix of every batch actor's name (`ray.util.list_named_actors()` shows them).
ACTOR_PREFIX = "selectools-batch-"

AgentFactory = Callable[[], "Agent"] | str

#: How many of an input's actors may die under it before it fails (see the module's doc).
MAX_DEATHS_PER_INPUT = 2

#: What a call to a dead (or, for all we know, dying) actor raises: its input runs again.
ACTOR_LOST: tuple[type[BaseException], ...] = (RayActorError,)
try:  # newer Ray: an actor that may come back; the calls it had in flight are lost anyway
    from ray.exceptions import ActorUnavailableError
except ImportError:  # pragma: no cover
    pass
else:
    ACTOR_LOST += (ActorUnavailableError,)


def build_agent(factory: AgentFactory) -> Agent:
    """The Agent `factory` makes: a callable, or `"module:attribute"` naming an Agent or a
    callable returning one (imported where the actor runs)."""
    from .agent.core import Agent

    made: Any
    if isinstance(factory, str):
        module_name, _, attribute = factory.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"agent factory {factory!r}: expected module:attribute")
        made = importlib.import_module(module_name)
        for part in attribute.split("."):
            made = getattr(made, part)
        if not isinstance(made, Agent) and callable(made):
            made = made()
    else:
        made = factory()
    if not isinstance(made, Agent):
        raise TypeError(f"the agent factory must give an Agent, got {type(made).__name__}")
    check_agent(made)
    return made


class BatchActor:
    """One Agent, many inputs at once (an async actor: its runs share its event loop)."""

    def __init__(self, factory: AgentFactory, concurrency: int,
                 response_format: ResponseFormat | None) -> None:
        self._agent = build_agent(factory)
        self._gate = AdaptiveLimit(concurrency)
        self._run = input_runner(self._agent, response_format)

    async def run(self, index: int, item: Messages) -> BatchResult:
        outcome = await run_item(self._run, index, item, self._gate)
        return _portable(outcome)

    def ready(self) -> bool:
        return True


_RemoteActor: Any = ray.remote(BatchActor)


@dataclass
class _Slot:
    """An actor and the inputs it is running."""

    name: str
    handle: Any
    running: set[int]
    alive: bool = True


def ray_batch(agent_factory: AgentFactory, inputs: Iterable[Messages], *,
              num_actors: int = 2, concurrency_per_actor: int = DEFAULT_CONCURRENCY,
              response_format: ResponseFormat | None = None,
              on_progress: OnProgress | None = None, on_result: OnResult | None = None,
              max_actor_restarts: int | None = None,
              actor_options: dict[str, Any] | None = None,
              address: str | None = None, keep_results: bool = True) -> list[BatchResult]:
    """Run every input on a Ray cluster; a `BatchResult` per input, in input order, as
    `selectools.batch.abatch` gives them.

    `agent_factory` is a picklable callable returning an Agent (a module-level function,
    say) or `"module:attribute"` (an Agent or a function returning one), importable on the
    cluster's workers. The cluster is the one `ray.init` already joined, else
    `ray.init(address=address)` (None: a local one). `max_actor_restarts` (default
    `num_actors`) bounds the replacements started for dead actors; when every actor is dead
    and none may be started, a RuntimeError says so (the results reported until then were
    handed to `on_result`). `actor_options` go to each actor's `.options()` (num_cpus,
    resources, runtime_env, ...). The callbacks run on the driver, as results arrive; an
    exception from `on_result` ends the batch, one from `on_progress` is logged once.
    `keep_results=False` holds no result once `on_result` has had it and returns [].
    """
    items = checked_inputs(inputs)
    check_concurrency("num_actors", num_actors)
    check_concurrency("concurrency_per_actor", concurrency_per_actor)
    restarts_left = num_actors if max_actor_restarts is None else max_actor_restarts
    if isinstance(restarts_left, bool) or not isinstance(restarts_left, int) \
            or restarts_left < 0:
        raise ValueError(f"max_actor_restarts must be an int >= 0, got {max_actor_restarts!r}")
    if not keep_results and on_result is None:
        raise ValueError("keep_results=False needs on_result: the results would go nowhere")
    if not isinstance(agent_factory, str) and not callable(agent_factory):
        raise TypeError(f"agent_factory must be a callable returning an Agent or "
                        f"'module:attribute', got {type(agent_factory).__name__}")
    if response_format is not None:  # refused here, as abatch does, not in each actor
        from .agent.core import _output

        _output(response_format)
    total = len(items)
    if not total:
        return []
    if not ray.is_initialized():
        ray.init(address=address)
    batch_id = uuid.uuid4().hex[:8]
    options = {"max_concurrency": concurrency_per_actor, **(actor_options or {})}
    started = 0

    def start_actor() -> _Slot:
        nonlocal started
        name = f"{ACTOR_PREFIX}{batch_id}-{started}"
        started += 1
        handle = _RemoteActor.options(name=name, **options).remote(
            agent_factory, concurrency_per_actor, response_format)
        return _Slot(name, handle, set())

    results: list[BatchResult | None] = [None] * total
    reported = bytearray(total)  # 1 once an input's result was handed over
    deaths = bytearray(total)  # how many actors died while running each input
    queue = deque(range(total))
    in_flight: dict[Any, tuple[_Slot, int]] = {}
    progress = Progress(on_progress, total)
    slots = [start_actor() for _ in range(min(num_actors, total))]
    last_death: BaseException | None = None
    try:
        while queue or in_flight:
            for slot in slots:
                while slot.alive and queue and len(slot.running) < concurrency_per_actor:
                    index = queue.popleft()
                    in_flight[slot.handle.run.remote(index, items[index])] = (slot, index)
                    slot.running.add(index)
            if not in_flight:
                raise RuntimeError(f"every batch actor died and no restart is left; "
                                   f"{len(queue)} inputs did not run (last: {last_death})")
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                slot, index = in_flight.pop(ref)
                slot.running.discard(index)
                outcome: BatchResult | None
                try:
                    outcome = ray.get(ref)
                except ACTOR_LOST as death:
                    # (An actor whose agent factory failed died of no input: the batch
                    # ends when no restart is left, with the RuntimeError below.)
                    if not getattr(death, "actor_init_failed", False):
                        deaths[index] += 1
                    outcome = None
                    if deaths[index] < MAX_DEATHS_PER_INPUT:
                        queue.appendleft(index)  # runs again elsewhere; reported only then
                    else:
                        log.warning("input %d was running on %d batch actors that died: it "
                                    "fails (%s)", index, deaths[index], death)
                        outcome = BatchResult(index, items[index], error=death)
                    if slot.alive:
                        slot.alive, last_death = False, death
                        log.warning("batch actor %s died (%s); its %d unfinished inputs "
                                    "run again elsewhere", slot.name, death,
                                    len(slot.running) + 1)
                        _kill(slot)
                        if restarts_left > 0:
                            restarts_left -= 1
                            slots.append(start_actor())
                    if outcome is None:
                        continue
                if reported[index]:  # pragma: no cover - one call per input at a time
                    continue
                reported[index] = 1
                if keep_results:
                    results[index] = outcome
                if on_result is not None:
                    on_result(outcome)
                progress.step()
            slots = [slot for slot in slots if slot.alive or slot.running]
    finally:
        for slot in slots:
            _kill(slot)
    return results_in_order(results) if keep_results else []


def _kill(slot: _Slot) -> None:
    try:
        ray.kill(slot.handle, no_restart=True)
    except Exception:  # already gone: nothing to stop
        pass


def _portable(outcome: BatchResult) -> BatchResult:
    """`outcome` as it can travel to the driver: an error that does not pickle (one made
    by a user's tool, say) travels as a RuntimeError with its type and message."""
    if outcome.error is None:
        return outcome
    try:
        pickle.loads(pickle.dumps(outcome.error))
    except Exception:
        error = RuntimeError(f"{type(outcome.error).__name__}: {outcome.error}")
        return replace(outcome, error=error)
    return outcome
