"""Images cannot be used to exhaust the proxy or its key pool (issue 12).

A request carries at most MAX_IMAGES images in both modes; in bot mode an upload
rate limit moves the request to the next key without cooling the limited one, so
one request with many images cannot take the whole pool down with it.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from poe.data_uri import MAX_IMAGES
from tests.conftest import BOT_TARGETS, ProxyFactory
from tests.contract.test_features import png
from tests.support import ACCESS_TOKEN, admin_status

AUTH = {"authorization": f"Bearer {ACCESS_TOKEN}"}


def image_part(noise: bytes) -> dict[str, object]:
    data = base64.b64encode(png(noise=noise)).decode()
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def test_more_images_than_allowed_is_a_400_naming_the_first_extra(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target)
    parts = [{"type": "text", "text": "what is this?"}] + [image_part(str(i).encode()) for i in range(MAX_IMAGES + 1)]
    body = {"model": "echo", "messages": [{"role": "user", "content": parts}]}
    r = httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 400, r.text[:300]
    err = r.json()["error"]
    assert err["code"] == "too_many_images"
    assert err["param"] == f"messages[0].content[{MAX_IMAGES + 1}].image_url.url"


@pytest.mark.parametrize("target", BOT_TARGETS)
def test_an_upload_rate_limit_moves_on_without_cooling_the_key(proxies: ProxyFactory, target: str) -> None:
    proxy = proxies.get(target, POE_APIKEYS="uplimited-img-1,good-img-2")
    for i in range(2):  # whichever key the rotation starts with; a new image each time (uploads are cached)
        content = [{"type": "text", "text": "hi"}, image_part(f"{target}-{i}".encode())]
        body = {"model": "echo", "messages": [{"role": "user", "content": content}]}
        r = httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text[:300]
    health = admin_status(proxy.url)
    assert health["keys"]["cooling"] == [], health  # the upload-limited key still serves plain queries
