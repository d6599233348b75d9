"""Seed samples: multimodal messages. The seed's "/path/to/photo.png" placeholder is a real
PNG written to a temporary folder here; "..." base64 data is a real (tiny) image too."""

# --- preamble: names the samples leave undefined ---
import base64
import tempfile
import zlib
from pathlib import Path


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so the example needs no image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


photo = Path(tempfile.mkdtemp()) / "photo.png"
photo.write_bytes(tiny_png())
png_base64 = base64.b64encode(tiny_png()).decode("ascii")

# --- the seed's first sample, unchanged but for the "..." base64 placeholder ---
from selectools.types import ContentPart, Message, Role

# Build a message with multiple content parts
parts = [
    ContentPart(type="text", text="What's in these images?"),
    ContentPart(type="image_url", image_url="https://example.com/photo.jpg"),
    ContentPart(type="image_base64", image_base64=png_base64, media_type="image/png"),
]
msg = Message(role=Role.USER, content="", content_parts=parts)
print("parts:", [p.type for p in msg.parts()])

# --- the seed's second sample, unchanged but for the file path ---
from selectools.types import image_message

# From a URL
msg = image_message("https://example.com/photo.jpg", prompt="Describe this image.")
print("from a URL:", [p.type for p in msg.parts()])

# From a local file path
msg = image_message(str(photo), prompt="What do you see?")  # seed: "/path/to/photo.png"
print("from a file:", [(p.type, p.media_type) for p in msg.parts()])

# --- the seed's third sample, unchanged ---
from selectools.types import text_content

# Works with both plain content and content_parts messages
message = msg
text = text_content(message)
print("text:", text)
