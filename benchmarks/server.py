"""A loopback OpenAI-compatible server for the benchmarks, run in its own process.

`POST /v1/chat/completions` answers the scenario of `scenario.py` in OpenAI's exact wire
format: the first call (no tool results yet) gets a short text and three tool calls, the
second (carrying the three tool results, which the server checks) a 200-token answer.
Streamed answers are `chat.completion.chunk` server-sent events: tool calls as fragments
keyed by `index` (id and name first, then pieces of the arguments), a usage chunk with
`choices: []`, then `[DONE]`; each event is written on its own.

`POST /p<microseconds>g<events>/v1/chat/completions` streams the same events `<events>` per
write with a pause of `<microseconds>` after each write. `p1000g1` is like a model producing
tokens: each event reaches the client in its own read. `p0g1000` writes a whole answer at
once, so the server costs almost nothing and a client's throughput is what is measured.

All answers are encoded once at start-up, so the server costs little CPU. It runs in a
separate process (`ServerProcess`) so that none of its work is counted as the client's.

    python -m benchmarks.server --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Self

from . import scenario

_CREATED = 1767225600
_FINGERPRINT = "fp_bench0001"
_ARGUMENT_PIECE = 5  # characters of tool arguments per fragment, as OpenAI sends them


# -- encoding the answers once ----------------------------------------------------------------

def _event(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


def _chunk(completion_id: str, delta: dict[str, Any], finish_reason: str | None = None,
           obfuscation: str = "abc") -> bytes:
    return _event({
        "id": completion_id, "object": "chat.completion.chunk", "created": _CREATED,
        "model": scenario.MODEL, "service_tier": "default", "system_fingerprint": _FINGERPRINT,
        "choices": [{"index": 0, "delta": delta, "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": None, "obfuscation": obfuscation,
    })


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def _usage_chunk(completion_id: str, prompt: int, completion: int) -> bytes:
    return _event({
        "id": completion_id, "object": "chat.completion.chunk", "created": _CREATED,
        "model": scenario.MODEL, "service_tier": "default", "system_fingerprint": _FINGERPRINT,
        "choices": [], "usage": _usage(prompt, completion), "obfuscation": "xyz",
    })


def _arguments_text(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(",", ":"))


def stream_events_first() -> list[bytes]:
    """The first answer, streamed: text, then three tool calls in fragments."""
    cid = "chatcmpl-bench-first"
    events = [_chunk(cid, {"role": "assistant", "content": "", "refusal": None})]
    events += [_chunk(cid, {"content": token}) for token in scenario.FIRST_TEXT_TOKENS]
    for index, (call_id, name, arguments) in enumerate(scenario.TOOL_CALLS):
        events.append(_chunk(cid, {"tool_calls": [{
            "index": index, "id": call_id, "type": "function",
            "function": {"name": name, "arguments": ""}}]}))
        text = _arguments_text(arguments)
        for start in range(0, len(text), _ARGUMENT_PIECE):
            piece = text[start:start + _ARGUMENT_PIECE]
            events.append(_chunk(cid, {"tool_calls": [{
                "index": index, "function": {"arguments": piece}}]}))
    events.append(_chunk(cid, {}, finish_reason="tool_calls"))
    events.append(_usage_chunk(cid, 180, 60))
    events.append(_event("[DONE]"))
    return events


def stream_events_second(json_answer: bool = False) -> list[bytes]:
    """The second answer, streamed: about 200 tokens of text (or of B8's JSON document),
    one per event."""
    cid = "chatcmpl-bench-second"
    tokens = (scenario.json_answer_tokens() if json_answer
              else scenario.answer_tokens(list(scenario.expected_results().values())))
    events = [_chunk(cid, {"role": "assistant", "content": "", "refusal": None})]
    events += [_chunk(cid, {"content": token}) for token in tokens]
    events.append(_chunk(cid, {}, finish_reason="stop"))
    events.append(_usage_chunk(cid, 320, len(tokens)))
    events.append(_event("[DONE]"))
    return events


def _completion(cid: str, message: dict[str, Any], finish_reason: str,
                usage: dict[str, Any]) -> bytes:
    return json.dumps({
        "id": cid, "object": "chat.completion", "created": _CREATED, "model": scenario.MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": usage, "service_tier": "default", "system_fingerprint": _FINGERPRINT,
    }).encode()


def whole_first() -> bytes:
    calls = [{"id": call_id, "type": "function",
              "function": {"name": name, "arguments": _arguments_text(arguments)}}
             for call_id, name, arguments in scenario.TOOL_CALLS]
    message = {"role": "assistant", "content": scenario.FIRST_TEXT, "refusal": None,
               "annotations": [], "tool_calls": calls}
    return _completion("chatcmpl-bench-first", message, "tool_calls", _usage(180, 60))


def whole_second() -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": scenario.expected_answer(),
                               "refusal": None, "annotations": []}
    return _completion("chatcmpl-bench-second", message, "stop",
                       _usage(320, scenario.ANSWER_TOKENS_TOTAL))


# -- serving ----------------------------------------------------------------------------------

def make_app() -> Any:
    from aiohttp import web

    first_events, second_events = stream_events_first(), stream_events_second()
    json_events = stream_events_second(json_answer=True)
    first_body, second_body = whole_first(), whole_second()
    tool_names = set(scenario.TOOL_SCHEMAS)

    def bad_request(message: str) -> Any:
        body = {"error": {"message": message, "type": "invalid_request_error",
                          "param": None, "code": None}}
        return web.json_response(body, status=400)

    async def completions(request: web.Request) -> Any:
        pace = int(request.match_info.get("pace_us", "0")) / 1_000_000
        group = max(1, int(request.match_info.get("group", "1")))
        if request.headers.get("Authorization") != f"Bearer {scenario.API_KEY}":
            return web.json_response({"error": {
                "message": "Incorrect API key provided", "type": "invalid_request_error",
                "param": None, "code": "invalid_api_key"}}, status=401)
        try:
            body = json.loads(await request.read())
        except ValueError:
            return bad_request("the body is not JSON")
        offered = {t.get("function", {}).get("name") for t in body.get("tools") or ()}
        if offered != tool_names:
            return bad_request(f"expected the tools {sorted(tool_names)}, got {offered}")
        second = scenario.tool_results_in(body) is not None
        if second:
            problem = scenario.problem_with_results(body)
            if problem:
                return bad_request(problem)
        if not body.get("stream"):
            return web.Response(body=second_body if second else first_body,
                                content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        json_answer = request.match_info.get("answer") == "json"
        events = (json_events if json_answer else second_events) if second else first_events
        try:
            for start in range(0, len(events), group):
                await response.write(b"".join(events[start:start + group]))
                if pace:
                    await asyncio.sleep(pace)
            # The end of the chunked body comes in a write of its own, after [DONE], as
            # from a real server: a client that stops reading at [DONE] leaves it unread.
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away mid-answer; nothing to serve
        return response

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"connections": len(peers), "requests": counts[0]})

    peers: set[Any] = set()
    counts = [0]

    @web.middleware
    async def count(request: web.Request, handler: Any) -> Any:
        if request.path != "/stats":
            peers.add(request.transport.get_extra_info("peername")
                      if request.transport else None)
            counts[0] += 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.router.add_get("/stats", stats)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/p{pace_us:\\d+}g{group:\\d+}/v1/chat/completions", completions)
    # B8: the second answer is a JSON document (streamed only).
    app.router.add_post("/p{pace_us:\\d+}g{group:\\d+}/{answer:json}/v1/chat/completions",
                        completions)
    return app


async def serve(host: str, port: int) -> None:
    from aiohttp import web

    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server: Any = site._server
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://{host}:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> tuple[float, float]:
    """User and system CPU of a process, from /proc (clock ticks: 10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name, in parentheses, may hold spaces: count fields after it.
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / _CLOCK_TICK, int(fields[12]) / _CLOCK_TICK


class ChildServer:
    """A loopback server module run in a child process, which prints `listening on URL`
    once it serves: `with Subclass(...) as server: server.url`. Subclasses name the module
    and its arguments."""

    module = ""
    #: What the start-up error calls it.
    label = "server"

    def __init__(self) -> None:
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def arguments(self) -> list[str]:
        """The module's command-line arguments (a free port by default)."""
        return ["--port", "0"]

    def start(self) -> Self:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": str(root)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.arguments()],
            cwd=root, env=env, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the {self.label} did not start: {line!r}")
        self.url = line.split()[-1]
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def stats(self) -> dict[str, Any]:
        """The server's own counters (its `/stats`)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/stats", timeout=10) as response:
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess(ChildServer):
    """The benchmark server in a child process: `with ServerProcess() as server: ...`;
    its `/stats` counts TCP connections and requests (the keep-alive check)."""

    module = "benchmarks.server"
    label = "benchmark server"

    def base_url(self, pace_us: int = 0, group: int = 1, json_answer: bool = False) -> str:
        """The OpenAI base URL (ending in /v1) for streams written `group` events at a time
        with a pause of `pace_us` after each write; `json_answer`: B8's JSON final answer."""
        return f"{self.url}/p{pace_us}g{group}{'/json' if json_answer else ''}/v1"


if __name__ == "__main__":
    main()
