# ChatVLMLLM: REST API, Gradio UI and Gradio API on one port (8000).
# GPU: run with the NVIDIA container toolkit (docker compose reserves the GPU); the CPU
# works too, with the embedded OCR engine as the default.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus \
       libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
ENV PORT=8000 \
    HF_HOME=/data/huggingface \
    GRADIO_ANALYTICS_ENABLED=False
EXPOSE 8000
CMD ["python", "app.py"]
