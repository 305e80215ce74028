"""Service endpoints: health, readiness, metrics and the API's own documents."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, redirect
from flask_openapi3 import APIBlueprint, Tag

from .. import metrics
from ..errors import StoreUnavailable
from ..extension import context
from . import schemas

bp = APIBlueprint("service", __name__)
tag = Tag(name="service")


@bp.get("/healthz", tags=[tag], responses={200: schemas.Health})
def healthz() -> Any:
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz", tags=[tag], responses={200: schemas.Readiness, 503: schemas.Readiness})
def readyz() -> Any:
    """Readiness: the store answers a PING."""
    try:
        context().store.ping()
    except StoreUnavailable:
        response = jsonify({"status": "unavailable", "store": "unreachable"})
        response.headers["Retry-After"] = "5"
        return response, 503
    return jsonify({"status": "ok", "store": "reachable"})


@bp.get(
    "/metrics",
    tags=[tag],
    responses={
        200: {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def prometheus_metrics() -> Any:
    """Prometheus text exposition."""
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json", doc_ui=False)
def openapi_document() -> Any:
    """The OpenAPI 3.1 document."""
    return jsonify(current_app.api_doc)  # type: ignore[attr-defined]


@bp.get("/docs", doc_ui=False)
def docs() -> Any:
    """Swagger UI (assets served by the package, no CDN) over /openapi.json."""
    return redirect("/openapi/swagger")
