"""Tiny, randomly initialised vision-language models built with the real transformers classes.

    python -m tests.tiny_models DIR

builds a Qwen3-VL, a GOT-OCR 2.0, a LightOnOCR, a PaddleOCR-VL, a Qwen2.5-VL (olmOCR's architecture), a SmolVLM
and a Qwen3.5 (LightOnOCR-3 0.8B / 4B's) into DIR (config, tokenizer, image processor, ``save_pretrained``) and
writes ``DIR/config.yaml``: a complete server config whose vision-language entries (``qwen3_vl_2b``, ``qwen3_vl_4b``,
``qwen3_vl_8b``, ``got_ocr``, ``lightonocr_2_1b``, ``lightonocr_3_1b``, ``lightonocr_3_0_8b``, ``lightonocr_3_4b``,
``paddleocr_vl``, ``olmocr_2_7b``, ``smolvlm2_500m``) point at them, so

    CHATVLM_CONFIG=DIR/config.yaml python app.py

serves every route and every API-guide example with those ids, without a GPU or a download.
Their text is gibberish: test shapes, types, lengths and parameters honoured, not words.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
GOT_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_vocab() -> dict[str, int]:
    """The 256 byte-level BPE symbols (GPT-2's bytes_to_unicode), no merges."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in printable:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return {c: i for i, c in enumerate(chars)}


def _tokenizer(special: list[str], eos: str = "<|im_end|>", named: dict[str, str] | None = None):
    """A byte-level tokenizer with ``special`` tokens (the first is the padding); ``named`` gives the processor's
    named tokens (``image_token``...) as the real models' tokenizer configs do."""
    from transformers import Qwen2Tokenizer

    vocab = _byte_vocab()
    for token in special:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=[], unk_token=special[0], eos_token=eos, pad_token=special[0], extra_special_tokens=named or {}
    )
    tokenizer.add_special_tokens({"additional_special_tokens": special[1:]}, replace_extra_special_tokens=False)
    return tokenizer


def _ids(tokenizer, special: list[str]) -> dict[str, int]:
    return {t: tokenizer.convert_tokens_to_ids(t) for t in special}


def _tiny_text(tokenizer, ids: dict[str, int], pad: str, eos: str, **extra) -> dict:
    """A two-layer decoder config of the shape every tiny model shares."""
    return {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 4096,
        "pad_token_id": ids[pad],
        "eos_token_id": ids[eos],
        **extra,
    }


def _save(folder: Path, model, processor, ids: dict[str, int], pad: str, eos: str) -> Path:
    model.generation_config.eos_token_id = ids[eos]
    model.generation_config.pad_token_id = ids[pad]
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# Qwen3-VL-2B-Instruct's real shape (random weights): for GPU benchmarks, never for tests.
QWEN3_VL_2B = {
    "text": {
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "max_position_embeddings": 262144,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    },
    "vision": {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 2048,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
    },
}


def build_qwen3_vl(folder: Path, shape: str = "tiny") -> Path:
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tokenizer = _tokenizer(QWEN_SPECIAL)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
                "mrope_interleaved": True,
            },
            "pad_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 64,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    if shape == "2b":
        text = {**config.text_config.to_dict(), **QWEN3_VL_2B["text"]}
        config = Qwen3VLConfig(
            text_config=text,
            vision_config=QWEN3_VL_2B["vision"],
            image_token_id=config.image_token_id,
            video_token_id=config.video_token_id,
            vision_start_token_id=config.vision_start_token_id,
            vision_end_token_id=config.vision_end_token_id,
            tie_word_embeddings=True,
        )
    torch.manual_seed(0)
    with torch.device("cuda" if shape == "2b" and torch.cuda.is_available() else "cpu"):
        model = Qwen3VLForConditionalGeneration(config).eval()
    if shape == "2b":
        model = model.to(torch.bfloat16)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    image_processor = Qwen2VLImageProcessor(
        patch_size=16, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 32 * 32, "longest_edge": 512 * 512}
    )
    video_processor = Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor, chat_template=CHAT_TEMPLATE
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_got_ocr(folder: Path) -> Path:
    import torch
    from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration, GotOcr2ImageProcessor, GotOcr2Processor

    tokenizer = _tokenizer(GOT_SPECIAL)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in GOT_SPECIAL}
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
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "pad_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
        },
        image_token_index=ids["<imgpad>"],
    )
    torch.manual_seed(0)
    model = GotOcr2ForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    image_processor = GotOcr2ImageProcessor(size={"height": image_size, "width": image_size})
    processor = GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _chatml(image: str) -> str:
    """A ChatML template like Qwen's, with the model's own image placeholder."""
    return CHAT_TEMPLATE.replace("<|vision_start|><|image_pad|><|vision_end|>", image)


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


# Qwen3's way of turning thinking off: an empty think block opens the answer (LightOnOCR-3 0.8B / 4B want it off)
QWEN3_5_TEMPLATE = CHAT_TEMPLATE.replace(
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}",
)


