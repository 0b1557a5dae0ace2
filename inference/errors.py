"""Typed errors of the inference core. Each edge (REST, UI) translates them once."""


class ChatVLMError(Exception):
    """Base class: the message is a readable sentence meant for the user."""


class BadInput(ChatVLMError):
    """The request is wrong: a bad parameter or an unreadable image (HTTP 400)."""


class PayloadTooLarge(BadInput):
    """An uploaded file is larger than the configured byte limit (HTTP 413)."""


class UnknownModel(ChatVLMError):
    """No model with this id is configured (HTTP 404)."""


class ModelUnavailable(ChatVLMError):
    """The model is configured but cannot be loaded or used here (HTTP 503)."""


class Overloaded(ChatVLMError):
    """The server is too busy to take the request now (HTTP 503)."""


class ConfigError(ChatVLMError):
    """config.yaml (or an environment override) is invalid; raised at start-up."""
