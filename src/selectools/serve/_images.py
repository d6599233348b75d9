"""A browser's image attachment (a useChat `file` part) as the image part providers send.

useChat sends an attached file as `{"type": "file", "mediaType": "image/png", "filename"?,
"url": "data:image/png;base64,..."}`. An image given inline (a `data:` URL, base64) becomes
a `ContentPart(type="image_base64")`; anything else is refused by name: a file that is no
image (a PDF, a text file: no provider here takes those as message parts), an image type
the providers do not take, a URL that is not `data:` (the server fetches nothing a browser
names: that would let any client make it request any address), an image over
`selectools.types.MAX_IMAGE_BYTES` (measured before it is decoded: a 413), or bytes that are
not the image the part says.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..types import MAX_IMAGE_BYTES, ContentPart, _sniff_image_type


class ImageTooLarge(ValueError):
    """An image part over MAX_IMAGE_BYTES: a 413."""


#: The image types every image-taking provider accepts inline.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def image_part(part: dict[str, Any], where: str) -> ContentPart:
    """The image a useChat `file` part carries, or a ValueError naming what is wrong."""
    media_type = part.get("mediaType")
    if not isinstance(media_type, str):
        raise ValueError(f"{where}.mediaType must be a string (the file's media type)")
    media_type = media_type.strip().lower()
    name = part.get("filename")
    label = f"{where} ({json.dumps(name)}, {media_type})" if isinstance(name, str) \
        else f"{where} ({media_type})"
    if not media_type.startswith("image/"):
        raise ValueError(f"{label}: only images can be attached ({', '.join(IMAGE_TYPES)}); "
                         f"{media_type} files are not taken")
    if media_type == "image/jpg":
        media_type = "image/jpeg"
    if media_type not in IMAGE_TYPES:
        raise ValueError(f"{label}: {media_type} images are not taken; send one of "
                         f"{', '.join(IMAGE_TYPES)}")
    url = part.get("url")
    if not isinstance(url, str):
        raise ValueError(f"{where}.url must be a string (a data: URL)")
    header, comma, payload = url.partition(",")
    if not header.lower().startswith("data:") or not comma:
        raise ValueError(f"{label}: the image must be inline, as a data: URL (the server "
                         "fetches no URL)")
    if not header.lower().endswith(";base64"):
        raise ValueError(f"{label}: the data: URL must be base64 (data:<type>;base64,...)")
    # The size it decodes to, known from the text's length: refused before it is decoded.
    size = len(payload) * 3 // 4 - payload[-2:].count("=")
    if size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"{label}: the image is {size / 2**20:.1f} MB; the limit is "
                            f"{MAX_IMAGE_BYTES // 2**20} MB")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{label}: the data: URL is not valid base64") from None
    sniffed = _sniff_image_type(data)
    if sniffed != media_type:
        found = f"{sniffed} data" if sniffed else "not PNG, JPEG, GIF or WebP data"
        raise ValueError(f"{label}: the data is {found}, not {media_type}")
    return ContentPart(type="image_base64", image_base64=payload, media_type=media_type)
