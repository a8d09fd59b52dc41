"""Images in for the bot protocol: uploaded to Poe, then attached to the query.

``image_url`` parts with a ``data:`` URI are uploaded as a file, https
URLs by ``download_url``, to Poe's upload endpoint (``POE_UPLOAD_URL``); the
returned attachment URL goes into the user message's ``attachments``. The
same image is uploaded once per isolate (cached by content hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections import OrderedDict

from ..canonical import ChatRequest, ImagePart
from ..data_uri import Decoded
from ..errors import InvalidRequest, UpstreamError
from ..http import OutboundRequest, Runtime
from ..pool import AttemptFailed, classify_status, parse_retry_after, read_head
from ..settings import Config

__all__ = ["UPLOADS", "encode_multipart", "upload_images"]

_CACHE_SIZE = 256


class _LRU(OrderedDict[str, dict[str, str]]):
    def remember(self, key: str, value: dict[str, str]) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _CACHE_SIZE:
            self.popitem(last=False)


UPLOADS = _LRU()  # content hash -> attachment, for this isolate's life


def encode_multipart(fields: list[tuple[str, str | tuple[str, str, bytes]]]) -> tuple[str, bytes]:
    """multipart/form-data: (name, text) or (name, (filename, content type, bytes))."""
    boundary = "poeproxy" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields:
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, str):
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += value.encode() + b"\r\n"
        else:
            filename, ctype, data = value
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
            )
            out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


async def _upload(rt: Runtime, cfg: Config, key: str, image: ImagePart, decoded: Decoded, deadline: float) -> dict[str, str]:
    param = image.param or "messages"
    if image.url.startswith("data:"):
        mime, data = decoded[image.url]
        cache_key = "sha256:" + hashlib.sha256(data).hexdigest()
        ext = mime.split("/", 1)[1].split("+", 1)[0]
        fields: list[tuple[str, str | tuple[str, str, bytes]]] = [("file", (f"image.{ext}", mime, data))]
        name = f"image.{ext}"
    else:
        cache_key = "url:" + image.url
        fields = [("download_url", image.url)]
        mime, name = "", image.url.rsplit("/", 1)[-1].split("?", 1)[0][:100] or "image"
    cached = UPLOADS.get(cache_key)
    if cached is not None:
        UPLOADS.move_to_end(cache_key)
        return cached
    ctype, body = encode_multipart(fields)
    request = OutboundRequest("POST", cfg.upload_url, {"authorization": key, "content-type": ctype}, body)
    wait = max(0.001, min(cfg.connect_timeout, deadline - asyncio.get_running_loop().time()))  # within TIMEOUT
    try:
        status, retry_after, raw = await asyncio.wait_for(_post(rt, request), wait)
    except TimeoutError:
        raise AttemptFailed("timeout", f"Poe's file upload did not answer within {wait:g} s") from None
    except Exception as exc:
        raise AttemptFailed("unavailable", f"could not reach Poe's file upload ({type(exc).__name__})") from None
    if status in (400, 413, 415, 422):
        raise InvalidRequest(f"Poe refused the image in '{param}' (HTTP {status}).", param=param, code="invalid_image")
    if status == 429:  # the uploads' own limit: try the next key, but do not cool this one for it
        # (else one request with many images could cool the whole pool)
        raise AttemptFailed("rate_limited", "Poe's file upload is rate-limited", parse_retry_after(retry_after), cool=False)
    if status != 200:
        failure = classify_status(status, parse_retry_after(retry_after), "")
        if isinstance(failure, AttemptFailed):
            raise failure  # a key problem (rejected, out of points) or Poe is down: the caller tries the next key
        raise UpstreamError(f"Poe's file upload failed (HTTP {status}).")
    try:
        obj = json.loads(raw)
        url = obj["attachment_url"]
        if not isinstance(url, str) or not url:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise UpstreamError("Poe's file upload answered without an attachment URL.") from None
    attachment = {"url": url, "content_type": str(obj.get("mime_type") or mime or "image/png"), "name": name}
    UPLOADS.remember(cache_key, attachment)
    return attachment


async def _post(rt: Runtime, request: OutboundRequest) -> tuple[int, str | None, bytes]:
    """Status, Retry-After and the (bounded) body of a small request."""
    resp = await rt.http.send(request)
    try:
        raw = await read_head(resp, 65536)
    finally:
        await resp.close()
    return resp.status, resp.headers.get("retry-after"), raw


async def upload_images(
    rt: Runtime, cfg: Config, req: ChatRequest, key: str, decoded: Decoded, deadline: float
) -> dict[int, list[dict[str, str]]]:
    """Upload every image of the request at once (at most MAX_IMAGES); message index -> attachments."""
    jobs = [(i, image) for i, msg in enumerate(req.messages) for image in msg.images]
    done = await asyncio.gather(*(_upload(rt, cfg, key, image, decoded, deadline) for _, image in jobs))
    out: dict[int, list[dict[str, str]]] = {}
    for (i, _), attachment in zip(jobs, done, strict=True):
        out.setdefault(i, []).append(attachment)
    return out
