"""create_app's streaming POST routes skip Starlette's router and exception layers (`_App`):
held here, through real uvicorn, to the whole Starlette app they stand for, on the same
requests (auth, same-site, CORS, bad bodies, failures before the response starts)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from test_serve_support import post, uvicorn_in_process

from selectools import Agent
from selectools.providers.stubs import LocalProvider
from selectools.serve import create_app

ALLOWED = "http://ok.example"


class _PassThrough:
    """A middleware that does nothing: an app changed after create_app, served by Starlette
    whole (the general path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _pair(agent: Agent, **options: Any) -> tuple[Any, Any]:
    direct = create_app(agent, **options)
    general = create_app(agent, **options)
    general.add_middleware(_PassThrough)
    return direct, general


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[tuple[bool, bool], tuple[str, str]]]:
    """(auth, cors) -> the direct app's address and the general one's."""
    agent = Agent(tools=[], provider=LocalProvider())
    found: dict[tuple[bool, bool], tuple[str, str]] = {}
    apps = []
    with ExitStack() as stack:
        for auth in (False, True):
            for cors in (False, True):
                direct, general = _pair(agent, auth_token="tok" if auth else None,
                                        cors_origins=[ALLOWED] if cors else (),
                                        max_body_bytes=2000)
                found[auth, cors] = (stack.enter_context(uvicorn_in_process(direct)),
                                     stack.enter_context(uvicorn_in_process(general)))
                apps.append((direct, general))
        yield found
        for direct, general in apps:  # each path was the one it stands for
            assert direct._direct is not None and general._direct is None


_IDS = re.compile(rb"(msg|text|reasoning|call|run|thread|conv)_[0-9a-f]{32}")


def _same(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    headers = {k: v for k, v in headers.items() if k != "date"}
    return status, headers, _IDS.sub(rb"\1_ID", body)


def _chat(text: str) -> dict[str, Any]:
    return {"id": "c1", "messages": [{"role": "user", "id": "u1",
                                      "parts": [{"type": "text", "text": text}]}]}


_AGUI = {"threadId": "t1", "runId": "r1", "state": {}, "tools": [], "context": [],
         "forwardedProps": {}, "messages": [{"id": "m1", "role": "user", "content": "hi"}]}

_BODIES: list[bytes] = [json.dumps(_chat("hi")).encode(), json.dumps(_chat("é ☃\n")).encode(),
                        b"", b"{not json", b"[]", json.dumps(_chat("x" * 3000)).encode(),
                        json.dumps(_AGUI).encode()]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=st.booleans(), cors=st.booleans(),
       path=st.sampled_from(["/api/chat", "/agui", "/api/chat/", "/api/chatx"]),
       body=st.sampled_from(_BODIES),
       token=st.sampled_from([None, "Bearer tok", "Bearer nope", "Basic tok"]),
       origin=st.sampled_from([None, ALLOWED, "http://evil.example", "null", "SELF"]))
def test_the_direct_routes_answer_as_the_whole_starlette_app(
        servers: dict[tuple[bool, bool], tuple[str, str]], auth: bool, cors: bool, path: str,
        body: bytes, token: str | None, origin: str | None) -> None:
    answers = []
    for address in servers[auth, cors]:
        headers = {}
        if token is not None:
            headers["authorization"] = token
        if origin is not None:
            headers["origin"] = f"http://{address}" if origin == "SELF" else origin
        status, got, text = _same(post(f"http://{address}{path}", body, headers))
        # each server's own address (a redirect's, an origin's): the same once named alike
        answers.append((status, {k: v.replace(address, "SELF") for k, v in got.items()},
                        text.replace(address.encode(), b"SELF")))
    assert answers[0] == answers[1]


class _Failing(Agent):
    """An agent whose run cannot start: `astream` raises before the response begins."""

    def __init__(self, error: Exception) -> None:
        super().__init__(tools=[], provider=LocalProvider())
        self.error = error

    def astream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        raise self.error


@pytest.mark.parametrize("error", [RuntimeError("boom"), HTTPException(418, "a teapot")])
def test_a_failure_before_the_stream_starts_gets_the_same_answer(error: Exception) -> None:
    answers = []
    for app in _pair(_Failing(error)):
        with uvicorn_in_process(app) as address:
            answers.append(_same(post(f"http://{address}/api/chat", _chat("hi"))))
    assert answers[0] == answers[1]
    assert answers[0][0] == (418 if isinstance(error, HTTPException) else 500)


def test_mounted_under_a_prefix_the_direct_route_is_taken() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = create_app(Agent(tools=[], provider=LocalProvider()), auth_token="tok")
    outer = Starlette(routes=[Mount("/agent", app=app)])
    with uvicorn_in_process(outer) as address:
        url = f"http://{address}/agent/api/chat"
        assert post(url, _chat("hi"))[0] == 401
        status, _, body = post(url, _chat("hi"), {"authorization": "Bearer tok"})
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")
    assert app._direct is not None  # type: ignore[attr-defined]
