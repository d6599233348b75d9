"""An MCP tool result (`CallToolResult`) as the text a model reads, keeping its images.

Text blocks are joined as they are. Structured content is read as JSON when no text
block says it (a server SHOULD send both; the text is what a model was meant to read).
Images become ContentParts (the multimodal parts the providers send) with a short
placeholder in the text, so the model knows one is there; an embedded resource's text is
given under its URI, a binary one (image aside) and a resource link are named.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from ..types import ContentPart, _sniff_image_type
from .errors import MCPToolError


class MCPToolOutput(str):
    """The text of an MCP tool result (a `str`, so it goes anywhere a tool's text goes),
    carrying what text cannot: `content_parts` (its images, as ContentParts) and
    `structured` (its `structuredContent`, or None)."""

    content_parts: tuple[ContentPart, ...]
    structured: Any

    def __new__(cls, text: str, content_parts: Iterable[ContentPart] = (),
                structured: Any = None) -> MCPToolOutput:
        output = super().__new__(cls, text)
        output.content_parts = tuple(content_parts)
        output.structured = structured
        return output


def tool_output(result: Any, tool_name: str) -> MCPToolOutput:
    """Read a `CallToolResult`; `isError` raises MCPToolError with the server's words."""
    texts: list[str] = []
    parts: list[ContentPart] = []
    for block in result.content or ():
        _read_block(block, texts, parts)
    structured = result.structured_content
    if structured is not None and not texts:
        texts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(texts)
    if result.is_error:
        raise MCPToolError(text or f"the server reported that tool {tool_name!r} failed")
    return MCPToolOutput(text, parts, structured)


def _read_block(block: Any, texts: list[str], parts: list[ContentPart]) -> None:
    kind = getattr(block, "type", None)
    if kind == "text":
        texts.append(block.text)
    elif kind == "image":
        _read_image(block.data, block.mime_type, "", texts, parts)
    elif kind == "audio":
        texts.append(f"[audio: {block.mime_type}, not shown]")
    elif kind == "resource":
        _read_resource(block.resource, texts, parts)
    elif kind == "resource_link":
        described = f" ({block.description})" if getattr(block, "description", None) else ""
        texts.append(f"[resource link: {block.name} <{block.uri}>{described}]")
    else:  # a block of a later revision: say so rather than drop it silently
        texts.append(f"[{kind or 'unknown'} content, not shown]")


def _read_resource(resource: Any, texts: list[str], parts: list[ContentPart]) -> None:
    mime = getattr(resource, "mime_type", None)
    text = getattr(resource, "text", None)
    if text is not None:
        texts.append(f"[resource <{resource.uri}>]\n{text}")
    elif mime and mime.startswith("image/"):
        _read_image(resource.blob, mime, f", resource <{resource.uri}>", texts, parts)
    else:
        texts.append(f"[resource <{resource.uri}>: {mime or 'binary'}, not shown]")


def _read_image(data: str, mime: str, where: str, texts: list[str],
                parts: list[ContentPart]) -> None:
    """An image the server sent, as the bytes say it is: its label is the server's word,
    and a provider refuses the whole request for an image whose bytes are of another type
    (Anthropic), of a type it does not take (SVG, TIFF), or no base64. Such an image is
    left out, and the text says so."""
    try:
        media_type = _sniff_image_type(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        texts.append(f"[image: {mime}, not shown: not base64{where}]")
        return
    if media_type is None:
        texts.append(f"[image: {mime}, not shown: not PNG, JPEG, GIF or WebP data{where}]")
        return
    parts.append(ContentPart(type="image_base64", image_base64=data, media_type=media_type))
    texts.append(f"[image {len(parts)}: {media_type}{where}]")
