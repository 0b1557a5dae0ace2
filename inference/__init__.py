"""The shared inference core: settings, registry, model manager, runners, service and backends.

Nothing here knows about HTTP or Gradio.
"""

from .audience import for_role, is_operator
from .cancel import CancelToken, call_cancellable
from .errors import (
    BadInput,
    Cancelled,
    ChatVLMError,
    ConfigError,
    ModelUnavailable,
    OutOfMemory,
    Overloaded,
    PayloadTooLarge,
    TimedOut,
    UnknownModel,
)
from .jobs import claim_data_dir
from .registry import check_models
from .results import JobStatus, ModelState
from .service import InferenceService
from .settings import Settings, load_settings
from .values import MAX_MESSAGES, MAX_STOPS, ChatMessage, ChatParams

__all__ = [
    "BadInput",
    "CancelToken",
    "Cancelled",
    "ChatMessage",
    "MAX_MESSAGES",
    "MAX_STOPS",
    "ChatParams",
    "ChatVLMError",
    "check_models",
    "claim_data_dir",
    "ConfigError",
    "InferenceService",
    "JobStatus",
    "ModelState",
    "ModelUnavailable",
    "OutOfMemory",
    "Overloaded",
    "PayloadTooLarge",
    "Settings",
    "TimedOut",
    "UnknownModel",
    "call_cancellable",
    "for_role",
    "is_operator",
    "load_settings",
]