def build_qwen3_5(folder: Path) -> Path:
    """Qwen3.5's architecture (``qwen3_5``: a Qwen3-VL-style vision tower, a decoder mixing gated-delta linear
    attention and full attention layers), which LightOnOCR-3 0.8B and 4B are built on."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3_5Config,
        Qwen3_5ForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tokenizer = _tokenizer(QWEN_SPECIAL)
    ids = _ids(tokenizer, QWEN_SPECIAL)
    text = _tiny_text(
        tokenizer,
        ids,
        "<|endoftext|>",
        "<|im_end|>",
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],
            "mrope_interleaved": True,
            "partial_rotary_factor": 1.0,
        },
        linear_key_head_dim=16,
        linear_value_head_dim=16,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        layer_types=["linear_attention", "full_attention"],
    )
    config = Qwen3_5Config(
        text_config=text,
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 64,
            "num_position_embeddings": 64,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    model = Qwen3_5ForConditionalGeneration(config).eval()
    image_processor = Qwen2VLImageProcessor(
        patch_size=16, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 32 * 32, "longest_edge": 512 * 512}
    )
    processor = Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        chat_template=QWEN3_5_TEMPLATE,
    )
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


def build_qwen2_5_vl(folder: Path) -> Path:
    """Qwen2.5-VL's architecture (``qwen2_5_vl``), which olmOCR-2 fine-tunes."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _tokenizer(QWEN_SPECIAL)
    ids = _ids(tokenizer, QWEN_SPECIAL)
    text = _tiny_text(
        tokenizer,
        ids,
        "<|endoftext|>",
        "<|im_end|>",
        bos_token_id=None,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
    )
    config = Qwen2_5_VLConfig(
        text_config=text,
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 64,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    image_processor = Qwen2VLImageProcessor(
        patch_size=14, merge_size=2, temporal_patch_size=2, min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64
    )
    processor = Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2),
        chat_template=CHAT_TEMPLATE,
    )
    return _save(folder, model, processor, ids, "<|endoftext|>", "<|im_end|>")


def build_smolvlm(folder: Path) -> Path:
    """SmolVLM2's architecture (a SigLIP tower, pixel shuffle, a SmolLM2 decoder; images split into tiles)."""
    import torch
    from transformers import (
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    special = [
        "<|endoftext|>",
        "<end_of_utterance>",
        "<|im_start|>",
        "<fake_token_around_image>",
        "<image>",
        "<global-img>",
        "<video>",
        *(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)),
    ]
    tokenizer = _tokenizer(
        special,
        eos="<end_of_utterance>",
        named={
            "image_token": "<image>",
            "fake_image_token": "<fake_token_around_image>",
            "global_image_token": "<global-img>",
            "end_of_utterance_token": "<end_of_utterance>",
        },
    )
    ids = _ids(tokenizer, special)
    config = SmolVLMConfig(
        text_config={"model_type": "llama", **_tiny_text(tokenizer, ids, "<|endoftext|>", "<end_of_utterance>")},
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 64,
            "patch_size": 16,
        },
        image_token_id=ids["<image>"],
        scale_factor=2,
    )
    torch.manual_seed(0)
    model = SmolVLMForConditionalGeneration(config).eval()
    sizes = {"size": {"longest_edge": 128}, "max_image_size": {"longest_edge": 64}}  # tiles of 64 px, 4 tokens each
    processor = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(**sizes),
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(**sizes),
        image_seq_len=4,
        chat_template=DEFAULT_CHAT_TEMPLATE,
    )
    return _save(folder, model, processor, ids, "<|endoftext|>", "<end_of_utterance>")


# the tiny folder each registry entry of config.yaml is pointed at
TINY = {
    "qwen3_vl_2b": "qwen3_vl_tiny",
    "qwen3_vl_4b": "qwen3_vl_tiny",
    "qwen3_vl_8b": "qwen3_vl_tiny",
    "got_ocr": "got_ocr_tiny",
    "lightonocr_2_1b": "lighton_ocr_tiny",
    "lightonocr_3_1b": "lighton_ocr_3_tiny",  # LightOnOCR-2's architecture, writing a grounding answer
    "lightonocr_3_0_8b": "qwen3_5_tiny",
    "lightonocr_3_4b": "qwen3_5_tiny",
    "paddleocr_vl": "paddleocr_vl_tiny",
    "olmocr_2_7b": "qwen2_5_vl_tiny",
    "smolvlm2_500m": "smolvlm_tiny",
}
BUILDERS = {
    "qwen3_vl_tiny": build_qwen3_vl,
    "got_ocr_tiny": build_got_ocr,
    "lighton_ocr_tiny": build_lighton_ocr,
    "lighton_ocr_3_tiny": build_lighton_ocr_3,
    "paddleocr_vl_tiny": build_paddleocr_vl,
    "qwen2_5_vl_tiny": build_qwen2_5_vl,
    "smolvlm_tiny": build_smolvlm,
    "qwen3_5_tiny": build_qwen3_5,
}


def write_config(folder: Path, built: dict[str, Path] | None = None) -> Path:
    """The repository's config.yaml with the VLM entries pointed at the tiny folders: ``folder/<name>``, or where
    ``built`` says (by folder name)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for entry in config["models"]:
        if entry["id"] not in TINY:
            continue
        entry["source"] = str((built or {}).get(TINY[entry["id"]], folder / TINY[entry["id"]]))
        # random weights never stop on their own: keep OCR answers short so that tests stay fast, greedy and never
        # read again so that they are repeatable (the grounding twin keeps its sampling: its bias decides its answer)
        options = entry.setdefault("options", {})
        options["ocr_max_tokens"] = 16
        if TINY[entry["id"]] == "lighton_ocr_3_tiny":
            options["ocr_max_tokens"] = 32  # room for its answer
        else:
            options["ocr_temperature"] = 0.0
            options.pop("ocr_retry_temperatures", None)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_all(folder: Path) -> Path:
    folder = Path(folder).resolve()
    for name, build in BUILDERS.items():
        build(folder / name)
    return write_config(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to build the models and config.yaml")
    path = build_all(parser.parse_args(argv).folder)
    print(f"built tiny models; start a server with: CHATVLM_CONFIG={path} python app.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
