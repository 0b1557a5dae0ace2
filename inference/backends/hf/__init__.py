"""The transformers backends: any chat-template vision-language model (``vlm``) and GOT-OCR 2.0 (``got_ocr``) over
one shared core (``generate``: loading, batched generate, streams; ``decode``: answers from tokens).

Nothing is imported here, so that torch and transformers are imported only when a model of this family is used."""
