"""Installs the REST edge on the FastAPI app that Gradio mounts: the API guide's routes, the error handlers, what
guards them (headers that keep browsers from being turned against users, allowed Host names, body limits, API keys and
a bound on wrong ones, cross-site refusal, rate limits, 405s), what observes them (request ids, access log, metrics)
and an OpenAPI schema that documents all of it.

:func:`create_api` makes that app with its service (the assembly mounts the UI on it; the in-process tests of the
REST API use it as it is, with no UI to build)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from inference import InferenceService, Settings

from . import errors, mcp_logs, openapi
from .auth_guard import AuthGuard
from .body_limit import BodyLimit
from .headers import SecurityHeaders
from .hosts import HostGuard, allowed_hosts
from .mcp_bodies import McpBodyGuard
from .methods import MethodGuard
from .metrics import Metrics
from .observe import RequestLog
from .root import RootInfoMiddleware
from .routes import chat, job_events, jobs, metrics, models, ocr, openai, session, system
from .security import Gatekeeper, KeyRing
from .sessions import Sessions
from .startup import log_startup

log = logging.getLogger("chatvlmllm.auth")


def create_api(settings: Settings) -> FastAPI:
    """The REST edge on its own app, with the service it serves (``app.state.service``): started, stopped and
    preloading with the app's lifespan. Claims the settings' data directory (ConfigError when another server has it)."""
    # one line per request: the REST edge's access log (api.observe, with the request id), not uvicorn's too
    logging.getLogger("uvicorn.access").disabled = True
    mcp_logs.bound()  # what the MCP SDK logs about a client's message: one short line
    service = InferenceService(settings)
    service.claim_data_dir()  # another server on this data directory: refuse to start (ConfigError)
    app = FastAPIOffline(  # Swagger UI and ReDoc served from the installed package, never a CDN
        title=f"{settings.server.title} API",
        version=settings.server.version,
        description='OCR and image chat with vision-language models. Errors are {"detail": "..."}.',
    )  # request bodies: api.body_limit refuses one over its route's limit as it comes in
    install(app, service)
    app.router.add_event_handler("startup", lambda: log_startup(service))
    app.router.add_event_handler("startup", service.preload)
    app.router.add_event_handler("startup", service.resume_jobs)
    app.router.add_event_handler("shutdown", service.close)
    return app


def install(app: FastAPI, service: InferenceService) -> None:
    """Register the REST routes, error handlers and middleware. Call before mounting Gradio."""
    settings = service.settings
    app.state.service = service
    app.state.keys = KeyRing(settings.auth.api_keys)
    app.state.sessions = Sessions(app.state.keys, settings.auth.session_secret, settings.jobs.broker_url)
    if app.state.keys.enabled and not app.state.sessions.persistent:
        log.log(
            logging.WARNING if settings.jobs.distributed else logging.INFO,
            "auth.session_secret is not set: browser sign-ins are signed with a secret of this process; they do not "
            "survive a restart%s (set CHATVLM_SESSION_SECRET)",
            ", nor reach the other replicas" if settings.jobs.distributed else "",
        )
    app.state.metrics = Metrics(service)
    errors.install(app)
    for module in (system, models, ocr, jobs, job_events, chat, openai, metrics, session):
        app.include_router(module.router)
    openapi.install(app, settings)
    # middleware: the last added runs first (outermost)
    app.add_middleware(RootInfoMiddleware, info=lambda: service.info().model_dump())
    if settings.auth.allowed_origins:  # CORS stays closed unless origins are allowed
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.auth.allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(McpBodyGuard)  # (after the keys and the body's bound: runs inside them)
    app.add_middleware(Gatekeeper, settings=settings, keys=app.state.keys, sessions=app.state.sessions)
    app.add_middleware(
        AuthGuard, rate=settings.auth.failed_auth_limit, enabled=app.state.keys.enabled, broker_url=settings.jobs.broker_url
    )
    app.add_middleware(MethodGuard, api=app)
    app.add_middleware(BodyLimit, limits=settings.limits)  # before anything reads a body
    app.add_middleware(HostGuard, hosts=allowed_hosts(settings))  # before anything else answers
    app.add_middleware(SecurityHeaders, framers=[*settings.auth.allowed_origins, *settings.server.frame_ancestors])
    app.add_middleware(RequestLog, metrics=app.state.metrics)


def gradio_user(request: Any) -> str | None:
    """Gradio's ``auth_dependency`` when API keys are on: the user the gatekeeper identified (role:fingerprint)."""
    principal = request.scope.get("state", {}).get("principal")
    return principal.username if principal is not None else None
