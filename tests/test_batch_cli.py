"""`selectools batch` as a user runs it: a subprocess over a JSONL file against the loopback
model of benchmarks/batch_server.py; stopped with SIGINT and killed with SIGKILL midway,
then run again, which must finish the rest with every id's result in --out exactly once."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ctrl_c
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.batch_server import BatchServerProcess  # noqa: E402

AGENT_MODULE = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from benchmarks.batch_server import make_agent
agent = make_agent(os.environ["SELECTOOLS_BATCH_URL"])
"""


@pytest.fixture(scope="module")
def slow_server() -> Iterator[BatchServerProcess]:
    with BatchServerProcess(delay=0.15) as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "myagents.py").write_text(AGENT_MODULE)
    return tmp_path


def command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "selectools.cli.batch", "myagents:agent", "in.jsonl",
            "--out", "out.jsonl", *extra]


def environment(server: BatchServerProcess) -> dict[str, str]:
    return {**os.environ, "SELECTOOLS_BATCH_URL": server.base_url}


def write_inputs(workdir: Path, count: int) -> list[str]:
    ids = [f"t{n}" for n in range(count)]
    lines = [json.dumps({"id": key, "input": f"ticket {key}"}) for key in ids]
    (workdir / "in.jsonl").write_text("\n".join(lines) + "\n")
    return ids


def records(workdir: Path) -> list[dict[str, Any]]:
    text = (workdir / "out.jsonl").read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def wait_for_lines(workdir: Path, count: int, process: subprocess.Popen[str]) -> None:
    out = workdir / "out.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} results appeared (exit {process.poll()})")


def finish(workdir: Path, server: BatchServerProcess, *extra: str
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*extra), cwd=workdir, env=environment(server),
                          capture_output=True, text=True, timeout=120)


def test_results_are_written_and_a_rerun_skips_them(workdir: Path) -> None:
    (workdir / "in.jsonl").write_text(
        '"first question"\n\n{"id": "b", "input": "second"}\n{"input": "FAIL third"}\n'
        '{"id": 9, "input": [{"role": "user", "content": "as messages"}]}\n')
    with BatchServerProcess() as server:
        done = finish(workdir, server)
        assert done.returncode == 1, done.stderr  # one input failed
        assert "done: 3 ok, 1 failed, 48 tokens" in done.stderr
        got = {r["id"]: r for r in records(workdir)}
        assert got[1]["output"] == "echo: first question" and got[1]["ok"]
        assert got["b"]["usage"] == {"prompt_tokens": 12, "completion_tokens": 4,
                                     "total_tokens": 16, "cost_usd": got["b"]["usage"]["cost_usd"]}
        assert got["b"]["usage"]["cost_usd"] > 0
        assert got[9]["output"] == "echo: as messages"
        assert got[4] == {"id": 4, "ok": False, "error": {
            "type": "InvalidRequestError",
            "message": "openai 400 [invalid_request_error]: cannot answer 'FAIL third'"}}
        before = server.stats()["requests"]
        again = finish(workdir, server)
        assert again.returncode == 0, again.stderr
        assert "4 of 4 inputs already in out.jsonl: skipped" in again.stderr
        assert server.stats()["requests"] == before  # nothing ran again
        retried = finish(workdir, server, "--retry-failed")
        assert retried.returncode == 1 and "1 failed" in retried.stderr
        assert server.stats()["requests"] == before + 1  # only the failed one
    assert len(records(workdir)) == 5


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_a_stopped_batch_resumes_losing_nothing_and_repeating_nothing(
        workdir: Path, slow_server: BatchServerProcess, how: signal.Signals) -> None:
    ids = write_inputs(workdir, 40)
    process = subprocess.Popen(command("--concurrency", "4"), cwd=workdir,
                               env=environment(slow_server), stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c.heard)
    wait_for_lines(workdir, 6, process)
    process.send_signal(how)
    _, stderr = process.communicate(timeout=30)
    written = records(workdir)  # whole lines only, even after SIGKILL
    assert 6 <= len(written) < 40
    if how == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert f"stopped: {len(written)} results written to out.jsonl" in stderr
        assert "Traceback" not in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    assert all(r["ok"] for r in written)
    resumed = finish(workdir, slow_server, "--concurrency", "8")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(written)} of 40 inputs already in out.jsonl: skipped" in resumed.stderr
    final = records(workdir)
    assert sorted(r["id"] for r in final) == sorted(ids)  # every id exactly once
    assert all(r["output"] == f"echo: ticket {r['id']}" for r in final)


def test_a_line_cut_by_a_kill_is_dropped_and_its_input_runs_again(workdir: Path) -> None:
    write_inputs(workdir, 3)
    whole = json.dumps({"id": "t0", "ok": True, "output": "echo: ticket t0"}) + "\n"
    (workdir / "out.jsonl").write_text(whole + '{"id": "t1", "ok": tr')
    with BatchServerProcess() as server:
        done = finish(workdir, server)
    assert done.returncode == 0, done.stderr
    assert sorted(r["id"] for r in records(workdir)) == ["t0", "t1", "t2"]


def test_bad_files_are_refused_naming_the_line(workdir: Path) -> None:
    with BatchServerProcess() as server:
        (workdir / "in.jsonl").write_text('"fine"\n{"text": "no input field"}\n')
        bad = finish(workdir, server)
        assert bad.returncode == 2 and 'in.jsonl:2: expected a JSON string or {"input"' \
            in bad.stderr
        (workdir / "in.jsonl").write_text('{"id": "a", "input": "x"}\n{"id": "a", "input": "y"}\n')
        assert "in.jsonl:2: the id 'a' appears twice" in finish(workdir, server).stderr
        (workdir / "in.jsonl").write_text('"   "\n')
        assert "in.jsonl:1: the message is empty" in finish(workdir, server).stderr
        (workdir / "in.jsonl").write_text('"fine"\n')
        (workdir / "out.jsonl").write_text("not a result\n")
        assert "out.jsonl:1 is not a result line" in finish(workdir, server).stderr
        assert server.stats().get("requests", 0) == 0


def test_on_a_terminal_a_progress_bar_shows_rate_eta_failures_and_cost(
        workdir: Path) -> None:
    (workdir / "in.jsonl").write_text('"one"\n"FAIL two"\n"three"\n')
    with BatchServerProcess() as server:
        leader, follower = pty.openpty()
        process = subprocess.Popen(command(), cwd=workdir, env={
            **environment(server), "COLUMNS": "200", "TERM": "xterm"},
            stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        os.close(leader)
        assert process.wait(timeout=60) == 1
    text = shown.decode(errors="replace")
    assert "\u2501" in text  # rich's bar, not the plain progress line
    assert "done," not in text.split("done: ")[0]
    assert "3/3" in text and "1 failed" in text and "/s" in text and "ETA" in text
    assert "32 tokens" in text and "$0.0000" in text
