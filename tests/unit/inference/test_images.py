import io

import pytest
from PIL import Image

from inference import images
from inference.errors import BadInput, PayloadTooLarge
from inference.settings import LimitSettings
from tests.helpers import encode

LIMITS = LimitSettings(max_file_bytes=1_000_000, max_image_pixels=4_000_000)


def test_decodes_png_to_rgb():
    image = images.decode(encode(Image.new("L", (30, 20), 128)), LIMITS)
    assert image.mode == "RGB" and image.size == (30, 20)


def test_transparency_is_flattened_onto_white():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    image = images.decode(encode(rgba), LIMITS)
    assert image.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    source = Image.new("RGB", (40, 10), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(source, "JPEG", exif=exif.tobytes())
    assert images.decode(data, LIMITS).size == (10, 40)


def test_zero_bytes():
    with pytest.raises(BadInput, match="empty"):
        images.decode(b"", LIMITS, "empty.png")


def test_text_named_jpg():
    with pytest.raises(BadInput, match="not an image"):
        images.decode(b"this is plain text, not a JPEG", LIMITS, "fake.jpg")


def test_truncated_png():
    data = encode(Image.effect_noise((200, 200), 50).convert("RGB"))
    with pytest.raises(BadInput, match="truncated or corrupt"):
        images.decode(data[: len(data) // 2], LIMITS, "cut.png")


def test_decompression_bomb_refused_before_decoding():
    bomb = encode(Image.new("1", (5000, 5000)))  # 25 Mpx in a few kB
    assert len(bomb) < 50_000
    with pytest.raises(BadInput, match="pixels"):
        images.decode(bomb, LIMITS, "bomb.png")


def test_oversize_bytes():
    with pytest.raises(PayloadTooLarge):
        images.decode(b"x" * (LIMITS.max_file_bytes + 1), LIMITS)


def test_read_limited_stops_at_the_limit():
    stream = io.BytesIO(b"x" * 5000)
    with pytest.raises(PayloadTooLarge):
        images.read_limited(stream, 1000, "big.png")
    assert stream.tell() == 1001  # refused without reading the rest
    assert images.read_limited(io.BytesIO(b"abc"), 1000, "small") == b"abc"


def test_thin_and_tiny_images_are_padded_without_moving_content():
    strip = Image.new("RGB", (1000, 10), (200, 220, 240))
    strip.putpixel((5, 5), (0, 0, 0))
    padded = images.pad_to_aspect(strip, 8, min_side=32)
    assert padded.size == (1000, 125)
    assert padded.getpixel((5, 5)) == (0, 0, 0) and padded.getpixel((500, 100)) == (200, 220, 240)  # border colour
    assert images.pad_to_aspect(Image.new("L", (1, 1)), 8, min_side=32).size == (32, 32)
    assert images.pad_to_aspect(Image.new("RGB", (10, 5000)), 100).size == (50, 5000)
    normal = Image.new("RGB", (300, 200))
    assert images.pad_to_aspect(normal, 8, min_side=32) is normal


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"hello, this is text", r"PNG, JPEG.* nor a PDF \(OCR reads PDFs too\)"),
    ],
)
def test_files_that_are_not_images_say_what_they_are(data, words):
    with pytest.raises(BadInput, match=words):
        images.decode(data, LimitSettings(), "upload")


def test_a_long_or_odd_file_name_is_cut_in_messages():
    from inference.errors import BadInput
    from inference.images import decode
    from inference.settings import LimitSettings

    with pytest.raises(BadInput) as error:
        decode(b"not an image", LimitSettings(), name="x" * 5000 + "\n\x00.png")
    assert len(str(error.value)) < 300 and "\x00" not in str(error.value)
