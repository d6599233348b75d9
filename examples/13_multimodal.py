"""A multimodal message, and how each provider puts it on the wire (built offline: no request
is sent). image_message() reads and checks the file when the message is made."""

import base64
import json
import tempfile
import zlib
from pathlib import Path

from selectools import Message, Role, image_message, text_content
from selectools.providers import anthropic, gemini, openai


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so the example needs no image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


photo = Path(tempfile.mkdtemp()) / "dot.png"
photo.write_bytes(tiny_png())
message = image_message(photo, prompt="What colour is this dot?")
print("parts:", [(p.type, p.media_type) for p in message.parts()])
print("text:", text_content(message))


def short(value: object) -> str:
    """The wire JSON with long base64 data cut for printing."""
    text = json.dumps(value)
    data = base64.b64encode(tiny_png()).decode()
    return text.replace(data, data[:12] + "...")


history = [message]
print("openai:   ", short(openai.build_request_body(
    model="gpt-4o-mini", system_prompt="", messages=history)["messages"][0]["content"]))
print("anthropic:", short(anthropic.build_request_body(
    model="claude-haiku-4-5", system_prompt="", messages=history)["messages"][0]["content"]))
print("gemini:   ", short(gemini.build_request_body(
    system_prompt="", messages=history)["contents"][0]["parts"]))

try:
    Message(role=Role.USER, content="look", image_path=str(photo.with_suffix(".missing")))
except ValueError as error:
    print("a bad path fails at once:", error)
