"""The benchmark harness works and checks answers: every case once, with tiny counts.

No timing is asserted here (the numbers of a tiny run mean nothing); what is checked is
that each client does the job correctly and that a wrong answer is refused.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import cases, scenario  # noqa: E402
from benchmarks.__main__ import main, render  # noqa: E402
from benchmarks.agent_client import AgentClient  # noqa: E402
from benchmarks.baseline import AiohttpLoop, BulkLoop, HttpxLoop, httpx_available  # noqa: E402
from benchmarks.server import ServerProcess  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as running:
        yield running


def _clients(url: str) -> list[object]:
    clients: list[object] = [BulkLoop(url), AiohttpLoop(url), AgentClient(url)]
    if httpx_available():
        clients.append(HttpxLoop(url))
    return clients


@pytest.mark.parametrize("pace_us,group", [(0, 1), (200, 1), (0, 1000)])
async def test_every_client_streams_the_expected_answer(server: ServerProcess, pace_us: int,
                                                        group: int) -> None:
    for client in _clients(server.base_url(pace_us, group)):
        streamed: list[str] = []
        answer = await client.run_stream(on_text=streamed.append)  # type: ignore[attr-defined]
        scenario.check_answer(answer, client.name)  # type: ignore[attr-defined]
        assert "".join(streamed) == scenario.FIRST_TEXT + scenario.expected_answer()
        await client.aclose()  # type: ignore[attr-defined]


async def test_every_client_gets_the_expected_whole_answer(server: ServerProcess) -> None:
    for client in _clients(server.base_url()):
        scenario.check_answer(await client.run_whole(), client.name)  # type: ignore[attr-defined]
        await client.aclose()  # type: ignore[attr-defined]


async def test_server_refuses_wrong_tool_results(server: ServerProcess) -> None:
    def wrong_weather(city: str) -> str:
        return "Raining"

    tools = {**scenario.ASYNC_TOOLS, "get_weather": wrong_weather}
    client = AiohttpLoop(server.base_url(), tools)
    with pytest.raises(RuntimeError, match="tool results differ"):
        await client.run_stream()
    await client.aclose()


def test_check_answer_refuses_a_wrong_answer() -> None:
    with pytest.raises(AssertionError, match="wrong final answer"):
        scenario.check_answer(scenario.expected_answer()[:-1], "test")


def test_wire_stream_is_openai_chunk_format() -> None:
    from benchmarks.server import stream_events_first

    events = [e.decode() for e in stream_events_first()]
    assert all(e.startswith("data: ") and e.endswith("\n\n") for e in events)
    assert events[-1] == "data: [DONE]\n\n"
    usage = json.loads(events[-2][6:])
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 240
    fragments = [json.loads(e[6:])["choices"][0]["delta"].get("tool_calls") for e in events[:-2]]
    opened = [f[0] for f in fragments if f and "id" in f[0]]
    assert [f["index"] for f in opened] == [0, 1, 2]
    assert all(f["function"]["arguments"] == "" for f in opened)


def test_each_case_runs_with_tiny_counts(server: ServerProcess) -> None:
    url = server.base_url()
    b1 = cases.b1_streaming(url, iterations=1, warmup=0, with_httpx=False)
    assert set(b1) == {"aiohttp bulk loop", "aiohttp loop", "selectools Agent"}
    assert cases.b2_whole(url, iterations=1, warmup=0, with_httpx=False)
    b3 = cases.b3_concurrency(server.base_url(0, 1000), "agent", runs=4, concurrency=2)
    assert b3["runs"] == 4 and b3["runs_per_s"] > 0
    b6 = cases.b6_local(runs=5, batches=1)
    assert {"arun_us", "astream_us", "run_sync_us"} <= set(b6)


def test_b5_import_probe_checks_no_http_client() -> None:
    result = cases.b5_import(repeats=1)
    assert "aiohttp" not in result["modules_loaded_by_import"]


def test_cli_prints_the_table_and_writes_json(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    main(["--quick", "--cases", "B2,B4,B6,B7,B8", "--no-httpx", "--json", str(out)])
    table = capsys.readouterr().out
    assert all(case in table for case in ("B2", "B4", "B6", "B7", "B8"))
    document = json.loads(out.read_text())
    assert {row["case"] for row in document["rows"]} == {"B2", "B4", "B6", "B7", "B8"}
    assert all(row["selectools"] is not None for row in document["rows"])


def test_b9_runs_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    out = tmp_path / "b9.json"
    main(["--quick", "--cases", "B9", "--json", str(out)])
    document = json.loads(out.read_text())
    rows = document["rows"]
    assert [row["case"] for row in rows] == ["B9"] * 5
    # (CPU of a 3-stream batch may round to a few clock ticks: only its presence is checked)
    assert all(row["selectools"] is not None and row["reference"] is not None
               for row in rows)
    assert rows[1]["selectools"] > 0 and rows[1]["reference"] > 0  # TTFT p99, in ms
    assert rows[0]["budget"] and rows[1]["budget"] and rows[1]["pass"] is not None
    # (the whole answer's p50 and p99: context, each at least its run's first token)
    assert rows[3]["metric"].startswith("whole answer p50") and not rows[3]["budget"]
    assert rows[4]["selectools"] >= rows[3]["selectools"] >= rows[2]["selectools"] > 0
    assert document["raw"]["B9"]["streams"] == 3


def test_b1_to_b3_are_held_against_the_bulk_loop(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    main(["--quick", "--cases", "B1,B2,B3", "--no-httpx", "--json", str(out)])
    document = json.loads(out.read_text())
    rows = {row["metric"]: row for row in document["rows"]}
    cpu = [rows[m] for m in ("client CPU per streamed run",
                             "client CPU per streamed run, unpaced", "client CPU per whole run")]
    for row in cpu:  # budgeted, against the bulk loop, the line loop beside it
        assert row["budget"] == "CPU <= 1.1x bulk loop" and row["pass"] is not None
        assert row["reference"] == document["raw"][
            {"client CPU per whole run": "B2", "client CPU per streamed run": "B1"}.get(
                row["metric"], "B1-burst")]["aiohttp bulk loop"]["cpu_ms"]["median"]
        assert row["line_loop"] is not None
    # B3: runs/s, peak RSS, CPU, GC and server rows per level, then the CPU spread
    paired, memory = document["raw"]["B3"]["paired"], document["raw"]["B3"]["rss"]
    assert set(paired) == set(memory) == {"3", "6"}
    assert all({"bulk", "agent"} <= set(paired[level]) for level in paired)
    assert "aiohttp" in paired["3"] and "aiohttp" not in paired["6"]  # context: first level
    assert "aiohttp" in memory["3"] and "aiohttp" not in memory["6"]
    for level in ("3", "6"):
        assert rows[f"peak RSS, {level} at once"]["budget"] == "peak RSS <= 1.1x bulk loop"
        assert rows[f"runs/s, {level} at once ({int(level) * 2} runs x 1 slices)"][
            "pass"] is not None
        assert paired[level]["agent"]["server_cpu_share"] >= 0
        assert paired[level]["agent"]["gc_ms_per_run"] >= 0
        assert paired[level]["agent"]["runs"] == int(level) * 2
    spread = rows["client CPU per run, spread across 3,6 at once (max / min - 1)"]
    cpus = [rows[f"client CPU per run, {level} at once"]["selectools"] for level in "36"]
    assert spread["selectools"] == pytest.approx((max(cpus) / min(cpus) - 1) * 100)
    assert spread["budget"] == "spread <= 10 %"
    outside = rows["  the same less the cyclic GC (context: what grows if not it)"]
    rest = [rows[f"client CPU per run, {level} at once"]["selectools"]
            - rows[f"  of which the cyclic GC, {level} at once"]["selectools"] for level in "36"]
    assert outside["selectools"] == pytest.approx((max(rest) / min(rest) - 1) * 100)
    assert not outside["budget"]


def test_all_runs_every_capability_with_its_budget(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    out = tmp_path / "all.json"
    main(["--quick", "--cases", "B10,MCP,OTEL,BATCH", "--json", str(out)])
    document = json.loads(out.read_text())
    cases = {row["case"] for row in document["rows"]}
    assert {"B10", "OTel", "batch"} <= cases
    budgeted = [row for row in document["rows"] if row["budget"]]
    assert all(row["pass"] is not None for row in budgeted)
    assert {row["case"] for row in budgeted} >= {"B10", "OTel", "batch"}
    batch = document["raw"]["BATCH"]
    assert batch["paired"]["loop"]["runs"] > 0  # the bulk loop + semaphore, checked answers
    assert document["commit"] and document["raw"]["seconds_per_case"].keys() == {
        "B10", "MCP", "OTEL", "BATCH"}


def test_render_marks_pass_and_fail() -> None:
    rows = [{"case": "B9", "metric": "m", "unit": "ms", "selectools": 1.0, "reference": 2.0,
             "line_loop": None, "httpx_loop": None, "ratio": 0.5, "budget": "b",
             "pass": True},
            {"case": "B9", "metric": "n", "unit": "ms", "selectools": 3.0, "reference": 2.0,
             "line_loop": None, "httpx_loop": None, "ratio": 1.5, "budget": "b",
             "pass": False}]
    table = render(rows)
    assert "PASS" in table and "FAIL" in table


def test_opcode_counts_see_selectools_only_in_the_agents_run() -> None:
    from benchmarks import opcodes

    agent = opcodes.count("agent", "whole", runs=1, warmup=1)
    bulk = opcodes.count("bulk", "whole", runs=1, warmup=1)
    assert agent["by_package"]["selectools"] > 1000  # the engine and the provider ran
    assert "selectools" not in bulk["by_package"] and bulk["by_package"]["aiohttp"] > 1000
    functions = dict(agent["by_function"])
    assert any(where.startswith("selectools/agent/loop.py:") for where in functions)
    assert agent["total"] == sum(agent["by_package"].values())


def test_instruction_counts_are_one_runs_work_under_valgrind() -> None:
    from benchmarks import instructions

    counted = instructions.per_run("agent", "whole", runs=2, warmup=1)
    # One whole run (two HTTP calls, three tools) is over a million instructions; the
    # warm-up-only process's start and end cancel out of the difference.
    assert 300_000 < counted["I refs"] < 20_000_000
    assert 0 < counted["Mispredicts"] < counted["Branches"] < counted["I refs"]
    assert 0 < counted["D1 misses"] < counted["D refs"]
