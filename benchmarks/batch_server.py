"""A loopback OpenAI-compatible model for batches: each answer names its question.

`POST /v1/chat/completions` answers the last user message `m` with `echo: m` (whole, or
streamed as OpenAI's chunks), so a batch's results can be checked against its inputs one by
one. What it does besides, set on the command line:

- `--max-in-flight N`: a request arriving while N others are being answered gets a 429 with
  `retry-after-ms` (as OpenAI's rate limits do), counted in `/stats` as `rate_limited`;
- `--delay S`: each answer waits S seconds first (a model's latency, so a batch can be
  stopped or killed midway);
- a message containing `FAIL` gets a 400 `invalid_request_error` (a bad input, not retried).

`GET /stats` gives the counts: requests, answered, rate_limited, failed, the highest number
in flight at once, and how often each message was answered (`answers`).

    python -m benchmarks.batch_server --port 0 --max-in-flight 4 --delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import Counter
from typing import Any

from .server import ChildServer

MODEL = "gpt-4o-mini"
API_KEY = "sk-batch-test"
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 4


def _usage() -> dict[str, int]:
    return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}


def _whole(text: str, model: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-batch", "object": "chat.completion", "created": 1767225600,
        "model": model, "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                     "message": {"role": "assistant", "content": text,
                                                 "refusal": None}}],
        "usage": _usage()}).encode()


def _stream(text: str, model: str) -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        return "data: " + json.dumps({
            "id": "chatcmpl-batch", "object": "chat.completion.chunk", "created": 1767225600,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            "usage": None}) + "\n\n"

    usage = "data: " + json.dumps({"id": "chatcmpl-batch", "object": "chat.completion.chunk",
                                   "created": 1767225600, "model": model, "choices": [],
                                   "usage": _usage()}) + "\n\n"
    return (chunk({"role": "assistant", "content": text}, None) + chunk({}, "stop") + usage
            + "data: [DONE]\n\n").encode()


def make_agent(base_url: str, **config: Any) -> Any:
    """An Agent without tools on an OpenAIProvider pointed at this server (`base_url` ends
    in /v1); `config` goes to AgentConfig. Module-level, so Ray pickles it by name."""
    from selectools import Agent, AgentConfig
    from selectools.providers.openai import OpenAIProvider

    provider = OpenAIProvider(base_url=base_url, api_key=API_KEY, model=MODEL)
    return Agent(provider=provider, config=AgentConfig(**config))


def default_agent() -> Any:
    """`make_agent` on the URL in $SELECTOOLS_BATCH_URL (for `module:attribute` loaders:
    the CLI, Ray actors given a name)."""
    return make_agent(os.environ["SELECTOOLS_BATCH_URL"])


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(part.get("text", "") for part in content)
            return str(content)
    return ""


def make_app(max_in_flight: int | None, delay: float) -> Any:
    from aiohttp import web

    counts: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    in_flight = [0, 0]  # now, highest

    def error(status: int, message: str, kind: str, **headers: str) -> web.Response:
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return web.json_response(body, status=status, headers=headers)

    async def completions(request: web.Request) -> web.StreamResponse:
        counts["requests"] += 1
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return error(401, "Incorrect API key provided", "invalid_request_error")
        if max_in_flight is not None and in_flight[0] >= max_in_flight:
            counts["rate_limited"] += 1
            return error(429, "Rate limit reached for requests", "requests",
                         **{"retry-after-ms": "50"})
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            body = json.loads(await request.read())
            text = last_user_text(body)
            if delay:
                await asyncio.sleep(delay)
            if "FAIL" in text:
                counts["failed"] += 1
                return error(400, f"cannot answer {text!r}", "invalid_request_error")
            answers[text] += 1
            counts["answered"] += 1
            model = str(body.get("model") or MODEL)
            if body.get("stream"):
                return web.Response(body=_stream(f"echo: {text}", model),
                                    content_type="text/event-stream")
            return web.Response(body=_whole(f"echo: {text}", model),
                                content_type="application/json")
        finally:
            in_flight[0] -= 1

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**counts, "max_in_flight": in_flight[1],
                                  "answers": dict(answers)})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/stats", stats)
    return app


async def serve(host: str, port: int, max_in_flight: int | None, delay: float) -> None:
    from aiohttp import web

    runner = web.AppRunner(make_app(max_in_flight, delay), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server: Any = site._server
    print(f"listening on http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class BatchServerProcess(ChildServer):
    """The server in a child process: `with BatchServerProcess(delay=0.05) as s: s.base_url`."""

    module = "benchmarks.batch_server"
    label = "batch server"

    def __init__(self, *, max_in_flight: int | None = None, delay: float = 0.0) -> None:
        super().__init__()
        self.max_in_flight = max_in_flight
        self.delay = delay

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def arguments(self) -> list[str]:
        extra = [] if self.max_in_flight is None else ["--max-in-flight", str(self.max_in_flight)]
        return [*super().arguments(), "--delay", str(self.delay), *extra]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--max-in-flight", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.max_in_flight, args.delay))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
