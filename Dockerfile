# ChatVLMLLM: REST API, Gradio UI and Gradio API on one port (8000), one worker process.
#
#   docker build -t chatvlmllm .                        # GPU image: vision-language models (needs the NVIDIA
#                                                        # container toolkit at run time) and the OCR engines
#   docker build --build-arg VARIANT=cpu -t chatvlmllm:cpu .   # CPU image: the embedded OCR engines only (~1 GB)
#   docker run -p 8000:8000 -v hf-cache:/data/huggingface -v jobs:/data/jobs chatvlmllm
FROM python:3.11-slim

ARG VARIANT=gpu

RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus \
       libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-cpu.txt requirements-layout.txt ./
RUN if [ "$VARIANT" = "cpu" ]; then pip install --no-cache-dir -r requirements-cpu.txt; \
    else pip install --no-cache-dir -r requirements.txt; fi \
    && pip install --no-cache-dir --no-deps -r requirements-layout.txt

RUN useradd --create-home --uid 1000 app && mkdir -p /data/huggingface /data/jobs && chown -R app /data
COPY --chown=app . .
USER app

# CHATVLM_HOST: every interface inside the container (the port mapping decides who reaches it); with no API keys
# the log warns at start. Names other than localhost that clients use go in CHATVLM_ALLOWED_HOSTS.
ENV PORT=8000 \
    CHATVLM_HOST=0.0.0.0 \
    HF_HOME=/data/huggingface \
    CHATVLM_DATA_DIR=/data/jobs \
    GRADIO_ANALYTICS_ENABLED=False \
    PYTHONUNBUFFERED=1
VOLUME /data/huggingface /data/jobs
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"
# One worker process: the models, their queues and the Gradio queue live in it (scale with more containers).
CMD ["python", "app.py"]
