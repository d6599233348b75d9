"""ray_batch on a real local Ray cluster, with an input that kills every actor it runs on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from selectools import Agent, tool  # noqa: E402
from selectools.ray import ACTOR_LOST, MAX_DEATHS_PER_INPUT, ray_batch  # noqa: E402

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


@tool
def crash() -> str:
    """Crash the process."""
    os._exit(1)


def crashing_agent() -> Agent:
    """The local model: it calls crash when an input names it, else echoes the input."""
    from selectools.providers.stubs import LocalProvider

    return Agent(tools=[crash], provider=LocalProvider())


def test_an_input_that_kills_its_actors_fails_and_the_batch_goes_on() -> None:
    """It went back to the queue after each death, killed the next actor too, and so on
    until no restart was left: the batch ended in RuntimeError, most inputs never run."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(TESTS),
                                                                       str(SRC)])}})
    try:
        prompts = ["please crash"] + [f"hello {n}" for n in range(9)]
        reported: list[Any] = []
        results = ray_batch(crashing_agent, prompts, num_actors=2, concurrency_per_actor=1,
                            on_result=reported.append)
    finally:
        ray.shutdown()
    assert sorted(r.index for r in reported) == list(range(10))  # each once
    assert isinstance(results[0].error, ACTOR_LOST) and results[0].input == "please crash"
    assert [r.content for r in results[1:]] == [f"hello {n}" for n in range(9)]
    assert MAX_DEATHS_PER_INPUT == 2
