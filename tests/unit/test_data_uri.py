"""Image inputs: data URIs decode (MIME-wrapped base64 too) or fail with the part's param."""

from __future__ import annotations

import base64

import pytest

from poe.data_uri import decode_data_uri
from poe.errors import InvalidRequest


def test_line_wrapped_base64_is_accepted():
    data = bytes(range(256)) * 3
    wrapped = "\r\n".join(base64.encodebytes(data).decode().split("\n"))
    assert decode_data_uri("data:image/png;base64," + wrapped, "p", 10_000) == ("image/png", data)


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("data:image/png;base64,@@", "invalid_image_url"),
        ("data:text/plain;base64,aGk=", "invalid_image_format"),
        ("data:image/png;base64," + base64.b64encode(b"x" * 2000).decode(), "image_too_large"),
    ],
)
def test_bad_data_uris_name_the_param(uri, code):
    with pytest.raises(InvalidRequest) as info:
        decode_data_uri(uri, "messages[0].content[1].image_url.url", 1000)
    assert (info.value.param, info.value.code) == ("messages[0].content[1].image_url.url", code)


def test_line_wrapped_base64_just_under_the_limit_is_accepted() -> None:
    import base64

    data = bytes(range(256)) * 40  # 10,240 bytes
    wrapped = "\n".join(base64.b64encode(data).decode()[i : i + 76] for i in range(0, 20000, 76))
    mime, decoded = decode_data_uri("data:image/png;base64," + wrapped, "p", len(data))
    assert decoded == data and mime == "image/png"
