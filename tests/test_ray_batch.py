"""ray_batch on a real local Ray cluster (started once for the module, stopped after), its
actors running Agents against the loopback model of benchmarks/batch_server.py."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from selectools.batch import BatchResult  # noqa: E402
from selectools.providers.errors import InvalidRequestError  # noqa: E402
from selectools.ray import ACTOR_PREFIX, ray_batch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.batch_server import BatchServerProcess, make_agent  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    # The actors' workers import the factory (benchmarks.batch_server) by name.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def server() -> Iterator[BatchServerProcess]:
    with BatchServerProcess(delay=0.03) as running:
        yield running


def test_results_in_input_order_and_progress_as_it_happens(server: BatchServerProcess) -> None:
    prompts = [f"ray question {n}" for n in range(40)]
    answered_at_first_progress: list[int] = []
    progress: list[tuple[int, int]] = []

    def on_progress(done: int, total: int) -> None:
        if not progress:
            answered_at_first_progress.append(server.stats().get("answered", 0))
        progress.append((done, total))

    before = server.stats().get("answered", 0)
    results = ray_batch(functools.partial(make_agent, server.base_url), prompts,
                        num_actors=2, concurrency_per_actor=4, on_progress=on_progress)
    assert [r.index for r in results] == list(range(40))
    assert [r.content for r in results] == [f"echo: {p}" for p in prompts]
    assert all(r.result is not None and r.result.usage is not None
               and r.result.usage.total_tokens == 16 for r in results)
    assert progress == [(n, 40) for n in range(1, 41)]
    # the first result reached the driver while most inputs were still to be answered
    assert answered_at_first_progress[0] - before < 40
    assert not [n for n in ray.util.list_named_actors() if n.startswith(ACTOR_PREFIX)]


def test_a_killed_actor_loses_nothing_and_each_result_comes_once(
        server: BatchServerProcess, caplog: pytest.LogCaptureFixture) -> None:
    prompts = [f"kill test {n}" for n in range(60)]
    reported: list[BatchResult] = []
    killed: list[str] = []

    def on_result(result: BatchResult) -> None:
        reported.append(result)
        if len(reported) == 8 and not killed:  # mid-batch: inputs in flight on both actors
            names = sorted(n for n in ray.util.list_named_actors() if n.startswith(ACTOR_PREFIX))
            killed.append(names[0])
            ray.kill(ray.get_actor(names[0]), no_restart=True)

    results = ray_batch(functools.partial(make_agent, server.base_url), prompts,
                        num_actors=2, concurrency_per_actor=5, on_result=on_result)
    assert killed
    deaths = [r.getMessage() for r in caplog.records if "died" in r.getMessage()]
    assert len(deaths) == 1 and killed[0] in deaths[0] and "run again" in deaths[0]
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok][:3]
    assert [r.content for r in results] == [f"echo: {p}" for p in prompts]
    assert sorted(r.index for r in reported) == list(range(60))  # exactly once each
    answers = server.stats()["answers"]
    assert all(answers.get(p, 0) >= 1 for p in prompts)


def test_failures_are_isolated_and_rate_limits_absorbed_on_the_actors() -> None:
    with BatchServerProcess(max_in_flight=2, delay=0.02) as limited:
        prompts = [f"limited {n}" if n % 7 else f"FAIL {n}" for n in range(30)]
        results = ray_batch(functools.partial(make_agent, limited.base_url, max_retries=0),
                            prompts, num_actors=2, concurrency_per_actor=4)
        assert limited.stats().get("rate_limited", 0) > 0
    failed = [r for r in results if not r.ok]
    assert [r.index for r in failed] == [n for n in range(30) if n % 7 == 0]
    assert all(isinstance(r.error, InvalidRequestError) and r.input == f"FAIL {r.index}"
               for r in failed)
    assert all(r.content == f"echo: {r.input}" for r in results if r.ok)
    assert sum(r.rate_limited for r in results) > 0


def _no_agent() -> Any:
    raise AssertionError("never called: the batch is refused first")


def test_a_factory_that_fails_everywhere_ends_with_a_clear_error() -> None:
    # imported on the actor: the module is there, the attribute is not
    with pytest.raises(RuntimeError, match="every batch actor died"):
        ray_batch("benchmarks.batch_server:no_such_agent", ["a", "b"], num_actors=1,
                  max_actor_restarts=1)


def test_an_agent_named_module_attribute_runs_on_the_actors(
        server: BatchServerProcess) -> None:
    environment = {"SELECTOOLS_BATCH_URL": server.base_url, "PYTHONPATH": str(ROOT)}
    results = ray_batch("benchmarks.batch_server:default_agent", ["by name"], num_actors=1,
                        actor_options={"runtime_env": {"env_vars": environment}})
    assert results[0].content == "echo: by name"


def test_bad_arguments_are_refused_before_any_actor_starts() -> None:
    with pytest.raises(ValueError, match=r"inputs\[0\]"):
        ray_batch(_no_agent, [""])
    with pytest.raises(ValueError, match="num_actors must be >= 1"):
        ray_batch(_no_agent, ["a"], num_actors=0)
    with pytest.raises(TypeError, match="agent_factory must be a callable"):
        ray_batch(42, ["a"])  # type: ignore[arg-type]
    assert ray_batch(_no_agent, []) == []


def test_the_cli_runs_a_batch_on_the_cluster(server: BatchServerProcess, tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    (tmp_path / "myagents.py").write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from benchmarks.batch_server import make_agent\n"
        "agent = make_agent(os.environ['SELECTOOLS_BATCH_URL'])\n")
    (tmp_path / "in.jsonl").write_text("".join(f'"cli {n}"\n' for n in range(12)))
    address = ray.get_runtime_context().gcs_address
    done = subprocess.run(
        [sys.executable, "-m", "selectools.cli.batch", "myagents:agent", "in.jsonl",
         "--out", "out.jsonl", "--ray", address, "--actors", "2", "--concurrency", "3",
         "--ray-env", "SELECTOOLS_BATCH_URL"],
        cwd=tmp_path, env={**os.environ, "SELECTOOLS_BATCH_URL": server.base_url},
        capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in written) == list(range(1, 13))
    assert all(r["output"] == f"echo: cli {r['id'] - 1}" for r in written)
    assert "done: 12 ok, 0 failed, 192 tokens" in done.stderr
