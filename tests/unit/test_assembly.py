"""`uvicorn app:app` and the API guide's `uvicorn api:app` both find the assembled app."""

from fastapi import FastAPI


def test_app_and_api_modules_expose_the_app():
    import api
    import app

    assert isinstance(app.app, FastAPI)
    assert api.app is app.app
    paths = app.app.openapi()["paths"]
    assert {"/ocr", "/chat", "/batch/ocr", "/health", "/models"} <= paths.keys()
