"""Images a browser attaches (useChat `file` parts) reach the model as image parts; other
files, other URLs and oversized images are refused by name. Pure reading first, then over a
real `selectools serve` in front of an OpenAIProvider and a loopback model server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import openai_text
from test_serve_support import (
    CountingModelServer,
    ModelAnswer,
    Served,
    post,
    read_with_sdk,
    serving,
    user_message,
)

from selectools.serve._bodies import BadRequest, TooLarge, chat_request
from selectools.types import MAX_IMAGE_BYTES, Role

#: A 1x1 PNG, and its GIF twin: real image bytes (the server checks them).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDw"
                       "ADhgGAWjR9awAAAABJRU5ErkJggg==")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00" \
      b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
KEY = "sk-serve-images-test-5e1d"


def data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def file_part(url: str, media_type: str, filename: str | None = "photo.png") -> dict[str, Any]:
    part: dict[str, Any] = {"type": "file", "mediaType": media_type, "url": url}
    if filename is not None:
        part["filename"] = filename
    return part


def with_files(text: str, *files: dict[str, Any]) -> dict[str, Any]:
    # useChat puts the attached files before the text.
    return {"id": "u1", "role": "user", "parts": [*files, {"type": "text", "text": text}]}


def refusal(message: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as caught:
        chat_request({"messages": [message]})
    return str(caught.value)


# -- reading the parts (pure) ----------------------------------------------------------------


def test_an_attached_image_becomes_an_image_part_beside_the_text() -> None:
    request = chat_request({"messages": [with_files(
        "What is in these?", file_part(data_url(PNG, "image/png"), "image/png"),
        file_part(data_url(GIF, "image/gif"), "image/gif", "anim.gif"))]})
    (message,) = request.messages
    assert message.role is Role.USER and message.content == "What is in these?"
    parts = message.parts()
    assert [p.type for p in parts] == ["text", "image_base64", "image_base64"]
    assert [p.media_type for p in parts[1:]] == ["image/png", "image/gif"]
    assert base64.b64decode(parts[1].image_base64 or "") == PNG
    # An image alone (no text) is a message too.
    (alone,) = chat_request({"messages": [with_files(
        "", file_part(data_url(PNG, "image/png"), "image/png"))]}).messages
    assert alone.content == "" and [p.type for p in alone.parts()] == ["image_base64"]


def test_files_that_are_no_usable_image_are_refused_by_name() -> None:
    pdf = file_part(data_url(b"%PDF-1.7\n", "application/pdf"), "application/pdf", "cv.pdf")
    said = refusal(with_files("read it", pdf))
    assert "messages[0].parts[0]" in said and '"cv.pdf"' in said
    assert "application/pdf files are not taken" in said and "image/png" in said

    svg = file_part(data_url(b"<svg/>", "image/svg+xml"), "image/svg+xml", "logo.svg")
    assert "image/svg+xml images are not taken" in refusal(with_files("x", svg))

    remote = file_part("https://example.com/cat.png", "image/png")
    assert "as a data: URL (the server fetches no URL)" in refusal(with_files("x", remote))

    not_base64 = file_part("data:image/png,%89PNG", "image/png")
    assert "must be base64" in refusal(with_files("x", not_base64))

    broken = file_part("data:image/png;base64,iVBOR!!w0KGgo=", "image/png")
    assert "not valid base64" in refusal(with_files("x", broken))

    # The bytes must be the image the part says it is.
    lying = file_part(data_url(GIF, "image/png"), "image/png")
    assert "the data is image/gif data, not image/png" in refusal(with_files("x", lying))
    text = file_part(data_url(b"hello, not an image", "image/png"), "image/png")
    assert "not PNG, JPEG, GIF or WebP data" in refusal(with_files("x", text))

    no_type = {"type": "file", "url": data_url(PNG, "image/png")}
    assert "messages[0].parts[0].mediaType must be a string" in refusal(with_files("x", no_type))


def test_an_image_over_the_limit_is_refused_before_it_is_decoded() -> None:
    # (not even valid image bytes: its size alone refuses it)
    payload = "A" * ((MAX_IMAGE_BYTES // 3 + 1) * 4)
    big = file_part(f"data:image/png;base64,{payload}", "image/png", "huge.png")
    with pytest.raises(TooLarge) as caught:
        chat_request({"messages": [with_files("x", big)]})
    assert '"huge.png"' in str(caught.value) and "the limit is 20 MB" in str(caught.value)


# -- over a real server ----------------------------------------------------------------------


@pytest.fixture
def model() -> Iterator[CountingModelServer]:
    with CountingModelServer() as server:
        yield server


@pytest.fixture
def served(model: CountingModelServer, tmp_path: Path) -> Iterator[Served]:
    pytest.importorskip("uvicorn")
    with serving("wire_agent", tmp_path, {"SERVE_MODEL_URL": model.url,
                                         "SERVE_MODEL_KEY": KEY},
                 args=["--max-body-bytes", str(30 * 2**20)]) as server:
        yield server


def test_use_chat_sends_an_image_and_the_model_gets_it(model: CountingModelServer,
                                                       served: Served) -> None:
    model.answers.append(ModelAnswer(openai_text(["A ", "red ", "pixel."])))
    url = data_url(PNG, "image/png")
    read = read_with_sdk(served.url, "c-img", [with_files(
        "What is this?", file_part(url, "image/png"))])
    assert read["message"]["parts"][-1]["text"] == "A red pixel."
    sent = model.bodies[-1]["messages"][-1]
    assert sent["role"] == "user"
    assert {"type": "text", "text": "What is this?"} in sent["content"]
    images = [p for p in sent["content"] if p["type"] == "image_url"]
    assert [p["image_url"]["url"] for p in images] == [url]


def test_refused_files_get_a_400_or_413_naming_them_and_reach_no_model(
        model: CountingModelServer, served: Served) -> None:
    chat = served.url + "/api/chat"
    pdf = file_part(data_url(b"%PDF-1.7\n", "application/pdf"), "application/pdf", "cv.pdf")
    big = file_part("data:image/png;base64," + "A" * ((MAX_IMAGE_BYTES // 3 + 1) * 4),
                    "image/png", "huge.png")
    remote = file_part("http://127.0.0.1:1/secret.png", "image/png")
    for part, status, named in [(pdf, 400, "application/pdf files are not taken"),
                                (big, 413, "the limit is 20 MB"),
                                (remote, 400, "the server fetches no URL")]:
        got, headers, body = post(chat, {"messages": [with_files("look", part)]})
        assert (got, headers["content-type"]) == (status, "application/json")
        assert named in json.loads(body)["error"]
    assert model.requests == 0
    # ...and the next request is served.
    model.answers.append(ModelAnswer(openai_text(["fine"])))
    assert read_with_sdk(served.url, "c", [user_message("hi")])["message"]["parts"][-1][
        "text"] == "fine"
