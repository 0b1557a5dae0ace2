"""The tiny OCR models: GOT-OCR 2.0, LightOnOCR-2 and the LightOnOCR-3 1B twin (its grounding answer), PaddleOCR-VL."""

from __future__ import annotations

from pathlib import Path

from .common import GOT_SPECIAL, _chatml, _ids, _save, _tiny_text, _tokenizer


def build_got_ocr(folder: Path) -> Path:
    import torch
    from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration, GotOcr2ImageProcessor, GotOcr2Processor

    tokenizer = _tokenizer(GOT_SPECIAL)
    ids = _ids(tokenizer, GOT_SPECIAL)
    image_size = 1024  # the processor always inserts 256 image tokens: a 64x64 patch grid, merged 4x4
    config = GotOcr2Config(
        vision_config={
            "hidden_size": 32,
            "output_channels": 16,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 16,
            # windowed attention only: one global layer over the 64x64 patch grid cost 0.5 s a page on a CPU core
            # (the real model's own code runs either way; our code only sees the 256 tokens it gives)
            "window_size": 8,
            "global_attn_indexes": [],
            "mlp_dim": 64,
        },
        text_config=_tiny_text(tokenizer, ids, "<|endoftext|>", "<|im_end|>", model_type="qwen2"),
        image_token_index=ids["<imgpad>"],
    )
    torch.manual_seed(0)
    model = GotOcr2ForConditionalGeneration(config).eval()
    image_processor = GotOcr2ImageProcessor(size={"height": image_size, "width": image_size})
    processor = GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)
    return _save(folder, model, processor, ids, "<|endoftext|>", "<|im_end|>")


# What the LightOnOCR-3 1B twin writes, whatever it is shown: a grounding answer (LightOnOCR-3's format: a marker
# `![label](x0,y0,x1,y1)` with a 0-1000 box before each block's text), so that tests see its blocks come through the
# real loading, generation and parsing. Its pieces are words of the twin's vocabulary: a few decoding steps write it.
GROUNDING_PIECES = [
    "![title](0,0,500,99)",
    "![table](0,100,1000,600)",
    "|a|b|",
    "|-|-|",
    "|1|2|",
    "![page_number](450,950,550,999)",
]
GROUNDING_ANSWER = "![title](0,0,500,99)T\n![table](0,100,1000,600)\n|a|b|\n|-|-|\n|1|2|\n![page_number](450,950,550,999)7"


def answer_bias(tokenizer, answer: str, eos: str) -> list:
    """A ``sequence_bias`` (transformers' generation setting) under which a model writes ``answer`` and ends: each
    next token of it gets a bias larger than all the shorter matches' together (2**length), so that even a random
    model at any temperature writes exactly it."""
    ids = tokenizer.encode(answer, add_special_tokens=False) + [tokenizer.convert_tokens_to_ids(eos)]
    return [[ids[: n + 1], float(2 ** (n + 1))] for n in range(len(ids))]


def build_lighton_ocr_3(folder: Path) -> Path:
    """LightOnOCR-3 1B's twin: LightOnOCR-2's architecture (the 1B keeps it), its generation biased to write
    ``GROUNDING_ANSWER``."""
    return build_lighton_ocr(folder, answer=GROUNDING_ANSWER, words=GROUNDING_PIECES)


def build_lighton_ocr(folder: Path, answer: str | None = None, words: list[str] | None = None) -> Path:
    """LightOnOCR's architecture (a Pixtral vision tower and a Qwen3 decoder), model type ``lighton_ocr``; with
    ``answer``, biased to write it (``words``: tokens added to its vocabulary)."""
    import torch
    from transformers import (
        LightOnOcrConfig,
        LightOnOcrForConditionalGeneration,
        LightOnOcrProcessor,
        PixtralImageProcessor,
    )

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|vision_pad|>", "<|vision_end|>"]
    tokenizer = _tokenizer(
        special,
        named={"image_token": "<|image_pad|>", "image_break_token": "<|vision_pad|>", "image_end_token": "<|vision_end|>"},
    )
    tokenizer.add_tokens(words or [])
    ids = _ids(tokenizer, special)
    config = LightOnOcrConfig(
        text_config={"model_type": "qwen3", **_tiny_text(tokenizer, ids, "<|endoftext|>", "<|im_end|>")},
        vision_config={
            "model_type": "pixtral",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "head_dim": 16,
            "image_size": 224,
            "patch_size": 14,
        },
        image_token_id=ids["<|image_pad|>"],
        spatial_merge_size=2,
    )
    torch.manual_seed(0)
    model = LightOnOcrForConditionalGeneration(config).eval()
    processor = LightOnOcrProcessor(
        image_processor=PixtralImageProcessor(size={"longest_edge": 224}, patch_size=14),
        tokenizer=tokenizer,
        patch_size=14,
        spatial_merge_size=2,
        chat_template=_chatml("<|image_pad|>"),
    )
    if answer is not None:
        model.generation_config.sequence_bias = answer_bias(tokenizer, answer, "<|im_end|>")
    return _save(folder, model, processor, ids, "<|endoftext|>", "<|im_end|>")


PADDLE_TEMPLATE = (
    "<|begin_of_sentence|>{% for message in messages %}"
    "{% if message['role'] == 'user' %}User: {% else %}Assistant: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{% if message['role'] == 'user' %}{{ '\\n' }}{% else %}</s>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)


def build_paddleocr_vl(folder: Path) -> Path:
    """PaddleOCR-VL's architecture (a NaViT-style vision tower with M-RoPE, an ERNIE-4.5 decoder)."""
    import torch
    from transformers import (
        PaddleOCRVLConfig,
        PaddleOCRVLForConditionalGeneration,
        PaddleOCRVLImageProcessor,
        PaddleOCRVLProcessor,
    )

    special = [
        "<|endoftext|>",
        "</s>",
        "<|begin_of_sentence|>",
        "<|IMAGE_START|>",
        "<|IMAGE_END|>",
        "<|IMAGE_PLACEHOLDER|>",
        "<|video_pad|>",
    ]
    tokenizer = _tokenizer(special, eos="</s>", named={"image_token": "<|IMAGE_PLACEHOLDER|>"})
    ids = _ids(tokenizer, special)
    config = PaddleOCRVLConfig(
        text_config=_tiny_text(
            tokenizer,
            ids,
            "<|endoftext|>",
            "</s>",
            bos_token_id=ids["<|begin_of_sentence|>"],
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        ),
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 56,
            "patch_size": 14,
            "spatial_merge_size": 2,
        },
        image_token_id=ids["<|IMAGE_PLACEHOLDER|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|IMAGE_START|>"],
        vision_end_token_id=ids["<|IMAGE_END|>"],
    )
    torch.manual_seed(0)
    model = PaddleOCRVLForConditionalGeneration(config).eval()
    image_processor = PaddleOCRVLImageProcessor(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64)
    processor = PaddleOCRVLProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=PADDLE_TEMPLATE)
    return _save(folder, model, processor, ids, "<|endoftext|>", "</s>")
