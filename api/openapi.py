"""The OpenAPI schema tells the truth: every status a route can answer (with ``{"detail"}``), no 422 (the server
answers validation errors with 400), uploads that must not be empty, and the API-key security scheme when keys
are on. The 401/403/429 that the gatekeeper may answer are added from the same rules it applies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from inference.settings import Settings

from .schemas.openai import OpenAIError
from .schemas.rest import WHY, ErrorBody
from .security import UNSAFE_METHODS, counts_against_limit, required_role


def _error(code: int, path: str) -> dict[str, Any]:
    """The documented error response: OpenAI's error body under /v1, ``{"detail"}`` elsewhere."""
    ref = "#/components/schemas/" + ("OpenAIError" if path.startswith("/v1/") else "ErrorBody")
    return {"description": WHY[code], "content": {"application/json": {"schema": {"$ref": ref}}}}


def _is_file(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and (schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream")
    )


def _no_empty_uploads(body: dict[str, Any]) -> None:
    """An upload of zero bytes (/ocr, /chat), or a batch of no files, is refused (400): the schema says so. (An empty
    file inside a batch is that file's error in a 200 answer, so batch items keep no minimum.)"""
    for prop in body.get("properties", {}).values():
        if _is_file(prop):
            prop.setdefault("minLength", 1)
        if prop.get("type") == "array" and _is_file(prop.get("items")):
            prop.setdefault("minItems", 1)


def _optional_not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [T, null]`` -> T: an optional parameter is left out to get the default; 'null' is not a value
    a query string or a form field can carry."""
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        kept = next(option for option in options if option != {"type": "null"})
        return {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept}
    return schema


def _constraints(settings: Settings) -> dict[str, dict[str, Any]]:
    """What the service enforces on the chat and OCR parameters, said in the schema."""
    limits = settings.limits
    return {
        "temperature": {"minimum": 0.0, "maximum": 1.0},
        "max_tokens": {"minimum": 1, "maximum": limits.max_tokens},
        "prompt": {"minLength": 1, "maxLength": limits.max_prompt_chars, "pattern": r"\S"},
    }


def _tidy_parameters(schema: dict[str, Any], settings: Settings) -> None:
    rules = _constraints(settings)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = {**_optional_not_null(parameter["schema"]), **rules.get(parameter["name"], {})}
    for name, body in schema.get("components", {}).get("schemas", {}).items():
        if not name.startswith("Body_"):
            continue
        for prop, value in body.get("properties", {}).items():
            body["properties"][prop] = {**_optional_not_null(value), **rules.get(prop, {})}
        if "prompt" in body.get("properties", {}):  # required: in the form (the guide's way) or the query string
            body["required"] = sorted({*body.get("required", []), "prompt"})


def install(app: FastAPI, settings: Settings) -> None:
    keys_on, limited = bool(settings.auth.api_keys), settings.limits.rate_limit is not None

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorBody"] = ErrorBody.model_json_schema()
        components.setdefault("OpenAIError", OpenAIError.model_json_schema(ref_template="#/components/schemas/{model}"))
        components.update(OpenAIError.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        if keys_on:
            schema["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                needed = required_role(method.upper(), path)
                extra = []
                if keys_on and needed is not None:
                    operation["security"] = [{"bearer": []}, {"apiKey": []}]
                    extra += [401, 403]
                if method.upper() in UNSAFE_METHODS:
                    extra.append(403)  # a request from a page on another site
                if (limited and counts_against_limit(method.upper(), path)) or keys_on:
                    extra.append(429)  # the rate limit; with keys on also the wrong-key limit, before any route
                for code in extra:
                    responses.setdefault(str(code), _error(code, path))
        for name, body in components.items():
            if name.startswith("Body_"):
                _no_empty_uploads(body)
        _tidy_parameters(schema, settings)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
