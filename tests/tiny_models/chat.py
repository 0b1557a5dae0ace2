"""The tiny chat models: Qwen3-VL (and its real 2B shape, for GPU benchmarks), Qwen3.5 (LightOnOCR-3 0.8B / 4B's
architecture), Qwen2.5-VL (olmOCR's) and SmolVLM."""

from __future__ import annotations

from pathlib import Path

from .common import CHAT_TEMPLATE, QWEN_SPECIAL, _ids, _save, _tiny_text, _tokenizer

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


def _qwen_vision(**extra) -> dict:
    """A two-layer Qwen3-VL vision tower (Qwen3-VL's and Qwen3.5's)."""
    return {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": 64,
        "num_position_embeddings": 64,
        **extra,
    }


def _image_token_ids(ids: dict[str, int]) -> dict[str, int]:
    """The Qwen VL configs' image and video token ids."""
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def _qwen3_vl_processor(tokenizer, chat_template: str):
    """Qwen3-VL's processor (Qwen3.5 uses it too): 16-pixel patches merged 2x2, 32x32 to 512x512 pixels."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(
        patch_size=16, merge_size=2, temporal_patch_size=2, size={"shortest_edge": 32 * 32, "longest_edge": 512 * 512}
    )
    return Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        chat_template=chat_template,
    )


# the tiny Qwen3-VL and Qwen3.5 decoders' multimodal rotary embedding (their sections sum to half of head_dim 16)
QWEN3_ROPE = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3], "mrope_interleaved": True}


def build_qwen3_vl(folder: Path, shape: str = "tiny") -> Path:
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    tokenizer = _tokenizer(QWEN_SPECIAL)
    ids = _ids(tokenizer, QWEN_SPECIAL)
    text = _tiny_text(
        tokenizer,
        ids,
        "<|endoftext|>",
        "<|im_end|>",
        rope_parameters=QWEN3_ROPE,
    )
    vision = _qwen_vision(deepstack_visual_indexes=[1])
    tied = False
    if shape == "2b":
        text, vision, tied = {**text, **QWEN3_VL_2B["text"]}, QWEN3_VL_2B["vision"], True
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_image_token_ids(ids), tie_word_embeddings=tied)
    torch.manual_seed(0)
    with torch.device("cuda" if shape == "2b" and torch.cuda.is_available() else "cpu"):
        model = Qwen3VLForConditionalGeneration(config).eval()
    if shape == "2b":
        model = model.to(torch.bfloat16)
    return _save(folder, model, _qwen3_vl_processor(tokenizer, CHAT_TEMPLATE), ids, "<|endoftext|>", "<|im_end|>")


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
    from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

    tokenizer = _tokenizer(QWEN_SPECIAL)
    ids = _ids(tokenizer, QWEN_SPECIAL)
    text = _tiny_text(
        tokenizer,
        ids,
        "<|endoftext|>",
        "<|im_end|>",
        rope_parameters={**QWEN3_ROPE, "partial_rotary_factor": 1.0},
        linear_key_head_dim=16,
        linear_value_head_dim=16,
        linear_num_key_heads=2,
        linear_num_value_heads=4,
        layer_types=["linear_attention", "full_attention"],
    )
    config = Qwen3_5Config(text_config=text, vision_config=_qwen_vision(), **_image_token_ids(ids))
    torch.manual_seed(0)
    model = Qwen3_5ForConditionalGeneration(config).eval()
    return _save(folder, model, _qwen3_vl_processor(tokenizer, QWEN3_5_TEMPLATE), ids, "<|endoftext|>", "<|im_end|>")


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
        **_image_token_ids(ids),
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
