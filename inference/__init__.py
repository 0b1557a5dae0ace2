"""The shared inference core: settings, registry, model manager, service and backends.

Nothing here knows about HTTP or Gradio.
"""

from .errors import BadInput, ChatVLMError, ConfigError, ModelUnavailable, PayloadTooLarge, UnknownModel
from .service import InferenceService
from .settings import Settings, load_settings

__all__ = [
    "BadInput", "ChatVLMError", "ConfigError", "InferenceService", "ModelUnavailable", "PayloadTooLarge",
    "Settings", "UnknownModel", "load_settings",
]
