"""Image URLs: data: URLs decode; http(s) ones only when allowed, and never from private or local addresses."""

import base64

import pytest

from inference.errors import BadInput, PayloadTooLarge
from inference.image_urls import public_address, read
from inference.settings import LimitSettings
from tests.helpers import ENGLISH, encode, render_lines

PNG = encode(render_lines(ENGLISH[:1]))


def test_data_urls_decode_and_bad_ones_say_why():
    assert read("data:image/png;base64," + base64.b64encode(PNG).decode(), LimitSettings()) == PNG
    with pytest.raises(BadInput, match="base64"):
        read("data:image/png,rawbytes", LimitSettings())
    with pytest.raises(BadInput, match="not valid base64"):
        read("data:image/png;base64,***", LimitSettings())
    with pytest.raises(PayloadTooLarge):
        read("data:image/png;base64," + "A" * 2000, LimitSettings(max_file_bytes=100))
    with pytest.raises(BadInput, match="not an image URL"):
        read("file:///etc/passwd", LimitSettings(image_urls=True))
    for text in ("http://example.com/a\ud800.png", "data:image/png;base64,\udfff"):  # (JSON's escapes: httpx raised)
        with pytest.raises(BadInput, match="unpaired surrogate"):
            read(text, LimitSettings(image_urls=True))


def test_http_urls_only_when_allowed_and_never_to_local_networks():
    with pytest.raises(BadInput, match="not fetched by this server"):
        read("https://example.com/a.png", LimitSettings())
    allowed = LimitSettings(image_urls=True)
    for url in (
        "http://127.0.0.1:8000/health",
        "http://localhost/x.png",
        "http://10.0.0.5/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.png",
    ):
        with pytest.raises(BadInput, match="not a public address"):
            read(url, allowed)
    assert not public_address("192.168.1.1") and not public_address("no-such-host.invalid")
    assert public_address("8.8.8.8")
