"""Throughput of the vision-language path through the product's own service.

    python bench/throughput.py                 # CPU: tiny random Qwen3-VL, built on the fly
    python bench/throughput.py --shape 2b      # GPU: Qwen3-VL-2B's real shape, random bf16 weights

The same workload (OCR of one image per request) three ways: sequential requests, N concurrent
requests (gathered into batches by the model's runner), and one batch_ocr of N files; one /chat request (latency,
tokens/s). Then the fast path (static cache,
compiled on CUDA): one request in tokens/s against the memory-bandwidth floor (weight bytes / measured
copy bandwidth), and N concurrent requests in images/s against the plain sequential figure.
Ends with a one-line key=value summary.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_service(folder: Path, shape: str, max_tokens: int, batch: int, fast: bool, built: Path | None = None):
    """The service over Qwen3-VL of this shape: built into ``folder`` (once; a second call reuses it), or, for the
    tiny shape, the models ``python -m tests.tiny_models`` already built in ``built``."""
    from inference import InferenceService, load_settings
    from tests.tiny_models import build_got_ocr, build_qwen3_vl, write_config

    if built is not None and shape == "tiny":
        qwen, got = built / "qwen3_vl_tiny", built / "got_ocr_tiny"
    else:
        qwen, got = folder / f"qwen3_vl_{shape}", folder / "got_ocr_tiny"
        if not (qwen / "config.json").is_file():
            build_qwen3_vl(qwen, shape=shape)
            build_got_ocr(got)
    settings = load_settings(write_config(folder, {"qwen3_vl_tiny": qwen, "got_ocr_tiny": got}), env={})
    entry = next(m for m in settings.models if m.id == "qwen3_vl_2b")
    entry.options.update(
        ocr_max_tokens=max_tokens,
        max_batch_size=batch,
        batch_wait_ms=5.0,
        fast_path=fast,
        fast_path_batch_sizes=[1, batch],
        fast_path_warmup_tokens=max_tokens,
        download=False,
    )
    settings.limits.max_batch_files = max(settings.limits.max_batch_files, batch)
    return InferenceService(settings)


def copy_bandwidth(device: str) -> float:
    """Bytes per second of a large on-device copy (read + write counted)."""
    import torch

    n = (1 << 30) if device == "cuda" else (1 << 27)
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(5):
        dst.copy_(src)
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n * 5 / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["tiny", "2b"], default="tiny")
    parser.add_argument("--requests", type=int, default=None, help="requests per way (default 8 tiny, 32 2b)")
    parser.add_argument("--max-tokens", type=int, default=None, help="new tokens per request (32 tiny, 128 2b)")
    parser.add_argument("--size", type=int, default=768, help="image side in pixels (768x1024 -> 768 tokens)")
    parser.add_argument(
        "--tiny-models",
        type=Path,
        default=None,
        help="a folder built by `python -m tests.tiny_models` to use instead of building (tiny shape)",
    )
    args = parser.parse_args(argv)
    n = args.requests or (8 if args.shape == "tiny" else 32)
    max_tokens = args.max_tokens or (32 if args.shape == "tiny" else 128)

    import torch

    from tests.helpers import ENGLISH, render_lines

    image = render_lines(ENGLISH * 8, font_size=28).resize((args.size, args.size * 4 // 3))
    with tempfile.TemporaryDirectory() as tmp:
        service = build_service(Path(tmp), args.shape, max_tokens, n, fast=False, built=args.tiny_models)
        model = "qwen3_vl_2b"
        service.load_model(model)
        service.ocr(image, model)  # warm-up

        started = time.perf_counter()
        for _ in range(n):
            service.ocr(image, model)
        sequential = n / (time.perf_counter() - started)

        runner = service.manager.runner(model)
        runner.batch_sizes.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(lambda _: service.ocr(image, model), range(n)))
        concurrent = n / (time.perf_counter() - started)
        sizes = list(runner.batch_sizes)
        backend = service.manager.runner(model).backend  # loaded above
        weight_bytes = sum(p.numel() * p.element_size() for p in backend.model.parameters())
        device = backend.device

        started = time.perf_counter()
        result = service.batch_ocr([(f"{i}.png", image) for i in range(n)], model)
        batched = n / (time.perf_counter() - started)
        assert result.successful == n, result.results[0].error

        prompt = "Describe this image in detail."
        started = time.perf_counter()  # one /chat request on the plain path: latency and tokens/s
        service.chat(image, prompt, model, temperature=0.0, max_tokens=max_tokens)
        chat_s = time.perf_counter() - started
        chat_tokens = service.chat_stream(
            image, prompt, model, temperature=0.0, max_tokens=max_tokens
        ).output.completion_tokens  # greedy: the same request again gives the token count
        del backend
        service.close()
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()

        fast = build_service(Path(tmp), args.shape, max_tokens, n, fast=True, built=args.tiny_models)
        fast.load_model(model)
        backend = fast.manager.runner(model).backend  # loaded above
        from inference.values import ChatMessage, ChatParams

        inputs = backend.inputs(image, [ChatMessage("user", "Read the text.")])
        params = ChatParams(temperature=0.0, max_tokens=max_tokens)
        backend.generate(inputs, params)  # the shape is warm; measure a second call
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        tokens = backend.generate(inputs, params, min_new_tokens=max_tokens)
        if device == "cuda":
            torch.cuda.synchronize()
        fast_tps = tokens.shape[1] / (time.perf_counter() - started)
        del backend
        for _ in range(2):  # the first round meets the page's prompt length (it may compile once); the second counts
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=n) as pool:
                list(pool.map(lambda _: fast.ocr(image, model), range(n)))
            fast_concurrent = n / (time.perf_counter() - started)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
        fast.close()

    floor = copy_bandwidth(device) / weight_bytes
    print(f"\nQwen3-VL shape {args.shape} on {device}: {n} requests, {max_tokens} new tokens, image {image.size}")
    print(f"{'way':<22} {'images/s':>9} {'x sequential':>13}")
    ways = (
        ("sequential", sequential),
        (f"{n} concurrent", concurrent),
        (f"batch_ocr of {n}", batched),
        (f"{n} concurrent, fast", fast_concurrent),
    )
    for name, ips in ways:
        print(f"{name:<22} {ips:9.3f} {ips / sequential:13.2f}")
    print(f"batch sizes seen (concurrent): {sizes}")
    print(f"chat, one request: {chat_s:.2f} s for {chat_tokens} tokens ({chat_tokens / chat_s:.1f} tokens/s, plain path)")
    print(
        f"fast path, one request: {fast_tps:.1f} tokens/s; bandwidth floor {floor:.1f} tokens/s "
        f"({fast_tps / floor:.1%}); weights {weight_bytes / 2**30:.2f} GiB; peak {peak:.1f} GiB"
    )
    print(
        f"concurrent_x={concurrent / sequential:.2f} batch_x={batched / sequential:.2f} seq_ips={sequential:.3f} "
        f"concurrent_ips={concurrent:.3f} batch_ips={batched:.3f} fast_concurrent_x={fast_concurrent / sequential:.2f} "
        f"fast_tokens_per_s={fast_tps:.1f} "
        f"floor_tokens_per_s={floor:.1f} floor_fraction={fast_tps / floor:.3f} peak_gib={peak:.2f} "
        f"chat_s={chat_s:.3f} chat_tokens_per_s={chat_tokens / chat_s:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
