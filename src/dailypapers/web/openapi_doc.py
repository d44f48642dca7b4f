"""The OpenAPI document as the API really answers: one error shape, every status a client can get, and how
to authenticate. FastAPI documents only the success and a validation error it shapes differently from ours
(`web/errors.py` answers `{"error": "..."}`), so its document is completed here, by rule, for every route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {"$ref": "#/components/schemas/Error"}
_WHY = {
    "400": "Bad request: the message names the parameter or body part that is wrong",
    "401": "Not signed in: send `Authorization: Bearer <token>` (a token from the settings page)",
    "403": "Not allowed for this account (role, suspension), or a form without its CSRF token",
    "404": "No such paper (or other named thing)",
    "413": "Request body too large",
    "414": "Query string too long (over 8 KiB)",
    "422": "A parameter or the body failed validation: the message says which and why",
    "429": "Too many requests: wait the seconds `Retry-After` gives",
    "502": "arXiv could not be reached to look the paper up, or answered with an error",
}
_MUTATING = {"post", "put", "patch", "delete"}
_ANONYMOUS_WRITES = {"/api/subscriptions"}  # writes anyone may make (a digest subscription is confirmed by mail)
_NAMED_BY_QUERY = {"/api/collections"}  # ?owner= names a user, who may not exist
# Reads of the signed-in reader's own things (docs/personal.md): 401 for anyone else.
_SIGNED_IN_READS = {
    "/api/for-you",
    "/api/library",
    "/api/follows",
    "/api/follows/papers",
    "/api/saved",
    "/api/collections",
    "/api/me/export",
}


def install(app: FastAPI) -> None:
    """Serve the completed document at `app.openapi_url` (built once, as FastAPI does)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = complete(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with the error schema, the security schemes and every operation's possible statuses."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "what was wrong, in words"}},
    }
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token from the settings page"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "dp_session", "description": "a browser session"},
    }
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _MUTATING and method != "get":
                continue
            codes = ["400", "414", "422"]
            if "{" in path or path in _NAMED_BY_QUERY:
                codes.append("404")
            if method in _MUTATING and path in _ANONYMOUS_WRITES:
                codes += ["413", "429"]
                operation["security"] = [{}]
            elif method in _MUTATING:
                codes += ["401", "403", "413", "429"]
                operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
            elif path in _SIGNED_IN_READS:
                codes.append("401")
                operation["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
            if path.endswith("/submit"):
                codes.append("502")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses[code] = {"description": _WHY[code], "content": {"application/json": {"schema": ERROR}}}
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's shape, which this API does not answer
        schemas.pop(name, None)
    return doc
