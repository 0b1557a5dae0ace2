"""What the tiny models share: byte-level tokenizers with the models' special tokens, a two-layer decoder's config,
the ChatML template, and how a model is saved."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository

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


def _chatml(image: str) -> str:
    """A ChatML template like Qwen's, with the model's own image placeholder."""
    return CHAT_TEMPLATE.replace("<|vision_start|><|image_pad|><|vision_end|>", image)
