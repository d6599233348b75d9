"""The connection slots a call waits for before its time limit starts (`_http.Slots`):
at most `size` calls hold one, the others get theirs in the order their runs began (calls
outside a run, and a run's own calls, in the order they asked), and a call cancelled
while it waits holds none and blocks nobody, even when it had just been handed one."""

from __future__ import annotations

import asyncio
import time

import pytest

from selectools._seniority import RUN_STARTED
from selectools.providers._http import Slots


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_free_slots_are_taken_at_once_and_given_back() -> None:
    slots = Slots(2)
    await slots.take()
    await slots.take()
    assert slots.free == 0
    slots.give()
    slots.give()
    assert slots.free == 2


async def test_waiting_calls_get_their_slots_in_the_order_they_asked() -> None:
    slots = Slots(1)
    await slots.take()
    order: list[int] = []

    async def call(number: int) -> None:
        await slots.take()
        order.append(number)

    tasks = [asyncio.create_task(call(number)) for number in range(4)]
    await _settle()
    assert order == [] and slots.free == 0
    for expected in range(4):
        slots.give()
        await _settle()
        assert order == list(range(expected + 1))
    await asyncio.gather(*tasks)
    slots.give()
    assert slots.free == 1


async def test_a_slot_given_back_is_not_taken_by_a_newcomer_ahead_of_a_waiting_call() -> None:
    slots = Slots(1)
    await slots.take()
    waiting = asyncio.create_task(slots.take())
    await _settle()
    slots.give()  # handed to the waiting call, not made free
    assert slots.free == 0
    newcomer = asyncio.create_task(slots.take())
    await _settle()
    assert waiting.done() and not newcomer.done()
    slots.give()
    await asyncio.wait_for(newcomer, 1)


async def test_a_call_cancelled_while_waiting_holds_no_slot_and_blocks_nobody() -> None:
    slots = Slots(1)
    await slots.take()
    cancelled = asyncio.create_task(slots.take())
    await _settle()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slots.give()
    assert slots.free == 1
    await asyncio.wait_for(slots.take(), 1)  # free again: taken at once, no hang


async def test_a_call_cancelled_just_after_it_was_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    await slots.take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await _settle()
    slots.give()  # handed to `first`, which has not resumed yet...
    first.cancel()  # ...and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the slot went on to the next call
    slots.give()
    assert slots.free == 1


async def test_a_cancelled_waiter_passed_over_by_give_is_not_counted() -> None:
    slots = Slots(1)
    await slots.take()
    gone = asyncio.create_task(slots.take())
    await _settle()
    gone.cancel()
    slots.give()  # before `gone` has run its cancellation: passed over, the slot is free
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert slots.free == 1
    await asyncio.wait_for(slots.take(), 1)
    assert slots.free == 0


async def test_many_calls_never_hold_more_than_the_size() -> None:
    slots = Slots(3)
    holding = most = 0

    async def call(pause: float) -> None:
        nonlocal holding, most
        await slots.take()
        try:
            holding += 1
            most = max(most, holding)
            await asyncio.sleep(pause)
        finally:
            holding -= 1
            slots.give()

    tasks = [asyncio.create_task(call(0.001 * (number % 3))) for number in range(40)]
    await asyncio.sleep(0.002)
    for task in tasks[::5]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert most == 3 and holding == 0 and slots.free == 3


async def test_a_call_of_a_run_that_began_earlier_goes_first_though_it_asked_later() -> None:
    """A run's second call overtakes the first calls of runs that began after it (the run
    under way finishes first), never those of runs that began before it."""
    slots = Slots(1)
    await slots.take()
    began = time.monotonic()
    order: list[str] = []

    async def call(name: str, run_started: float) -> None:
        RUN_STARTED.set(run_started)  # (this task's own context: as a run sets it)
        await slots.take()
        order.append(name)
        slots.give()

    tasks = [asyncio.create_task(call("younger run", began + 2))]
    await _settle()
    tasks.append(asyncio.create_task(call("older run", began + 1)))
    await _settle()
    tasks.append(asyncio.create_task(call("oldest run", began)))
    await _settle()
    slots.give()
    await asyncio.gather(*tasks)
    assert order == ["oldest run", "older run", "younger run"]
    assert slots.free == 1 and not slots.waiting


async def test_a_call_outside_any_run_counts_from_when_it_asked() -> None:
    slots = Slots(1)
    await slots.take()
    order: list[str] = []

    async def call(name: str, run_started: float | None) -> None:
        if run_started is not None:
            RUN_STARTED.set(run_started)
        await slots.take()
        order.append(name)
        slots.give()

    before = time.monotonic()
    tasks = [asyncio.create_task(call("no run", None))]
    await _settle()
    tasks += [asyncio.create_task(call("run begun after it", time.monotonic() + 60)),
              asyncio.create_task(call("run begun before it", before - 1))]
    await _settle()
    slots.give()
    await asyncio.gather(*tasks)
    assert order == ["run begun before it", "no run", "run begun after it"]


async def test_calls_of_one_run_wait_in_the_order_they_asked() -> None:
    slots = Slots(1)
    await slots.take()
    RUN_STARTED.set(time.monotonic())  # copied into each task below: one run's calls
    order: list[int] = []

    async def call(number: int) -> None:
        await slots.take()
        order.append(number)
        slots.give()

    tasks = []
    for number in range(5):
        tasks.append(asyncio.create_task(call(number)))
        await _settle()
    slots.give()
    await asyncio.gather(*tasks)
    assert order == list(range(5))


async def test_a_cancelled_waiter_leaves_the_order_of_the_others_intact() -> None:
    slots = Slots(1)
    await slots.take()
    began = time.monotonic()
    order: list[float] = []

    async def call(run_started: float) -> None:
        RUN_STARTED.set(run_started)
        await slots.take()
        order.append(run_started - began)
        slots.give()

    tasks = {offset: asyncio.create_task(call(began + offset)) for offset in (5, 1, 4, 2, 3)}
    await _settle()
    tasks[2].cancel()
    await asyncio.gather(tasks[2], return_exceptions=True)
    assert len(slots.waiting) == 4
    slots.give()
    await asyncio.gather(*(task for offset, task in tasks.items() if offset != 2))
    assert order == [1, 3, 4, 5]
