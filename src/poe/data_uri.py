"""Images sent inline as ``data:`` URIs: checked and decoded once, whichever upstream takes them."""

from __future__ import annotations

import base64
import binascii
import re

from .canonical import ChatRequest
from .errors import InvalidRequest

__all__ = ["MAX_IMAGES", "Decoded", "check_images", "decode_data_uri"]

MAX_IMAGES = 20  # per request: each costs an upload (bot protocol) or a decode and Poe's own fetch
Decoded = dict[str, tuple[str, bytes]]  # data: URI -> (MIME type, bytes)

_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,", re.I)


def decode_data_uri(uri: str, param: str, max_bytes: int) -> tuple[str, bytes]:
    m = _DATA_URI.match(uri)
    if not m or not m.group(3):
        raise InvalidRequest(
            f"Invalid image data URI in '{param}': expected data:image/<type>;base64,<data>.",
            param=param,
            code="invalid_image_url",
        )
    mime = (m.group(1) or "").lower()
    if not mime.startswith("image/"):
        raise InvalidRequest(
            f"Invalid image in '{param}': the data URI's type is {mime or 'missing'}, expected image/*.",
            param=param,
            code="invalid_image_format",
        )
    payload = "".join(uri[m.end() :].split())  # MIME-wrapped base64 is fine
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise InvalidRequest(
            f"The image in '{param}' is larger than {max_bytes} bytes (MAX_IMAGE_BYTES).", param=param, code="image_too_large"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            f"Invalid image in '{param}': the base64 data does not decode.", param=param, code="invalid_image_url"
        ) from None
    if not data:
        raise InvalidRequest(f"Invalid image in '{param}': it is empty.", param=param, code="invalid_image_url")
    if len(data) > max_bytes:
        raise InvalidRequest(
            f"The image in '{param}' is larger than {max_bytes} bytes (MAX_IMAGE_BYTES).", param=param, code="image_too_large"
        )
    return mime, data


def check_images(req: ChatRequest, max_bytes: int) -> Decoded:
    """Every inline image of the request decodes and fits (a clear 400 naming the part, not Poe's),
    and there are at most ``MAX_IMAGES``. Returns the decoded images, so nothing decodes twice."""
    images = [image for msg in req.messages for image in msg.images]
    if len(images) > MAX_IMAGES:
        raise InvalidRequest(
            f"The request carries {len(images)} images; at most {MAX_IMAGES} are allowed in one request.",
            param=images[MAX_IMAGES].param or "messages",
            code="too_many_images",
        )
    decoded: Decoded = {}
    for image in images:
        if image.url.startswith("data:") and image.url not in decoded:
            decoded[image.url] = decode_data_uri(image.url, image.param or "messages", max_bytes)
    return decoded
