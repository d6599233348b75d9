"""A WebSocket client's approvals, when the session store fails to read the session.

The approvals are checked against the session before its run resumes; a store that
cannot read it (here a JSON files store whose session file was replaced by a directory:
the read raises IsADirectoryError, not the store's ValueError of a damaged record) is the
server's failure, not the client's. The client gets an error frame that names it by its
class only (the details go to the server's log), and the socket goes on serving.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_serve_support import TOOL_RUN, serving

pytest.importorskip("uvicorn")  # the serve extra (dev installs it)


async def _frames_until_done(socket: Any) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] not in ("done", "error"):
        frames.append(json.loads(await asyncio.wait_for(socket.recv(), 20)))
    return frames


async def test_a_store_that_cannot_read_the_session_is_an_error_frame_not_a_closed_socket(
        tmp_path: Path) -> None:
    from websockets.asyncio.client import connect

    sessions = tmp_path / "sessions"
    env = {"SERVE_TRANSCRIPTS": os.pathsep.join(map(str, TOOL_RUN)),
           "SERVE_PROTOCOL": "anthropic", "SERVE_SESSIONS": str(sessions),
           "SERVE_STORE": "json"}
    with serving("approval_agent", tmp_path, env) as served:
        url = served.url.replace("http", "ws") + "/ws"
        async with connect(url, open_timeout=10) as socket:
            await socket.send(json.dumps({"type": "message", "conversation_id": "conv-a",
                                          "content": "What is the weather in SF?"}))
            frames = await _frames_until_done(socket)
            (asked,) = [f for f in frames if f["type"] == "approval_required"]
            (session_file,) = sessions.glob("conv-a*.json")
            session_file.unlink()
            session_file.mkdir()  # the store's read of it now fails with an OSError
            await socket.send(json.dumps({"type": "approve", "conversation_id": "conv-a",
                                          "approvals": {asked["calls"][0]["call_id"]: True}}))
            (failed,) = await _frames_until_done(socket)
            assert failed["type"] == "error"
            assert failed["message"] == ("the run failed (IsADirectoryError); the server's "
                                         "log has the details")
            await socket.send(json.dumps({"type": "message", "conversation_id": "conv-b",
                                          "content": "What is the weather in SF?"}))
            frames = await _frames_until_done(socket)  # the same socket serves on
            assert frames[-1]["type"] == "done"
        assert "IsADirectoryError" in served.output()
