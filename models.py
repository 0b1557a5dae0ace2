"""The API guide's way to fetch a model's weights before it is used (for a host that will run offline):

    python -c "from models import ModelLoader; ModelLoader.load_model('qwen3_vl_2b')"

the same as ``python -m inference.download qwen3_vl_2b`` (which takes several ids, or ``--all``). A request never
starts a download; with the weights here, the model loads on an administrator's load or on its first request."""

from __future__ import annotations

from inference import download


class ModelLoader:
    @staticmethod
    def load_model(model_id: str) -> None:
        """Fetch ``model_id``'s weights into the Hugging Face cache; on failure, say why and exit non-zero."""
        status = download.main([model_id])
        if status:
            raise SystemExit(status)
