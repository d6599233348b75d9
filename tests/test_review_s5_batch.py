"""Batches against a model that never stops refusing, and a results file edited by hand."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from selectools import Agent, AgentConfig
from selectools.batch import MAX_RATE_LIMITS, abatch
from selectools.providers.errors import RateLimitError
from selectools.providers.openai import OpenAIProvider

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def refusing_model(headers: dict[str, str]) -> Iterator[tuple[str, list[int]]]:
    """An OpenAI-compatible model on 127.0.0.1 that answers every request with a 429 (an
    exhausted quota answers so for good); yields its URL and a count of the requests."""
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            count[0] += 1
            body = json.dumps({"error": {"message": "You exceeded your current quota",
                                         "type": "insufficient_quota"}}).encode()
            self.send_response(429)
            for name, value in {"content-type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", count
    finally:
        server.shutdown()
        server.server_close()


def agent_on(url: str) -> Agent:
    provider = OpenAIProvider(base_url=url, api_key="sk-test", model="gpt-test")
    return Agent(provider=provider, config=AgentConfig(max_retries=0))


async def test_an_input_rate_limited_without_end_fails_and_the_batch_ends() -> None:
    """Every 429 was taken as "wait and run it again", without a bound: a batch on a key
    whose quota is spent never ended."""
    with refusing_model({"retry-after-ms": "1"}) as (url, count):
        agent = agent_on(url)
        try:
            results = await asyncio.wait_for(abatch(agent, ["a", "b"], max_concurrency=2), 60)
        finally:
            await agent.provider.aclose()  # type: ignore[union-attr]
    assert [type(r.error) for r in results] == [RateLimitError, RateLimitError]
    assert [r.rate_limited for r in results] == [MAX_RATE_LIMITS, MAX_RATE_LIMITS]
    assert count[0] == 2 * (MAX_RATE_LIMITS + 1)


async def test_a_rate_limit_the_server_says_not_to_retry_fails_at_once() -> None:
    with refusing_model({"x-should-retry": "false"}) as (url, count):
        agent = agent_on(url)
        try:
            results = await asyncio.wait_for(abatch(agent, ["a"]), 60)
        finally:
            await agent.provider.aclose()  # type: ignore[union-attr]
    assert isinstance(results[0].error, RateLimitError) and results[0].rate_limited == 0
    assert count[0] == 1


# -- the results file, edited by hand ----------------------------------------------------------

AGENT_MODULE = """
from selectools import Agent
from selectools.providers.stubs import LocalProvider
agent = Agent(provider=LocalProvider())
"""


def batch_command(workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "selectools", "batch", "echo_agent:agent", "in.jsonl",
         "--out", "out.jsonl", "--plain"], cwd=workdir, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(workdir), str(REPO / "src")])})


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "echo_agent.py").write_text(AGENT_MODULE)
    lines = [json.dumps({"id": key, "input": f"say {key}"}) for key in ("a", "b")]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_a_last_result_line_without_its_newline_is_kept(workdir: Path) -> None:
    """An editor that saves without the final newline left the last result looking cut
    short: it was removed, and its input run (and paid for) again."""
    done = batch_command(workdir)
    assert done.returncode == 0, done.stderr
    out = workdir / "out.jsonl"
    out.write_text(out.read_text().rstrip("\n"))
    again = batch_command(workdir)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 inputs already in out.jsonl" in again.stderr
    lines = out.read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["a", "b"]
    assert out.read_text().endswith("\n")  # appending goes on from a whole line


def test_a_result_line_cut_short_is_still_removed(workdir: Path) -> None:
    out = workdir / "out.jsonl"
    out.write_text(json.dumps({"id": "a", "ok": True, "output": "say a"}) + "\n"
                   + '{"id": "b", "ok": tr')
    done = batch_command(workdir)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_a_result_whose_id_is_no_string_or_integer_is_named(workdir: Path) -> None:
    (workdir / "out.jsonl").write_text(json.dumps({"id": ["a"], "ok": True}) + "\n")
    done = batch_command(workdir)
    assert done.returncode == 2, done.stderr
    assert "out.jsonl:1 is not a result line of selectools batch" in done.stderr
    assert "Traceback" not in done.stderr


HALF_EMOJI_AGENT = """
from selectools import Agent
from selectools.testing import ScriptedProvider
agent = Agent(provider=ScriptedProvider(["half an emoji: \\ud83d", "a whole answer"]))
"""


def test_an_answer_with_a_lone_surrogate_is_written_and_the_batch_goes_on(
        workdir: Path) -> None:
    """A model's answer may hold half a surrogate pair (a server that cut an emoji in two
    sends `\\ud83d` escaped); its result line could not be encoded as UTF-8, and the
    UnicodeEncodeError ended the whole batch with a traceback."""
    (workdir / "echo_agent.py").write_text(HALF_EMOJI_AGENT)
    done = subprocess.run(
        [sys.executable, "-m", "selectools", "batch", "echo_agent:agent", "in.jsonl",
         "--out", "out.jsonl", "--plain", "--concurrency", "1"], cwd=workdir,
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": (
            os.pathsep.join([str(workdir), str(REPO / "src")]))})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (workdir / "out.jsonl").read_bytes().splitlines()]
    assert [r["output"] for r in records] == ["half an emoji: \ud83d", "a whole answer"]
    again = batch_command(workdir)
    assert "2 of 2 inputs already in out.jsonl" in again.stderr, again.stderr
